package dev.clearclip.eval;

/** How the values stored in a benchmark's label PNGs become class indices. */
public enum LabelMapping {
    /** The stored value is the class index; {@value LabelMap#IGNORE} is ignored. */
    IDENTITY,
    /**
     * mmsegmentation's {@code reduce_zero_label}: 0 (background or "other") is ignored, 1..N become
     * 0..N-1, {@value LabelMap#IGNORE} stays ignored.
     */
    REDUCE_ZERO;

    /** The class index of a stored value, or {@link LabelMap#IGNORE}; range checks are the caller's. */
    public int map(int stored) {
        if (stored == LabelMap.IGNORE) {
            return LabelMap.IGNORE;
        }
        return switch (this) {
            case IDENTITY -> stored;
            case REDUCE_ZERO -> stored == 0 ? LabelMap.IGNORE : stored - 1;
        };
    }
}
