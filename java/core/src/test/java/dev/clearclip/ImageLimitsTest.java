package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Decompression bombs: pictures whose header claims too many pixels are refused before decoding. */
class ImageLimitsTest {

    @TempDir
    Path tmp;

    @AfterEach
    void clearProperty() {
        System.clearProperty(Images.MAX_PIXELS_PROPERTY);
    }

    /** One PNG chunk: length, type, data, CRC of type and data. */
    static void chunk(DataOutputStream out, String type, byte[] data) throws IOException {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeInt(data.length);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeInt((int) crc.getValue());
    }

    /**
     * A well-formed PNG header claiming width x height RGB pixels, followed by one small IDAT of
     * deflated zeros (what a real bomb would make huge) and IEND: a few hundred bytes on disk.
     */
    static byte[] craftedPng(int width, int height) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream h = new DataOutputStream(ihdr);
        h.writeInt(width);
        h.writeInt(height);
        h.write(new byte[] {8, 2, 0, 0, 0}); // 8 bits, RGB, deflate, adaptive filter, no interlace
        chunk(out, "IHDR", ihdr.toByteArray());
        Deflater deflater = new Deflater(9);
        deflater.setInput(new byte[1 << 16]);
        deflater.finish();
        byte[] idat = new byte[4096];
        int n = deflater.deflate(idat);
        chunk(out, "IDAT", java.util.Arrays.copyOf(idat, n));
        chunk(out, "IEND", new byte[0]);
        return bytes.toByteArray();
    }

    Path smallPng(int w, int h) throws IOException {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        image.setRGB(0, 0, 0x102030);
        Path file = tmp.resolve("small-" + w + "x" + h + ".png");
        ImageIO.write(image, "png", file.toFile());
        return file;
    }

    @Test
    void aPngClaiming100000x100000IsRefusedBeforeDecoding() throws IOException {
        Path bomb = tmp.resolve("bomb.png");
        Files.write(bomb, craftedPng(100_000, 100_000));
        assertThat(Files.size(bomb)).isLessThan(1000);
        // the JDK's reader sees the claimed size in the header
        try (var in = ImageIO.createImageInputStream(bomb.toFile())) {
            var reader = ImageIO.getImageReaders(in).next();
            reader.setInput(in);
            assertThat(reader.getWidth(0)).isEqualTo(100_000);
            reader.dispose();
        }
        assertThatThrownBy(() -> Images.read(bomb))
                .isInstanceOf(ImageReadException.class)
                .hasMessageContaining(bomb.toString())
                .hasMessageContaining("100000x100000")
                .hasMessageContaining("10000000000 pixels")
                .hasMessageContaining("limit of 100000000 pixels")
                .hasMessageContaining("before decoding");
    }

    @Test
    void theLimitIsAnArgument() throws IOException {
        Path file = smallPng(20, 10);
        assertThatThrownBy(() -> Images.read(file, 4096, 199))
                .isInstanceOf(ImageReadException.class).hasMessageContaining("20x10 = 200 pixels")
                .hasMessageContaining("limit of 199 pixels");
        assertThat(Images.read(file, 4096, 200).width()).isEqualTo(20);
        assertThatThrownBy(() -> Images.read(file, 4096, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theDefaultComesFromTheSystemProperty() throws IOException {
        Path file = smallPng(20, 10);
        assertThat(Images.defaultMaxPixels()).isEqualTo(Images.DEFAULT_MAX_PIXELS);
        System.setProperty(Images.MAX_PIXELS_PROPERTY, "150");
        assertThat(Images.defaultMaxPixels()).isEqualTo(150);
        assertThatThrownBy(() -> Images.read(file)).isInstanceOf(ImageReadException.class)
                .hasMessageContaining("limit of 150 pixels");
        assertThat(ModelOptions.defaults().maxImagePixels()).isEqualTo(150);
        System.setProperty(Images.MAX_PIXELS_PROPERTY, "lots");
        assertThatThrownBy(Images::defaultMaxPixels).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(Images.MAX_PIXELS_PROPERTY).hasMessageContaining("lots");
        System.setProperty(Images.MAX_PIXELS_PROPERTY, "1_000");
        assertThat(Images.defaultMaxPixels()).isEqualTo(1000);
    }

    @Test
    void modelMethodsTakingAFileUseTheModelOptionsLimit() throws IOException {
        Path file = smallPng(40, 30);
        Path model = TestFixtures.hfTinyGguf(tmp);
        try (ClipModel m = ClipModel.load(model, ModelOptions.builder().contexts(1).threads(1).noTextCache()
                .maxImagePixels(1000).build())) {
            assertThatThrownBy(() -> m.encodeImage(file)).isInstanceOf(ImageReadException.class)
                    .hasMessageContaining("limit of 1000 pixels");
            assertThatThrownBy(() -> m.segment(file, ClassSet.parse("a;b"), SegmentOptions.defaults()))
                    .isInstanceOf(ImageReadException.class).hasMessageContaining(file.toString());
        }
        try (ClipModel m = ClipModel.load(model, ModelOptions.builder().contexts(1).threads(1).noTextCache()
                .maxImagePixels(1200).build())) {
            assertThat(m.encodeImage(file)).hasSize(m.info().projectionDim());
        }
    }
}
