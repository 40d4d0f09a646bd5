package dev.clearclip.gguf;

import java.util.Optional;

/** The value types of GGUF metadata, with their ids as stored in the file. */
public enum GgufValueType {
    UINT8(0, "u8", 1),
    INT8(1, "i8", 1),
    UINT16(2, "u16", 2),
    INT16(3, "i16", 2),
    UINT32(4, "u32", 4),
    INT32(5, "i32", 4),
    FLOAT32(6, "f32", 4),
    BOOL(7, "bool", 1),
    STRING(8, "string", 8),
    ARRAY(9, "array", 12),
    UINT64(10, "u64", 8),
    INT64(11, "i64", 8),
    FLOAT64(12, "f64", 8);

    private final int id;
    private final String displayName;
    private final int minEncodedSize;

    GgufValueType(int id, String displayName, int minEncodedSize) {
        this.id = id;
        this.displayName = displayName;
        this.minEncodedSize = minEncodedSize;
    }

    /** The id stored in the file. */
    public int id() {
        return id;
    }

    /** Short name used in messages and by the inspector, e.g. {@code u32}, {@code string}. */
    public String displayName() {
        return displayName;
    }

    /**
     * Fewest bytes one value of this type takes in a file (a string's length prefix, an array's
     * element type and count), used to reject absurd counts before allocating anything.
     */
    int minEncodedSize() {
        return minEncodedSize;
    }

    public static Optional<GgufValueType> byId(int id) {
        for (GgufValueType type : values()) {
            if (type.id == id) {
                return Optional.of(type);
            }
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return displayName;
    }
}
