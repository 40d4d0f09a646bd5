package dev.clearclip.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.IOException;
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
        Cli r = Cli.run("bench", "-m", model.toString(), "--thread-counts", "1", "--repeat", "1",
                "--json", json.toString(), "--markdown", md.toString(), "--chart", png.toString());
        assertThat(r.exit()).as(r.err()).isZero();

        JsonNode report = Json.MAPPER.readTree(json.toFile());
        assertThat(report.get("process_per_run").asBoolean()).isTrue();
        assertThat(report.get("runs")).hasSize(1);
        JsonNode run = report.get("runs").get(0);
        assertCompleteRun(run, 1);
        assertThat(run.get("process").asText()).isEqualTo("child");

        String table = Files.readString(md);
        assertThat(table).isEqualTo(r.out());
        for (String[] row : BenchCommand.ROWS) {
            assertThat(table).contains(row[1]);
        }
        assertThat(table.lines().filter(l -> l.startsWith("| hf-tiny.gguf | f32 | 1 |"))).hasSize(1);

        BufferedImage chart = ImageIO.read(png.toFile());
        assertThat(chart.getWidth()).isGreaterThan(200);
        assertThat(chart.getHeight()).isGreaterThan(100);
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
