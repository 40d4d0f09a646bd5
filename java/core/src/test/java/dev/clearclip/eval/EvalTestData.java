package dev.clearclip.eval;

import dev.clearclip.RgbImage;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Tiny pictures and label PNGs for the dataset layouts. */
final class EvalTestData {

    private EvalTestData() {
    }

    /**
     * A picture whose red channel holds the label a {@link #RED_PREDICTOR} will predict per pixel
     * (green and blue vary so it is not flat). Saved losslessly only as PNG.
     */
    static BufferedImage picture(int w, int h, int[] predicted) {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int i = 0; i < w * h; i++) {
            image.setRGB(i % w, i / w, predicted[i] << 16 | (i * 37 & 0xff) << 8 | 0x40);
        }
        return image;
    }

    /** Predicts the red channel of each pixel, as {@link #picture} encodes it. */
    static final SegmentationPredictor RED_PREDICTOR = image -> {
        int[] out = new int[image.width() * image.height()];
        for (int i = 0; i < out.length; i++) {
            out[i] = image.rgb()[i * 3] & 0xff;
        }
        return out;
    };

    static RgbImage rgb(int w, int h, int[] predicted) {
        return RgbImage.of(picture(w, h, predicted));
    }

    static void writePicture(Path file, int w, int h, int[] predicted) throws IOException {
        Files.createDirectories(file.getParent());
        String name = file.getFileName().toString();
        String format = name.endsWith(".png") ? "png" : "jpg";
        if (!ImageIO.write(picture(w, h, predicted), format, file.toFile())) {
            throw new IOException("no ImageIO writer for " + format);
        }
    }

    /** An 8-bit grey PNG whose grey values are the stored labels (COCO, Cityscapes, ADE20K, Context). */
    static void writeGreyLabels(Path file, int w, int h, int... stored) throws IOException {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        image.getRaster().setSamples(0, 0, w, h, 0, stored);
        write(file, image);
    }

    /** An 8-bit palette PNG with VOC's colour map, the palette indices being the stored labels (VOC). */
    static void writePaletteLabels(Path file, int w, int h, int... stored) throws IOException {
        byte[] r = new byte[256];
        byte[] g = new byte[256];
        byte[] b = new byte[256];
        for (int i = 0; i < 256; i++) {
            int c = i;
            for (int shift = 7; shift >= 0 && c > 0; shift--) {
                r[i] |= (byte) ((c & 1) << shift);
                g[i] |= (byte) ((c >> 1 & 1) << shift);
                b[i] |= (byte) ((c >> 2 & 1) << shift);
                c >>= 3;
            }
        }
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED,
                new IndexColorModel(8, 256, r, g, b));
        image.getRaster().setSamples(0, 0, w, h, 0, stored);
        write(file, image);
    }

    private static void write(Path file, BufferedImage image) throws IOException {
        Files.createDirectories(file.getParent());
        if (!ImageIO.write(image, "png", file.toFile())) {
            throw new IOException("no PNG writer");
        }
    }
}
