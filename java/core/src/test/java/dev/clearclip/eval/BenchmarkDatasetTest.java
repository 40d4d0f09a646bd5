package dev.clearclip.eval;

import static dev.clearclip.eval.EvalTestData.writeGreyLabels;
import static dev.clearclip.eval.EvalTestData.writePaletteLabels;
import static dev.clearclip.eval.EvalTestData.writePicture;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.IndexColorModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The readers of the eight benchmarks on tiny datasets in each layout. */
class BenchmarkDatasetTest {

    private static final int I = LabelMap.IGNORE;
    private static final int[] ZEROS = new int[8];

    @TempDir
    Path tmp;

    @Test
    void classCountsAreThoseOfTheBenchmarks() {
        assertThat(Benchmark.VOC21.preset().classes().size()).isEqualTo(21);
        assertThat(Benchmark.VOC20.preset().classes().size()).isEqualTo(20);
        assertThat(Benchmark.CONTEXT60.preset().classes().size()).isEqualTo(60);
        assertThat(Benchmark.CONTEXT59.preset().classes().size()).isEqualTo(59);
        assertThat(Benchmark.COCO_OBJECT.preset().classes().size()).isEqualTo(81);
        assertThat(Benchmark.COCO_STUFF.preset().classes().size()).isEqualTo(171);
        assertThat(Benchmark.CITYSCAPES.preset().classes().size()).isEqualTo(19);
        assertThat(Benchmark.ADE20K.preset().classes().size()).isEqualTo(150);
        assertThat(Benchmark.parse("COCO_object")).isEqualTo(Benchmark.COCO_OBJECT);
        assertThatThrownBy(() -> Benchmark.parse("voc")).hasMessageContaining("voc21, voc20");
    }

    private Path voc(Path root) throws IOException {
        Path base = root.resolve("VOCdevkit/VOC2012");
        Files.createDirectories(base.resolve("ImageSets/Segmentation"));
        // the split file's order is the evaluation order, not the alphabetical one
        Files.writeString(base.resolve("ImageSets/Segmentation/val.txt"), "2007_000042\n2007_000033\n\n");
        writePicture(base.resolve("JPEGImages/2007_000042.jpg"), 4, 2, ZEROS);
        writePicture(base.resolve("JPEGImages/2007_000033.jpg"), 4, 2, ZEROS);
        writePaletteLabels(base.resolve("SegmentationClass/2007_000042.png"), 4, 2, 0, 5, 20, 255, 0, 1, 2, 255);
        writePaletteLabels(base.resolve("SegmentationClass/2007_000033.png"), 4, 2, 21, 0, 0, 0, 0, 0, 0, 0);
        return base;
    }

    @Test
    void vocPaletteIndicesAreTheLabelsAndVoc20DropsTheBackground() throws IOException {
        Path base = voc(tmp);
        assertThat(ImageIO.read(base.resolve("SegmentationClass/2007_000042.png").toFile()).getColorModel())
                .isInstanceOf(IndexColorModel.class);

        SegmentationDataset voc21 = Benchmark.VOC21.open(tmp); // found below VOCdevkit/VOC2012
        assertThat(voc21.name()).isEqualTo("voc21");
        assertThat(voc21.classCount()).isEqualTo(21);
        assertThat(voc21.ids()).containsExactly("2007_000042", "2007_000033");
        SegmentationDataset.Sample s = voc21.read("2007_000042");
        assertThat(s.image().width()).isEqualTo(4);
        assertThat(s.labels().labels()).containsExactly(0, 5, 20, I, 0, 1, 2, I);

        SegmentationDataset voc20 = Benchmark.VOC20.open(base); // the VOC2012 folder itself works as well
        assertThat(voc20.read("2007_000042").labels().labels()).containsExactly(I, 4, 19, I, I, 0, 1, I);
        // 21 is past VOC20's 20 classes after the shift as well as VOC21's
        assertThatThrownBy(() -> voc20.read("2007_000033")).isInstanceOf(DatasetException.class)
                .hasMessageContaining("2007_000033.png").hasMessageContaining("label value 21")
                .hasMessageContaining("0..20 or 255");
        assertThatThrownBy(() -> voc21.read("2007_000033")).isInstanceOf(DatasetException.class)
                .hasMessageContaining("0..20 or 255");
    }

