package dev.clearclip.gguf.safetensors;

import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor listed in a safetensors header. {@code shape} is in PyTorch order (outermost first);
 * {@code begin} and {@code end} delimit its bytes in the data section.
 */
public record SafetensorsTensor(String name, SafetensorsDType dtype, long[] shape, long begin, long end) {

    public SafetensorsTensor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(dtype, "dtype");
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements (1 for a 0-d scalar). */
    public long elementCount() {
        long count = 1;
        for (long n : shape) {
            count = Math.multiplyExact(count, n);
        }
        return count;
    }

    public long byteSize() {
        return end - begin;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SafetensorsTensor other && name.equals(other.name) && dtype == other.dtype
                && Arrays.equals(shape, other.shape) && begin == other.begin && end == other.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + Arrays.toString(shape);
    }
}
