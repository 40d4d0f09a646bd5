package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Font;
import java.awt.GraphicsEnvironment;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelImagesTest {

    @TempDir
    Path tmp;

    @Test
    void vocColourMapValues() {
        // PASCAL VOC palette entries as published with the dataset's devkit
        assertThat(LabelImages.colour(0)).isEqualTo(0x000000);
        assertThat(LabelImages.colour(1)).isEqualTo(0x800000);
        assertThat(LabelImages.colour(2)).isEqualTo(0x008000);
        assertThat(LabelImages.colour(3)).isEqualTo(0x808000);
        assertThat(LabelImages.colour(15)).isEqualTo(0xC08080);
        assertThat(LabelImages.colour(20)).isEqualTo(0x004080);
    }

    private static SegmentationResult result(List<String> names) {
        // 5x4: left 2 columns label 0, middle column label 1, right 2 columns label 2
        int[] labels = new int[20];
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 5; x++) {
                labels[y * 5 + x] = x < 2 ? 0 : x == 2 ? 1 : 2;
            }
        }
        return SegmentationResult.of(5, 4, labels, names, Optional.empty());
    }

    @Test
    void palettePngDecodesBackToTheLabels() throws IOException {
        SegmentationResult r = result(List.of("background", "cat", "dog"));
        Path file = tmp.resolve("labels.png");
        LabelImages.writeLabels(r, file);
        BufferedImage back = ImageIO.read(file.toFile());
        assertThat(back.getColorModel()).isInstanceOf(IndexColorModel.class);
        assertThat(back.getWidth()).isEqualTo(5);
        assertThat(back.getHeight()).isEqualTo(4);
        int[] samples = back.getRaster().getSamples(0, 0, 5, 4, 0, (int[]) null);
        assertThat(samples).containsExactly(r.labels());
        IndexColorModel cm = (IndexColorModel) back.getColorModel();
        assertThat(cm.getRGB(0) & 0xffffff).isEqualTo(0x000000); // background black
        assertThat(cm.getRGB(1) & 0xffffff).isEqualTo(0x800000);
    }

    @Test
    void withoutBackgroundNoClassIsBlack() {
        SegmentationResult r = result(List.of("sky", "road", "car"));
        assertThat(LabelImages.classColour(r, 0)).isEqualTo(0x800000);
        assertThat(LabelImages.classColour(r, 2)).isEqualTo(0x808000);
    }

    @Test
    void overlayTintsPixelsAndAddsALegend() {
        SegmentationResult r = result(List.of("background", "cat", "dog"));
        byte[] grey = new byte[5 * 4 * 3];
        java.util.Arrays.fill(grey, (byte) 100);
        BufferedImage o = LabelImages.overlay(new RgbImage(5, 4, grey), r);
        assertThat(o.getWidth()).isGreaterThan(5);
        assertThat(o.getHeight()).isGreaterThanOrEqualTo(4);
        // label 1 (cat, 0x800000): 45% of 100 + 55% of 128 = 115.4 red, 45 green and blue
        int p = o.getRGB(2, 1) & 0xffffff;
        assertThat(p >> 16 & 0xff).isEqualTo(115);
        assertThat(p >> 8 & 0xff).isEqualTo(45);
        assertThat(p & 0xff).isEqualTo(45);
        // background pixels are not tinted
        assertThat(o.getRGB(0, 0) & 0xffffff).isEqualTo(0x646464);
        // the legend area right of the picture is mostly white with a swatch of each class present
        boolean catSwatch = false;
        for (int y = 0; y < o.getHeight(); y++) {
            for (int x = 5; x < o.getWidth(); x++) {
                catSwatch |= (o.getRGB(x, y) & 0xffffff) == 0x800000;
            }
        }
        assertThat(catSwatch).isTrue();
    }

    @Test
    void moreThan256ClassesWriteA16BitGreyPngThatReadsBackAsIndices() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            names.add("class " + i);
        }
        int[] labels = {0, 255, 256, 299, 7, 298};
        SegmentationResult r = SegmentationResult.of(3, 2, labels, names, Optional.empty());
        Path file = tmp.resolve("many.png");
        LabelImages.writeLabels(r, file);
        BufferedImage back;
        try {
            back = ImageIO.read(file.toFile());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        assertThat(back.getType()).isEqualTo(BufferedImage.TYPE_USHORT_GRAY);
        assertThat(back.getColorModel().getComponentSize(0)).isEqualTo(16);
        assertThat(back.getRaster().getSamples(0, 0, 3, 2, 0, (int[]) null)).containsExactly(labels);
        // and the PNG bytes of the library API are the same picture
        assertThat(LabelImages.labelPng(r)).isNotEmpty();
    }

    @Test
    void legendShowsTheLargestClassesThenOther() {
        // 30 classes, class c covering c + 1 pixels: shares all differ
        List<String> names = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int c = 0; c < 30; c++) {
            names.add("long shared prefix of a class name number " + c);
            for (int k = 0; k <= c; k++) {
                labels.add(c);
            }
        }
        int n = labels.size(); // 465 = 15 x 31
        SegmentationResult r = SegmentationResult.of(15, n / 15,
                labels.stream().mapToInt(Integer::intValue).toArray(), names, Optional.empty());
        List<LabelImages.LegendRow> rows = LabelImages.legend(r);
        assertThat(rows).hasSize(LabelImages.LEGEND_ROWS);
        assertThat(rows.get(0).label()).isEqualTo(29);
        assertThat(rows.get(LabelImages.LEGEND_ROWS - 2).label()).isEqualTo(29 - (LabelImages.LEGEND_ROWS - 2));
        LabelImages.LegendRow other = rows.get(LabelImages.LEGEND_ROWS - 1);
        assertThat(other.label()).isEqualTo(-1);
        int hidden = 30 - (LabelImages.LEGEND_ROWS - 1);
        assertThat(other.name()).isEqualTo("other (" + hidden + " classes)");
        double rest = 0;
        for (int c = 0; c < hidden; c++) {
            rest += r.fractions()[c];
        }
        assertThat(other.fraction()).isCloseTo(rest, org.assertj.core.data.Offset.offset(1e-12));
        double total = rows.stream().mapToDouble(LabelImages.LegendRow::fraction).sum();
        assertThat(total).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-12));
        // the overlay draws without error and is as tall as its legend needs
        byte[] grey = new byte[15 * (n / 15) * 3];
        BufferedImage o = LabelImages.overlay(new RgbImage(15, n / 15, grey), r);
        assertThat(o.getHeight()).isGreaterThanOrEqualTo(rows.size() * 20);
    }

    @Test
    void everyCharacterOfANameIsDrawnWithAFontThatHasItWhenAnyInstalledFontDoes() {
        // Latin, Greek, Cyrillic, Hebrew, Arabic, CJK, an emoji: whatever fonts this machine has
        String name = "café Ωμέγα кошка חתול قطة 猫 🐈";
        Font base = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
        Font[] installed;
        try {
            installed = GraphicsEnvironment.getLocalGraphicsEnvironment().getAllFonts();
        } catch (RuntimeException | LinkageError | InternalError noFonts) {
            return; // a JRE without fonts draws no names at all (the overlay then has swatches only)
        }
        List<LabelImages.FontRun> runs = LabelImages.fontRuns(name, base);
        assertThat(runs.get(0).start()).isZero();
        assertThat(runs.get(runs.size() - 1).end()).isEqualTo(name.length());
        for (int i = 1; i < runs.size(); i++) {
            assertThat(runs.get(i).start()).isEqualTo(runs.get(i - 1).end());
        }
        for (LabelImages.FontRun run : runs) {
            assertThat(run.font().getSize2D()).isEqualTo(14f);
            name.substring(run.start(), run.end()).codePoints().forEach(cp -> {
                boolean anyHasIt = java.util.Arrays.stream(installed).anyMatch(f -> f.canDisplay(cp));
                if (anyHasIt && !Character.isWhitespace(cp)) {
                    assertThat(run.font().canDisplay(cp))
                            .as("U+%04X drawn with %s", cp, run.font().getFontName()).isTrue();
                }
            });
        }
    }
}
