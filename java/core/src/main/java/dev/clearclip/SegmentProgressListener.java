package dev.clearclip;

/**
 * Follows one segmentation window by window. Called on the thread that called
 * {@link ClipModel#segment(RgbImage, ClassEmbeddings, SegmentOptions, SegmentProgressListener)}, after each
 * sliding window, with {@code windowsDone} going 1, 2, ... up to {@code windowCount}. An exception
 * thrown here stops the segmentation and is rethrown by {@code segment}.
 */
@FunctionalInterface
public interface SegmentProgressListener {

    /** Listener that does nothing. */
    SegmentProgressListener NONE = (done, total) -> { };

    void windowDone(int windowsDone, int windowCount);
}
