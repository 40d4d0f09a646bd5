package dev.clearclip.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.cli.Cli;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.TinyModelCliTest;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** {@code clearclip bench} on the tiny fixture model: the reports are complete and well formed (no timing checks). */
class BenchCliTest extends TinyModelCliTest {


    @Test
    void childProcessRunWritesJsonMarkdownAndChart() throws IOException {
        Path json = tmp.resolve("out/bench.json");
        Path md = tmp.resolve("out/bench.md");
        Path png = tmp.resolve("out/bench.png");
        // the classes of this build, for the launcher (the shaded jar is made after the tests)
        Path jar = pathingJar(tmp.resolve("classpath.jar"));
        Cli r = Cli.run("bench", "-m", model.toString(), "--thread-counts", "1", "--repeat", "1",
                "--json", json.toString(), "--markdown", md.toString(), "--chart", png.toString(),
                "--cli-jar", jar.toString());
        assertThat(r.exit()).as(r.err()).isZero();

        JsonNode report = Json.MAPPER.readTree(json.toFile());
        assertThat(report.get("process_per_run").asBoolean()).isTrue();
        assertThat(report.get("runs")).hasSize(1);
        JsonNode run = report.get("runs").get(0);
        assertCompleteRun(run, 1);
        assertThat(run.get("process").asText()).isEqualTo("child");
        // the CLI's own segment process, started by the repository's launcher with its JVM options
        JsonNode cli = run.get("cli_segment");
        assertThat(cli.has("error")).as(cli.toString()).isFalse();
        assertThat(cli.get("launcher").asText()).endsWith("bin/clearclip");
        assertThat(cli.get("jvm_args").asText()).contains(launcherJvmOptions())
                .contains("-D" + BenchProcess.PEAK_RSS_PROPERTY + "=");
        // the launcher's malloc setting (or the caller's own value, which it keeps) reached the process
        assertThat(cli.get("malloc_env").asText()).contains("MALLOC_MMAP_THRESHOLD_=");
        assertThat(run.get("cli_segment_rss_mb").asDouble()).isEqualTo(cli.get("rss_mb").asDouble())
                .isPositive();
        assertThat(cli.get("wall_s").asDouble()).isPositive();

        String table = Files.readString(md);
        assertThat(table).isEqualTo(r.out());
        for (String[] row : BenchCommand.ROWS) {
            assertThat(table).contains(row[1]);
        }
        assertThat(table.lines().filter(l -> l.startsWith("| hf-tiny.gguf | f32 | 1 |")
                && l.endsWith(String.format(java.util.Locale.ROOT, " %.0f |", cli.get("rss_mb").asDouble()))))
                .hasSize(1);
        assertThat(table).contains("CLI segment peak RSS (MB)");

        BufferedImage chart = ImageIO.read(png.toFile());
        assertThat(chart.getWidth()).isGreaterThan(200);
        assertThat(chart.getHeight()).isGreaterThan(100);
    }

