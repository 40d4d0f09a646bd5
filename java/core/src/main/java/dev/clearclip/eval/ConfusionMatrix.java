package dev.clearclip.eval;

import java.util.Arrays;

/**
 * Pixel counts of (ground-truth class, predicted class) pairs over a set of pictures; see the package
 * documentation for the metrics derived from it. Not thread-safe.
 */
public final class ConfusionMatrix {

    private final int classes;
    /** Row-major: {@code counts[gt * classes + pred]}. */
    private final long[] counts;

    public ConfusionMatrix(int classes) {
        if (classes < 1 || classes > LabelMap.IGNORE) {
            throw new IllegalArgumentException("class count must be within 1.." + LabelMap.IGNORE + ", got " + classes);
        }
        this.classes = classes;
        this.counts = new long[classes * classes];
    }

    /** A matrix with the given counts, row-major (ground truth = row, prediction = column). */
    public static ConfusionMatrix of(int classes, long[] counts) {
        ConfusionMatrix m = new ConfusionMatrix(classes);
        if (counts.length != m.counts.length) {
            throw new IllegalArgumentException(counts.length + " counts for " + classes + " classes");
        }
        for (long c : counts) {
            if (c < 0) {
                throw new IllegalArgumentException("negative count " + c);
            }
        }
        System.arraycopy(counts, 0, m.counts, 0, counts.length);
        return m;
    }

    public int classes() {
        return classes;
    }

    /** Pixels of ground-truth class {@code gt} predicted as {@code pred}. */
    public long count(int gt, int pred) {
        return counts[gt * classes + pred];
    }

    /** Copy of the counts, row-major (ground truth = row, prediction = column). */
    public long[] counts() {
        return counts.clone();
    }

    /**
     * Adds one picture. Pixels whose ground truth is {@link LabelMap#IGNORE} are skipped; every other
     * ground-truth and predicted label must be a class index. Nothing is added when a label is invalid.
     *
     * @throws IllegalArgumentException on different lengths or a label outside the classes
     */
    public void add(int[] groundTruth, int[] prediction) {
        if (groundTruth.length != prediction.length) {
            throw new IllegalArgumentException("ground truth has " + groundTruth.length + " pixels, the prediction "
                    + prediction.length);
        }
        // Checked before counting so that a bad picture leaves the matrix as it was.
        for (int i = 0; i < groundTruth.length; i++) {
            int g = groundTruth[i];
            if (g == LabelMap.IGNORE) {
                continue;
            }
            if (g < 0 || g >= classes) {
                throw new IllegalArgumentException("ground-truth label " + g + " at pixel " + i + " is outside 0.."
                        + (classes - 1) + " and not " + LabelMap.IGNORE + " (ignore)");
            }
            int p = prediction[i];
            if (p < 0 || p >= classes) {
                throw new IllegalArgumentException("predicted label " + p + " at pixel " + i + " is outside 0.."
                        + (classes - 1));
            }
        }
        for (int i = 0; i < groundTruth.length; i++) {
            int g = groundTruth[i];
            if (g != LabelMap.IGNORE) {
                counts[g * classes + prediction[i]]++;
            }
        }
    }

    /** Adds another matrix's counts to this one. */
    public void add(ConfusionMatrix other) {
        if (other.classes != classes) {
            throw new IllegalArgumentException("cannot add a " + other.classes + "-class matrix to a " + classes
                    + "-class one");
        }
        for (int i = 0; i < counts.length; i++) {
            counts[i] += other.counts[i];
        }
    }

    /** IoU, Acc and their means as mmsegmentation computes them (see the package documentation). */
    public SegmentationMetrics metrics() {
        double[] iou = new double[classes];
        double[] acc = new double[classes];
        long[] gtPixels = new long[classes];
        long[] predPixels = new long[classes];
        long correct = 0;
        long total = 0;
        for (int g = 0; g < classes; g++) {
            for (int p = 0; p < classes; p++) {
                long n = counts[g * classes + p];
                gtPixels[g] += n;
                predPixels[p] += n;
                total += n;
            }
            correct += counts[g * classes + g];
        }
        for (int c = 0; c < classes; c++) {
            long tp = counts[c * classes + c];
            long union = gtPixels[c] + predPixels[c] - tp;
            // 0/0 stays NaN on purpose: such classes are left out of the means
            iou[c] = (double) tp / union;
            acc[c] = (double) tp / gtPixels[c];
        }
        return new SegmentationMetrics(iou, acc, gtPixels, predPixels, nanMean(iou), nanMean(acc),
                (double) correct / total);
    }

    private static double nanMean(double[] values) {
        double sum = 0;
        int n = 0;
        for (double v : values) {
            if (!Double.isNaN(v)) {
                sum += v;
                n++;
            }
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConfusionMatrix other && other.classes == classes && Arrays.equals(other.counts, counts);
    }

    @Override
    public int hashCode() {
        return 31 * classes + Arrays.hashCode(counts);
    }
}
