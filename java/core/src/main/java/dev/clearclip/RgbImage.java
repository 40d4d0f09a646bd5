package dev.clearclip;

import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;

/**
 * An 8-bit sRGB image, pixels interleaved R, G, B, rows packed without padding. This is the pixel form
 * the engine takes; {@link Images} reads files into it.
 */
public record RgbImage(int width, int height, byte[] rgb) {

    public RgbImage {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if ((long) width * height * 3 != rgb.length) {
            throw new IllegalArgumentException("rgb has " + rgb.length + " bytes, expected " + width + " x " + height + " x 3");
        }
    }

    /** Converts any BufferedImage to sRGB bytes (alpha is dropped, colour models converted by Java2D). */
    public static RgbImage of(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        if (image.getType() == BufferedImage.TYPE_3BYTE_BGR) {
            byte[] bgr = ((DataBufferByte) image.getRaster().getDataBuffer()).getData();
            if (bgr.length == w * h * 3 && image.getRaster().getParent() == null) {
                byte[] rgb = new byte[bgr.length];
                for (int i = 0; i < rgb.length; i += 3) {
                    rgb[i] = bgr[i + 2];
                    rgb[i + 1] = bgr[i + 1];
                    rgb[i + 2] = bgr[i];
                }
                return new RgbImage(w, h, rgb);
            }
        }
        byte[] rgb = new byte[w * h * 3];
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            image.getRGB(0, y, w, 1, row, 0, w);
            for (int x = 0; x < w; x++) {
                int p = row[x];
                int o = (y * w + x) * 3;
                rgb[o] = (byte) (p >>> 16);
                rgb[o + 1] = (byte) (p >>> 8);
                rgb[o + 2] = (byte) p;
            }
        }
        return new RgbImage(w, h, rgb);
    }

    /** Packed 0xRRGGBB of a pixel. */
    public int rgbAt(int x, int y) {
        int o = (y * width + x) * 3;
        return (rgb[o] & 0xff) << 16 | (rgb[o + 1] & 0xff) << 8 | (rgb[o + 2] & 0xff);
    }

    public BufferedImage toBufferedImage() {
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                row[x] = rgbAt(x, y);
            }
            out.setRGB(0, y, width, 1, row, 0, width);
        }
        return out;
    }
}
