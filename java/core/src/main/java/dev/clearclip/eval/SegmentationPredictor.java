package dev.clearclip.eval;

import dev.clearclip.ClassEmbeddings;
import dev.clearclip.ClipModel;
import dev.clearclip.RgbImage;
import dev.clearclip.SegmentOptions;

/** What is evaluated: a label map for a picture. */
@FunctionalInterface
public interface SegmentationPredictor {

    /** Class indices of the picture's pixels ({@code width * height}, row-major) at the picture's own size. */
    int[] predict(RgbImage image);

    /** The ClearCLIP pipeline of a model with fixed class embeddings and settings. */
    static SegmentationPredictor of(ClipModel model, ClassEmbeddings classes, SegmentOptions options) {
        return image -> model.segment(image, classes, options).labels();
    }
}
