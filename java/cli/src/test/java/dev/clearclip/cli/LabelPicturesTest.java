package dev.clearclip.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.RgbImage;
import dev.clearclip.SegmentationResult;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelPicturesTest {

    @TempDir
    Path tmp;

    @Test
    void vocColourMapValues() {
        // PASCAL VOC palette entries as published with the dataset's devkit
        assertThat(LabelPictures.colour(0)).isEqualTo(0x000000);
        assertThat(LabelPictures.colour(1)).isEqualTo(0x800000);
        assertThat(LabelPictures.colour(2)).isEqualTo(0x008000);
        assertThat(LabelPictures.colour(3)).isEqualTo(0x808000);
        assertThat(LabelPictures.colour(15)).isEqualTo(0xC08080);
        assertThat(LabelPictures.colour(20)).isEqualTo(0x004080);
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
        LabelPictures.writeLabels(r, file);
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
        assertThat(LabelPictures.classColour(r, 0)).isEqualTo(0x800000);
        assertThat(LabelPictures.classColour(r, 2)).isEqualTo(0x808000);
    }

    @Test
    void overlayTintsPixelsAndAddsALegend() {
        SegmentationResult r = result(List.of("background", "cat", "dog"));
        byte[] grey = new byte[5 * 4 * 3];
        java.util.Arrays.fill(grey, (byte) 100);
        BufferedImage o = LabelPictures.overlay(new RgbImage(5, 4, grey), r);
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
}
