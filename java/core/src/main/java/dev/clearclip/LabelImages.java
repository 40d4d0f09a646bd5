package dev.clearclip;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.GraphicsEnvironment;
import java.awt.RenderingHints;
import java.awt.font.TextAttribute;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.text.AttributedString;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * Pictures of a segmentation: the label map as a PNG whose pixel values are the class indices, and the
 * input picture tinted by class with a legend. These are the files {@code clearclip segment} writes
 * ({@code NAME.labels.png}, {@code NAME.overlay.png}) and {@code clearclip serve} answers.
 *
 * <p>Label PNG format: up to {@value #MAX_PALETTE_CLASSES} classes an 8-bit palette PNG (pixel value =
 * class index, palette = {@link #classColour}); beyond that a 16-bit greyscale PNG (pixel value = class
 * index, 0..65535, no colours: any PNG reader that keeps 16-bit samples, such as PIL's {@code I;16}
 * mode or {@code ImageIO}, reads the indices back).
 *
 * <p>Legend: the {@value #LEGEND_ROWS} largest classes by area, largest first, each with its share;
 * when more classes are present the rest are summed into one "other" row. Names are drawn in the
 * default sans-serif font, and each character that font lacks in the first installed font that has it
 * (per-glyph fallback), so names in any script an installed font covers are readable; no font is
 * bundled (a font covering CJK would add tens of MB to the jar).
 */
public final class LabelImages {

    /** Most classes a palette label PNG can hold; more switch to 16-bit grey. */
    public static final int MAX_PALETTE_CLASSES = 256;

    /** Rows of the overlay's legend before the rest is summed up as "other". */
    public static final int LEGEND_ROWS = 20;

    private LabelImages() {
    }

    /**
     * Colour of a label: the PASCAL VOC colour map (the bits of the label spread over the high bits of
     * R, G and B), so label 0 is black and neighbouring labels get clearly different colours.
     */
    public static int colour(int label) {
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
     * Colour (0xRRGGBB) of a class in the pictures: with a {@code background} class at index 0 it is
     * black, as in the benchmarks' label maps; otherwise the map is shifted by one so that no class is black.
     */
    public static int classColour(SegmentationResult result, int label) {
        return colour(hasBackground(result) ? label : label + 1);
    }

    private static boolean hasBackground(SegmentationResult result) {
        return result.classNames().get(0).equalsIgnoreCase("background");
    }

    /**
     * The label map as an image whose pixel values are the labels: 8-bit palette (colours from
     * {@link #classColour}) for up to {@value #MAX_PALETTE_CLASSES} classes, 16-bit grey beyond.
     */
    public static BufferedImage labelImage(SegmentationResult result) {
        int w = result.width();
        int h = result.height();
        if (result.classCount() <= MAX_PALETTE_CLASSES) {
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
        if (result.classCount() > 65536) {
            throw new IllegalArgumentException(result.classCount() + " classes do not fit a 16-bit label PNG");
        }
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_USHORT_GRAY);
        image.getRaster().setSamples(0, 0, w, h, 0, result.labels());
        return image;
    }

    /** Writes {@link #labelImage} as a PNG file. */
    public static void writeLabels(SegmentationResult result, Path file) {
        write(labelImage(result), file);
    }

    /** Writes {@link #overlay} as a PNG file. */
    public static void writeOverlay(RgbImage picture, SegmentationResult result, Path file) {
        write(overlay(picture, result), file);
    }

    /** The label map as PNG bytes. */
    public static byte[] labelPng(SegmentationResult result) {
        return png(labelImage(result));
    }

    /** The overlay as PNG bytes. */
    public static byte[] overlayPng(RgbImage picture, SegmentationResult result) {
        return png(overlay(picture, result));
    }

    private static byte[] png(BufferedImage image) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", out)) {
                throw new IllegalStateException("no PNG writer available");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static void write(BufferedImage image, Path file) {
        try {
            if (!ImageIO.write(image, "png", file.toFile())) {
                throw new IllegalStateException("no PNG writer available");
            }
        } catch (IOException e) {
            throw new ClearClipException(ClearClipException.Status.IO, file + ": cannot write PNG: " + e.getMessage(), e);
        }
    }

    /** One row of the legend: a class (or -1 for "other"), its name and share. */
    record LegendRow(int label, String name, double fraction) {
    }

    /**
     * The legend's rows: the classes present, largest share first, at most {@value #LEGEND_ROWS}; when
     * more are present the last row is "other (N classes)" with their summed share.
     */
    static List<LegendRow> legend(SegmentationResult result) {
        List<Integer> present = new ArrayList<>();
        for (int c = 0; c < result.classCount(); c++) {
            if (result.fractions()[c] > 0) {
                present.add(c);
            }
        }
        present.sort(Comparator.comparingDouble((Integer c) -> result.fractions()[c]).reversed()
                .thenComparing(c -> c));
        List<LegendRow> rows = new ArrayList<>();
        int shown = present.size() <= LEGEND_ROWS ? present.size() : LEGEND_ROWS - 1;
        for (int i = 0; i < shown; i++) {
            int c = present.get(i);
            rows.add(new LegendRow(c, result.classNames().get(c), result.fractions()[c]));
        }
        if (shown < present.size()) {
            double rest = 0;
            for (int i = shown; i < present.size(); i++) {
                rest += result.fractions()[present.get(i)];
            }
            rows.add(new LegendRow(-1, "other (" + (present.size() - shown) + " classes)", rest));
        }
        return rows;
    }

    /**
     * The picture with each pixel tinted by its class colour (background pixels left as they are), and a
     * legend on the right (see the class comment). {@code picture} must have the result's size.
     */
    public static BufferedImage overlay(RgbImage picture, SegmentationResult result) {
        int w = result.width();
        int h = result.height();
        if (picture.width() != w || picture.height() != h) {
            throw new IllegalArgumentException("picture is " + picture.width() + "x" + picture.height()
                    + ", the label map " + w + "x" + h);
        }
        List<LegendRow> rows = legend(result);

        int fontSize = Math.max(12, Math.min(20, h / 30));
        int rowHeight = fontSize + 8;
        int legendWidth = legendWidth(rows, fontSize);
        int canvasHeight = Math.max(h, rows.size() * rowHeight + 2 * rowHeight);
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
            for (LegendRow r : rows) {
                if (r.label() >= 0) {
                    g.setColor(new Color(palette[r.label()]));
                    g.fillRect(x0, y + 2, fontSize, fontSize);
                }
                g.setColor(Color.DARK_GRAY);
                g.setStroke(new BasicStroke(1));
                g.drawRect(x0, y + 2, fontSize, fontSize);
                y += rowHeight;
            }
            try {
                drawLegendText(g, rows, fontSize, rowHeight, legendWidth, x0);
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

    /** Wide enough for the longest row at about 0.6 em per character, within 14 to 40 em. */
    private static int legendWidth(List<LegendRow> rows, int fontSize) {
        int longest = 0;
        for (LegendRow r : rows) {
            longest = Math.max(longest, r.name().codePointCount(0, r.name().length()) + 7);
        }
        int text = (int) Math.ceil(longest * 0.6 * fontSize);
        return Math.max(14 * fontSize, Math.min(40 * fontSize, text + 3 * fontSize));
    }

    private static void drawLegendText(Graphics2D g, List<LegendRow> rows, int fontSize, int rowHeight,
                                       int legendWidth, int x0) {
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        Font base = new Font(Font.SANS_SERIF, Font.PLAIN, fontSize);
        g.setFont(base);
        FontMetrics fm = g.getFontMetrics();
        g.setColor(Color.DARK_GRAY);
        int y = rowHeight / 2;
        int room = legendWidth - 2 * fontSize - rowHeight - fm.stringWidth(" 100.0%");
        for (LegendRow r : rows) {
            String text = fit(r.name(), fm, room) + String.format(Locale.ROOT, " %.1f%%", 100 * r.fraction());
            AttributedString styled = new AttributedString(text);
            for (FontRun run : fontRuns(text, base)) {
                styled.addAttribute(TextAttribute.FONT, run.font(), run.start(), run.end());
            }
            g.drawString(styled.getIterator(), x0 + fontSize + 6,
                    y + 2 + fm.getAscent() - (fm.getAscent() - fontSize) / 2);
            y += rowHeight;
        }
    }

    /** A stretch {@code [start, end)} of a text drawn with one font. */
    record FontRun(int start, int end, Font font) {
    }

    private static volatile Font[] installedFonts;

    private static Font[] installedFonts() {
        Font[] fonts = installedFonts;
        if (fonts == null) {
            fonts = GraphicsEnvironment.getLocalGraphicsEnvironment().getAllFonts();
            installedFonts = fonts;
        }
        return fonts;
    }

    /**
     * Splits {@code text} into runs of one font: {@code base} where it has the glyph, else the first
     * installed font that has it (derived to {@code base}'s size), else {@code base} (no font can draw it).
     */
    static List<FontRun> fontRuns(String text, Font base) {
        List<FontRun> runs = new ArrayList<>();
        int start = 0;
        Font current = null;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            Font f = fontFor(cp, base, current);
            if (current != null && !f.equals(current)) {
                runs.add(new FontRun(start, i, current));
                start = i;
            }
            current = f;
            i += Character.charCount(cp);
        }
        if (current != null) {
            runs.add(new FontRun(start, text.length(), current));
        }
        return runs;
    }

    private static Font fontFor(int cp, Font base, Font current) {
        if (base.canDisplay(cp) || Character.isWhitespace(cp)) {
            return current != null && Character.isWhitespace(cp) ? current : base;
        }
        if (current != null && current.canDisplay(cp)) {
            return current;
        }
        for (Font f : installedFonts()) {
            if (f.canDisplay(cp)) {
                return f.deriveFont(base.getStyle(), base.getSize2D());
            }
        }
        return base;
    }

    /** Cuts a name too wide for the legend in the middle, so names that differ only at the end stay apart. */
    private static String fit(String name, FontMetrics fm, int width) {
        if (fm.stringWidth(name) <= width) {
            return name;
        }
        int[] cps = name.codePoints().toArray();
        int keep = cps.length - 1;
        while (keep > 2) {
            int head = (keep + 1) / 2;
            String s = new String(cps, 0, head) + "…" + new String(cps, cps.length - (keep - head), keep - head);
            if (fm.stringWidth(s) <= width) {
                return s;
            }
            keep--;
        }
        return new String(cps, 0, 1) + "…";
    }

    /** 45% picture, 55% class colour: the colours read clearly and the picture stays recognisable. */
    private static int blend(int picture, int colour) {
        return (picture * 45 + colour * 55 + 50) / 100;
    }
}
