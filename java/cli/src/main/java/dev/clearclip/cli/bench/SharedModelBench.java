package dev.clearclip.cli.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.ClassEmbeddings;
import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import dev.clearclip.Preset;
import dev.clearclip.RgbImage;
import dev.clearclip.SegmentOptions;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.UsageException;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code clearclip bench --shared-model N}: N Java threads share one {@link ClipModel} and run a batch of
 * small segmentations, once per pool configuration (contexts x threads per context), so the cost of
 * oversubscribing the cores can be seen next to the default sizing. The configurations run in
 * alternating rounds (A, B, C, A, B, C, ...) so that a drift of the machine's speed hits all alike.
 */
final class SharedModelBench {

    /** One pool configuration: "default" (the library's sizing) or contexts x threads. */
    record Pool(String label, int contexts, int threads) {

        private static final Pattern SIZE = Pattern.compile("(\\d+)x(\\d+)");

        static Pool parse(String text) {
            String t = text.strip().toLowerCase(Locale.ROOT);
            if (t.equals("default")) {
                return new Pool("default", 0, 0);
            }
            Matcher m = SIZE.matcher(t);
            if (!m.matches() || Integer.parseInt(m.group(1)) < 1 || Integer.parseInt(m.group(2)) < 1) {
                throw new UsageException("--pools: expected 'default' or CONTEXTSxTHREADS (e.g. 2x1), got '" + text + "'");
            }
            return new Pool(t, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
        }

        /** default, one context per core with one thread, one context with all cores, and the old default
         *  (one context per core, each with all cores). */
        static List<Pool> standard(int cores) {
            return List.of(parse("default"), parse(cores + "x1"), parse("1x" + cores), parse(cores + "x" + cores));
        }
    }

    static final SegmentOptions SMALL = SegmentOptions.builder().shortSide(224).crop(224).stride(224).build();

    private final Path modelPath;
    private final String backend;
    private final int javaThreads;
    private final int tasks;
    private final int rounds;
    private final List<Pool> pools;
    private final int pictureWidth;
    private final int pictureHeight;

    SharedModelBench(Path modelPath, String backend, int javaThreads, int tasks, int rounds, List<Pool> pools,
                     int pictureWidth, int pictureHeight) {
        this.modelPath = modelPath;
        this.backend = backend;
        this.javaThreads = javaThreads;
        this.tasks = tasks;
        this.rounds = rounds;
        this.pools = pools;
        this.pictureWidth = pictureWidth;
        this.pictureHeight = pictureHeight;
    }

    ObjectNode run() throws Exception {
        RgbImage picture = BenchCommand.syntheticPicture(pictureWidth, pictureHeight);
        ObjectNode report = Json.MAPPER.createObjectNode();
        report.put("tool", "clearclip bench --shared-model");
        report.put("date", OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString());
        report.put("model", modelPath.toString());
        report.put("cores", ModelOptions.availableCores());
        report.put("java_threads", javaThreads);
        report.put("tasks", tasks);
        report.put("rounds", rounds);
        report.put("picture", pictureWidth + "x" + pictureHeight);
        report.put("load_average_start", BenchProcess.loadAverage());

        // The reference: every segmentation of every configuration must give these labels.
        int[] reference;
        ClassEmbeddings embeddings;
        try (ClipModel m = ClipModel.load(modelPath, options(new Pool("1x1", 1, 1)))) {
            embeddings = m.classEmbeddings(Preset.VOC21.classes());
            reference = m.segment(picture, embeddings, SMALL).labels();
        }
        double[][] seconds = new double[pools.size()][rounds];
        boolean[] identical = new boolean[pools.size()];
        Arrays.fill(identical, true);
        int[][] sizes = new int[pools.size()][];
        for (int round = 0; round < rounds; round++) {
            for (int p = 0; p < pools.size(); p++) {
                try (ClipModel m = ClipModel.load(modelPath, options(pools.get(p)))) {
                    sizes[p] = new int[] {m.maxContexts(), m.threadsPerContext()};
                    double[] wall = new double[1];
                    identical[p] &= runBatch(m, embeddings, picture, reference, wall);
                    seconds[p][round] = wall[0];
                }
            }
        }
        ArrayNode runs = report.putArray("runs");
        for (int p = 0; p < pools.size(); p++) {
            ObjectNode r = runs.addObject();
            r.put("pool", pools.get(p).label());
            r.put("contexts", sizes[p][0]);
            r.put("threads_per_context", sizes[p][1]);
            r.put("busy_threads_max", Math.min(javaThreads, sizes[p][0]) * sizes[p][1]);
            ObjectNode s = BenchCommand.stats(seconds[p]);
            r.set("wall_s", s);
            r.put("segmentations_per_s", tasks / s.get("median").asDouble());
            r.put("identical_to_single_thread", identical[p]);
        }
        report.put("load_average_end", BenchProcess.loadAverage());
        return report;
    }

    private ModelOptions options(Pool pool) {
        return ModelOptions.builder().backend(backend).contexts(pool.contexts()).threads(pool.threads())
                .noTextCache().build();
    }

    /** Warms up every context, then times {@code tasks} segmentations on {@code javaThreads} threads. */
    private boolean runBatch(ClipModel m, ClassEmbeddings embeddings, RgbImage picture, int[] reference,
                             double[] wall) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(javaThreads);
        try {
            List<Future<int[]>> warm = new ArrayList<>();
            for (int i = 0; i < Math.min(javaThreads, m.maxContexts()); i++) {
                warm.add(pool.submit(() -> m.segment(picture, embeddings, SMALL).labels()));
            }
            boolean same = true;
            for (Future<int[]> f : warm) {
                same &= Arrays.equals(f.get(), reference);
            }
            long t0 = System.nanoTime();
            List<Future<int[]>> results = new ArrayList<>(tasks);
            for (int i = 0; i < tasks; i++) {
                results.add(pool.submit(() -> m.segment(picture, embeddings, SMALL).labels()));
            }
            for (Future<int[]> f : results) {
                same &= Arrays.equals(f.get(), reference);
            }
            wall[0] = (System.nanoTime() - t0) / 1e9;
            return same;
        } finally {
            pool.shutdownNow();
        }
    }

    static String markdown(ObjectNode report) {
        StringBuilder sb = new StringBuilder();
        sb.append("# clearclip bench --shared-model\n\n");
        sb.append(String.format(Locale.ROOT, "%d Java threads share one model and run %d segmentations of a %s "
                        + "picture (one 224 window, 21 VOC classes); %d cores; median (min) of %d rounds; "
                        + "load average %s at the start, %s at the end.%n%n",
                report.path("java_threads").asInt(), report.path("tasks").asInt(), report.path("picture").asText(),
                report.path("cores").asInt(), report.path("rounds").asInt(),
                report.path("load_average_start").asText(), report.path("load_average_end").asText()));
        sb.append("| pool | contexts | threads per context | busy threads at most | wall (s) | segmentations/s "
                + "| results identical to 1 thread |\n|---|---|---|---|---|---|---|\n");
        for (var r : report.path("runs")) {
            sb.append(String.format(Locale.ROOT, "| %s | %d | %d | %d | %.3f (%.3f) | %.1f | %s |%n",
                    r.path("pool").asText(), r.path("contexts").asInt(), r.path("threads_per_context").asInt(),
                    r.path("busy_threads_max").asInt(), r.path("wall_s").path("median").asDouble(),
                    r.path("wall_s").path("min").asDouble(), r.path("segmentations_per_s").asDouble(),
                    r.path("identical_to_single_thread").asBoolean() ? "yes" : "NO"));
        }
        return sb.toString();
    }
}
