package dev.clearclip.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.ClipModel;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * The command line on a GPU device: embed, features and segment with {@code --backend DEVICE} against
 * {@code --backend cpu} on the tiny fixture model, and the device named by {@code --verbose} and
 * {@code --version}. The device is the system property {@code clearclip.test.device}: the build runs this
 * class a second time in a JVM of its own with {@code GGML_VK_VISIBLE_DEVICES=0} and the device
 * {@code vulkan} (Surefire execution {@code device-parity}); in the default run, with no device asked
 * for, it checks instead that asking for Vulkan where ggml offers no Vulkan device is a clear error, never a
 * quiet run on the CPU.
 */
class DeviceCliTest extends TinyModelCliTest {

    static final String DEVICE = System.getProperty("clearclip.test.device", "");
    /** Lowest cosine between device and CPU of an embedding (f32 model) and lowest share of equal labels. */
    static final double MIN_COSINE = 0.9999;
    static final double MIN_LABEL_AGREEMENT = 0.99;

    private Path picture() throws IOException {
        Path file = tmp.resolve("scene.png");
        BufferedImage image = new BufferedImage(300, 200, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 200; y++) {
            for (int x = 0; x < 300; x++) {
                int r = y < 80 ? 60 + y : 40;
                int g = y >= 80 ? 120 + (x % 50) : 90;
                int b = y < 80 ? 200 : 40 + (x * y) % 30;
                image.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        ImageIO.write(image, "png", file.toFile());
        return file;
    }

    private static double cosine(JsonNode a, JsonNode b) {
        double ab = 0;
        double aa = 0;
        double bb = 0;
        assertThat(a.size()).isEqualTo(b.size()).isPositive();
        for (int i = 0; i < a.size(); i++) {
            ab += a.get(i).asDouble() * b.get(i).asDouble();
            aa += a.get(i).asDouble() * a.get(i).asDouble();
            bb += b.get(i).asDouble() * b.get(i).asDouble();
        }
        return ab / Math.sqrt(aa * bb);
    }

    private static float[] npyFloats(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int headerLength = (bytes[8] & 0xFF) | (bytes[9] & 0xFF) << 8;
        ByteBuffer data = ByteBuffer.wrap(bytes, 10 + headerLength, bytes.length - 10 - headerLength)
                .order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[data.remaining() / 4];
        data.asFloatBuffer().get(out);
        return out;
    }

    @Test
    void embedFeaturesAndSegmentOnTheDeviceEqualTheCpu() throws IOException {
        assumeTrue(!DEVICE.isEmpty(), "runs in the device-parity execution (clearclip.test.device)");
        Path pic = picture();
        JsonNode[] embed = new JsonNode[2];
        float[][] features = new float[2][];
        int[][] labels = new int[2][];
        String[] backends = {"cpu", DEVICE};
        for (int k = 0; k < 2; k++) {
            Cli e = Cli.run("--verbose", "embed", "-m", model.toString(), "--backend", backends[k],
                    "--text", "a photo of a dog", "--text", "sky", "--image", pic.toString());
            assertThat(e.exit()).as(e.err()).isZero();
            // --verbose names the device the model runs on
            assertThat(e.err().toLowerCase(Locale.ROOT)).contains("backend " + (k == 0 ? "cpu" : DEVICE.toLowerCase(Locale.ROOT)));
            embed[k] = Json.MAPPER.readTree(e.out());

            Path npy = tmp.resolve("features-" + backends[k] + ".npy");
            Cli f = Cli.run("features", "-m", model.toString(), "--backend", backends[k], "--image", pic.toString(),
                    "--mode", "sclip", "-o", npy.toString());
            assertThat(f.exit()).as(f.err()).isZero();
            features[k] = npyFloats(npy);

            Path out = tmp.resolve("segment-" + backends[k]);
            Cli s = Cli.run("segment", "-m", model.toString(), "--backend", backends[k], "--image", pic.toString(),
                    "--classes", "sky;grass;road", "--method", "naclip", "-o", out.toString());
            assertThat(s.exit()).as(s.err()).isZero();
            BufferedImage png = ImageIO.read(out.resolve("scene.labels.png").toFile());
            labels[k] = png.getRaster().getSamples(0, 0, png.getWidth(), png.getHeight(), 0, (int[]) null);
        }
        for (String kind : new String[] {"text", "image"}) {
            for (int i = 0; i < embed[0].get(kind).size(); i++) {
                assertThat(cosine(embed[0].get(kind).get(i).get("embedding"), embed[1].get(kind).get(i).get("embedding")))
                        .as("embed %s %d on %s against the CPU", kind, i, DEVICE).isGreaterThanOrEqualTo(MIN_COSINE);
            }
        }
        assertThat(features[1]).hasSameSizeAs(features[0]);
        double dot = 0;
        double n0 = 0;
        double n1 = 0;
        for (int i = 0; i < features[0].length; i++) {
            dot += features[0][i] * features[1][i];
            n0 += features[0][i] * features[0][i];
            n1 += features[1][i] * features[1][i];
        }
        assertThat(dot / Math.sqrt(n0 * n1)).as("features on %s against the CPU", DEVICE).isGreaterThanOrEqualTo(MIN_COSINE);
        int same = 0;
        for (int i = 0; i < labels[0].length; i++) {
            same += labels[0][i] == labels[1][i] ? 1 : 0;
        }
        assertThat((double) same / labels[0].length).as("labels equal on %s and the CPU", DEVICE)
                .isGreaterThanOrEqualTo(MIN_LABEL_AGREEMENT);

        // --version lists the device among ggml's
        Cli v = Cli.run("--version");
        assertThat(v.out().toLowerCase(Locale.ROOT)).contains(DEVICE.toLowerCase(Locale.ROOT) + "0");
    }

    @Test
    void askingForVulkanWithoutAVulkanDeviceIsAClearError() {
        assumeTrue(DEVICE.isEmpty(), "the default run, where ggml offers no Vulkan device");
        assumeTrue(!ClipModel.systemInfo().contains("Vulkan0"), "this machine has a Vulkan device");
        Cli r = Cli.run("embed", "-m", model.toString(), "--backend", "vulkan", "--text", "sky");
        assertThat(r.exit()).isEqualTo(Main.EXIT_RUNTIME);
        assertThat(r.err()).contains("backend 'vulkan' is not available").contains("Vulkan");
        // the message says how to get a device: a driver, or the software device's variable
        assertThat(r.err()).containsAnyOf("GGML_VK_VISIBLE_DEVICES=0", "GGML_VULKAN=ON");
        assertThat(r.out()).isEmpty();
    }
}
