package dev.clearclip.gguf;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A GGUF file (versions 2 and 3, little-endian), memory-mapped. Opening parses and validates the
 * whole header by the structural rules of {@code models/README.md} ("What a loader accepts"), the
 * ones the engine's loader applies, so that a file one refuses the other refuses too: a regular file,
 * magic, version, counts and lengths within the engine's limits and inside the file, known value and
 * tensor types, keys and tensor names non-empty, without NUL bytes and unique, no nested arrays, a
 * u32 power-of-two alignment from 8 to 65536, 1 to 4 dimensions each at least 1 with a representable
 * size, and tensor data laid out as ggml lays it out (in the order of the tensor infos, each at the
 * previous one's end rounded up to the alignment) inside the file. Like the engine it does not judge
 * the bytes of strings (not UTF-8: shown with U+FFFD) or of bools (non-zero: true). Tensor data stays
 * in the mapping until it is asked for. Closing unmaps the file; segments obtained from it must not
 * be used afterwards.
 */
public final class GgufFile implements AutoCloseable {
    /** "GGUF" as a little-endian u32. */
    static final int MAGIC = 0x46554747;
    public static final int DEFAULT_ALIGNMENT = 32;
    // The engine's limits (models/README.md, "What a loader accepts"), far above any CLIP file.
    /** Longest tensor name in bytes: ggml keeps names in a 64-byte field with its terminating NUL. */
    public static final int MAX_TENSOR_NAME_BYTES = 63;
    public static final int MAX_KEY_BYTES = 1024;
    public static final long MAX_STRING_BYTES = 1L << 20;
    public static final long MAX_ARRAY_ELEMENTS = 2_097_152;
    public static final long MAX_TENSORS = 8192;
    public static final long MAX_KEYS = 4096;
    public static final int MIN_ALIGNMENT = 8;
    public static final int MAX_ALIGNMENT = 65536;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final int version;
    private final int alignment;
    private final GgufMetadata metadata;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> tensorsByName;
    private final long dataOffset;

    private final boolean allowNestedArrays;

    private GgufFile(Path path, Arena arena, MemorySegment mapping, boolean allowNestedArrays) {
        this.path = path;
        this.allowNestedArrays = allowNestedArrays;
        this.arena = arena;
        this.mapping = mapping;
        Cursor cursor = new Cursor(mapping);
        this.version = readPreamble(cursor);
        long tensorCount = cursor.u64("the tensor count");
        long kvCount = cursor.u64("the metadata count");
        cursor.requireCount(kvCount, 8 + 4 + 1, "metadata entries");
        cursor.requireCount(tensorCount, 8 + 4 + 4 + 8, "tensor infos");
        if (tensorCount > MAX_TENSORS) {
            throw error("the header declares " + tensorCount + " tensors, more than the " + MAX_TENSORS + " allowed");
        }
        if (kvCount > MAX_KEYS) {
            throw error("the header declares " + kvCount + " metadata entries, more than the " + MAX_KEYS + " allowed");
        }

        GgufMetadata.Builder kv = GgufMetadata.builder().source(path.toString());
        Set<String> keys = new HashSet<>();
        for (long i = 0; i < kvCount; i++) {
            String key = cursor.string("the key of metadata entry " + i, MAX_KEY_BYTES);
            if (key.isEmpty()) {
                throw error("metadata entry " + i + " has an empty key");
            }
            if (key.indexOf('\0') >= 0) {
                throw error("the key of metadata entry " + i + " holds a NUL byte");
            }
            if (!keys.add(key)) {
                throw error("duplicate metadata key '" + key + "'");
            }
            int typeId = cursor.u32("the value type of key '" + key + "'");
            GgufValueType type = GgufValueType.byId(typeId)
                    .orElseThrow(() -> error("key '" + key + "' has unknown value type " + typeId));
            kv.put(key, readValue(cursor, type, key, 0));
        }
        this.metadata = kv.build();
        this.alignment = readAlignment(metadata);

        List<GgufTensorInfo> infos = new ArrayList<>((int) tensorCount);
        Map<String, GgufTensorInfo> byName = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            GgufTensorInfo info = readTensorInfo(cursor, i);
            if (byName.putIfAbsent(info.name(), info) != null) {
                throw error("duplicate tensor name '" + info.name() + "'");
            }
            infos.add(info);
        }
        this.tensors = Collections.unmodifiableList(infos);
        this.tensorsByName = Collections.unmodifiableMap(byName);
        this.dataOffset = alignUp(cursor.position(), alignment);
        validateTensorPlacement();
    }

    /**
     * Maps and validates a GGUF file.
     *
     * @throws GgufFormatException if the file is not a valid GGUF file
     * @throws ModelFileException if it cannot be read
     */
    public static GgufFile open(Path path) {
        return MappedFiles.open(path, (arena, mapping) -> new GgufFile(path, arena, mapping, false));
    }

    /**
     * Like {@link #open} but also reads arrays of arrays, which the GGUF specification allows and
     * other GGUF writers (gguf-py) write, but which ggml's reader, and so the engine, refuses. For
     * GGUF files that are not meant for the engine.
     */
    public static GgufFile openAllowingNestedArrays(Path path) {
        return MappedFiles.open(path, (arena, mapping) -> new GgufFile(path, arena, mapping, true));
    }

    public Path path() {
        return path;
    }

    /** GGUF version of the file (2 or 3). */
    public int version() {
        return version;
    }

    /** Alignment of tensor data: {@code general.alignment}, or 32. */
    public int alignment() {
        return alignment;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    /** The tensors in the order of the file's tensor infos. */
    public List<GgufTensorInfo> tensors() {
        return tensors;
    }

    public Optional<GgufTensorInfo> findTensor(String name) {
        return Optional.ofNullable(tensorsByName.get(name));
    }

    /** @throws ModelFileException if the file has no tensor of that name */
    public GgufTensorInfo tensor(String name) {
        GgufTensorInfo info = tensorsByName.get(name);
        if (info == null) {
            throw new ModelFileException(path + ": no tensor named '" + name + "'");
        }
        return info;
    }

    /** Absolute file offset of the data section. */
    public long dataOffset() {
        return dataOffset;
    }

    public long fileSize() {
        return mapping.byteSize();
    }

    /** The raw bytes of a tensor, a read-only view of the mapping. */
    public MemorySegment tensorData(GgufTensorInfo info) {
        if (!info.equals(tensorsByName.get(info.name()))) {
            throw new IllegalArgumentException("tensor '" + info.name() + "' is not from " + path);
        }
        return mapping.asSlice(dataOffset + info.offset(), info.byteSize()).asReadOnly();
    }

    public MemorySegment tensorData(String name) {
        return tensorData(tensor(name));
    }

    /**
     * The values of a tensor as floats, in storage order (ggml order, {@code ne[0]} fastest).
     *
     * @throws ModelFileException if the tensor's type cannot be decoded
     */
    public float[] readFloats(String name) {
        GgufTensorInfo info = tensor(name);
        if (!info.type().isDecodable()) {
            throw new ModelFileException(path + ": tensor '" + name + "' has type " + info.type()
                    + ", which the model tools cannot decode");
        }
        return TensorCodec.decode(info.type(), tensorData(info), info.elementCount());
    }

    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return "GgufFile[" + path + ", v" + version + ", " + metadata.size() + " keys, " + tensors.size() + " tensors]";
    }

    private int readPreamble(Cursor cursor) {
        if (mapping.byteSize() < 4) {
            throw error("not a GGUF file: only " + mapping.byteSize() + " bytes long");
        }
        int magic = cursor.u32("the magic");
        if (magic != MAGIC) {
            throw error("not a GGUF file: it starts with " + describeMagic(magic) + ", expected \"GGUF\"");
        }
        int fileVersion = cursor.u32("the version");
        if (fileVersion == 2 || fileVersion == 3) {
            return fileVersion;
        }
        if (Integer.reverseBytes(fileVersion) == 2 || Integer.reverseBytes(fileVersion) == 3) {
            throw error("big-endian GGUF (version " + Integer.reverseBytes(fileVersion) + ") is not supported");
        }
        if (fileVersion == 1) {
            throw error("GGUF version 1 is not supported (only versions 2 and 3)");
        }
        throw error("unsupported GGUF version " + Integer.toUnsignedString(fileVersion) + " (supported: 2, 3)");
    }

    private static String describeMagic(int magic) {
        StringBuilder text = new StringBuilder("\"");
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            int b = (magic >>> (8 * i)) & 0xFF;
            text.append(b >= 0x20 && b < 0x7F ? (char) b : '.');
            hex.append(String.format(" %02x", b));
        }
        return text.append("\" (bytes").append(hex).append(')').toString();
    }

    private GgufValue readValue(Cursor cursor, GgufValueType type, String key, int depth) {
        String what = "the value of key '" + key + "'";
        return switch (type) {
            case UINT8 -> GgufValue.u8(Byte.toUnsignedInt(cursor.u8(what)));
            case INT8 -> new GgufValue.Int8(cursor.u8(what));
            case UINT16 -> GgufValue.u16(Short.toUnsignedInt(cursor.u16(what)));
            case INT16 -> new GgufValue.Int16(cursor.u16(what));
            case UINT32 -> GgufValue.u32(Integer.toUnsignedLong(cursor.u32(what)));
            case INT32 -> GgufValue.i32(cursor.u32(what));
            case UINT64 -> GgufValue.u64(cursor.u64(what));
            case INT64 -> GgufValue.i64(cursor.u64(what));
            case FLOAT32 -> GgufValue.f32(cursor.f32(what));
            case FLOAT64 -> GgufValue.f64(cursor.f64(what));
            case BOOL -> {
                // like ggml (and so the engine), any non-zero byte is true
                yield GgufValue.bool(cursor.u8(what) != 0);
            }
            case STRING -> GgufValue.string(cursor.string(what, MAX_STRING_BYTES));
            case ARRAY -> readArray(cursor, key, depth);
        };
    }

    private GgufValue readArray(Cursor cursor, String key, int depth) {
        int typeId = cursor.u32("the element type of array '" + key + "'");
        GgufValueType elementType = GgufValueType.byId(typeId)
                .orElseThrow(() -> error("array '" + key + "' has unknown element type " + typeId));
        if (depth > 8) {
            throw error("key '" + key + "' nests arrays more than 8 deep");
        }
        if (elementType == GgufValueType.ARRAY && !allowNestedArrays) {
            // the GGUF spec allows it, ggml's reader (and so the engine) does not
            throw error("array '" + key + "' holds arrays; nested arrays are not supported");
        }
        long count = cursor.u64("the length of array '" + key + "'");
        cursor.requireCount(count, elementType.minEncodedSize(), "elements of array '" + key + "'");
        if (count > MAX_ARRAY_ELEMENTS) {
            throw error("array '" + key + "' has " + count + " elements, more than the " + MAX_ARRAY_ELEMENTS + " allowed");
        }
        List<GgufValue> elements = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) {
            elements.add(readValue(cursor, elementType, key + "[" + i + "]", depth + 1));
        }
        return new GgufValue.Array(elementType, elements);
    }

    private GgufTensorInfo readTensorInfo(Cursor cursor, long index) {
        String name = cursor.string("the name of tensor " + index, MAX_TENSOR_NAME_BYTES);
        if (name.isEmpty()) {
            throw error("tensor " + index + " has an empty name");
        }
        if (name.indexOf('\0') >= 0) {
            throw error("the name of tensor " + index + " holds a NUL byte");
        }
        int nDims = cursor.u32("the dimension count of tensor '" + name + "'");
        if (nDims < 1 || nDims > Shapes.MAX_DIMS) {
            throw error("tensor '" + name + "' has " + Integer.toUnsignedString(nDims)
                    + " dimensions (allowed: 1 to " + Shapes.MAX_DIMS + ")");
        }
        long[] ne = new long[nDims];
        for (int d = 0; d < nDims; d++) {
            ne[d] = cursor.u64("dimension " + d + " of tensor '" + name + "'");
            if (ne[d] <= 0) {
                throw error("tensor '" + name + "' has dimension " + d + " of " + Long.toUnsignedString(ne[d])
                        + " (each must be at least 1)");
            }
        }
        int typeId = cursor.u32("the type of tensor '" + name + "'");
        GgmlType type = GgmlType.byId(typeId)
                .orElseThrow(() -> error("tensor '" + name + "' has unknown ggml type id " + typeId));
        long offset = cursor.u64("the data offset of tensor '" + name + "'");
        if (nDims > 0 && ne[0] % type.blockSize() != 0) {
            throw error("tensor '" + name + "' of type " + type + " has rows of " + ne[0]
                    + " elements, not a multiple of the block size " + type.blockSize());
        }
        try {
            type.byteSize(ne);
        } catch (ArithmeticException e) {
            throw error("tensor '" + name + "' has an impossibly large shape " + Shapes.format(ne));
        }
        if (offset < 0) {
            throw error("tensor '" + name + "' has data offset " + Long.toUnsignedString(offset) + ", beyond any file");
        }
        return new GgufTensorInfo(new GgufTensorSpec(name, type, ne), offset);
    }

    private int readAlignment(GgufMetadata kv) {
        if (!kv.contains(GgufMetadata.ALIGNMENT_KEY)) {
            return DEFAULT_ALIGNMENT;
        }
        GgufValue stored = kv.get(GgufMetadata.ALIGNMENT_KEY).orElseThrow();
        if (stored.type() != GgufValueType.UINT32) {
            // ggml reads the alignment only as a u32 and refuses the file otherwise
            throw error("general.alignment has type " + stored.type().displayName() + ", expected u32");
        }
        long value = kv.getLong(GgufMetadata.ALIGNMENT_KEY);
        if (value < MIN_ALIGNMENT || value > MAX_ALIGNMENT || Long.bitCount(value) != 1) {
            throw error("general.alignment is " + value + ", expected a power of two from " + MIN_ALIGNMENT + " to "
                    + MAX_ALIGNMENT);
        }
        return (int) value;
    }

    private void validateTensorPlacement() {
        long fileSize = mapping.byteSize();
        if (!tensors.isEmpty() && dataOffset > fileSize) {
            throw error("truncated file: the data section would start at byte " + dataOffset
                    + " but the file is " + fileSize + " bytes long");
        }
        long dataSize = fileSize - dataOffset;
        for (GgufTensorInfo info : tensors) {
            if (info.offset() % alignment != 0) {
                throw error("tensor '" + info.name() + "' has data offset " + info.offset()
                        + ", not a multiple of the alignment " + alignment);
            }
            long end = info.offset() + info.byteSize();
            if (end < 0 || end > dataSize) {
                throw error("tensor '" + info.name() + "' (" + info.type() + " " + Shapes.format(info.ne()) + ", "
                        + info.byteSize() + " bytes at data offset " + info.offset()
                        + ") extends beyond the end of the file: the data section holds only " + Math.max(dataSize, 0)
                        + " bytes (truncated file?)");
            }
        }
        List<GgufTensorInfo> byOffset = new ArrayList<>(tensors);
        byOffset.sort(Comparator.comparingLong(GgufTensorInfo::offset));
        for (int i = 1; i < byOffset.size(); i++) {
            GgufTensorInfo previous = byOffset.get(i - 1);
            GgufTensorInfo current = byOffset.get(i);
            if (previous.offset() + previous.byteSize() > current.offset()) {
                throw error("the data of tensors '" + previous.name() + "' and '" + current.name() + "' overlap");
            }
        }
        // ggml's reader (and so the engine) accepts only its own layout: no gaps, no reordering
        long expected = 0;
        for (GgufTensorInfo info : tensors) {
            if (info.offset() != expected) {
                throw error("tensor '" + info.name() + "' has data offset " + info.offset() + ", expected " + expected
                        + " (tensor data must follow the order of the tensor infos, each padded to the alignment "
                        + alignment + ")");
            }
            expected += alignUp(info.byteSize(), alignment);
        }
    }

    static long alignUp(long value, long alignment) {
        return (value + alignment - 1) / alignment * alignment;
    }

    private GgufFormatException error(String problem) {
        return new GgufFormatException(path + ": " + problem);
    }

    /** Sequential little-endian reads over the mapping, each bounds-checked with a message. */
    private final class Cursor {
        private final MemorySegment segment;
        private long position;

        Cursor(MemorySegment segment) {
            this.segment = segment;
        }

        long position() {
            return position;
        }

        private long take(long n, String what) {
            if (n > segment.byteSize() - position) {
                throw error("truncated header: the file ends (at byte " + segment.byteSize() + ") while reading "
                        + what + " at byte " + position);
            }
            long at = position;
            position += n;
            return at;
        }

        byte u8(String what) {
            return segment.get(ValueLayout.JAVA_BYTE, take(1, what));
        }

        short u16(String what) {
            return segment.get(U16, take(2, what));
        }

        int u32(String what) {
            return segment.get(U32, take(4, what));
        }

        long u64(String what) {
            return segment.get(U64, take(8, what));
        }

        float f32(String what) {
            return segment.get(F32, take(4, what));
        }

        double f64(String what) {
            return segment.get(F64, take(8, what));
        }

        /** A length-prefixed string of at most {@code maxBytes}; bytes that are not UTF-8 become U+FFFD, as the engine does not check them. */
        String string(String what, long maxBytes) {
            long length = u64("the length of " + what);
            if (length < 0 || length > segment.byteSize() - position) {
                throw error("truncated header: " + what + " claims " + Long.toUnsignedString(length)
                        + " bytes at byte " + position + " but the file is " + segment.byteSize() + " bytes long");
            }
            if (length > maxBytes) {
                throw error(what + " is " + length + " bytes long, more than the " + maxBytes + " allowed");
            }
            ByteBuffer bytes = segment.asSlice(take(length, what), length).asByteBuffer();
            return StandardCharsets.UTF_8.decode(bytes).toString();
        }

        /** Rejects counts that cannot fit in what is left of the file, before allocating for them. */
        void requireCount(long count, int minBytesEach, String what) {
            long remaining = segment.byteSize() - position;
            if (count < 0 || count > remaining / minBytesEach) {
                throw error("truncated or corrupt header: it declares " + Long.toUnsignedString(count) + " " + what
                        + " but only " + remaining + " bytes follow at byte " + position);
            }
        }
    }
}
