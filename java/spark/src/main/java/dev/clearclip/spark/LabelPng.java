package dev.clearclip.spark;

import dev.clearclip.SegmentationResult;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferUShort;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;

/**
 * The label map as PNG bytes: a grey-scale picture whose pixel value is the class index (8-bit up to 256
 * classes, 16-bit above). Private to this module until java/core offers a public label-PNG writer.
 */
final class LabelPng {

    private LabelPng() {
    }

    static byte[] encode(SegmentationResult result) {
        int w = result.width();
        int h = result.height();
        int[] labels = result.labels();
        BufferedImage image;
        if (result.classCount() <= 256) {
            image = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
            byte[] px = ((DataBufferByte) image.getRaster().getDataBuffer()).getData();
            for (int i = 0; i < labels.length; i++) {
                px[i] = (byte) labels[i];
            }
        } else {
            image = new BufferedImage(w, h, BufferedImage.TYPE_USHORT_GRAY);
            short[] px = ((DataBufferUShort) image.getRaster().getDataBuffer()).getData();
            for (int i = 0; i < labels.length; i++) {
                px[i] = (short) labels[i];
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", out)) {
                throw new IllegalStateException("no PNG writer in ImageIO");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
