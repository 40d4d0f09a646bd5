package dev.clearclip.gguf.convert;

import dev.clearclip.gguf.Shapes;
import dev.clearclip.gguf.quantize.TensorClass;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A GGUF tensor a converter will write: its name, ggml shape and class, where it comes from, and
 * how to produce its values (in ggml order) when its turn comes, so that only one tensor's values
 * are in memory at a time.
 */
record PlannedTensor(String name, long[] ne, TensorClass tensorClass, String sourceType, long sourceBytes,
                     Supplier<float[]> values) {

    PlannedTensor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(tensorClass, "tensorClass");
        Objects.requireNonNull(values, "values");
        ne = ne.clone();
    }

    @Override
    public long[] ne() {
        return ne.clone();
    }

    long elementCount() {
        return Shapes.elementCount(ne);
    }
}
