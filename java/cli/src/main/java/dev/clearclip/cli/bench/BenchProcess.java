package dev.clearclip.cli.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.Main;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The process side of {@code clearclip bench}: the child JVM each (model, threads) pair runs in, so
 * that its peak RSS is that model's alone, and the facts of this process and machine (RSS, load
 * average, CPU model) that every report carries.
 */
public final class BenchProcess {

    private BenchProcess() {
    }

    /**
     * Runs {@code bench --worker} for one model and thread count in a child JVM with this JVM's
     * {@code -X} options and {@code clearclip.*} properties; returns the JSON line it prints.
     * Its stderr (progress, --verbose) is passed through to {@code err}.
     */
    static ObjectNode runChild(List<String> benchArgs, Path modelPath, int threads, PrintWriter err)
            throws IOException, InterruptedException {
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
        cmd.addAll(benchArgs);
        Process child = new ProcessBuilder(cmd).start();
        child.getOutputStream().close();
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

    // ---- the CLI's own process ----------------------------------------------------------------

    /**
     * Runs {@code clearclip segment} the way a user does: through the {@code bin/clearclip} launcher
     * (so with the launcher's JVM options and environment, the one place they are written down), with
     * {@code jar} as CLEARCLIP_JAR and this JVM's JDK, on {@code picture}, {@code --preset voc21} and an
     * empty text cache (a first run: the 21 x 80 prompts are encoded in it). Returns the process's peak
     * RSS (VmHWM, which it writes itself just before exiting: see {@link #PEAK_RSS_PROPERTY}), its
     * wall time, JVM options and MALLOC_* environment.
     */
    static ObjectNode runCliSegment(Path launcher, Path jar, Path model, Path picture, int threads, Path work)
            throws IOException, InterruptedException {
        Path cache = Files.createDirectories(work.resolve("text-cache"));
        Path out = work.resolve("out");
        Path peakFile = work.resolve("peak-rss.txt");
        Path log = work.resolve("segment.log");
        List<String> cmd = List.of("sh", launcher.toString(), "segment", "-m", model.toString(), "--image",
                picture.toString(), "--preset", "voc21", "--text-cache", cache.toString(), "--threads",
                Integer.toString(threads), "-o", out.toString());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("CLEARCLIP_JAR", jar.toString());
        env.put("CLEARCLIP_JAVA_HOME", System.getProperty("java.home"));
        // after any options the caller's environment gives the launcher, as a user's would be
        String opts = env.getOrDefault("CLEARCLIP_JAVA_OPTS", "");
        env.put("CLEARCLIP_JAVA_OPTS", (opts.isBlank() ? "" : opts + " ") + "-D" + PEAK_RSS_PROPERTY + "="
                + peakFile);
        long t0 = System.nanoTime();
        Process child = pb.start();
        child.getOutputStream().close();
        int code = child.waitFor();
        double wall = (System.nanoTime() - t0) / 1e9;
        if (code != 0 || !Files.isRegularFile(peakFile)) {
            List<String> lines = Files.isRegularFile(log) ? Files.readAllLines(log) : List.of();
            String tail = String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
            throw new IllegalStateException("clearclip segment through " + launcher + " "
                    + (code != 0 ? "failed (exit code " + code + ")" : "wrote no peak RSS") + ": " + tail);
        }
        Map<String, String> facts = readFacts(peakFile);
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("rss_mb", kbToMb(Long.parseLong(facts.get("vm_hwm_kb"))));
        r.put("wall_s", Math.round(wall * 1000) / 1000.0);
        r.put("threads", threads);
        r.put("launcher", launcher.toString());
        r.put("jvm_args", facts.getOrDefault("jvm_args", ""));
        r.put("malloc_env", facts.getOrDefault("malloc_env", ""));
        return r;
    }

    /**
     * Hidden: when set to a file name, the process writes its peak RSS (VmHWM), its JVM options and its
     * MALLOC_* environment there just before it exits. {@code clearclip bench} sets it on the CLI process
     * it measures: the figure is the kernel's own high-water mark of the whole process, read by the
     * process itself after all of its work, so no sampling can miss a short peak or race the exit.
     */
    static final String PEAK_RSS_PROPERTY = "clearclip.peakRssFile";

    /** Called by {@code Main.main} as the process exits: writes the file {@link #PEAK_RSS_PROPERTY} names, if set. */
    public static void writePeakRssIfAsked() {
        String peakFile = System.getProperty(PEAK_RSS_PROPERTY);
        if (peakFile != null) {
            writePeakRss(Path.of(peakFile));
        }
    }

    /** What {@link #PEAK_RSS_PROPERTY} asks for: VmHWM and VmRSS in kB, JVM options, MALLOC_* variables. */
    static void writePeakRss(Path file) {
        StringBuilder sb = new StringBuilder();
        // both from one reading: the kernel's counters are approximate, and only one reading promises VmRSS <= VmHWM
        Map<String, Long> status = statusKb();
        sb.append("vm_hwm_kb=").append(status.getOrDefault("VmHWM", -1L)).append('\n');
        sb.append("vm_rss_kb=").append(status.getOrDefault("VmRSS", -1L)).append('\n');
        sb.append("jvm_args=").append(String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()))
                .append('\n');
        List<String> malloc = new ArrayList<>();
        System.getenv().forEach((k, v) -> {
            if (k.startsWith("MALLOC_")) {
                malloc.add(k + "=" + v);
            }
        });
        malloc.sort(null);
        sb.append("malloc_env=").append(String.join(" ", malloc)).append('\n');
        try {
            Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            System.err.println("clearclip: warning: cannot write " + file + ": " + e.getMessage());
        }
    }

