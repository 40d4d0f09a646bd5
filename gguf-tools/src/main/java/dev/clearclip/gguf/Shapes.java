package dev.clearclip.gguf;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Helpers for tensor shapes given as {@code long[]} in ggml order ({@code ne[0]} first). */
public final class Shapes {
    /** ggml's limit on the number of dimensions ({@code GGML_MAX_DIMS}). */
    public static final int MAX_DIMS = 4;

    private Shapes() {
    }

    /** Number of elements; 1 for a scalar ({@code ne.length == 0}). */
    public static long elementCount(long[] ne) {
        long count = 1;
        for (long n : ne) {
            count = Math.multiplyExact(count, n);
        }
        return count;
    }

    /** {@code [768, 3072]} */
    public static String format(long[] ne) {
        return Arrays.stream(ne).mapToObj(Long::toString).collect(Collectors.joining(", ", "[", "]"));
    }

    /** The reverse of a shape: ggml order from a PyTorch/numpy shape and back. */
    public static long[] reversed(long[] shape) {
        long[] out = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            out[i] = shape[shape.length - 1 - i];
        }
        return out;
    }

    static long[] checked(String name, long[] ne) {
        if (ne.length > MAX_DIMS) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + ne.length + " dimensions, ggml allows at most " + MAX_DIMS);
        }
        for (long n : ne) {
            if (n < 0) {
                throw new IllegalArgumentException("tensor '" + name + "' has a negative dimension " + format(ne));
            }
        }
        return ne.clone();
    }
}
