package dev.clearclip.gguf;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A typed GGUF metadata value. The exact GGUF type is kept, so that a file read and written again
 * stores the same types. Unsigned values are held in a wider Java type ({@code u8}, {@code u16} in
 * an {@code int}, {@code u32} in a {@code long}); a {@code u64} keeps its 64 bits in a
 * {@code long}, to be read with {@link Long#toUnsignedString(long)}.
 */
public sealed interface GgufValue {

    GgufValueType type();

    record UInt8(int value) implements GgufValue {
        public UInt8 {
            checkRange(value, 0, 0xFF, "u8");
        }

        @Override
        public GgufValueType type() {
            return GgufValueType.UINT8;
        }
    }

    record Int8(byte value) implements GgufValue {
        @Override
        public GgufValueType type() {
            return GgufValueType.INT8;
        }
    }

    record UInt16(int value) implements GgufValue {
        public UInt16 {
            checkRange(value, 0, 0xFFFF, "u16");
        }

        @Override
        public GgufValueType type() {
            return GgufValueType.UINT16;
        }
    }

    record Int16(short value) implements GgufValue {
        @Override
        public GgufValueType type() {
            return GgufValueType.INT16;
        }
    }

    record UInt32(long value) implements GgufValue {
        public UInt32 {
            checkRange(value, 0, 0xFFFF_FFFFL, "u32");
        }

        @Override
        public GgufValueType type() {
            return GgufValueType.UINT32;
        }
    }

    record Int32(int value) implements GgufValue {
        @Override
        public GgufValueType type() {
            return GgufValueType.INT32;
        }
    }

    /** {@code value} holds the 64 bits of the unsigned number. */
    record UInt64(long value) implements GgufValue {
        @Override
        public GgufValueType type() {
            return GgufValueType.UINT64;
        }
    }

    record Int64(long value) implements GgufValue {
        @Override
        public GgufValueType type() {
            return GgufValueType.INT64;
        }
    }

    record Float32(float value) implements GgufValue {
        @Override
        public GgufValueType type() {
            return GgufValueType.FLOAT32;
        }
    }

    record Float64(double value) implements GgufValue {
        @Override
        public GgufValueType type() {
            return GgufValueType.FLOAT64;
        }
    }

    record Bool(boolean value) implements GgufValue {
        @Override
        public GgufValueType type() {
            return GgufValueType.BOOL;
        }
    }

    record Str(String value) implements GgufValue {
        public Str {
            Objects.requireNonNull(value, "value");
        }

        @Override
        public GgufValueType type() {
            return GgufValueType.STRING;
        }
    }

    /** A homogeneous array; elements may themselves be arrays (of any element types). */
    record Array(GgufValueType elementType, List<GgufValue> elements) implements GgufValue {
        public Array {
            Objects.requireNonNull(elementType, "elementType");
            elements = List.copyOf(elements);
            for (GgufValue element : elements) {
                if (element.type() != elementType) {
                    throw new IllegalArgumentException(
                            "array of " + elementType + " cannot hold a " + element.type() + " element");
                }
            }
        }

        @Override
        public GgufValueType type() {
            return GgufValueType.ARRAY;
        }

        public int size() {
            return elements.size();
        }
    }

    static GgufValue u8(int value) {
        return new UInt8(value);
    }

    static GgufValue i8(int value) {
        return new Int8(checkedByte(value));
    }

    static GgufValue u16(int value) {
        return new UInt16(value);
    }

    static GgufValue i16(int value) {
        checkRange(value, Short.MIN_VALUE, Short.MAX_VALUE, "i16");
        return new Int16((short) value);
    }

    static GgufValue u32(long value) {
        return new UInt32(value);
    }

    static GgufValue i32(int value) {
        return new Int32(value);
    }

    /** A {@code u64} from the 64 bits of {@code bits} (negative longs are values above 2^63-1). */
    static GgufValue u64(long bits) {
        return new UInt64(bits);
    }

    static GgufValue i64(long value) {
        return new Int64(value);
    }

    static GgufValue f32(float value) {
        return new Float32(value);
    }

    static GgufValue f64(double value) {
        return new Float64(value);
    }

    static GgufValue bool(boolean value) {
        return new Bool(value);
    }

    static GgufValue string(String value) {
        return new Str(value);
    }

    static GgufValue array(GgufValueType elementType, List<? extends GgufValue> elements) {
        return new Array(elementType, List.copyOf(elements));
    }

    static GgufValue stringArray(List<String> values) {
        List<GgufValue> elements = new ArrayList<>(values.size());
        for (String value : values) {
            elements.add(new Str(value));
        }
        return new Array(GgufValueType.STRING, elements);
    }

    static GgufValue f32Array(float... values) {
        List<GgufValue> elements = new ArrayList<>(values.length);
        for (float value : values) {
            elements.add(new Float32(value));
        }
        return new Array(GgufValueType.FLOAT32, elements);
    }

    private static void checkRange(long value, long min, long max, String typeName) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(value + " is out of range for " + typeName + " [" + min + ", " + max + "]");
        }
    }

    private static byte checkedByte(int value) {
        checkRange(value, Byte.MIN_VALUE, Byte.MAX_VALUE, "i8");
        return (byte) value;
    }
}
