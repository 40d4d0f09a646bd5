package dev.clearclip.gguf.quantize;

import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.GgufTensorSpec;
import dev.clearclip.gguf.TensorCodec;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Turns a tensor's float values into the bytes of its GGUF storage type: f32 and f16 in Java,
 * the block quantizations row by row through ggml ({@link NativeQuantizer}).
 */
public final class TensorEncoder {
    private TensorEncoder() {
    }

    /**
     * Encodes {@code values} (ggml order) as {@code spec.type()}, in memory of {@code arena}.
     *
     * @throws IllegalArgumentException if the number of values does not match the spec
     */
    public static MemorySegment encode(float[] values, GgufTensorSpec spec, Arena arena) {
        if (values.length != spec.elementCount()) {
            throw new IllegalArgumentException("tensor '" + spec.name() + "' " + spec + " has " + spec.elementCount()
                    + " elements, got " + values.length + " values");
        }
        GgmlType type = spec.type();
        MemorySegment out = arena.allocate(spec.byteSize(), 64);
        switch (type) {
            case F32 -> TensorCodec.encodeF32(values, out);
            case F16 -> TensorCodec.encodeF16(values, out);
            default -> {
                long perRow = spec.nDims() == 0 ? 1 : spec.ne()[0];
                long rows = perRow == 0 ? 0 : values.length / perRow;
                if (NativeQuantizer.quantizedSize(type, rows, perRow) != spec.byteSize()) {
                    throw new IllegalStateException("ggml sizes " + spec + " at "
                            + NativeQuantizer.quantizedSize(type, rows, perRow) + " bytes, the GGUF layout at " + spec.byteSize());
                }
                byte[] blocks = new byte[Math.toIntExact(spec.byteSize())];
                NativeQuantizer.quantize(type, values, rows, perRow, blocks);
                MemorySegment.copy(blocks, 0, out, ValueLayout.JAVA_BYTE, 0, blocks.length);
            }
        }
        return out;
    }
}
