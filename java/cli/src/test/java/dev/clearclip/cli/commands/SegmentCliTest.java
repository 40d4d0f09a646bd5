package dev.clearclip.cli.commands;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.cli.Cli;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.TinyModelCliTest;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** The model commands end to end on the tiny fixture model (random weights: checks plumbing, not accuracy). */
class SegmentCliTest extends TinyModelCliTest {

    private Path picture(String name, int w, int h) throws IOException {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.setRGB(x, y, x < w / 2 ? 0x3060C0 : 0x40A040);
            }
        }
        Path file = tmp.resolve(name);
        ImageIO.write(image, "png", file.toFile());
        return file;
    }

    @Test
    void segmentWritesLabelsOverlayAndSummary() throws IOException {
        Path pic = picture("scene.png", 300, 200);
        Path out = tmp.resolve("out");
        Cli r = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "sky,blue sky;grass",
                "--threshold", "0.2", "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        BufferedImage labels = ImageIO.read(out.resolve("scene.labels.png").toFile());
        assertThat(labels.getWidth()).isEqualTo(300);
        assertThat(labels.getHeight()).isEqualTo(200);
        int[] samples = labels.getRaster().getSamples(0, 0, 300, 200, 0, (int[]) null);
        assertThat(java.util.Arrays.stream(samples).allMatch(v -> v >= 0 && v <= 2)).isTrue();
        BufferedImage overlay = ImageIO.read(out.resolve("scene.overlay.png").toFile());
        assertThat(overlay.getWidth()).isGreaterThan(300);

        JsonNode json = Json.MAPPER.readTree(out.resolve("scene.json").toFile());
        assertThat(json.get("width").asInt()).isEqualTo(300);
        assertThat(json.get("classes")).hasSize(3); // background added by the threshold
        assertThat(json.get("classes").get(0).get("name").asText()).isEqualTo("background");
        assertThat(json.get("classes").get(1).get("names").toString()).isEqualTo("[\"sky\",\"blue sky\"]");
        double sum = 0;
        long pixels = 0;
        for (JsonNode c : json.get("classes")) {
            sum += c.get("fraction").asDouble();
            pixels += c.get("pixels").asLong();
            long counted = 0;
            for (int v : samples) {
                counted += v == c.get("index").asInt() ? 1 : 0;
            }
            assertThat(c.get("pixels").asLong()).isEqualTo(counted);
        }
        assertThat(sum).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(pixels).isEqualTo(300 * 200);
    }

    @Test
    void methodNaclipTakesItsSettingsOnTopOfThePresetAndOptionsOverrideThem() throws IOException {
        Path pic = picture("n.png", 120, 90);
        Path out = tmp.resolve("naclip");
        Cli r = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--preset", "voc21",
                "--method", "naclip", "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode settings = Json.MAPPER.readTree(out.resolve("n.json").toFile()).get("settings");
        assertThat(settings.get("method").asText()).isEqualTo("naclip");
        assertThat(settings.get("mode").asText()).isEqualTo("naclip");
        assertThat(settings.get("crop").asInt()).isEqualTo(224);
        assertThat(settings.get("stride").asInt()).isEqualTo(112);
        assertThat(settings.get("logit_scale").asDouble()).isEqualTo(40.0);
        assertThat(settings.get("pamr_steps").asInt()).isEqualTo(10);
        assertThat(settings.get("pamr_dilations").toString()).isEqualTo("[8,16]");
        assertThat(settings.get("prob_threshold").asDouble()).isEqualTo(0.5); // VOC21's

        Path out2 = tmp.resolve("naclip2");
        Cli o = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "a;b",
                "--method", "naclip", "--pamr-steps", "3", "--pamr-dilations", "1,2,4", "--naclip-std", "2.5",
                "-o", out2.toString());
        assertThat(o.exit()).as(o.err()).isZero();
        JsonNode s2 = Json.MAPPER.readTree(out2.resolve("n.json").toFile()).get("settings");
        assertThat(s2.get("pamr_steps").asInt()).isEqualTo(3);
        assertThat(s2.get("pamr_dilations").toString()).isEqualTo("[1,2,4]");
        assertThat(s2.get("naclip_std").asDouble()).isEqualTo(2.5);

        Cli bad = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "a;b",
                "--method", "clipseg", "-o", out2.toString());
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("unknown method 'clipseg'");
        Cli badDil = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "a;b",
                "--pamr-steps", "2", "--pamr-dilations", "0", "-o", out2.toString());
        assertThat(badDil.exit()).isEqualTo(2);
        assertThat(badDil.err()).contains("PAMR dilations must be >= 1, got 0");
    }

    @Test
    void foldersAreProcessedWithProgressAndBadFilesReported() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("pics"));
        Files.move(picture("a.png", 64, 48), dir.resolve("a.png"));
        Files.move(picture("b.png", 40, 70), dir.resolve("b.png"));
        Files.writeString(dir.resolve("broken.jpg"), "not a picture");
        Path out = tmp.resolve("out");
        Cli r = Cli.run("segment", "-m", model.toString(), "--image", dir.toString(), "--classes", "cat;dog",
                "-o", out.toString());
        assertThat(r.exit()).isEqualTo(1); // one picture failed
        assertThat(r.err()).contains("segmenting", dir.resolve("broken.jpg") + ": ");
        assertThat(out.resolve("a.labels.png")).exists();
        assertThat(out.resolve("b.overlay.png")).exists();
        assertThat(out.resolve("b.json")).exists();
        assertThat(r.out()).contains("segmented 2 of 3 pictures");
    }

    @Test
    void featuresWritesTheGridOfThePictureAtItsOwnSize() throws IOException {
        Path pic = picture("odd.png", 450, 333);
        Path npy = tmp.resolve("f.npy");
        Cli r = Cli.run("features", "-m", model.toString(), "--image", pic.toString(), "-o", npy.toString(),
                "--mode", "sclip");
        assertThat(r.exit()).as(r.err()).isZero();
        // 450x333 padded to 464x336 -> 29 x 21 patches of 16; projection dim 64
        byte[] b = Files.readAllBytes(npy);
        String header = new String(b, 10, (b[8] & 0xff) | (b[9] & 0xff) << 8, java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(header).contains("'shape': (609, 64)");
        assertThat(r.out()).contains("grid 29 x 21");
    }

    @Test
    void classifyAndTokenizeAndInfoRun() throws IOException {
        Path pic = picture("c.png", 100, 80);
        Cli c = Cli.run("classify", "-m", model.toString(), "--image", pic.toString(), "--classes", "a;b;c", "-k", "2",
                "--json");
        assertThat(c.exit()).as(c.err()).isZero();
        JsonNode top = Json.MAPPER.readTree(c.out()).get(0).get("top");
        assertThat(top).hasSize(2);
        assertThat(top.get(0).get("probability").asDouble()).isGreaterThanOrEqualTo(top.get(1).get("probability").asDouble());

        Cli t = Cli.run("tokenize", "-m", model.toString(), "a photo of a fox", "x");
        assertThat(t.exit()).as(t.err()).isZero();
        // ids of open_clip's tokenizer for this text (the check value gguf-tools/reference asserts too)
        assertThat(t.out().lines().toList().get(0)).isEqualTo("[49406,320,1125,539,320,3240,49407]");

        Cli i = Cli.run("info", model.toString());
        assertThat(i.exit()).isZero();
        assertThat(i.out()).contains("clip.vision.patch_size", "v.patch_embd.weight");
    }

    @Test
    void quantizeWritesASmallerModel() throws IOException {
        Path q = tmp.resolve("q8.gguf");
        Cli r = Cli.run("quantize", model.toString(), "-o", q.toString(), "--type", "q8_0");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(Files.size(q)).isLessThan(Files.size(model));
        Cli e = Cli.run("embed", "-m", q.toString(), "--text", "hello");
        assertThat(e.exit()).as(e.err()).isZero();
    }
}
