package dev.clearclip.eval;

import dev.clearclip.RgbImage;
import java.util.List;

/** The pictures of an evaluation split with their ground truth. */
public interface SegmentationDataset {

    /** One picture and its ground truth, of the same size. */
    record Sample(String id, RgbImage image, LabelMap labels) {
        public Sample {
            if (image.width() != labels.width() || image.height() != labels.height()) {
                throw new IllegalArgumentException(id + ": picture is " + image.width() + "x" + image.height()
                        + " but its label map " + labels.width() + "x" + labels.height());
            }
        }
    }

    /** Name for messages and results, e.g. {@code voc21}. */
    String name();

    /** Number of classes; ground-truth labels are 0..classCount-1 or {@link LabelMap#IGNORE}. */
    int classCount();

    /** Identifiers of the split's pictures, in evaluation order. */
    List<String> ids();

    /**
     * Reads one picture and its ground truth. {@link Evaluator} calls it on a background thread, one
     * picture ahead of the one it evaluates, and never for two pictures at once.
     *
     * @throws DatasetException naming the files when they cannot be read or do not fit together
     */
    Sample read(String id);
}
