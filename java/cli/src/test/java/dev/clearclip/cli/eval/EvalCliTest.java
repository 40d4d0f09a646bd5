package dev.clearclip.cli.eval;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.cli.Cli;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.TinyModelCliTest;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code clearclip eval} on a two-picture synthetic VOC with the tiny random-weight model: checks the run,
 * the tables, the JSON and resuming; the accuracy itself is meaningless with random weights.
 */
class EvalCliTest extends TinyModelCliTest {

    static Path voc;
    /** Non-ignored ground-truth pixels per class, counted from the label maps written below. */
    static long[] gtPixels = new long[21];

    @BeforeAll
    static void writeDataset() throws IOException {
        voc = shared.resolve("data/VOCdevkit/VOC2012");
        Files.createDirectories(voc.resolve("ImageSets/Segmentation"));
        Files.writeString(voc.resolve("ImageSets/Segmentation/val.txt"), "2007_000001\n2007_000002\n");
        writeSample("2007_000001", 60, 40, 15);
        writeSample("2007_000002", 36, 50, 7);
    }

    /** A picture and a palette label map: left half background, right half {@code cls}, a 255 border column. */
    private static void writeSample(String id, int w, int h, int cls) throws IOException {
        BufferedImage picture = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        byte[] r = new byte[256];
        byte[] g = new byte[256];
        byte[] b = new byte[256];
        for (int i = 0; i < 256; i++) {
            r[i] = (byte) (i * 40);
            g[i] = (byte) (i * 90);
            b[i] = (byte) i;
        }
        BufferedImage labels = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED,
                new IndexColorModel(8, 256, r, g, b));
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                picture.setRGB(x, y, x < w / 2 ? 0x2050A0 : 0xC08030);
                int label = x == w / 2 ? 255 : x < w / 2 ? 0 : cls;
                labels.getRaster().setSample(x, y, 0, label);
                if (label != 255) {
                    gtPixels[label]++;
                }
            }
        }
        Files.createDirectories(voc.resolve("JPEGImages"));
        Files.createDirectories(voc.resolve("SegmentationClass"));
        ImageIO.write(picture, "jpg", voc.resolve("JPEGImages/" + id + ".jpg").toFile());
        ImageIO.write(labels, "png", voc.resolve("SegmentationClass/" + id + ".png").toFile());
    }

    private Cli eval(Path out, String... extra) {
        String[] base = {"eval", "-m", model.toString(), "--threads", "1", "--dataset", "voc21",
                "--root", shared.resolve("data").toString(), "-o", out.toString()};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        return Cli.run(args);
    }

    @Test
    void methodNaclipRunsWithItsSettings() throws IOException {
        Path out = tmp.resolve("naclip.json");
        Cli r = eval(out, "--method", "naclip", "--limit", "1");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode settings = Json.MAPPER.readTree(out.toFile()).get("settings");
        assertThat(settings.get("method").asText()).isEqualTo("naclip");
        assertThat(settings.get("mode").asText()).isEqualTo("naclip");
        assertThat(settings.get("crop").asInt()).isEqualTo(224);
        assertThat(settings.get("pamr_steps").asInt()).isEqualTo(10);
        assertThat(settings.get("prob_threshold").asDouble()).isEqualTo(0.5);
        // the saved progress belongs to these settings: resuming with ClearCLIP's is refused, with them it goes on
        Cli other = eval(out, "--resume");
        assertThat(other.exit()).isEqualTo(2);
        assertThat(other.err()).contains("another model or settings");
        Cli same = eval(out, "--resume", "--method", "naclip");
        assertThat(same.exit()).as(same.err()).isZero();
        assertThat(Json.MAPPER.readTree(out.toFile()).get("images").asInt()).isEqualTo(2);
    }

    @Test
    void evaluatesTheSplitPrintsTablesAndWritesJson() throws IOException {
        Path out = tmp.resolve("results.json");
        Cli r = eval(out);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("evaluating voc21", "2/2");
        assertThat(r.out()).contains("| class ", "| background ", "| tvmonitor ", " mIoU |", " aAcc |", "| voc21 ",
                "wrote " + out);

        JsonNode json = Json.MAPPER.readTree(out.toFile());
        assertThat(json.get("dataset").asText()).isEqualTo("voc21");
        assertThat(json.get("images").asInt()).isEqualTo(2);
        assertThat(json.get("split_images").asInt()).isEqualTo(2);
        assertThat(json.get("complete").asBoolean()).isTrue();
        assertThat(json.get("settings").get("prob_threshold").asDouble()).isEqualTo(0.5);
        assertThat(json.get("settings").get("crop").asInt()).isEqualTo(448);
        assertThat(json.get("settings").get("mode").asText()).isEqualTo("clearclip");
        assertThat(json.get("model").get("sha256").asText()).hasSize(64);
        assertThat(json.get("mIoU").isNumber()).isTrue();
        assertThat(json.get("aAcc").asDouble()).isBetween(0.0, 100.0);
        assertThat(json.get("timings").get("this_run_images").asInt()).isEqualTo(2);

        JsonNode classes = json.get("classes");
        assertThat(classes).hasSize(21);
        assertThat(classes.get(0).get("name").asText()).isEqualTo("background");
        long total = 0;
        for (int c = 0; c < 21; c++) {
            assertThat(classes.get(c).get("gt_pixels").asLong()).as("class %d", c).isEqualTo(gtPixels[c]);
            total += gtPixels[c];
            if (gtPixels[c] == 0 && classes.get(c).get("pred_pixels").asLong() == 0) {
                assertThat(classes.get(c).get("iou").isNull()).isTrue();
            }
        }
        JsonNode matrix = json.get("confusion_matrix");
        assertThat(matrix).hasSize(21);
        long sum = 0;
        for (JsonNode row : matrix) {
            assertThat(row).hasSize(21);
            for (JsonNode v : row) {
                sum += v.asLong();
            }
        }
        assertThat(sum).isEqualTo(total).isEqualTo(60 * 40 - 40 + 36 * 50 - 50);
        assertThat(json.get("classes_in_mean").asInt()).isBetween(3, 21);
        // a finished split needs no saved progress
        assertThat(tmp.resolve("results.json.state")).doesNotExist();
    }

    @Test
    void aLimitedRunResumesToTheSameResultAsAFullRun() throws IOException {
        Path full = tmp.resolve("full.json");
        assertThat(eval(full).exit()).isZero();

        Path out = tmp.resolve("part.json");
        Path state = tmp.resolve("part.json.state");
        Cli first = eval(out, "--limit", "1");
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(first.out()).contains("1 of 2 pictures of the split evaluated", state.toString());
        assertThat(Json.MAPPER.readTree(out.toFile()).get("images").asInt()).isEqualTo(1);
        assertThat(state).exists();

        Cli fresh = eval(out);
        assertThat(fresh.exit()).isEqualTo(2);
        assertThat(fresh.err()).contains(state.toString(), "pass --resume");

        Cli otherMode = eval(out, "--resume", "--mode", "vanilla");
        assertThat(otherMode.exit()).isEqualTo(2);
        assertThat(otherMode.err()).contains("cannot resume", "mode: 'clearclip' in the saved state, 'vanilla' now");

        Cli resumed = eval(out, "--resume");
        assertThat(resumed.exit()).as(resumed.err()).isZero();
        assertThat(resumed.err()).contains("1 pictures already evaluated");
        JsonNode json = Json.MAPPER.readTree(out.toFile());
        assertThat(json.get("images").asInt()).isEqualTo(2);
        assertThat(json.get("timings").get("this_run_images").asInt()).isEqualTo(1);
        assertThat(json.get("confusion_matrix")).isEqualTo(Json.MAPPER.readTree(full.toFile()).get("confusion_matrix"));
        assertThat(state).doesNotExist();
    }

    @Test
    void badDatasetsAndOptionsAreReportedClearly() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Cli missing = Cli.run("eval", "-m", model.toString(), "--dataset", "cityscapes", "--root", empty.toString(),
                "-o", tmp.resolve("x.json").toString());
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("Cityscapes not found", empty.resolve("leftImg8bit/val").toString());

        Cli unknown = Cli.run("eval", "-m", model.toString(), "--dataset", "voc", "--root", empty.toString());
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err()).contains("'--dataset': unknown dataset 'voc'", "voc21");

        Cli limit = Cli.run("eval", "-m", model.toString(), "--dataset", "voc21", "--root", empty.toString(),
                "--limit", "0");
        assertThat(limit.exit()).isEqualTo(2);
    }
}
