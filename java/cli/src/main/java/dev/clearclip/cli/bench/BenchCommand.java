package dev.clearclip.cli.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.BlockMode;
import dev.clearclip.ClassEmbeddings;
import dev.clearclip.ClassSet;
import dev.clearclip.ClipModel;
import dev.clearclip.CommandLineValues;
import dev.clearclip.CpuBackend;
import dev.clearclip.FileSupport;
import dev.clearclip.ModelOptions;
import dev.clearclip.Method;
import dev.clearclip.Preset;
import dev.clearclip.RgbImage;
import dev.clearclip.SegmentOptions;
import dev.clearclip.cli.EngineOptions;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.UsageException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code clearclip bench}: engine latency and memory per model file and thread count. Each (model, threads)
 * pair runs in its own child JVM by default, so that the peak RSS it reports belongs to that model alone.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {
            "Benchmark models: load time, latency of one 224 and one 448 window (dense ClearCLIP features), "
                    + "global 224 embedding, whole segmentation of a generated 500x375 picture (VOC21 settings), "
                    + "text embeddings of 21 classes x 80 templates (no cache) and peak RSS; per model also the peak "
                    + "RSS of a whole `clearclip segment` process (through the launcher, --preset voc21, first run).",
            "Timings are the median and minimum of --repeat runs after one warm-up run (the text and load "
                    + "timings have no warm-up: their first run is already what a user sees)."})
public final class BenchCommand implements Callable<Integer> {

    @Mixin
    EngineOptions engine;

    static final int SEGMENT_WIDTH = 500;
    static final int SEGMENT_HEIGHT = 375;

