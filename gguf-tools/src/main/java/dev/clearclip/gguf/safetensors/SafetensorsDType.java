package dev.clearclip.gguf.safetensors;

import java.util.Optional;

/** Element types of safetensors, as spelled in the header. */
public enum SafetensorsDType {
    BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1), I16(2), U16(2), F16(2), BF16(2),
    I32(4), U32(4), F32(4), F64(8), I64(8), U64(8);

    private final int size;

    SafetensorsDType(int size) {
        this.size = size;
    }

    /** Bytes per element. */
    public int size() {
        return size;
    }

    /** True for the types {@link SafetensorsFile#readFloats} converts: F32, F16, BF16, F64. */
    public boolean isFloat() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    public static Optional<SafetensorsDType> parse(String name) {
        for (SafetensorsDType type : values()) {
            if (type.name().equals(name)) {
                return Optional.of(type);
            }
        }
        return Optional.empty();
    }
}
