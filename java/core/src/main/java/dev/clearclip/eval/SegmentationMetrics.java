package dev.clearclip.eval;

/**
 * Accuracy figures of a {@link ConfusionMatrix}, as fractions (0..1); see the package documentation.
 *
 * @param iou        per class TP / (TP + FP + FN); NaN when the class is neither in the ground truth nor predicted
 * @param accuracy   per class TP / (TP + FN); NaN when the class has no ground-truth pixels
 * @param gtPixels   per class, non-ignored ground-truth pixels
 * @param predPixels per class, pixels predicted as the class (where the ground truth is not ignored)
 * @param meanIoU    mIoU: mean of the defined per-class IoUs (NaN if none is defined)
 * @param meanAccuracy mAcc: mean of the defined per-class accuracies
 * @param pixelAccuracy aAcc: correctly predicted pixels / all non-ignored pixels (NaN without pixels)
 */
public record SegmentationMetrics(
        double[] iou,
        double[] accuracy,
        long[] gtPixels,
        long[] predPixels,
        double meanIoU,
        double meanAccuracy,
        double pixelAccuracy) {

    public SegmentationMetrics {
        iou = iou.clone();
        accuracy = accuracy.clone();
        gtPixels = gtPixels.clone();
        predPixels = predPixels.clone();
    }

    @Override
    public double[] iou() {
        return iou.clone();
    }

    @Override
    public double[] accuracy() {
        return accuracy.clone();
    }

    @Override
    public long[] gtPixels() {
        return gtPixels.clone();
    }

    @Override
    public long[] predPixels() {
        return predPixels.clone();
    }

    /** How many classes have a defined IoU, i.e. take part in the mIoU. */
    public int classesInMean() {
        int n = 0;
        for (double v : iou) {
            if (!Double.isNaN(v)) {
                n++;
            }
        }
        return n;
    }
}
