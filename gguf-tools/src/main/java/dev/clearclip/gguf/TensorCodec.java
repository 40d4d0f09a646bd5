package dev.clearclip.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Conversions between Java floats and ggml's storage formats. Decoding covers f32, f16, bf16 and
 * the classic block quantizations (q4_0, q4_1, q5_0, q5_1, q8_0); encoding covers f32 and f16,
 * the quantized encodings being ggml's own (see {@code dev.clearclip.gguf.quantize}).
 *
 * <p>ggml's f16 is IEEE 754 binary16, converted with round-to-nearest-even, which is what
 * {@link Float#floatToFloat16} does; bf16 is the upper half of a float32.
 */
public final class TensorCodec {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TensorCodec() {
    }

    /**
     * Decodes {@code count} values of {@code type} from {@code data}.
     *
     * @throws IllegalArgumentException if the type is not decodable, {@code count} is not a whole
     *     number of blocks, or {@code data} is too small
     */
    public static float[] decode(GgmlType type, MemorySegment data, long count) {
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(count + " values do not fit in a Java array");
        }
        long needed = type.rowSize(count);
        if (data.byteSize() < needed) {
            throw new IllegalArgumentException(count + " values of " + type + " need " + needed + " bytes, got " + data.byteSize());
        }
        int n = (int) count;
        float[] out = new float[n];
        switch (type) {
            case F32 -> MemorySegment.copy(data, F32, 0, out, 0, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(data.get(I16, 2L * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = bf16ToFloat(data.get(I16, 2L * i));
                }
            }
            case Q8_0 -> decodeQ8_0(data, out);
            case Q4_0 -> decodeQ4(data, out, false);
            case Q4_1 -> decodeQ4(data, out, true);
            case Q5_0 -> decodeQ5(data, out, false);
            case Q5_1 -> decodeQ5(data, out, true);
            default -> throw new IllegalArgumentException("cannot decode ggml type " + type);
        }
        return out;
    }

    /** Writes {@code values} as little-endian f32 into {@code dst}. */
    public static void encodeF32(float[] values, MemorySegment dst) {
        MemorySegment.copy(values, 0, dst, F32, 0, values.length);
    }

    /** Writes {@code values} as IEEE half floats (round to nearest even) into {@code dst}. */
    public static void encodeF16(float[] values, MemorySegment dst) {
        for (int i = 0; i < values.length; i++) {
            dst.set(I16, 2L * i, Float.floatToFloat16(values[i]));
        }
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    // Block layouts of ggml (all little-endian, d and m are f16):
    //   q8_0: d, int8 q[32]                              x = d*q
    //   q4_0: d, u8 qs[16]                               x = d*(nibble-8)
    //   q4_1: d, m, u8 qs[16]                            x = d*nibble + m
    //   q5_0: d, u32 qh, u8 qs[16]                       x = d*(nibble | fifth bit << 4) - 16 d
    //   q5_1: d, m, u32 qh, u8 qs[16]                    x = d*(nibble | fifth bit << 4) + m
    // In the 4- and 5-bit blocks, byte j holds element j in its low nibble and element j+16 in
    // its high nibble; bit j of qh is the fifth bit of element j, bit j+16 that of element j+16.

    private static void decodeQ8_0(MemorySegment data, float[] out) {
        int blocks = out.length / 32;
        for (int b = 0; b < blocks; b++) {
            long base = 34L * b;
            float d = Float.float16ToFloat(data.get(I16, base));
            for (int j = 0; j < 32; j++) {
                out[32 * b + j] = d * data.get(ValueLayout.JAVA_BYTE, base + 2 + j);
            }
        }
    }

    private static void decodeQ4(MemorySegment data, float[] out, boolean withMin) {
        int blockBytes = withMin ? 20 : 18;
        int blocks = out.length / 32;
        for (int b = 0; b < blocks; b++) {
            long base = (long) blockBytes * b;
            float d = Float.float16ToFloat(data.get(I16, base));
            float m = withMin ? Float.float16ToFloat(data.get(I16, base + 2)) : 0f;
            long qs = base + (withMin ? 4 : 2);
            int offset = withMin ? 0 : -8;
            for (int j = 0; j < 16; j++) {
                int q = data.get(ValueLayout.JAVA_BYTE, qs + j) & 0xFF;
                out[32 * b + j] = withMin ? d * (q & 0x0F) + m : d * ((q & 0x0F) + offset);
                out[32 * b + j + 16] = withMin ? d * (q >>> 4) + m : d * ((q >>> 4) + offset);
            }
        }
    }

    private static void decodeQ5(MemorySegment data, float[] out, boolean withMin) {
        int blockBytes = withMin ? 24 : 22;
        int blocks = out.length / 32;
        for (int b = 0; b < blocks; b++) {
            long base = (long) blockBytes * b;
            float d = Float.float16ToFloat(data.get(I16, base));
            float m = withMin ? Float.float16ToFloat(data.get(I16, base + 2)) : 0f;
            long qhAt = base + (withMin ? 4 : 2);
            int qh = data.get(I32, qhAt);
            long qs = qhAt + 4;
            for (int j = 0; j < 16; j++) {
                int q = data.get(ValueLayout.JAVA_BYTE, qs + j) & 0xFF;
                int lo = (q & 0x0F) | (((qh >>> j) & 1) << 4);
                int hi = (q >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
                out[32 * b + j] = withMin ? d * lo + m : d * (lo - 16);
                out[32 * b + j + 16] = withMin ? d * hi + m : d * (hi - 16);
            }
        }
    }
}
