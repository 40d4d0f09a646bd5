package dev.clearclip.gguf;

import java.util.Objects;

/**
 * One tensor written: its position ({@code index} of {@code count}, from 0), what was written,
 * where it came from, and the bytes written so far out of the whole data section.
 */
public record TensorProgress(int index, int count, GgufTensorSpec written, String sourceType,
                             long bytesSoFar, long totalBytes) {

    public TensorProgress {
        Objects.requireNonNull(written, "written");
        Objects.requireNonNull(sourceType, "sourceType");
    }

    /** "[ 12/200]  v.blk.0.attn_q.weight  f32 -> q8_0 [768, 768]  (35.2 / 171.3 MB)" */
    public String describe() {
        int width = Integer.toString(count).length();
        return String.format("[%" + width + "d/%d] %-32s %s -> %s %s  (%.1f / %.1f MB)", index + 1, count,
                written.name(), sourceType, written.type(), Shapes.format(written.ne()),
                bytesSoFar / 1e6, totalBytes / 1e6);
    }
}
