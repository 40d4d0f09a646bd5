package dev.clearclip.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
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
final class BenchProcess {

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
