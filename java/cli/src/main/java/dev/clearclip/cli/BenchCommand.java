package dev.clearclip.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.BlockMode;
import dev.clearclip.ClassEmbeddings;
import dev.clearclip.ClassSet;
import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import dev.clearclip.Method;
import dev.clearclip.Preset;
import dev.clearclip.RgbImage;
import dev.clearclip.SegmentOptions;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
                    + "text embeddings of 21 classes x 80 templates (no cache) and peak RSS.",
            "Timings are the median and minimum of --repeat runs after one warm-up run (the text and load "
                    + "timings have no warm-up: their first run is already what a user sees)."})
final class BenchCommand implements Callable<Integer> {

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
            description = "Method whose settings the 500x375 segmentation uses on top of VOC21's: clearclip "
                    + "(default), naclip, sclip, maskclip. With PAMR (naclip) the same segmentation is also "
                    + "timed without it, and the difference reported as pamr_500x375_s.")
    String method;

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
        report.put("cpu", cpuModel());
        report.put("cores", Runtime.getRuntime().availableProcessors());
        report.put("java", Runtime.version().toString());
        report.put("repeat", repeat);
        report.put("process_per_run", !inProcess);
        report.put("load_average_start", loadAverage());
        ArrayNode runs = report.putArray("runs");
        for (Path m : models) {
            for (int t : threads) {
                spec.commandLine().getErr().printf("bench: %s, %d thread%s...%n", m.getFileName(), t,
                        t == 1 ? "" : "s");
                runs.add(inProcess ? measure(m, t, "shared") : runChild(m, t));
            }
        }
        report.put("load_average_end", loadAverage());
        String table = markdown(report);
        out.print(table);
        if (json != null) {
            writeFile(json, Json.MAPPER.writeValueAsString(report) + "\n");
        }
        if (markdown != null) {
            writeFile(markdown, table);
        }
        if (chart != null) {
            createParent(chart);
            ImageIO.write(chart(report), "png", chart.toFile());
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
        ObjectNode report = new SharedModelBench(models.get(0), main.backend, sharedModel, tasks, repeat, configs,
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

    private List<Integer> threadCounts() {
        List<Integer> counts = threadCounts;
        if (counts == null || counts.isEmpty()) {
            int all = Runtime.getRuntime().availableProcessors();
            counts = main.threads > 0 ? List.of(main.threads) : all > 1 ? List.of(1, all) : List.of(1);
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
        r.put("load_average_before", loadAverage());
        try {
            r.put("file_bytes", Files.size(modelPath));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Loads the native libraries, so that the load timings below are the model's alone.
        ClipModel.engineVersion();
        ObjectNode rss = Json.MAPPER.createObjectNode();
        rss.put("before_load", residentMb("VmRSS"));

        // No on-disk cache: the text row measures the encoder, not a file read.
        ModelOptions options = ModelOptions.builder().threads(threads).backend(main.backend).contexts(1)
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
            rss.put("after_load", residentMb("VmRSS"));

            ClassSet voc = Preset.VOC21.classes();
            ClassEmbeddings[] embeddings = new ClassEmbeddings[1];
            r.set("text_21x80_s", time(0, () -> embeddings[0] = m.classEmbeddings(voc)));
            r.put("text_prompts", voc.allNames().size() * embeddings[0].templates().size());
            double peak = residentMb("VmHWM");
            rss.put("peak_after_text", peak);

            // Segmentation right after the class embeddings, as `clearclip segment` runs: the peak
            // RSS so far is that of the whole segmentation pipeline.
            RgbImage picture = syntheticPicture(SEGMENT_WIDTH, SEGMENT_HEIGHT);
            Method chosen = Method.parse(method);
            SegmentOptions segment = chosen.options(Preset.VOC21);
            r.put("method", chosen.id());
            JsonNode seg = time(1, () -> m.segment(picture, embeddings[0], segment));
            r.set("segment_500x375_s", seg);
            r.put("segment_images_per_s", 1.0 / seg.get("median").asDouble());
            peak = Math.max(peak, residentMb("VmHWM"));
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
            rss.put("peak", Math.max(peak, residentMb("VmHWM")));
        }
        r.set("rss_mb", rss);
        r.put("load_average_after", loadAverage());
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

    private ObjectNode runChild(Path modelPath, int threads) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // Heap and GC settings of this JVM (java -Xmx... -jar clearclip.jar bench) apply to the children.
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("-X")) {
                cmd.add(arg);
            }
        }
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Djava.awt.headless=true");
        for (Map.Entry<Object, Object> p : System.getProperties().entrySet()) {
            if (p.getKey().toString().startsWith("clearclip.")) {
                cmd.add("-D" + p.getKey() + "=" + p.getValue());
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.addAll(List.of("--backend", main.backend, "bench", "--worker", "-m", modelPath.toString(),
                "--thread-counts", Integer.toString(threads), "--repeat", Integer.toString(repeat),
                "--method", method));
        Process child = new ProcessBuilder(cmd).start();
        child.getOutputStream().close();
        PrintWriter err = spec.commandLine().getErr();
        Thread errPump = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(child.getErrorStream(), StandardCharsets.UTF_8))) {
                r.lines().forEach(line -> {
                    synchronized (err) {
                        err.println(line);
                    }
                });
            } catch (IOException e) {
                // the child ended; its exit code says whether that matters
            }
        });
        String stdout = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = child.waitFor();
        errPump.join();
        if (code != 0) {
            throw new IllegalStateException("benchmark of " + modelPath + " with " + threads
                    + " threads failed (child JVM exit code " + code + ")");
        }
        String last = stdout.strip().lines().reduce((a, b) -> b).orElse("");
        return (ObjectNode) Json.MAPPER.readTree(last);
    }

    // ---- system facts -------------------------------------------------------------------------

    /** A line of /proc/self/status in MB (VmRSS: now, VmHWM: peak so far); -1 where there is no /proc. */
    static double residentMb(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key + ":")) {
                    String kb = line.substring(key.length() + 1).trim().split("\\s+")[0];
                    return Math.round(Long.parseLong(kb) / 1024.0 * 10) / 10.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    // ---- reports -------------------------------------------------------------------------------

    static String markdown(JsonNode report) {
        StringBuilder sb = new StringBuilder();
        sb.append("# clearclip bench\n\n");
        sb.append(String.format(Locale.ROOT, "%s, %d cores, %s; engine %s; %d timed runs per cell (median, min in "
                        + "parentheses); load average %s at the start, %s at the end.%n%n",
                report.path("cpu").asText(), report.path("cores").asInt(), report.path("date").asText(),
                report.path("engine_version").asText(), report.path("repeat").asInt(),
                report.path("load_average_start").asText(), report.path("load_average_end").asText()));
        sb.append("| model | type | threads |");
        for (String[] row : ROWS) {
            sb.append(' ').append(row[1]).append(" |");
        }
        sb.append(" 500x375 (img/s) | segmentation peak RSS (MB) | peak RSS (MB) |\n|---|---|---|");
        sb.append("---|".repeat(ROWS.size() + 3)).append('\n');
        for (JsonNode run : report.path("runs")) {
            sb.append("| ").append(run.path("name").asText()).append(" | ").append(run.path("file_type").asText())
                    .append(" | ").append(run.path("threads").asInt()).append(" |");
            for (String[] row : ROWS) {
                JsonNode s = run.path(row[0]);
                sb.append(String.format(Locale.ROOT, " %s (%s) |", fmt(s.path("median").asDouble()),
                        fmt(s.path("min").asDouble())));
            }
            sb.append(String.format(Locale.ROOT, " %.2f | %.0f | %.0f |%n", run.path("segment_images_per_s").asDouble(),
                    run.path("rss_mb").path("peak_segment").asDouble(), run.path("rss_mb").path("peak").asDouble()));
        }
        for (JsonNode run : report.path("runs")) {
            if (run.has("pamr_500x375_s")) {
                sb.append(String.format(Locale.ROOT, "%nPAMR (%s, %s threads): %s s per 500x375 picture (segment %s s "
                                + "with, %s s without).%n", run.path("name").asText(), run.path("threads").asInt(),
                        fmt(run.path("pamr_500x375_s").asDouble()),
                        fmt(run.path("segment_500x375_s").path("median").asDouble()),
                        fmt(run.path("segment_500x375_no_pamr_s").path("median").asDouble())));
            }
        }
        boolean shared = !report.path("process_per_run").asBoolean(true);
        sb.append(String.format(Locale.ROOT, "%nWindows: dense ClearCLIP features of one 224x224 / 448x448 picture. "
                + "Segment: the whole VOC21 pipeline (short side 448; with --method clearclip 448 crops, stride 224: "
                + "2 windows; naclip 224 crops, stride 112, and PAMR) on a "
                + "generated 500x375 picture with precomputed class embeddings. Prompts: 21 VOC classes x 80 "
                + "templates through the text tower, no cache. Segmentation peak RSS: VmHWM after loading, the "
                + "class embeddings and the segmentation runs (what `clearclip segment` does); peak RSS: after all "
                + "rows. VmHWM of %s.%n",
                shared ? "the one process that measured all rows so far (cumulative)"
                        : "the process that measured the row (one JVM per row)"));
        return sb.toString();
    }

    private static String fmt(double seconds) {
        return seconds >= 10 ? String.format(Locale.ROOT, "%.1f", seconds)
                : seconds >= 0.1 ? String.format(Locale.ROOT, "%.3f", seconds)
                : String.format(Locale.ROOT, "%.4f", seconds);
    }

    /** One panel per timed row (medians, seconds), one bar per run. */
    static BufferedImage chart(JsonNode report) {
        List<JsonNode> runs = new ArrayList<>();
        report.path("runs").forEach(runs::add);
        List<String[]> rows = ROWS.subList(1, ROWS.size());
        int cols = 3;
        int panelW = 420;
        int barH = 18;
        int panelH = 50 + Math.max(1, runs.size()) * (barH + 6);
        int gridRows = (rows.size() + cols - 1) / cols;
        BufferedImage img = new BufferedImage(cols * panelW, 40 + gridRows * panelH, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString("clearclip bench: median seconds (shorter is faster), " + report.path("cpu").asText(), 10, 24);
        Color[] palette = {new Color(0x4E79A7), new Color(0xF28E2B), new Color(0x59A14F), new Color(0xE15759),
            new Color(0x76B7B2), new Color(0xEDC948), new Color(0xB07AA1), new Color(0xFF9DA7)};
        for (int p = 0; p < rows.size(); p++) {
            int x0 = (p % cols) * panelW + 10;
            int y0 = 40 + (p / cols) * panelH;
            String key = rows.get(p)[0];
            double max = runs.stream().mapToDouble(r -> r.path(key).path("median").asDouble()).max().orElse(1);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
            g.drawString(rows.get(p)[1], x0, y0 + 16);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
            int labelW = 150;
            int maxBar = panelW - labelW - 80;
            for (int i = 0; i < runs.size(); i++) {
                JsonNode run = runs.get(i);
                double v = run.path(key).path("median").asDouble();
                int y = y0 + 28 + i * (barH + 6);
                String label = run.path("file_type").asText() + ", " + run.path("threads").asInt() + "t";
                g.setColor(Color.DARK_GRAY);
                g.drawString(label, x0, y + barH - 5);
                g.setColor(palette[i % palette.length]);
                int w = max > 0 ? (int) Math.round(maxBar * v / max) : 0;
                g.fillRect(x0 + labelW, y, Math.max(1, w), barH);
                g.setColor(Color.BLACK);
                g.drawString(fmt(v), x0 + labelW + w + 4, y + barH - 5);
            }
            g.setColor(Color.LIGHT_GRAY);
            g.setStroke(new BasicStroke(1));
            g.drawLine(x0 + labelW, y0 + 24, x0 + labelW, y0 + 28 + runs.size() * (barH + 6));
        }
        g.dispose();
        return img;
    }

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
