package dev.clearclip;

import java.util.List;
import java.util.Optional;

/**
 * A label map at the input image's size.
 *
 * @param labels        {@code width * height} class indices, row-major
 * @param classNames    display name of each class, index = label
 * @param probabilities when requested: one plane of {@code width * height} probabilities per class
 *                      (the best over the class's names after the softmax)
 * @param fractions     share of the image's pixels that got each label
 */
public record SegmentationResult(
        int width,
        int height,
        int[] labels,
        List<String> classNames,
        Optional<float[][]> probabilities,
        double[] fractions) {

    public SegmentationResult {
        classNames = List.copyOf(classNames);
        if ((long) width * height != labels.length) {
            throw new IllegalArgumentException("labels has " + labels.length + " entries for " + width + "x" + height);
        }
        if (fractions.length != classNames.size()) {
            throw new IllegalArgumentException("fractions has " + fractions.length + " entries for "
                    + classNames.size() + " classes");
        }
    }

    /** Builds a result, computing the per-class pixel fractions from the labels. */
    public static SegmentationResult of(int width, int height, int[] labels, List<String> classNames,
                                        Optional<float[][]> probabilities) {
        long[] counts = new long[classNames.size()];
        for (int label : labels) {
            if (label < 0 || label >= counts.length) {
                throw new IllegalArgumentException("label " + label + " outside 0.." + (counts.length - 1));
            }
            counts[label]++;
        }
        double[] fractions = new double[counts.length];
        for (int c = 0; c < counts.length; c++) {
            fractions[c] = labels.length == 0 ? 0 : (double) counts[c] / labels.length;
        }
        return new SegmentationResult(width, height, labels, classNames, probabilities, fractions);
    }

    public int label(int x, int y) {
        return labels[y * width + x];
    }

    public int classCount() {
        return classNames.size();
    }

    /**
     * This label map at another size, nearest neighbour (pixel centres mapped onto this map), with the
     * probabilities scaled the same way when present and the fractions recounted. Used to give a
     * picture computed at a reduced size its label map at the picture's own size.
     */
    public SegmentationResult scaledTo(int newWidth, int newHeight) {
        if (newWidth < 1 || newHeight < 1) {
            throw new IllegalArgumentException("size must be positive, got " + newWidth + "x" + newHeight);
        }
        if (newWidth == width && newHeight == height) {
            return this;
        }
        int[] sx = new int[newWidth];
        for (int x = 0; x < newWidth; x++) {
            sx[x] = Math.min(width - 1, (int) ((x + 0.5) * width / newWidth));
        }
        int[] out = new int[Math.multiplyExact(newWidth, newHeight)];
        float[][] probs = probabilities.map(p -> new float[p.length][out.length]).orElse(null);
        for (int y = 0; y < newHeight; y++) {
            int syRow = Math.min(height - 1, (int) ((y + 0.5) * height / newHeight)) * width;
            for (int x = 0; x < newWidth; x++) {
                out[y * newWidth + x] = labels[syRow + sx[x]];
            }
            if (probs != null) {
                for (int c = 0; c < probs.length; c++) {
                    float[] src = probabilities.get()[c];
                    for (int x = 0; x < newWidth; x++) {
                        probs[c][y * newWidth + x] = src[syRow + sx[x]];
                    }
                }
            }
        }
        return of(newWidth, newHeight, out, classNames, Optional.ofNullable(probs));
    }
}