    /** Timed rows, in report order: JSON key, markdown heading. */
    static final List<String[]> ROWS = List.of(
            new String[] {"load_s", "load (s)"},
            new String[] {"window_224_s", "224 window (s)"},
            new String[] {"window_448_s", "448 window (s)"},
            new String[] {"global_224_s", "global 224 (s)"},
            new String[] {"segment_500x375_s", "500x375 segment (s)"},
            new String[] {"text_21x80_s", "21x80 prompts (s)"});

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = {"-m", "--model"}, required = true, paramLabel = "MODEL.gguf",
            description = "Model file to measure; repeat the option for several (f32, f16, q8_0, q4_0, ...).")
    List<Path> models;

    // The global --threads option takes one number, so the sweep has its own name.
    @Option(names = "--thread-counts", split = ",", paramLabel = "N[,N...]",
            description = "Thread counts to measure (default: the global --threads if given, else 1 and all cores).")
    List<Integer> threadCounts;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "5",
            description = "Timed runs per measurement (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--json", paramLabel = "OUT.json", description = "Write all figures as JSON.")
    Path json;

    @Option(names = "--markdown", paramLabel = "OUT.md", description = "Write the table as markdown.")
    Path markdown;

    @Option(names = "--chart", paramLabel = "OUT.png", description = "Write a bar chart of the timings (PNG).")
    Path chart;

    @Option(names = "--in-process",
            description = "Measure everything in this JVM instead of one child JVM per model and thread count; "
                    + "peak RSS is then cumulative over the models measured so far.")
    boolean inProcess;

    @Option(names = "--shared-model", paramLabel = "N",
            description = "Instead of the figures above: N Java threads share one model and run --tasks small "
                    + "segmentations (224x224, one window), timed for each pool configuration of --pools; "
                    + "--repeat gives the number of rounds.")
    Integer sharedModel;

    @Option(names = "--tasks", paramLabel = "N", defaultValue = "160",
            description = "Segmentations per round with --shared-model (default: ${DEFAULT-VALUE}).")
    int tasks;

    @Option(names = "--pools", split = ",", paramLabel = "POOL[,POOL...]",
            description = "Pool configurations for --shared-model: 'default' (the library's sizing) or "
                    + "CONTEXTSxTHREADS, e.g. 2x1 (default: default, Cx1, 1xC and CxC for C cores; CxC, "
                    + "the former default sizing, oversubscribes the cores).")
    List<String> pools;

    @Option(names = "--method", paramLabel = "METHOD", defaultValue = "clearclip",
            converter = CommandLineValues.Methods.class, completionCandidates = CommandLineValues.Methods.class,
            description = "Method whose settings the 500x375 segmentation uses on top of VOC21's: "
                    + "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}). With PAMR (naclip) the same segmentation "
                    + "is also timed without it, and the difference reported as pamr_500x375_s.")
    Method method;

    @Option(names = "--cli-launcher", paramLabel = "PATH",
            description = "Launcher whose `clearclip segment` process is measured per model (peak RSS of the whole "
                    + "CLI process, first run; default: bin/clearclip next to this jar).")
    Path cliLauncher;

    @Option(names = "--cli-jar", paramLabel = "JAR",
            description = "Jar the launcher runs for that measurement (default: the jar running this bench).")
    Path cliJar;

    @Option(names = "--no-cli-segment", description = "Skip the measurement of the CLI's `segment` process.")
    boolean noCliSegment;

    /** Set on the child JVMs: measure one model at one thread count and print its JSON on stdout. */
    @Option(names = "--worker", hidden = true)
    boolean worker;

    @Override
    public Integer call() throws Exception {
        if (repeat < 1) {
            throw new UsageException("--repeat must be at least 1, got " + repeat);
        }
        List<Integer> threads = threadCounts();
        for (Path m : models) {
            if (!Files.isRegularFile(m)) {
                throw new IllegalArgumentException(m + ": no such file");
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (sharedModel != null) {
            return sharedModelBench(out);
        }
        if (worker) {
            if (models.size() != 1 || threads.size() != 1) {
                throw new UsageException("--worker measures one model at one thread count");
            }
            out.println(Json.COMPACT.writeValueAsString(measure(models.get(0), threads.get(0), "child")));
            return Main.EXIT_OK;
        }
        ObjectNode report = Json.MAPPER.createObjectNode();
        report.put("tool", "clearclip bench");
        report.put("date", OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString());
        report.put("engine_version", ClipModel.engineVersion());
        report.put("system_info", ClipModel.systemInfo());
        CpuBackend cpuBackend = ClipModel.cpuBackend();
        report.put("cpu_variant", cpuBackend.variant());
        report.put("cpu_variant_features", String.join(" ", cpuBackend.features()));
        report.put("cpu", BenchProcess.cpuModel());
        report.put("cores", Runtime.getRuntime().availableProcessors());
        report.put("java", Runtime.version().toString());
        report.put("repeat", repeat);
        report.put("process_per_run", !inProcess);
        report.put("load_average_start", BenchProcess.loadAverage());
        ArrayNode runs = report.putArray("runs");
        int maxThreads = threads.stream().mapToInt(Integer::intValue).max().orElseThrow();
        for (Path m : models) {
            for (int t : threads) {
                spec.commandLine().getErr().printf("bench: %s, %d thread%s...%n", m.getFileName(), t,
                        t == 1 ? "" : "s");
                ObjectNode run = inProcess ? measure(m, t, "shared") : BenchProcess.runChild(workerArgs(m, t), m, t,
                        spec.commandLine().getErr());
                if (t == maxThreads && !noCliSegment) {
                    cliSegment(m, t, run);
                }
                runs.add(run);
            }
        }
        report.put("load_average_end", BenchProcess.loadAverage());
        String table = BenchReport.markdown(report);
        out.print(table);
        if (json != null) {
            writeFile(json, Json.MAPPER.writeValueAsString(report) + "\n");
        }
        if (markdown != null) {
            writeFile(markdown, table);
        }
        if (chart != null) {
            createParent(chart);
            ImageIO.write(BenchReport.chart(report), "png", chart.toFile());
        }
        return Main.EXIT_OK;
    }

    private int sharedModelBench(PrintWriter out) throws Exception {
        if (sharedModel < 1) {
            throw new UsageException("--shared-model must be at least 1 thread, got " + sharedModel);
        }
        if (tasks < 1) {
            throw new UsageException("--tasks must be at least 1, got " + tasks);
        }
        if (models.size() != 1) {
            throw new UsageException("--shared-model measures one model, got " + models.size());
        }
        List<SharedModelBench.Pool> configs = pools == null || pools.isEmpty()
                ? SharedModelBench.Pool.standard(ModelOptions.availableCores())
                : pools.stream().map(SharedModelBench.Pool::parse).toList();
        ObjectNode report = new SharedModelBench(models.get(0), main.backend(), sharedModel, tasks, repeat, configs,
                224, 224).run();
        String table = SharedModelBench.markdown(report);
        out.print(table);
        if (json != null) {
            writeFile(json, Json.MAPPER.writeValueAsString(report) + "\n");
        }
        if (markdown != null) {
            writeFile(markdown, table);
        }
        return Main.EXIT_OK;
    }

    /**
     * The peak RSS of the CLI's own {@code segment} process on the 500x375 picture (first run), added to
     * {@code run} as {@code cli_segment_rss_mb} and {@code cli_segment}; once per model, at the largest
     * thread count. Where it cannot run (no launcher, or not run from a jar) the reason is recorded and
     * printed instead: the other figures stand without it.
     */
    private void cliSegment(Path model, int threads, ObjectNode run) throws IOException, InterruptedException {
        PrintWriter err = spec.commandLine().getErr();
        Path source = BenchProcess.codeSource();
        Path launcher = cliLauncher != null ? cliLauncher : source == null ? null : BenchProcess.findLauncher(source);
        Path jar = cliJar != null ? cliJar
                : source != null && Files.isRegularFile(source) ? source : null;
        String missing = launcher == null || !Files.isRegularFile(launcher)
                ? "no launcher " + (launcher == null ? "bin/clearclip next to the jar" : launcher.toString())
                        + " (give --cli-launcher)"
                : jar == null || !Files.isRegularFile(jar) ? "not run from a jar (give --cli-jar)" : null;
        if (missing != null) {
            err.println("bench: warning: CLI segment peak RSS not measured: " + missing);
            run.putObject("cli_segment").put("error", missing);
            return;
        }
        err.printf("bench: %s, `clearclip segment` through %s...%n", model.getFileName(), launcher);
        Path work = Files.createTempDirectory("clearclip-bench-");
        try {
            Path picture = work.resolve("picture-500x375.png");
            ImageIO.write(syntheticPicture(SEGMENT_WIDTH, SEGMENT_HEIGHT).toBufferedImage(), "png", picture.toFile());
            ObjectNode cli = BenchProcess.runCliSegment(launcher, jar, model, picture, threads, work);
            run.put("cli_segment_rss_mb", cli.get("rss_mb").asDouble());
            run.set("cli_segment", cli);
        } finally {
            FileSupport.deleteTree(work);
        }
    }

    /** The arguments of a child JVM measuring one model at one thread count. */
    private List<String> workerArgs(Path model, int threads) {
        return List.of("--backend", main.backend(), "bench", "--worker", "-m", model.toString(),
                "--thread-counts", Integer.toString(threads), "--repeat", Integer.toString(repeat),
                "--method", method.id());
    }

    private List<Integer> threadCounts() {
        List<Integer> counts = threadCounts;
        if (counts == null || counts.isEmpty()) {
            int all = Runtime.getRuntime().availableProcessors();
            counts = main.threads() > 0 ? List.of(main.threads()) : all > 1 ? List.of(1, all) : List.of(1);
        }
        for (int t : counts) {
            if (t < 1) {
                throw new UsageException("--thread-counts: thread counts must be positive, got " + t);
            }
        }
        return counts;
    }

    // ---- one measurement --------------------------------------------------------------------

    /** All figures of one model at one thread count, measured in this JVM. */
    ObjectNode measure(Path modelPath, int threads, String process) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("model", modelPath.toString());
        r.put("name", modelPath.getFileName().toString());
        r.put("threads", threads);
        r.put("process", process);
        r.put("load_average_before", BenchProcess.loadAverage());
        try {
            r.put("file_bytes", Files.size(modelPath));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Loads the native libraries, so that the load timings below are the model's alone.
        ClipModel.engineVersion();
        ObjectNode rss = Json.MAPPER.createObjectNode();
        rss.put("before_load", BenchProcess.residentMb("VmRSS"));

        // No on-disk cache: the text row measures the encoder, not a file read.
        ModelOptions options = ModelOptions.builder().threads(threads).backend(main.backend()).contexts(1)
                .noTextCache().build();
        double[] loads = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long t0 = System.nanoTime();
            ClipModel m = ClipModel.load(modelPath, options);
            loads[i] = seconds(t0);
            m.close();
        }
        r.set("load_s", stats(loads));
        try (ClipModel m = ClipModel.load(modelPath, options)) {
            r.put("file_type", m.info().fileTypeName());
            r.put("backend", m.backendName());
            rss.put("after_load", BenchProcess.residentMb("VmRSS"));

            ClassSet voc = Preset.VOC21.classes();
            ClassEmbeddings[] embeddings = new ClassEmbeddings[1];
            r.set("text_21x80_s", time(0, () -> embeddings[0] = m.classEmbeddings(voc)));
            r.put("text_prompts", voc.allNames().size() * embeddings[0].templates().size());
            double peak = BenchProcess.residentMb("VmHWM");
            rss.put("peak_after_text", peak);

            // Segmentation right after the class embeddings, as `clearclip segment` runs: the peak
            // RSS so far is that of the whole segmentation pipeline.
            RgbImage picture = syntheticPicture(SEGMENT_WIDTH, SEGMENT_HEIGHT);
            SegmentOptions segment = method.options(Preset.VOC21);
            r.put("method", method.id());
            JsonNode seg = time(1, () -> m.segment(picture, embeddings[0], segment));
            r.set("segment_500x375_s", seg);
            r.put("segment_images_per_s", 1.0 / seg.get("median").asDouble());
            peak = Math.max(peak, BenchProcess.residentMb("VmHWM"));
            rss.put("peak_segment", peak);
            if (segment.pamrSteps() > 0) {
                // PAMR's own cost: the same segmentation without the refinement, medians subtracted.
                SegmentOptions plain = segment.toBuilder().pamrSteps(0).build();
                JsonNode without = time(1, () -> m.segment(picture, embeddings[0], plain));
                r.set("segment_500x375_no_pamr_s", without);
                r.put("pamr_500x375_s", seg.get("median").asDouble() - without.get("median").asDouble());
            }

            RgbImage w224 = crop(picture, 224, 224);
            RgbImage w448 = syntheticPicture(448, 448);
            r.set("window_224_s", time(1, () -> m.denseFeatures(w224, BlockMode.CLEARCLIP)));
            r.set("window_448_s", time(1, () -> m.denseFeatures(w448, BlockMode.CLEARCLIP)));
            r.set("global_224_s", time(1, () -> m.encodeImage(w224)));
            // The kernel folds the current RSS into VmHWM only at some events (e.g. unmapping), so a
            // later reading can be a little lower than an earlier one: the peaks are running maxima.
            rss.put("peak", Math.max(peak, BenchProcess.residentMb("VmHWM")));
        }
        r.set("rss_mb", rss);
        r.put("load_average_after", BenchProcess.loadAverage());
        return r;
    }

    private ObjectNode time(int warmups, Supplier<?> task) {
        for (int i = 0; i < warmups; i++) {
            task.get();
        }
        double[] t = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long t0 = System.nanoTime();
            task.get();
            t[i] = seconds(t0);
        }
        return stats(t);
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    static ObjectNode stats(double[] samples) {
        double[] s = samples.clone();
        Arrays.sort(s);
        int n = s.length;
        double median = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("median", median);
        o.put("min", s[0]);
        ArrayNode a = o.putArray("samples");
        for (double v : samples) {
            a.add(v);
        }
        return o;
    }

    /**
     * A deterministic test picture: colour gradients, a few flat shapes and pixel noise (content does not
     * change the cost, but flat or random pictures would be untypical inputs).
     */
    static RgbImage syntheticPicture(int width, int height) {
        Random random = new Random(width * 7919L + height);
        int[] shapes = new int[6 * 5];
        for (int s = 0; s < 6; s++) {
            shapes[s * 5] = random.nextInt(width);
            shapes[s * 5 + 1] = random.nextInt(height);
            shapes[s * 5 + 2] = 10 + random.nextInt(Math.max(1, Math.min(width, height) / 3));
            shapes[s * 5 + 3] = random.nextInt(0x1000000);
            shapes[s * 5 + 4] = random.nextInt(2);
        }
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int r = 40 + 180 * x / width;
                int g = 30 + 200 * y / height;
                int b = (int) (128 + 90 * Math.sin(2 * Math.PI * (1.5 * x / width + 0.7 * y / height)));
                for (int s = 0; s < 6; s++) {
                    int dx = x - shapes[s * 5];
                    int dy = y - shapes[s * 5 + 1];
                    int size = shapes[s * 5 + 2];
                    boolean inside = shapes[s * 5 + 4] == 0 ? dx * dx + dy * dy < size * size
                            : Math.abs(dx) < size && Math.abs(dy) < size * 3 / 5;
                    if (inside) {
                        r = shapes[s * 5 + 3] >>> 16 & 0xff;
                        g = shapes[s * 5 + 3] >>> 8 & 0xff;
                        b = shapes[s * 5 + 3] & 0xff;
                    }
                }
                int o = (y * width + x) * 3;
                rgb[o] = (byte) clamp(r + (int) Math.round(8 * random.nextGaussian()));
                rgb[o + 1] = (byte) clamp(g + (int) Math.round(8 * random.nextGaussian()));
                rgb[o + 2] = (byte) clamp(b + (int) Math.round(8 * random.nextGaussian()));
            }
        }
        return new RgbImage(width, height, rgb);
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    private static RgbImage crop(RgbImage image, int width, int height) {
        byte[] rgb = new byte[width * height * 3];
        for (int y = 0; y < height; y++) {
            System.arraycopy(image.rgb(), y * image.width() * 3, rgb, y * width * 3, width * 3);
        }
        return new RgbImage(width, height, rgb);
    }

    // ---- child JVMs ---------------------------------------------------------------------------

    private static void writeFile(Path file, String text) throws IOException {
        createParent(file);
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }

    private static void createParent(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
    }
}
