package dev.clearclip.gguf;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The key-value metadata of a GGUF file: an immutable, insertion-ordered map with typed getters.
 * Integer getters accept any GGUF integer type, as the model format asks of readers.
 */
public final class GgufMetadata {
    /** Key holding the alignment of the data section; 32 when absent. */
    public static final String ALIGNMENT_KEY = "general.alignment";

    private final Map<String, GgufValue> entries;
    private final String source;

    private GgufMetadata(Map<String, GgufValue> entries, String source) {
        this.entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
        this.source = source;
    }

    public static Builder builder() {
        return new Builder(new LinkedHashMap<>(), "");
    }

    /** A builder starting from these entries, e.g. to change a few keys of a file being rewritten. */
    public Builder toBuilder() {
        return new Builder(new LinkedHashMap<>(entries), source);
    }

    /** The entries in file order. */
    public Map<String, GgufValue> asMap() {
        return entries;
    }

    public int size() {
        return entries.size();
    }

    public boolean contains(String key) {
        return entries.containsKey(key);
    }

    public Optional<GgufValue> get(String key) {
        return Optional.ofNullable(entries.get(key));
    }

    public String getString(String key) {
        return switch (require(key)) {
            case GgufValue.Str s -> s.value();
            case GgufValue other -> throw wrongType(key, other, "a string");
        };
    }

    /** The value of an integer key of any integer type. */
    public long getLong(String key) {
        GgufValue value = require(key);
        return switch (value) {
            case GgufValue.UInt8 v -> v.value();
            case GgufValue.Int8 v -> v.value();
            case GgufValue.UInt16 v -> v.value();
            case GgufValue.Int16 v -> v.value();
            case GgufValue.UInt32 v -> v.value();
            case GgufValue.Int32 v -> v.value();
            case GgufValue.Int64 v -> v.value();
            case GgufValue.UInt64 v -> {
                if (v.value() < 0) {
                    throw new ModelFileException(where() + "key '" + key + "' = " + Long.toUnsignedString(v.value())
                            + " does not fit in a signed 64-bit integer");
                }
                yield v.value();
            }
            default -> throw wrongType(key, value, "an integer");
        };
    }

    /** The value of an integer key of any integer type, which must fit in an {@code int}. */
    public int getInt(String key) {
        long value = getLong(key);
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
            throw new ModelFileException(where() + "key '" + key + "' = " + value + " does not fit in a 32-bit integer");
        }
        return (int) value;
    }

    public long getLong(String key, long defaultValue) {
        return contains(key) ? getLong(key) : defaultValue;
    }

    /** The value of an {@code f32} or {@code f64} key. */
    public float getFloat(String key) {
        GgufValue value = require(key);
        return switch (value) {
            case GgufValue.Float32 v -> v.value();
            case GgufValue.Float64 v -> (float) v.value();
            default -> throw wrongType(key, value, "a float");
        };
    }

    public boolean getBoolean(String key) {
        return switch (require(key)) {
            case GgufValue.Bool b -> b.value();
            case GgufValue other -> throw wrongType(key, other, "a bool");
        };
    }

    public List<String> getStringList(String key) {
        GgufValue.Array array = requireArray(key, GgufValueType.STRING);
        List<String> strings = new ArrayList<>(array.size());
        for (GgufValue element : array.elements()) {
            strings.add(((GgufValue.Str) element).value());
        }
        return Collections.unmodifiableList(strings);
    }

    /** An array of {@code f32} (or {@code f64}) values as floats. */
    public float[] getFloatArray(String key) {
        GgufValue value = require(key);
        if (value instanceof GgufValue.Array array
                && (array.elementType() == GgufValueType.FLOAT32 || array.elementType() == GgufValueType.FLOAT64)) {
            float[] floats = new float[array.size()];
            for (int i = 0; i < floats.length; i++) {
                floats[i] = switch (array.elements().get(i)) {
                    case GgufValue.Float32 f -> f.value();
                    case GgufValue.Float64 f -> (float) f.value();
                    default -> throw new AssertionError("array element type checked above");
                };
            }
            return floats;
        }
        throw wrongType(key, value, "an array of floats");
    }

    private GgufValue require(String key) {
        GgufValue value = entries.get(key);
        if (value == null) {
            throw new ModelFileException(where() + "missing key '" + key + "'");
        }
        return value;
    }

    private GgufValue.Array requireArray(String key, GgufValueType elementType) {
        GgufValue value = require(key);
        if (value instanceof GgufValue.Array array && array.elementType() == elementType) {
            return array;
        }
        throw wrongType(key, value, "an array of " + elementType);
    }

    private ModelFileException wrongType(String key, GgufValue value, String expected) {
        String actual = value instanceof GgufValue.Array array
                ? "an array of " + array.elementType()
                : "a " + value.type();
        return new ModelFileException(where() + "key '" + key + "' is " + actual + ", expected " + expected);
    }

    private String where() {
        return source.isEmpty() ? "" : source + ": ";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufMetadata other && entries.equals(other.entries);
    }

    @Override
    public int hashCode() {
        return entries.hashCode();
    }

    @Override
    public String toString() {
        return "GgufMetadata" + entries.keySet();
    }

    /** Collects entries in insertion order; putting an existing key replaces its value in place. */
    public static final class Builder {
        private final LinkedHashMap<String, GgufValue> entries;
        private String source;

        private Builder(LinkedHashMap<String, GgufValue> entries, String source) {
            this.entries = entries;
            this.source = source;
        }

        /** Names where the metadata came from (a file path), for error messages of the getters. */
        public Builder source(String source) {
            this.source = Objects.requireNonNull(source, "source");
            return this;
        }

        public Builder put(String key, GgufValue value) {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, "value");
            entries.put(key, value);
            return this;
        }

        public Builder putString(String key, String value) {
            return put(key, GgufValue.string(value));
        }

        public Builder putU32(String key, long value) {
            return put(key, GgufValue.u32(value));
        }

        public Builder putF32(String key, float value) {
            return put(key, GgufValue.f32(value));
        }

        public Builder putBool(String key, boolean value) {
            return put(key, GgufValue.bool(value));
        }

        public Builder putStringArray(String key, List<String> values) {
            return put(key, GgufValue.stringArray(values));
        }

        public Builder putF32Array(String key, float... values) {
            return put(key, GgufValue.f32Array(values));
        }

        public Builder remove(String key) {
            entries.remove(key);
            return this;
        }

        public GgufMetadata build() {
            return new GgufMetadata(entries, source);
        }
    }
}