    @Test
    void pascalContextSixtyKeepsBackgroundFiftyNineReducesZero() throws IOException {
        Path base = tmp.resolve("VOCdevkit/VOC2010");
        Files.createDirectories(base.resolve("ImageSets/SegmentationContext"));
        Files.writeString(base.resolve("ImageSets/SegmentationContext/val.txt"), "2008_000002\n");
        writePicture(base.resolve("JPEGImages/2008_000002.jpg"), 4, 2, ZEROS);
        writeGreyLabels(base.resolve("SegmentationClassContext/2008_000002.png"), 4, 2, 0, 1, 59, 30, 0, 0, 2, 58);

        assertThat(Benchmark.CONTEXT60.open(tmp).read("2008_000002").labels().labels())
                .containsExactly(0, 1, 59, 30, 0, 0, 2, 58);
        assertThat(Benchmark.CONTEXT59.open(tmp).read("2008_000002").labels().labels())
                .containsExactly(I, 0, 58, 29, I, I, 1, 57);
    }

    @Test
    void cocoStuffAndCocoObjectReadTheirOwnLabelFiles() throws IOException {
        Path base = tmp.resolve("coco_stuff164k");
        for (String stem : List.of("000000000285", "000000000139")) {
            writePicture(base.resolve("images/val2017/" + stem + ".jpg"), 4, 2, ZEROS);
        }
        Path labels = base.resolve("annotations/val2017");
        writeGreyLabels(labels.resolve("000000000139_labelTrainIds.png"), 4, 2, 0, 170, 255, 85, 1, 2, 3, 4);
        writeGreyLabels(labels.resolve("000000000139_instanceTrainIds.png"), 4, 2, 0, 80, 255, 1, 0, 0, 0, 0);
        writeGreyLabels(labels.resolve("000000000285_labelTrainIds.png"), 4, 2, ZEROS);
        writeGreyLabels(labels.resolve("000000000285_instanceTrainIds.png"), 4, 2, 81, 0, 0, 0, 0, 0, 0, 0);

        SegmentationDataset stuff = Benchmark.COCO_STUFF.open(tmp);
        assertThat(stuff.ids()).containsExactly("000000000139", "000000000285");
        assertThat(stuff.read("000000000139").labels().labels()).containsExactly(0, 170, I, 85, 1, 2, 3, 4);

        SegmentationDataset object = Benchmark.COCO_OBJECT.open(base);
        assertThat(object.classCount()).isEqualTo(81);
        assertThat(object.read("000000000139").labels().labels()).containsExactly(0, 80, I, 1, 0, 0, 0, 0);
        assertThatThrownBy(() -> object.read("000000000285")).isInstanceOf(DatasetException.class)
                .hasMessageContaining("000000000285_instanceTrainIds.png").hasMessageContaining("label value 81");
    }

    @Test
    void cityscapesWalksTheCityFoldersInPathOrder() throws IOException {
        Path base = tmp.resolve("cityscapes");
        writePicture(base.resolve("leftImg8bit/val/lindau/lindau_000000_000019_leftImg8bit.png"), 4, 2, ZEROS);
        writePicture(base.resolve("leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit.png"), 4, 2, ZEROS);
        Files.writeString(base.resolve("leftImg8bit/val/README"), "not a picture");
        writeGreyLabels(base.resolve("gtFine/val/lindau/lindau_000000_000019_gtFine_labelTrainIds.png"), 4, 2,
                0, 18, 255, 7, 0, 0, 0, 0);
        writeGreyLabels(base.resolve("gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelTrainIds.png"), 4, 2,
                19, 0, 0, 0, 0, 0, 0, 0);
        // the raw label ids beside them must not be taken
        writeGreyLabels(base.resolve("gtFine/val/lindau/lindau_000000_000019_gtFine_labelIds.png"), 4, 2,
                33, 33, 33, 33, 33, 33, 33, 33);

        SegmentationDataset city = Benchmark.CITYSCAPES.open(tmp);
        assertThat(city.ids()).containsExactly("frankfurt/frankfurt_000000_000294", "lindau/lindau_000000_000019");
        assertThat(city.read("lindau/lindau_000000_000019").labels().labels()).containsExactly(0, 18, I, 7, 0, 0, 0, 0);
        assertThatThrownBy(() -> city.read("frankfurt/frankfurt_000000_000294")).isInstanceOf(DatasetException.class)
                .hasMessageContaining("label value 19").hasMessageContaining("0..18 or 255");
    }

    @Test
    void ade20kIgnoresZeroAndShiftsTheRest() throws IOException {
        Path base = tmp.resolve("ADEChallengeData2016");
        writePicture(base.resolve("images/validation/ADE_val_00000001.jpg"), 4, 2, ZEROS);
        writePicture(base.resolve("images/validation/ADE_val_00000002.jpg"), 4, 2, ZEROS);
        writeGreyLabels(base.resolve("annotations/validation/ADE_val_00000001.png"), 4, 2, 0, 1, 150, 75, 0, 2, 3, 255);
        writeGreyLabels(base.resolve("annotations/validation/ADE_val_00000002.png"), 4, 2, 151, 1, 1, 1, 1, 1, 1, 1);

        SegmentationDataset ade = Benchmark.ADE20K.open(tmp);
        assertThat(ade.classCount()).isEqualTo(150);
        assertThat(ade.read("ADE_val_00000001").labels().labels()).containsExactly(I, 0, 149, 74, I, 1, 2, I);
        assertThatThrownBy(() -> ade.read("ADE_val_00000002")).isInstanceOf(DatasetException.class)
                .hasMessageContaining("label value 151").hasMessageContaining("0..150 or 255");
    }

