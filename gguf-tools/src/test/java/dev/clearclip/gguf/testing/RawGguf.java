package dev.clearclip.gguf.testing;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds GGUF bytes by hand, field by field, for tests that need exact control over a file
 * (corrupt headers, odd offsets) without going through the writer under test.
 */
public final class RawGguf {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public RawGguf raw(byte... bytes) {
        out.writeBytes(bytes);
        return this;
    }

    public RawGguf u8(int v) {
        out.write(v);
        return this;
    }

    public RawGguf u32(long v) {
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
        return this;
    }

    public RawGguf u64(long v) {
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
        return this;
    }

    public RawGguf f32(float v) {
        return u32(Float.floatToRawIntBits(v));
    }

    public RawGguf string(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        u64(bytes.length);
        out.writeBytes(bytes);
        return this;
    }

    /** Magic "GGUF", version, tensor count, KV count. */
    public RawGguf header(int version, long tensors, long kvs) {
        return raw((byte) 'G', (byte) 'G', (byte) 'U', (byte) 'F').u32(version).u64(tensors).u64(kvs);
    }

    /** A u32 key-value pair. */
    public RawGguf kvU32(String key, long value) {
        return string(key).u32(4).u32(value);
    }

    /** A tensor info: name, dims, ne..., type id, offset. */
    public RawGguf tensorInfo(String name, int typeId, long offset, long... ne) {
        string(name).u32(ne.length);
        for (long n : ne) {
            u64(n);
        }
        return u32(typeId).u64(offset);
    }

    /** Zero bytes up to the next multiple of {@code alignment}. */
    public RawGguf pad(int alignment) {
        while (out.size() % alignment != 0) {
            out.write(0);
        }
        return this;
    }

    public RawGguf zeros(int n) {
        out.writeBytes(new byte[n]);
        return this;
    }

    public int size() {
        return out.size();
    }

    public byte[] bytes() {
        return out.toByteArray();
    }
}