    @Test
    void missingLauncherIsReportedAndTheOtherFiguresStand() throws IOException {
        Path json = tmp.resolve("bench.json");
        Path launcher = tmp.resolve("no-such/bin/clearclip");
        Cli r = Cli.run("bench", "-m", model.toString(), "--thread-counts", "1", "--repeat", "1", "--in-process",
                "--cli-launcher", launcher.toString(), "--json", json.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode run = Json.MAPPER.readTree(json.toFile()).get("runs").get(0);
        assertCompleteRun(run, 1);
        assertThat(run.has("cli_segment_rss_mb")).isFalse();
        assertThat(run.get("cli_segment").get("error").asText()).contains(launcher.toString());
        assertThat(r.err()).contains("CLI segment peak RSS not measured", launcher.toString());
        assertThat(r.out()).contains("CLI segment of hf-tiny.gguf not measured");
    }

    @Test
    void peakRssFileRemembersMemoryThatWasGivenBack() throws IOException {
        long blockKb = 64 * 1024;
        try (Arena arena = Arena.ofConfined()) {
            // above glibc's largest mmap threshold, so the block is mapped, and unmapped at close
            arena.allocate(blockKb * 1024).fill((byte) 1);
        }
        Path file = tmp.resolve("peak.txt");
        BenchProcess.writePeakRss(file);
        var facts = BenchProcess.readFacts(file);
        long hwm = Long.parseLong(facts.get("vm_hwm_kb"));
        long rss = Long.parseLong(facts.get("vm_rss_kb"));
        // the peak still counts the touched block, the resident figure no longer does; a file that wrote
        // VmRSS (or VmPeak, the address space) in place of VmHWM fails one of these
        assertThat(rss).isPositive().isLessThanOrEqualTo(hwm);
        assertThat(hwm - rss).isGreaterThanOrEqualTo(blockKb * 3 / 4);
        assertThat(hwm).isLessThan(BenchProcess.statusKb("VmPeak"));
        assertThat(facts.get("jvm_args")).isEqualTo(String.join(" ",
                java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()));
    }

    @Test
    void launcherIsFoundForAnInstallationAndForABuild() throws IOException {
        Path prefix = tmp.resolve("prefix");
        Path installed = Files.createDirectories(prefix.resolve("share/clearclip")).resolve("clearclip.jar");
        Files.createDirectories(prefix.resolve("bin"));
        Files.writeString(prefix.resolve("bin/clearclip"), "#!/bin/sh\n");
        Files.writeString(installed, "");
        assertThat(BenchProcess.findLauncher(installed)).isEqualTo(prefix.resolve("bin/clearclip").toAbsolutePath());
        Path repo = tmp.resolve("repo");
        Files.createDirectories(repo.resolve("java/cli/target/classes"));
        Files.createDirectories(repo.resolve("bin"));
        Files.writeString(repo.resolve("bin/clearclip"), "#!/bin/sh\n");
        assertThat(BenchProcess.findLauncher(repo.resolve("java/cli/target/clearclip.jar")))
                .isEqualTo(repo.resolve("bin/clearclip").toAbsolutePath());
        assertThat(BenchProcess.findLauncher(repo.resolve("java/cli/target/classes")))
                .isEqualTo(repo.resolve("bin/clearclip").toAbsolutePath());
        assertThat(BenchProcess.findLauncher(tmp.resolve("elsewhere/x.jar"))).isNull();
    }

    @Test
    void inProcessSweepMeasuresEveryThreadCount() throws IOException {
        Path json = tmp.resolve("bench.json");
        Cli r = Cli.run("bench", "-m", model.toString(), "--thread-counts", "1,2", "--repeat", "1", "--in-process",
                "--json", json.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode report = Json.MAPPER.readTree(json.toFile());
        assertThat(report.get("process_per_run").asBoolean()).isFalse();
        assertThat(report.get("runs")).hasSize(2);
        assertCompleteRun(report.get("runs").get(0), 1);
        assertCompleteRun(report.get("runs").get(1), 2);
        assertThat(r.out()).contains("cumulative");
    }

    @Test
    void sharedModelRunComparesPoolsWithIdenticalResults() throws IOException {
        Path json = tmp.resolve("shared.json");
        Cli r = Cli.run("bench", "-m", model.toString(), "--shared-model", "4", "--tasks", "12", "--repeat", "2",
                "--pools", "default,2x1,1x1,2x2", "--json", json.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode report = Json.MAPPER.readTree(json.toFile());
        assertThat(report.get("java_threads").asInt()).isEqualTo(4);
        assertThat(report.get("tasks").asInt()).isEqualTo(12);
        JsonNode runs = report.get("runs");
        assertThat(runs).hasSize(4);
        int cores = Runtime.getRuntime().availableProcessors();
        JsonNode byDefault = runs.get(0);
        assertThat(byDefault.get("pool").asText()).isEqualTo("default");
        assertThat(byDefault.get("contexts").asInt() * byDefault.get("threads_per_context").asInt())
                .isLessThanOrEqualTo(cores);
        assertThat(runs.get(1).get("contexts").asInt()).isEqualTo(2);
        assertThat(runs.get(1).get("threads_per_context").asInt()).isEqualTo(1);
        assertThat(runs.get(3).get("busy_threads_max").asInt()).isEqualTo(4);
        for (JsonNode run : runs) {
            // every segmentation of every pool equals the single-threaded one
            assertThat(run.get("identical_to_single_thread").asBoolean()).as(run.get("pool").asText()).isTrue();
            assertThat(run.get("wall_s").get("samples")).hasSize(2);
            assertThat(run.get("segmentations_per_s").asDouble()).isPositive();
        }
        assertThat(r.out()).contains("| default |", "| 2x1 | 2 | 1 |", "| 2x2 | 2 | 2 | 4 |");
        assertThat(Cli.run("bench", "-m", model.toString(), "--shared-model", "2", "--pools", "3by1").exit())
                .isEqualTo(Main.EXIT_USAGE);
        assertThat(Cli.run("bench", "-m", model.toString(), "--shared-model", "0").exit()).isEqualTo(Main.EXIT_USAGE);
    }

    @Test
    void rejectsBadArguments() {
        assertThat(Cli.run("bench", "-m", model.toString(), "--repeat", "0").exit()).isEqualTo(Main.EXIT_USAGE);
        assertThat(Cli.run("bench", "-m", model.toString(), "--thread-counts", "0").exit()).isEqualTo(Main.EXIT_USAGE);
        Cli missing = Cli.run("bench", "-m", tmp.resolve("missing.gguf").toString());
        assertThat(missing.exit()).isEqualTo(Main.EXIT_RUNTIME);
        assertThat(missing.err()).contains("missing.gguf");
    }

    /** A jar whose manifest runs Main on this test's class path (directories and jars), for the launcher. */
    static Path pathingJar(Path jar) throws IOException {
        java.util.jar.Manifest manifest = new java.util.jar.Manifest();
        manifest.getMainAttributes().put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(java.util.jar.Attributes.Name.MAIN_CLASS, Main.class.getName());
        StringBuilder cp = new StringBuilder();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            cp.append(Path.of(entry).toAbsolutePath().toUri()).append(' ');
        }
        manifest.getMainAttributes().put(java.util.jar.Attributes.Name.CLASS_PATH, cp.toString().trim());
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar), manifest)) {
            out.flush();
        }
        return jar;
    }

    /** The JVM options the repository's launcher gives every run (its `exec` line), which the CLI child must have. */
    private static java.util.List<String> launcherJvmOptions() throws IOException {
        Path launcher = BenchProcess.findLauncher(BenchProcess.codeSource());
        assertThat(launcher).isNotNull();
        java.util.List<String> options = new java.util.ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^\\s+(-[-A-Za-z][^\\s\\\\$]*)\\s*\\\\$",
                java.util.regex.Pattern.MULTILINE).matcher(Files.readString(launcher));
        while (m.find()) {
            options.add(m.group(1));
        }
        assertThat(options).as("options in " + launcher).isNotEmpty();
        return options;
    }

    private static void assertCompleteRun(JsonNode run, int threads) {
        assertThat(run.get("threads").asInt()).isEqualTo(threads);
        assertThat(run.get("file_type").asText()).isEqualTo("f32");
        assertThat(run.get("file_bytes").asLong()).isPositive();
        for (String[] row : BenchCommand.ROWS) {
            JsonNode s = run.get(row[0]);
            assertThat(s).as(row[0]).isNotNull();
            assertThat(s.get("samples")).as(row[0]).hasSize(1);
            assertThat(s.get("median").asDouble()).as(row[0]).isPositive();
            assertThat(s.get("min").asDouble()).as(row[0]).isEqualTo(s.get("median").asDouble());
        }
        // 21 VOC classes (background included) x 80 templates
        assertThat(run.get("text_prompts").asInt()).isEqualTo(21 * 80);
        assertThat(run.get("segment_images_per_s").asDouble())
                .isCloseTo(1 / run.get("segment_500x375_s").get("median").asDouble(),
                        org.assertj.core.data.Offset.offset(1e-9));
        JsonNode rss = run.get("rss_mb");
        assertThat(rss.get("peak").asDouble()).isGreaterThanOrEqualTo(rss.get("peak_segment").asDouble());
        assertThat(rss.get("peak_segment").asDouble()).isGreaterThanOrEqualTo(rss.get("peak_after_text").asDouble());
        assertThat(rss.get("peak_after_text").asDouble()).isGreaterThanOrEqualTo(rss.get("before_load").asDouble());
        assertThat(rss.get("before_load").asDouble()).isPositive();
    }
}
