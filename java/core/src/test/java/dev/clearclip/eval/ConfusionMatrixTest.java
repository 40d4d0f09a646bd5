package dev.clearclip.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class ConfusionMatrixTest {

    private static final int I = LabelMap.IGNORE;

    @Test
    void metricsFollowMmsegmentationsDefinitions() {
        // (gt, pred) pairs: class 0: TP 2, FN 1; class 1: TP 2, FP 1, FN 1; class 2: predicted once, never in
        // the ground truth; class 3: predicted only where the ground truth is ignored, so it is absent from both.
        int[] gt = {0, 0, 0, 1, 1, 1, I, I};
        int[] pred = {0, 0, 1, 1, 1, 2, 3, 0};
        ConfusionMatrix m = new ConfusionMatrix(4);
        m.add(gt, pred);

        assertThat(m.count(0, 0)).isEqualTo(2);
        assertThat(m.count(0, 1)).isEqualTo(1);
        assertThat(m.count(1, 2)).isEqualTo(1);
        assertThat(m.count(3, 3) + m.count(0, 3)).isZero();

        SegmentationMetrics s = m.metrics();
        assertThat(s.iou()[0]).isCloseTo(2.0 / 3, within(1e-12)); // 2 / (2 + 0 + 1)
        assertThat(s.iou()[1]).isCloseTo(2.0 / 4, within(1e-12)); // 2 / (2 + 1 + 1)
        assertThat(s.iou()[2]).isZero();                           // 0 / (0 + 1 + 0): counts
        assertThat(s.iou()[3]).isNaN();                            // 0 / 0: left out
        assertThat(s.classesInMean()).isEqualTo(3);
        assertThat(s.meanIoU()).isCloseTo((2.0 / 3 + 0.5 + 0) / 3, within(1e-12));

        assertThat(s.accuracy()[0]).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(s.accuracy()[1]).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(s.accuracy()[2]).isNaN();
        assertThat(s.accuracy()[3]).isNaN();
        assertThat(s.meanAccuracy()).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(s.pixelAccuracy()).isCloseTo(4.0 / 6, within(1e-12));

        assertThat(s.gtPixels()).containsExactly(3, 3, 0, 0);
        assertThat(s.predPixels()).containsExactly(2, 3, 1, 0);
    }

    @Test
    void countsAccumulateOverPicturesBeforeTheRatio() {
        // picture A: class 0 perfect (1 pixel); picture B: class 0 has 1 TP and 3 FN.
        // Pooled: IoU0 = 2 / (2 + 0 + 3) = 0.4, not the mean of per-picture IoUs (1 and 0.25).
        ConfusionMatrix m = new ConfusionMatrix(2);
        m.add(new int[] {0}, new int[] {0});
        m.add(new int[] {0, 0, 0, 0}, new int[] {0, 1, 1, 1});
        assertThat(m.metrics().iou()[0]).isCloseTo(0.4, within(1e-12));
        assertThat(m.metrics().iou()[1]).isZero();
        assertThat(m.metrics().meanIoU()).isCloseTo(0.2, within(1e-12));
    }

    @Test
    void emptyMatrixHasNoDefinedMetrics() {
        SegmentationMetrics s = new ConfusionMatrix(3).metrics();
        assertThat(s.meanIoU()).isNaN();
        assertThat(s.meanAccuracy()).isNaN();
        assertThat(s.pixelAccuracy()).isNaN();
        assertThat(s.classesInMean()).isZero();
    }

    @Test
    void invalidLabelsAreRefusedAndLeaveTheMatrixUnchanged() {
        ConfusionMatrix m = new ConfusionMatrix(3);
        m.add(new int[] {0, 1}, new int[] {0, 1});
        ConfusionMatrix before = ConfusionMatrix.of(3, m.counts());
        assertThatThrownBy(() -> m.add(new int[] {0, 1, 2}, new int[] {0, 1, 3}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("predicted label 3");
        assertThatThrownBy(() -> m.add(new int[] {0, 7}, new int[] {0, 0}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ground-truth label 7");
        assertThatThrownBy(() -> m.add(new int[] {0}, new int[] {0, 0}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(m).isEqualTo(before);
        // a bad prediction where the ground truth is ignored does not matter
        m.add(new int[] {I}, new int[] {99});
        assertThat(m).isEqualTo(before);
    }

    @Test
    void matricesAdd() {
        ConfusionMatrix a = ConfusionMatrix.of(2, new long[] {1, 2, 3, 4});
        a.add(ConfusionMatrix.of(2, new long[] {10, 20, 30, 40}));
        assertThat(a.counts()).containsExactly(11, 22, 33, 44);
    }
}
