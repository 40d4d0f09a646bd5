package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Pictures made by Pillow (see resources/dev/clearclip/images/make_images.py) are read and compared
 * with Pillow's own decoding, orientation handling and CLIP preprocessing.
 */
class ImagesTest {

    @TempDir
    Path tmp;

    static Path resource(String name) {
        try {
            return Path.of(ImagesTest.class.getResource("images/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Reference pixels decoded with the JDK's PNG reader (lossless files written by Pillow). */
    static RgbImage png(String name) throws IOException {
        try (InputStream in = ImagesTest.class.getResourceAsStream("images/" + name)) {
            BufferedImage image = ImageIO.read(in);
            return RgbImage.of(image);
        }
    }

    static void assertSamePixels(RgbImage actual, RgbImage expected, int tolerance) {
        assertThat(actual.width()).isEqualTo(expected.width());
        assertThat(actual.height()).isEqualTo(expected.height());
        int worst = 0;
        for (int i = 0; i < actual.rgb().length; i++) {
            worst = Math.max(worst, Math.abs((actual.rgb()[i] & 0xff) - (expected.rgb()[i] & 0xff)));
        }
        assertThat(worst).as("largest channel difference").isLessThanOrEqualTo(tolerance);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
    void pngOrientationMatchesPillowsTranspose(int orientation) throws IOException {
        RgbImage read = Images.read(resource("orient_" + orientation + ".png"));
        assertSamePixels(read, png("expected_" + orientation + ".png"), 0);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8})
    void jpegOrientationMatchesPillowsTranspose(int orientation) throws IOException {
        RgbImage read = Images.read(resource("orient_" + orientation + ".jpg"));
        // JPEG is lossy; flat quadrants on block boundaries stay within a few levels.
        assertSamePixels(read, png("expected_" + orientation + ".png"), 6);
    }

    @Test
    void webpOrientationIsApplied() throws IOException {
        RgbImage read = Images.read(resource("webp_orient_6.webp"));
        assertSamePixels(read, png("expected_6.png"), 0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gradient.webp", "gradient.bmp", "gradient.png"})
    void losslessFormatsDecodeExactly(String name) throws IOException {
        assertSamePixels(Images.read(resource(name)), png("gradient.png"), 0);
        RgbImage g = Images.read(resource(name));
        // independent check of a few pixels against the generator's formula
        for (int[] xy : new int[][] {{0, 0}, {36, 22}, {13, 7}}) {
            int x = xy[0];
            int y = xy[1];
            assertThat(g.rgbAt(x, y)).isEqualTo(((x * 7) % 256) << 16 | ((y * 11) % 256) << 8 | (x * y) % 256);
        }
    }

    @Test
    void greyValuesAreKeptNotGammaConverted() {
        RgbImage g = Images.read(resource("gray.png"));
        for (int i = 0; i < 16 * 8; i++) {
            int v = (i * 2) % 256;
            assertThat(g.rgbAt(i % 16, i / 16)).isEqualTo(v << 16 | v << 8 | v);
        }
    }

    @Test
    void cmykJpegIsConvertedToSensibleRgb() {
        RgbImage c = Images.read(resource("cmyk.jpg"));
        assertThat(c.width()).isEqualTo(80);
        int white = c.rgbAt(8, 8);
        int cyan = c.rgbAt(24, 8);
        int magenta = c.rgbAt(40, 8);
        int yellow = c.rgbAt(56, 8);
        int black = c.rgbAt(72, 8);
        assertThat(min(white)).isGreaterThan(220);
        assertThat(max(black)).isLessThan(60);
        // each ink removes its complementary primary and leaves the other two much brighter
        assertThat(r(cyan)).isLessThan(g(cyan) - 60).isLessThan(b(cyan) - 60);
        assertThat(g(magenta)).isLessThan(r(magenta) - 60).isLessThan(b(magenta) - 60);
        assertThat(b(yellow)).isLessThan(r(yellow) - 60).isLessThan(g(yellow) - 60);
    }

    private static int r(int p) {
        return p >> 16 & 0xff;
    }

    private static int g(int p) {
        return p >> 8 & 0xff;
    }

    private static int b(int p) {
        return p & 0xff;
    }

    private static int min(int p) {
        return Math.min(r(p), Math.min(g(p), b(p)));
    }

    private static int max(int p) {
        return Math.max(r(p), Math.max(g(p), b(p)));
    }

    @Test
    void unreadableFilesGiveAnErrorNamingTheFile() {
        Path notImage = resource("not_an_image.jpg");
        assertThatThrownBy(() -> Images.read(notImage))
                .isInstanceOf(ImageReadException.class)
                .hasMessageContaining(notImage.toString())
                .hasMessageContaining("not a supported image");
        Path missing = tmp.resolve("missing.png");
        assertThatThrownBy(() -> Images.read(missing))
                .isInstanceOf(ImageReadException.class)
                .hasMessage(missing + ": no such file");
    }

    @Test
    void truncatedPngGivesAnErrorNamingTheFile() throws IOException {
        byte[] full = Files.readAllBytes(resource("gradient.png"));
        Path cut = tmp.resolve("cut.png");
        Files.write(cut, java.util.Arrays.copyOf(full, full.length / 2));
        assertThatThrownBy(() -> Images.read(cut))
                .isInstanceOf(ImageReadException.class)
                .hasMessageStartingWith(cut + ": ");
    }

    @Test
    void largePicturesAreDownscaledToTheBound() throws IOException {
        // 5000x300: left half red, right half blue.
        BufferedImage big = new BufferedImage(5000, 300, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 300; y++) {
            for (int x = 0; x < 5000; x++) {
                big.setRGB(x, y, x < 2500 ? 0xC81E1E : 0x1E1EC8);
            }
        }
        Path file = tmp.resolve("big.png");
        ImageIO.write(big, "png", file.toFile());
        RgbImage read = Images.read(file, 1000);
        assertThat(read.width()).isEqualTo(1000);
        assertThat(read.height()).isEqualTo(60);
        assertThat(read.rgbAt(100, 30)).isEqualTo(0xC81E1E);
        assertThat(read.rgbAt(900, 30)).isEqualTo(0x1E1EC8);
        // pictures within the bound are untouched
        assertThat(Images.read(file, 5000).width()).isEqualTo(5000);
    }

    @ParameterizedTest
    @ValueSource(ints = {224, 40})
    void clipPreprocessingMatchesTorchvisionOnPillow(int size) throws IOException {
        RgbImage src = Images.read(resource("preprocess_src.png"));
        RgbImage out = Images.clipPreprocess(src, size);
        assertSamePixels(out, png("preprocess_" + size + ".png"), 0);
    }
}
