package dev.clearclip.cli;

import dev.clearclip.RgbImage;
import dev.clearclip.SegmentationResult;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/** Pictures of a segmentation: the label map as a palette PNG and a colour overlay with a legend. */
final class LabelPictures {

    private LabelPictures() {
    }

    /**
     * Colour of a label: the PASCAL VOC colour map (the bits of the label spread over the high bits of
     * R, G and B), so label 0 is black and neighbouring labels get clearly different colours.
     */
    static int colour(int label) {
        int r = 0;
        int g = 0;
        int b = 0;
        int c = label;
        for (int shift = 7; shift >= 0 && c > 0; shift--) {
            r |= (c & 1) << shift;
            g |= (c >> 1 & 1) << shift;
            b |= (c >> 2 & 1) << shift;
            c >>= 3;
        }
        return r << 16 | g << 8 | b;
    }

    /**
     * Colour of a class in the pictures: with a {@code background} class at index 0 it is black, as in
     * the benchmarks' label maps; otherwise the map is shifted by one so that no class is black.
     */
    static int classColour(SegmentationResult result, int label) {
        return colour(hasBackground(result) ? label : label + 1);
    }

    private static boolean hasBackground(SegmentationResult result) {
        return result.classNames().get(0).equalsIgnoreCase("background");
    }

    /**
     * The label map as an image whose pixel values are the labels: 8-bit palette PNG (colours from
     * {@link #classColour}) for up to 256 classes, 16-bit grey PNG beyond.
     */
    static BufferedImage labelImage(SegmentationResult result) {
        int w = result.width();
        int h = result.height();
        if (result.classCount() <= 256) {
            byte[] r = new byte[256];
            byte[] g = new byte[256];
            byte[] b = new byte[256];
            for (int i = 0; i < 256; i++) {
                int c = classColour(result, i);
                r[i] = (byte) (c >> 16);
                g[i] = (byte) (c >> 8);
                b[i] = (byte) c;
            }
            BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED,
                    new IndexColorModel(8, 256, r, g, b));
            image.getRaster().setSamples(0, 0, w, h, 0, result.labels());
            return image;
        }
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_USHORT_GRAY);
        image.getRaster().setSamples(0, 0, w, h, 0, result.labels());
        return image;
    }

    static void writeLabels(SegmentationResult result, Path file) throws IOException {
        write(labelImage(result), file);
    }

    private static void write(BufferedImage image, Path file) throws IOException {
        if (!ImageIO.write(image, "png", file.toFile())) {
            throw new IOException(file + ": no PNG writer available");
        }
    }

    /**
     * The picture with each pixel tinted by its class colour (background pixels left as they are), and a legend on the right listing the
     * classes present, largest first, with their share of the picture.
     */
    static BufferedImage overlay(RgbImage picture, SegmentationResult result) {
        int w = result.width();
        int h = result.height();
        List<Integer> present = new ArrayList<>();
        for (int c = 0; c < result.classCount(); c++) {
            if (result.fractions()[c] > 0) {
                present.add(c);
            }
        }
        present.sort(Comparator.comparingDouble((Integer c) -> result.fractions()[c]).reversed());

        int fontSize = Math.max(12, Math.min(20, h / 30));
        int rowHeight = fontSize + 8;
        int legendWidth = fontSize * 14;
        int canvasHeight = Math.max(h, present.size() * rowHeight + 2 * rowHeight);
        BufferedImage canvas = new BufferedImage(w + legendWidth, canvasHeight, BufferedImage.TYPE_INT_RGB);

        int[] row = new int[w];
        int[] labels = result.labels();
        boolean background = hasBackground(result);
        int[] palette = new int[result.classCount()];
        for (int c = 0; c < palette.length; c++) {
            palette[c] = classColour(result, c);
        }
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = picture.rgbAt(x, y);
                int label = labels[y * w + x];
                if (label == 0 && background) {
                    row[x] = p; // background stays as it is, so the classes stand out
                    continue;
                }
                int c = palette[label];
                row[x] = blend(p >> 16 & 0xff, c >> 16 & 0xff) << 16 | blend(p >> 8 & 0xff, c >> 8 & 0xff) << 8
                        | blend(p & 0xff, c & 0xff);
            }
            canvas.setRGB(0, y, w, 1, row, 0, w);
        }

        Graphics2D g = canvas.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(w, 0, legendWidth, canvasHeight);
            if (canvasHeight > h) {
                g.fillRect(0, h, w, canvasHeight - h);
            }
            int x0 = w + rowHeight / 2;
            int y = rowHeight / 2;
            for (int c : present) {
                g.setColor(new Color(palette[c]));
                g.fillRect(x0, y + 2, fontSize, fontSize);
                g.setColor(Color.DARK_GRAY);
                g.setStroke(new BasicStroke(1));
                g.drawRect(x0, y + 2, fontSize, fontSize);
                y += rowHeight;
            }
            try {
                drawLegendText(g, result, present, fontSize, rowHeight, legendWidth, x0);
            } catch (RuntimeException | LinkageError | InternalError noFonts) {
                // Minimal JREs on edge boards and containers often have no fonts or no fontconfig
                // ("Fontconfig head is null"): the overlay then keeps the colour swatches without
                // names, which NAME.json gives with the same colours, instead of failing the run.
            }
        } finally {
            g.dispose();
        }
        return canvas;
    }

    private static void drawLegendText(Graphics2D g, SegmentationResult result, List<Integer> present, int fontSize,
                                       int rowHeight, int legendWidth, int x0) {
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, fontSize));
        FontMetrics fm = g.getFontMetrics();
        g.setColor(Color.DARK_GRAY);
        int y = rowHeight / 2;
        for (int c : present) {
            String text = fit(result.classNames().get(c), fm, legendWidth - 2 * fontSize - rowHeight - fm.stringWidth(" 100.0%"))
                    + String.format(Locale.ROOT, " %.1f%%", 100 * result.fractions()[c]);
            g.drawString(text, x0 + fontSize + 6, y + 2 + fm.getAscent() - (fm.getAscent() - fontSize) / 2);
            y += rowHeight;
        }
    }

    private static String fit(String name, FontMetrics fm, int width) {
        if (fm.stringWidth(name) <= width) {
            return name;
        }
        String s = name;
        while (s.length() > 1 && fm.stringWidth(s + "…") > width) {
            s = s.substring(0, s.length() - 1);
        }
        return s + "…";
    }

    /** 45% picture, 55% class colour: the colours read clearly and the picture stays recognisable. */
    private static int blend(int picture, int colour) {
        return (picture * 45 + colour * 55 + 50) / 100;
    }

    static void writeOverlay(RgbImage picture, SegmentationResult result, Path file) throws IOException {
        write(overlay(picture, result), file);
    }
}
