package dev.clearclip.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * Name, element type and shape of a tensor to be written; the shape is in ggml order
 * ({@code ne[0]}, the row length, first).
 */
public record GgufTensorSpec(String name, GgmlType type, long[] ne) {

    public GgufTensorSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        ne = Shapes.checked(name, ne);
        if (ne.length > 0 && ne[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException("tensor '" + name + "' of type " + type + " has rows of " + ne[0]
                    + " elements, not a multiple of the block size " + type.blockSize());
        }
    }

    public static GgufTensorSpec of(String name, GgmlType type, long... ne) {
        return new GgufTensorSpec(name, type, ne);
    }

    @Override
    public long[] ne() {
        return ne.clone();
    }

    public int nDims() {
        return ne.length;
    }

    public long elementCount() {
        return Shapes.elementCount(ne);
    }

    /** Bytes of the tensor's data, without padding. */
    public long byteSize() {
        return type.byteSize(ne);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorSpec other
                && name.equals(other.name) && type == other.type && Arrays.equals(ne, other.ne);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, type, Arrays.hashCode(ne));
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Shapes.format(ne);
    }
}
