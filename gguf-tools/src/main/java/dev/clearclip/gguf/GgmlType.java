package dev.clearclip.gguf;

import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The tensor element types of ggml, with their ids as stored in GGUF files and their storage
 * layout: values are stored in blocks of {@link #blockSize()} elements taking {@link #typeSize()}
 * bytes, and a row of a tensor ({@code ne[0]} elements) must be a whole number of blocks.
 *
 * <p>Every type ggml 0.20 knows is listed so that files using them can be inspected and rejected
 * with a message naming the type; the model tools themselves write only the {@link #outputTypes()
 * output types} and decode those plus {@link #BF16}.
 */
public enum GgmlType {
    F32(0, "f32", 1, 4),
    F16(1, "f16", 1, 2),
    Q4_0(2, "q4_0", 32, 18),
    Q4_1(3, "q4_1", 32, 20),
    Q5_0(6, "q5_0", 32, 22),
    Q5_1(7, "q5_1", 32, 24),
    Q8_0(8, "q8_0", 32, 34),
    Q8_1(9, "q8_1", 32, 36),
    Q2_K(10, "q2_K", 256, 84),
    Q3_K(11, "q3_K", 256, 110),
    Q4_K(12, "q4_K", 256, 144),
    Q5_K(13, "q5_K", 256, 176),
    Q6_K(14, "q6_K", 256, 210),
    Q8_K(15, "q8_K", 256, 292),
    IQ2_XXS(16, "iq2_xxs", 256, 66),
    IQ2_XS(17, "iq2_xs", 256, 74),
    IQ3_XXS(18, "iq3_xxs", 256, 98),
    IQ1_S(19, "iq1_s", 256, 50),
    IQ4_NL(20, "iq4_nl", 32, 18),
    IQ3_S(21, "iq3_s", 256, 110),
    IQ2_S(22, "iq2_s", 256, 82),
    IQ4_XS(23, "iq4_xs", 256, 136),
    I8(24, "i8", 1, 1),
    I16(25, "i16", 1, 2),
    I32(26, "i32", 1, 4),
    I64(27, "i64", 1, 8),
    F64(28, "f64", 1, 8),
    IQ1_M(29, "iq1_m", 256, 56),
    BF16(30, "bf16", 1, 2),
    TQ1_0(34, "tq1_0", 256, 54),
    TQ2_0(35, "tq2_0", 256, 66),
    MXFP4(39, "mxfp4", 32, 17),
    NVFP4(40, "nvfp4", 64, 36),
    Q1_0(41, "q1_0", 128, 18),
    Q2_0(42, "q2_0", 64, 18);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType type : values()) {
            BY_ID[type.id] = type;
        }
    }

    private final int id;
    private final String ggmlName;
    private final int blockSize;
    private final int typeSize;

    GgmlType(int id, String ggmlName, int blockSize, int typeSize) {
        this.id = id;
        this.ggmlName = ggmlName;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
    }

    /** The id stored in GGUF tensor infos (the value of ggml's {@code enum ggml_type}). */
    public int id() {
        return id;
    }

    /** ggml's own name of the type, e.g. {@code q8_0}, {@code q4_K}. */
    public String ggmlName() {
        return ggmlName;
    }

    /** Number of elements in one block. */
    public int blockSize() {
        return blockSize;
    }

    /** Number of bytes one block takes. */
    public int typeSize() {
        return typeSize;
    }

    /** True for the block-quantized types (everything with a block of more than one value). */
    public boolean isQuantized() {
        return blockSize > 1;
    }

    /** Types the model tools write: f32, f16 and the five classic block quantizations. */
    public static List<GgmlType> outputTypes() {
        return List.of(F32, F16, Q8_0, Q5_1, Q5_0, Q4_1, Q4_0);
    }

    /** True if this is one of the {@link #outputTypes()}. */
    public boolean isOutputType() {
        return outputTypes().contains(this);
    }

    /** Types whose values {@code TensorCodec} can turn into floats. */
    public boolean isDecodable() {
        return isOutputType() || this == BF16;
    }

    /**
     * The llama.cpp "file type" ({@code general.file_type}) of a file whose matrices are of this
     * type: 0 all f32, 1 mostly f16, 2 q4_0, 3 q4_1, 7 q8_0, 8 q5_0, 9 q5_1.
     *
     * @throws IllegalStateException if this is not an {@linkplain #outputTypes() output type}
     */
    public int llamaFileType() {
        return switch (this) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q8_0 -> 7;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            default -> throw new IllegalStateException("no llama.cpp file type for ggml type " + ggmlName);
        };
    }

    /** Bytes of one row of {@code n} elements. */
    public long rowSize(long n) {
        if (n < 0 || n % blockSize != 0) {
            throw new IllegalArgumentException(
                    "a row of " + ggmlName + " must be a multiple of " + blockSize + " elements, got " + n);
        }
        return Math.multiplyExact(n / blockSize, (long) typeSize);
    }

    /** Bytes of a tensor of shape {@code ne} (ggml order, {@code ne[0]} is the row length). */
    public long byteSize(long[] ne) {
        if (ne.length == 0) {
            return rowSize(1);
        }
        long size = rowSize(ne[0]);
        for (int i = 1; i < ne.length; i++) {
            size = Math.multiplyExact(size, ne[i]);
        }
        return size;
    }

    /** The type with this ggml id, if there is one. */
    public static Optional<GgmlType> byId(int id) {
        return id >= 0 && id < BY_ID.length ? Optional.ofNullable(BY_ID[id]) : Optional.empty();
    }

    /**
     * The output type named {@code name} (ggml spelling, case-insensitive, e.g. {@code q8_0}).
     *
     * @throws IllegalArgumentException naming the accepted spellings if there is none
     */
    public static GgmlType parseOutputType(String name) {
        String wanted = name.trim().toLowerCase(Locale.ROOT);
        return outputTypes().stream()
                .filter(t -> t.ggmlName.equals(wanted))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown output type '" + name + "' (expected one of "
                        + outputTypes().stream().map(GgmlType::ggmlName).collect(Collectors.joining(", ")) + ")"));
    }

    @Override
    public String toString() {
        return ggmlName;
    }
}
