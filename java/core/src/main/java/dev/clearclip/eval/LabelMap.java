package dev.clearclip.eval;

/**
 * Ground-truth labels of one picture, already mapped to the benchmark's class indices.
 *
 * @param labels {@code width * height} class indices, row-major; {@link #IGNORE} marks pixels left out
 *               of the metric
 */
public record LabelMap(int width, int height, int[] labels) {

    /** Label of pixels that do not count (object borders in VOC, unlabelled pixels, reduced zeros). */
    public static final int IGNORE = 255;

    public LabelMap {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("label map size must be positive, got " + width + "x" + height);
        }
        if ((long) width * height != labels.length) {
            throw new IllegalArgumentException("labels has " + labels.length + " entries for " + width + "x" + height);
        }
    }
}
