package dev.clearclip.gguf;

import java.util.Objects;

/**
 * A tensor as listed in a GGUF file: its spec and the offset of its data, relative to the start
 * of the data section.
 */
public record GgufTensorInfo(GgufTensorSpec spec, long offset) {

    public GgufTensorInfo {
        Objects.requireNonNull(spec, "spec");
        if (offset < 0) {
            throw new IllegalArgumentException("negative offset " + offset + " of tensor '" + spec.name() + "'");
        }
    }

    public String name() {
        return spec.name();
    }

    public GgmlType type() {
        return spec.type();
    }

    /** Shape in ggml order. */
    public long[] ne() {
        return spec.ne();
    }

    public int nDims() {
        return spec.nDims();
    }

    public long elementCount() {
        return spec.elementCount();
    }

    public long byteSize() {
        return spec.byteSize();
    }

    @Override
    public String toString() {
        return spec + " @" + offset;
    }
}