    static Map<String, String> readFacts(Path file) throws IOException {
        Map<String, String> facts = new java.util.LinkedHashMap<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                facts.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        if (!facts.containsKey("vm_hwm_kb") || Long.parseLong(facts.get("vm_hwm_kb")) < 0) {
            throw new IllegalStateException(file + ": no VmHWM (is this Linux?)");
        }
        return facts;
    }

    /**
     * The launcher next to a clearclip jar or classes folder: PREFIX/bin/clearclip for an installed
     * PREFIX/share/clearclip/clearclip.jar, bin/clearclip of the repository for java/cli/target/...;
     * null when there is none.
     */
    static Path findLauncher(Path codeSource) {
        Path dir = codeSource.toAbsolutePath().getParent();
        for (int up = 0; up < 4 && dir != null; up++, dir = dir.getParent()) {
            Path candidate = dir.resolve("bin").resolve("clearclip");
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** Where this class was loaded from: the clearclip jar, or a classes folder in a build. */
    static Path codeSource() {
        try {
            return Path.of(BenchProcess.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (java.net.URISyntaxException | RuntimeException e) {
            return null;
        }
    }

    // ---- system facts -------------------------------------------------------------------------

    /** A line of /proc/self/status in MB (VmRSS: now, VmHWM: peak so far); -1 where there is no /proc. */
    static double residentMb(String key) {
        long kb = statusKb(key);
        return kb < 0 ? -1 : kbToMb(kb);
    }

    /** kB to MB, to one decimal, as the report prints memory. */
    private static double kbToMb(long kb) {
        return Math.round(kb / 1024.0 * 10) / 10.0;
    }

    /** A line of /proc/self/status in kB; -1 where there is no /proc. */
    static long statusKb(String key) {
        return statusKb().getOrDefault(key, -1L);
    }

    /** The kB lines of one reading of /proc/self/status (VmRSS, VmHWM, ...); empty where there is no /proc. */
    static Map<String, Long> statusKb() {
        Map<String, Long> kb = new java.util.HashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.endsWith(" kB")) {
                    kb.put(line.substring(0, colon), Long.parseLong(line.substring(colon + 1, line.length() - 3).trim()));
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return kb;
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    static String cpuModel() {
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
}