    @Test
    void aMissingLayoutNamesThePathThatWasExpected() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("data"));
        assertThatThrownBy(() -> Benchmark.VOC21.open(empty)).isInstanceOf(DatasetException.class)
                .hasMessageContaining("PASCAL VOC 2012 not found")
                .hasMessageContaining(empty.resolve("ImageSets/Segmentation/val.txt").toString())
                .hasMessageContaining(empty.resolve("VOCdevkit/VOC2012").toString());
        assertThatThrownBy(() -> Benchmark.CITYSCAPES.open(empty)).isInstanceOf(DatasetException.class)
                .hasMessageContaining(empty.resolve("leftImg8bit/val").toString())
                .hasMessageContaining("gtFine/val/<city>/*_gtFine_labelTrainIds.png");
        assertThatThrownBy(() -> Benchmark.ADE20K.open(tmp.resolve("nowhere"))).isInstanceOf(DatasetException.class)
                .hasMessageContaining(tmp.resolve("nowhere") + ": no such folder");

        Path ade = tmp.resolve("ADEChallengeData2016");
        writePicture(ade.resolve("images/validation/ADE_val_00000001.jpg"), 4, 2, ZEROS);
        assertThatThrownBy(() -> Benchmark.ADE20K.open(tmp)).isInstanceOf(DatasetException.class)
                .hasMessageContaining(ade.resolve("annotations/validation") + ": no such folder");
        writeGreyLabels(ade.resolve("annotations/validation/other.png"), 4, 2, ZEROS);
        assertThatThrownBy(() -> Benchmark.ADE20K.open(tmp)).isInstanceOf(DatasetException.class)
                .hasMessageContaining("incomplete")
                .hasMessageContaining(ade.resolve("annotations/validation/ADE_val_00000001.png").toString());
    }

    @Test
    void pictureAndLabelMapMustHaveTheSameSize() throws IOException {
        Path base = tmp.resolve("ADEChallengeData2016");
        writePicture(base.resolve("images/validation/a.jpg"), 5, 2, new int[10]);
        writeGreyLabels(base.resolve("annotations/validation/a.png"), 4, 2, ZEROS);
        assertThatThrownBy(() -> Benchmark.ADE20K.open(tmp).read("a")).isInstanceOf(DatasetException.class)
                .hasMessageContaining("a.jpg is 5x2").hasMessageContaining("a.png is 4x2");
    }

    @Test
    void evaluationOverADatasetOnDiskPoolsThePixels() throws IOException {
        // Cityscapes layout (PNG pictures, so the predictor reads back exactly what was written).
        Path base = tmp.resolve("cityscapes");
        writePicture(base.resolve("leftImg8bit/val/a/a_1_leftImg8bit.png"), 2, 2, new int[] {0, 1, 1, 5});
        writeGreyLabels(base.resolve("gtFine/val/a/a_1_gtFine_labelTrainIds.png"), 2, 2, 0, 0, 1, 255);
        writePicture(base.resolve("leftImg8bit/val/b/b_1_leftImg8bit.png"), 3, 1, new int[] {1, 2, 0});
        writeGreyLabels(base.resolve("gtFine/val/b/b_1_gtFine_labelTrainIds.png"), 3, 1, 1, 2, 2);

        SegmentationDataset city = Benchmark.CITYSCAPES.open(base);
        EvalState state = new Evaluator(city, EvalTestData.RED_PREDICTOR)
                .run(city.ids(), EvalState.start(java.util.Map.of(), 19));
        SegmentationMetrics m = state.matrix().metrics();
        // class 0: TP 1, FN 1 (a: 0->1), FP 1 (b: 2->0); class 1: TP 2, FP 1; class 2: TP 1, FN 1;
        // class 5 is predicted only on an ignored pixel; the other 15 classes appear nowhere.
        assertThat(m.iou()[0]).isCloseTo(1.0 / 3, within(1e-12));
        assertThat(m.iou()[1]).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(m.iou()[2]).isCloseTo(1.0 / 2, within(1e-12));
        assertThat(m.iou()[5]).isNaN();
        assertThat(m.classesInMean()).isEqualTo(3);
        assertThat(m.meanIoU()).isCloseTo(0.5, within(1e-12));
        assertThat(m.pixelAccuracy()).isCloseTo(4.0 / 6, within(1e-12));
        assertThat(state.done()).containsExactly("a/a_1", "b/b_1");
    }
}
