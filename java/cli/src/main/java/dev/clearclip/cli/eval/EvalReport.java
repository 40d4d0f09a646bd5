package dev.clearclip.cli.eval;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.ClassSet;
import dev.clearclip.Method;
import dev.clearclip.SegmentOptions;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.SegmentationJson;
import dev.clearclip.eval.Benchmark;
import dev.clearclip.eval.EvalState;
import dev.clearclip.eval.SegmentationMetrics;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code eval} reports once the pictures are evaluated: the tables it prints (per class, and
 * one summary row) and the results JSON. Kept apart from {@link EvalCommand}, which runs the
 * evaluation and manages its saved progress.
 */
final class EvalReport {

    private EvalReport() {
    }

    /** The model a run used, as the report names it. */
    record ModelSummary(String path, String name, String fileType, String sha256) {
    }

    /** What was asked for: the benchmark, its folder, the --method given (or null), threads and backend. */
    record Run(Benchmark benchmark, Path root, String method, int threads, String backend) {
    }

    /** Seconds spent per phase of this run. */
    static final class Timings {
        double loadSeconds;
        double classSeconds;
        double runSeconds;
        int runPictures;
    }

    private static String percent(double fraction) {
        return Double.isNaN(fraction) ? "-" : String.format(Locale.ROOT, "%.2f", 100 * fraction);
    }

    static void printTables(PrintWriter out, Benchmark benchmark, ClassSet classes, EvalState state,
                                    SegmentationMetrics metrics, ModelSummary model, SegmentOptions options) {
        List<String[]> rows = new ArrayList<>();
        double[] iou = metrics.iou();
        double[] acc = metrics.accuracy();
        for (int c = 0; c < classes.size(); c++) {
            rows.add(new String[] {classes.classNames().get(c), percent(iou[c]), percent(acc[c])});
        }
        out.println();
        printTable(out, new String[] {"class", "IoU", "Acc"}, rows);
        out.println("('-' IoU: class neither in the ground truth nor predicted, left out of the mean; '-' Acc: class "
                + "not in the ground truth; mIoU over " + metrics.classesInMean() + " of " + classes.size()
                + " classes)");
        out.println();
        printTable(out, new String[] {"model", "mode", "dataset", "images", "mIoU", "aAcc", "mAcc"},
                List.<String[]>of(new String[] {model.name(), options.mode().id(), benchmark.id(),
                        Integer.toString(state.doneCount()), percent(metrics.meanIoU()),
                        percent(metrics.pixelAccuracy()), percent(metrics.meanAccuracy())}));
    }

    /** A Markdown table, padded so it also reads well in a terminal; numeric columns right-aligned. */
    static void printTable(PrintWriter out, String[] header, List<String[]> rows) {
        int[] width = new int[header.length];
        boolean[] numeric = new boolean[header.length];
        for (int c = 0; c < header.length; c++) {
            width[c] = Math.max(3, header[c].length());
            numeric[c] = !rows.isEmpty();
            for (String[] r : rows) {
                width[c] = Math.max(width[c], r[c].length());
                numeric[c] &= r[c].matches("-|[0-9.]+");
            }
        }
        StringBuilder sep = new StringBuilder("|");
        for (int c = 0; c < header.length; c++) {
            sep.append(numeric[c] ? "-".repeat(width[c] + 1) + ":|" : "-".repeat(width[c] + 2) + "|");
        }
        out.println(row(header, width, numeric));
        out.println(sep);
        for (String[] r : rows) {
            out.println(row(r, width, numeric));
        }
    }

    private static String row(String[] cells, int[] width, boolean[] rightAligned) {
        StringBuilder sb = new StringBuilder("|");
        for (int c = 0; c < cells.length; c++) {
            String pad = " ".repeat(width[c] - cells[c].length());
            sb.append(' ').append(rightAligned[c] ? pad + cells[c] : cells[c] + pad).append(" |");
        }
        return sb.toString();
    }

    /** The results file: what was run, the metrics, per-class figures, the confusion matrix and timings. */
    static void writeJson(Path out, Run run, ClassSet classes, EvalState state, SegmentationMetrics metrics,
                          ModelSummary model, SegmentOptions options, int splitSize, boolean complete, Timings timings)
            throws IOException {
        Benchmark benchmark = run.benchmark();
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("dataset", benchmark.id());
        root.put("root", run.root().toAbsolutePath().normalize().toString());
        root.put("images", state.doneCount());
        root.put("split_images", splitSize);
        root.put("complete", complete);
        ObjectNode m = root.putObject("model");
        m.put("path", model.path());
        m.put("name", model.name());
        m.put("file_type", model.fileType());
        m.put("sha256", model.sha256());
        // the same settings block as segment's NAME.json, plus what only a benchmark run records
        ObjectNode settings = SegmentationJson.putSettings(root, options);
        if (run.method() != null) {
            settings.put("method", Method.parse(run.method()).id());
        }
        settings.put("threads", run.threads());
        settings.put("backend", run.backend());
        root.put("metric", "percent; confusion matrix over all pixels, label 255 ignored; IoU = TP/(TP+FP+FN), "
                + "Acc = TP/(TP+FN); mIoU and mAcc = mean over classes with a defined value (nanmean, as mmseg), "
                + "aAcc = correct/all pixels");
        putPercent(root, "mIoU", metrics.meanIoU());
        putPercent(root, "aAcc", metrics.pixelAccuracy());
        putPercent(root, "mAcc", metrics.meanAccuracy());
        root.put("classes_in_mean", metrics.classesInMean());
        ArrayNode perClass = root.putArray("classes");
        double[] iou = metrics.iou();
        double[] acc = metrics.accuracy();
        long[] gt = metrics.gtPixels();
        long[] pred = metrics.predPixels();
        for (int c = 0; c < classes.size(); c++) {
            ObjectNode o = perClass.addObject();
            o.put("index", c);
            o.put("name", classes.classNames().get(c));
            putPercent(o, "iou", iou[c]);
            putPercent(o, "acc", acc[c]);
            o.put("gt_pixels", gt[c]);
            o.put("pred_pixels", pred[c]);
        }
        ArrayNode matrix = root.putArray("confusion_matrix");
        int n = state.matrix().classes();
        for (int g = 0; g < n; g++) {
            ArrayNode r = matrix.addArray();
            for (int p = 0; p < n; p++) {
                r.add(state.matrix().count(g, p));
            }
        }
        ObjectNode t = root.putObject("timings");
        t.put("model_load_s", round(timings.loadSeconds));
        t.put("class_embeddings_s", round(timings.classSeconds));
        t.put("this_run_images", timings.runPictures);
        t.put("this_run_s", round(timings.runSeconds));
        t.put("predict_s_total", round(state.predictSeconds()));
        t.put("predict_s_per_image", state.doneCount() == 0 ? 0 : round(state.predictSeconds() / state.doneCount()));
        Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Json.MAPPER.writeValue(out.toFile(), root);
    }

    private static void putPercent(ObjectNode node, String key, double fraction) {
        if (Double.isNaN(fraction)) {
            node.putNull(key);
        } else {
            node.put(key, 100 * fraction);
        }
    }

    private static double round(double seconds) {
        return Math.round(seconds * 1000) / 1000.0;
    }
}
