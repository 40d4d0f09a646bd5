package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue #10, "outputs that never lie": the label map has the picture's size whatever its size or shape,
 * and class names longer than the model's prompts are found.
 */
class HonestOutputsTest {

    @TempDir
    static Path dir;

    static ClipModel model;

    @BeforeAll
    static void load() {
        model = ClipModel.load(TestFixtures.hfTinyGguf(dir), ModelOptions.builder().threads(1)
                .textCacheDir(dir.resolve("text-cache")).build());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static Path picture(String name, int w, int h) throws IOException {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.setRGB(x, y, (x * 7 + y * 3) % 256 << 16 | (x < w / 2 ? 0x60C0 : 0xA040));
            }
        }
        Path file = dir.resolve(name);
        ImageIO.write(image, "png", file.toFile());
        return file;
    }

    @Test
    void aPictureLongerThanTheOld4096LimitKeepsItsSize() throws IOException {
        // used to come back as 4096x293 (read downscaled to 4096 px), so label(4199, 299) threw
        SegmentationResult r = model.segment(picture("wide.png", 4200, 300), ClassSet.parse("a;b"),
                SegmentOptions.defaults());
        assertThat(r.width()).isEqualTo(4200);
        assertThat(r.height()).isEqualTo(300);
        assertThat(r.label(4199, 299)).isBetween(0, 1);
    }

    @Test
    void anExtremeStripIsComputedWithALowerShortSideAndKeepsItsSize() throws IOException {
        // 3x1000 at short side 448 would be 448x149333, beyond the engine's 16384 per side
        SegmentOptions fitted = SegmentOptions.defaults().fittedTo(3, 1000);
        assertThat(fitted.shortSide()).isEqualTo(16384 * 3 / 1000);
        assertThat((int) (1000.0 * fitted.shortSide() / 3 + 0.5)).isLessThanOrEqualTo(Images.ENGINE_MAX_SIDE);
        assertThat(SegmentOptions.defaults().fittedTo(640, 480)).isEqualTo(SegmentOptions.defaults());
        SegmentationResult r = model.segment(picture("strip.png", 3, 1000), ClassSet.parse("a;b"),
                SegmentOptions.defaults());
        assertThat(r.width()).isEqualTo(3);
        assertThat(r.height()).isEqualTo(1000);
    }

    @Test
    void scaledToRepeatsEachLabelOverItsBlockAndRecountsTheShares() {
        // 2x2 map scaled to 4x6: each label covers a 2x3 block
        SegmentationResult small = SegmentationResult.of(2, 2, new int[] {0, 1, 1, 2}, List.of("a", "b", "c"),
                Optional.of(new float[][] {{1, 0, 0, 0}, {0, 1, 1, 0}, {0, 0, 0, 1}}));
        SegmentationResult big = small.scaledTo(4, 6);
        for (int y = 0; y < 6; y++) {
            for (int x = 0; x < 4; x++) {
                assertThat(big.label(x, y)).isEqualTo(small.label(x / 2, y / 3));
                assertThat(big.probabilities().orElseThrow()[small.label(x / 2, y / 3)][y * 4 + x]).isEqualTo(1f);
            }
        }
        assertThat(big.fractions()).containsExactly(0.25, 0.5, 0.25);
        assertThat(small.scaledTo(2, 2)).isSameAs(small);
    }

    @Test
    void namesLongerThanThePromptsAreFoundAndOnlyThose() {
        // "cat" is one token: 80 of them exceed the 77-token context whatever the template,
        // 40 leave room for the longest of the 80 templates
        String longName = ("cat ".repeat(80)).trim();
        String otherLongName = longName + " dog";
        String shortName = ("cat ".repeat(40)).trim();
        ClassSet classes = ClassSet.parse("fox;" + shortName + ";" + longName + ";" + otherLongName);
        List<String> overlong = model.overlongNames(classes, PromptTemplates.imagenet80());
        assertThat(overlong).containsExactly(longName, otherLongName);
        // what the warning is about: the two long names are cut to the same prompt
        assertThat(model.tokenize(PromptTemplates.fill("a photo of a {}.", longName)))
                .containsExactly(model.tokenize(PromptTemplates.fill("a photo of a {}.", otherLongName)));
        assertThat(model.overlongNames(ClassSet.parse("fox;" + shortName), PromptTemplates.imagenet80())).isEmpty();
    }

    /**
     * Transparent pictures are read as the reference reads them: alpha dropped, the stored colour kept
     * (PIL's {@code convert("RGB")}; mmcv/OpenCV's IMREAD_COLOR does the same). The three PNGs (RGBA, grey +
     * alpha, palette with a transparent entry) were written by PIL 13.0.0, and the expected values are what
     * its {@code Image.open(f).convert("RGB")} returned for them.
     */
    @Test
    void transparentPixelsKeepTheirStoredColourAsPilConvertRgbDoes() throws Exception {
        int[][] expected = {{200, 10, 10}, {10, 200, 10}, {10, 10, 200}, {0, 0, 0}};
        assertRgb(read("rgba.png"), expected);
        assertRgb(read("la.png"), new int[][] {{90, 90, 90}, {180, 180, 180}});
        assertRgb(read("p.png"), new int[][] {{250, 0, 0}, {0, 0, 250}});
    }

    private static RgbImage read(String name) throws Exception {
        return Images.read(Path.of(HonestOutputsTest.class.getResource("/alpha/" + name).toURI()));
    }

    private static void assertRgb(RgbImage image, int[][] expected) {
        assertThat(image.width()).isEqualTo(expected.length);
        for (int x = 0; x < expected.length; x++) {
            int p = image.rgbAt(x, 0);
            assertThat(new int[] {p >> 16 & 0xff, p >> 8 & 0xff, p & 0xff}).as("pixel %d", x).containsExactly(expected[x]);
        }
    }
}
