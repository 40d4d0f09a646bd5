package dev.clearclip.gguf.testing;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * A GGUF file as editable parts (header fields, metadata entries, tensor infos and their data),
 * written out byte by byte here rather than by {@code GgufWriter}, so that tests can make files the
 * writer under test would never make: wrong counts, wrong value types, odd offsets. {@link #bytes()}
 * also reports every structural boundary (the end of each header field), where truncations are
 * most telling.
 */
public final class GgufParts {
    // GGUF value type ids
    public static final int U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8,
            ARRAY = 9, U64 = 10, I64 = 11, F64 = 12;
    // ggml tensor type ids
    public static final int GGML_F32 = 0, GGML_F16 = 1, GGML_Q8_0 = 8;

    /** An encoded metadata value: its type id and the bytes that follow the type id in the file. */
    public record Value(int type, byte[] bytes) {
        public static Value u8(int v) {
            return new Value(U8, new byte[] {(byte) v});
        }

        public static Value i8(int v) {
            return new Value(I8, new byte[] {(byte) v});
        }

        public static Value u16(int v) {
            return new Value(U16, le(2, v));
        }

        public static Value i16(int v) {
            return new Value(I16, le(2, v));
        }

        public static Value u32(long v) {
            return new Value(U32, le(4, v));
        }

        public static Value i32(long v) {
            return new Value(I32, le(4, v));
        }

        public static Value u64(long v) {
            return new Value(U64, le(8, v));
        }

        public static Value i64(long v) {
            return new Value(I64, le(8, v));
        }

        public static Value f32(float v) {
            return new Value(F32, le(4, Float.floatToRawIntBits(v)));
        }

        public static Value f64(double v) {
            return new Value(F64, le(8, Double.doubleToRawLongBits(v)));
        }

        public static Value bool(boolean v) {
            return new Value(BOOL, new byte[] {(byte) (v ? 1 : 0)});
        }

        public static Value string(String s) {
            return rawString(s.getBytes(StandardCharsets.UTF_8));
        }

        /** A string of arbitrary bytes (invalid UTF-8 included). */
        public static Value rawString(byte[] s) {
            return new Value(STRING, concat(le(8, s.length), s));
        }

        /** An array whose elements are encoded values of {@code elementType}. */
        public static Value array(int elementType, List<Value> elements) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(le(4, elementType));
            out.writeBytes(le(8, elements.size()));
            for (Value e : elements) {
                out.writeBytes(e.bytes);
            }
            return new Value(ARRAY, out.toByteArray());
        }

        public static Value strings(List<String> values) {
            return array(STRING, values.stream().map(Value::string).toList());
        }

        public static Value floats(float... values) {
            List<Value> elements = new ArrayList<>();
            for (float v : values) {
                elements.add(f32(v));
            }
            return array(F32, elements);
        }
    }

    /** A metadata entry. */
    public record Kv(String key, Value value) {
    }

    /** A tensor info and the bytes of its data (written in the data section in info order). */
    public record Tensor(String name, long[] ne, int type, long offset, byte[] data) {
        public Tensor withOffset(long offset) {
            return new Tensor(name, ne, type, offset, data);
        }

        public Tensor withName(String name) {
            return new Tensor(name, ne, type, offset, data);
        }

        public Tensor withShape(long... ne) {
            return new Tensor(name, ne, type, offset, data);
        }

        /** Another type with data of the size that type needs (zeros). */
        public Tensor retyped(int type, int blockSize, int bytesPerBlock) {
            long elements = Arrays.stream(ne).reduce(1, (a, b) -> a * b);
            return new Tensor(name, ne, type, offset, new byte[Math.toIntExact(elements / blockSize * bytesPerBlock)]);
        }
    }

    /** The file and the byte positions where a header field ends. */
    public record Serialized(byte[] bytes, List<Integer> boundaries, int headerEnd) {
    }

    public int version = 3;
    /** Tensor and metadata counts written in the header; null: the true counts. */
    public Long tensorCount;
    public Long kvCount;
    /** Alignment used to pad the data section (a general.alignment entry is up to the caller). */
    public int alignment = 32;
    public final List<Kv> kvs = new ArrayList<>();
    public final List<Tensor> tensors = new ArrayList<>();
    /** Dimension counts written instead of a tensor's true one, by tensor name. */
    public final Map<String, Long> dimCountOverride = new HashMap<>();

    public GgufParts copy() {
        GgufParts c = new GgufParts();
        c.version = version;
        c.tensorCount = tensorCount;
        c.kvCount = kvCount;
        c.alignment = alignment;
        c.kvs.addAll(kvs);
        c.tensors.addAll(tensors);
        c.dimCountOverride.putAll(dimCountOverride);
        return c;
    }

    public GgufParts put(String key, Value value) {
        for (int i = 0; i < kvs.size(); i++) {
            if (kvs.get(i).key().equals(key)) {
                kvs.set(i, new Kv(key, value));
                return this;
            }
        }
        kvs.add(new Kv(key, value));
        return this;
    }

    public GgufParts remove(String key) {
        kvs.removeIf(kv -> kv.key().equals(key));
        return this;
    }

    public int tensorIndex(String name) {
        for (int i = 0; i < tensors.size(); i++) {
            if (tensors.get(i).name().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no tensor " + name);
    }

    public GgufParts editTensor(String name, UnaryOperator<Tensor> edit) {
        int i = tensorIndex(name);
        tensors.set(i, edit.apply(tensors.get(i)));
        return this;
    }

    /** Gives every tensor the offset ggml's writer would: in info order, each padded to the alignment. */
    public GgufParts layOut() {
        long offset = 0;
        for (int i = 0; i < tensors.size(); i++) {
            tensors.set(i, tensors.get(i).withOffset(offset));
            offset += pad(tensors.get(i).data().length, alignment);
        }
        return this;
    }

    /**
     * The file: header, metadata, tensor infos (with their declared offsets, whatever they are), padding
     * to the alignment, then each tensor's data padded to the alignment, in info order.
     */
    public Serialized bytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<Integer> marks = new ArrayList<>();
        out.writeBytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        marks.add(out.size());
        out.writeBytes(le(4, version));
        marks.add(out.size());
        out.writeBytes(le(8, tensorCount != null ? tensorCount : tensors.size()));
        marks.add(out.size());
        out.writeBytes(le(8, kvCount != null ? kvCount : kvs.size()));
        marks.add(out.size());
        for (Kv kv : kvs) {
            byte[] key = kv.key().getBytes(StandardCharsets.UTF_8);
            out.writeBytes(le(8, key.length));
            marks.add(out.size());
            out.writeBytes(key);
            marks.add(out.size());
            out.writeBytes(le(4, kv.value().type()));
            marks.add(out.size());
            if (kv.value().type() == ARRAY) {
                out.write(kv.value().bytes(), 0, 4);
                marks.add(out.size());
                out.write(kv.value().bytes(), 4, 8);
                marks.add(out.size());
                out.write(kv.value().bytes(), 12, kv.value().bytes().length - 12);
            } else {
                out.writeBytes(kv.value().bytes());
            }
            marks.add(out.size());
        }
        for (Tensor t : tensors) {
            byte[] name = t.name().getBytes(StandardCharsets.UTF_8);
            out.writeBytes(le(8, name.length));
            marks.add(out.size());
            out.writeBytes(name);
            marks.add(out.size());
            out.writeBytes(le(4, dimCountOverride.getOrDefault(t.name(), (long) t.ne().length)));
            marks.add(out.size());
            for (long n : t.ne()) {
                out.writeBytes(le(8, n));
                marks.add(out.size());
            }
            out.writeBytes(le(4, t.type()));
            marks.add(out.size());
            out.writeBytes(le(8, t.offset()));
            marks.add(out.size());
        }
        int headerEnd = out.size();
        if (!tensors.isEmpty()) {
            out.writeBytes(new byte[(int) (pad(out.size(), alignment) - out.size())]);
            marks.add(out.size());
            int dataStart = out.size();
            for (Tensor t : tensors) {
                int at = out.size() - dataStart;
                out.writeBytes(new byte[(int) (pad(at, alignment) - at)]);
                marks.add(out.size());
                out.writeBytes(t.data());
                marks.add(out.size());
            }
        }
        return new Serialized(out.toByteArray(), marks.stream().distinct().sorted().toList(), headerEnd);
    }

    static long pad(long n, long alignment) {
        return (n + alignment - 1) / alignment * alignment;
    }

    static byte[] le(int size, long v) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
        return Arrays.copyOf(b.array(), size);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
