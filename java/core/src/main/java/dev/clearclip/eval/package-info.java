/**
 * Accuracy of open-vocabulary segmentation on the standard benchmarks, computed as mmsegmentation's
 * {@code IoUMetric} (which the ClearCLIP reference uses) does.
 *
 * <p>A {@link dev.clearclip.eval.ConfusionMatrix} counts, over every pixel of the evaluated images, how
 * often ground-truth class {@code g} was predicted as {@code p}; pixels whose ground truth is
 * {@value dev.clearclip.eval.LabelMap#IGNORE} are skipped. From it, per class {@code c}:
 * <ul>
 *   <li>IoU = TP / (TP + FP + FN), where TP = pixels of {@code c} predicted as {@code c}, FP = other
 *       pixels predicted as {@code c}, FN = pixels of {@code c} predicted as something else;</li>
 *   <li>Acc = TP / (TP + FN), the share of the class's ground-truth pixels predicted right.</li>
 * </ul>
 * A class with TP + FP + FN = 0 (neither in the ground truth nor predicted) has no IoU (NaN), a class
 * without ground-truth pixels has no Acc. <b>mIoU</b> and <b>mAcc</b> are the means over the classes
 * whose value is defined ({@code numpy.nanmean}): a class absent from the ground truth but predicted
 * somewhere counts with IoU 0, a class absent from both is left out. <b>aAcc</b> is the share of all
 * non-ignored pixels predicted right.
 *
 * <p>{@link dev.clearclip.eval.Benchmark} reads the eight benchmarks in their usual folder layouts,
 * {@link dev.clearclip.eval.Evaluator} runs a {@link dev.clearclip.eval.SegmentationPredictor} over a
 * split and keeps a resumable {@link dev.clearclip.eval.EvalState}.
 */
package dev.clearclip.eval;
