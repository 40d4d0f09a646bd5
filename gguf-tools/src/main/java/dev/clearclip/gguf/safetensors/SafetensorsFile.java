package dev.clearclip.gguf.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clearclip.gguf.MappedFiles;
import dev.clearclip.gguf.ModelFileException;
import dev.clearclip.gguf.TensorCodec;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A safetensors file, memory-mapped: an 8-byte little-endian header length, a JSON header
 * mapping tensor names to dtype, shape and byte range, then the raw little-endian data. Opening
 * validates the header and every tensor's byte range; closing unmaps the file.
 */
public final class SafetensorsFile implements AutoCloseable {
    private static final long MAX_HEADER = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, SafetensorsTensor> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment mapping) {
        this.path = path;
        this.arena = arena;
        if (mapping.byteSize() < 8) {
            throw error("not a safetensors file: only " + mapping.byteSize() + " bytes long");
        }
        long headerLength = mapping.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLength < 2 || headerLength > MAX_HEADER) {
            throw error("not a safetensors file: header length " + Long.toUnsignedString(headerLength)
                    + " is implausible (expected 2 .. " + MAX_HEADER + " bytes)");
        }
        if (headerLength > mapping.byteSize() - 8) {
            throw error("truncated file: the header claims " + headerLength + " bytes but only "
                    + (mapping.byteSize() - 8) + " follow");
        }
        byte[] headerBytes = mapping.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
        this.data = mapping.asSlice(8 + headerLength).asReadOnly();
        JsonNode header;
        try {
            header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw error("the header is not valid JSON: " + e.getOriginalMessage());
        }
        if (header == null || !header.isObject()) {
            throw error("the header is not a JSON object");
        }
        Map<String, SafetensorsTensor> parsed = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> entry : header.properties()) {
            if (entry.getKey().equals("__metadata__")) {
                entry.getValue().properties().forEach(m -> meta.put(m.getKey(), m.getValue().asText()));
            } else {
                parsed.put(entry.getKey(), parseTensor(entry.getKey(), entry.getValue()));
            }
        }
        checkNoOverlap(parsed.values());
        this.tensors = Collections.unmodifiableMap(parsed);
        this.metadata = Collections.unmodifiableMap(meta);
    }

    /**
     * Maps and validates a safetensors file.
     *
     * @throws SafetensorsFormatException if the file is malformed
     * @throws ModelFileException if it cannot be read
     */
    public static SafetensorsFile open(Path path) {
        return MappedFiles.open(path, (arena, mapping) -> new SafetensorsFile(path, arena, mapping));
    }

    public Path path() {
        return path;
    }

    /** The tensors in header order. */
    public Map<String, SafetensorsTensor> tensors() {
        return tensors;
    }

    public Optional<SafetensorsTensor> findTensor(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    /** @throws ModelFileException if there is no tensor of that name */
    public SafetensorsTensor tensor(String name) {
        SafetensorsTensor tensor = tensors.get(name);
        if (tensor == null) {
            throw new ModelFileException(path + ": no tensor named '" + name + "'");
        }
        return tensor;
    }

    /** The {@code __metadata__} string map of the header (empty if absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The raw bytes of a tensor, a read-only view of the mapping. */
    public MemorySegment data(String name) {
        SafetensorsTensor tensor = tensor(name);
        return data.asSlice(tensor.begin(), tensor.byteSize());
    }

    /**
     * The values of a floating-point tensor as floats, in row-major (C) order.
     *
     * @throws ModelFileException if the tensor is not F32, F16, BF16 or F64, or too large for an array
     */
    public float[] readFloats(String name) {
        SafetensorsTensor tensor = tensor(name);
        long count = tensor.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new ModelFileException(path + ": tensor '" + name + "' has " + count + " elements, too many for one array");
        }
        MemorySegment bytes = data(name);
        int n = (int) count;
        float[] out = new float[n];
        switch (tensor.dtype()) {
            case F32 -> MemorySegment.copy(bytes, F32, 0, out, 0, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(bytes.get(I16, 2L * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = TensorCodec.bf16ToFloat(bytes.get(I16, 2L * i));
                }
            }
            case F64 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) bytes.get(F64, 8L * i);
                }
            }
            default -> throw new ModelFileException(path + ": tensor '" + name + "' has dtype " + tensor.dtype()
                    + ", expected a floating-point type (F32, F16, BF16, F64)");
        }
        return out;
    }

    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }

    private SafetensorsTensor parseTensor(String name, JsonNode node) {
        if (!node.isObject()) {
            throw error("header entry '" + name + "' is not an object");
        }
        JsonNode dtypeNode = node.get("dtype");
        JsonNode shapeNode = node.get("shape");
        JsonNode offsetsNode = node.get("data_offsets");
        if (dtypeNode == null || !dtypeNode.isTextual() || shapeNode == null || !shapeNode.isArray()
                || offsetsNode == null || !offsetsNode.isArray() || offsetsNode.size() != 2) {
            throw error("tensor '" + name + "' needs \"dtype\" (string), \"shape\" (array) and "
                    + "\"data_offsets\" ([begin, end]) in the header");
        }
        SafetensorsDType dtype = SafetensorsDType.parse(dtypeNode.asText())
                .orElseThrow(() -> error("tensor '" + name + "' has unknown dtype '" + dtypeNode.asText() + "'"));
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode dim = shapeNode.get(i);
            if (!dim.canConvertToLong() || !dim.isIntegralNumber() || dim.asLong() < 0) {
                throw error("tensor '" + name + "' has an invalid shape " + shapeNode);
            }
            shape[i] = dim.asLong();
        }
        JsonNode beginNode = offsetsNode.get(0);
        JsonNode endNode = offsetsNode.get(1);
        if (!beginNode.isIntegralNumber() || !endNode.isIntegralNumber() || !beginNode.canConvertToLong()
                || !endNode.canConvertToLong()) {
            throw error("tensor '" + name + "' has invalid data_offsets " + offsetsNode);
        }
        long begin = beginNode.asLong();
        long end = endNode.asLong();
        if (begin < 0 || end < begin) {
            throw error("tensor '" + name + "' has invalid data_offsets " + offsetsNode);
        }
        SafetensorsTensor tensor = new SafetensorsTensor(name, dtype, shape, begin, end);
        long expected;
        try {
            expected = Math.multiplyExact(tensor.elementCount(), (long) dtype.size());
        } catch (ArithmeticException e) {
            throw error("tensor '" + name + "' has an impossibly large shape " + shapeNode);
        }
        if (end - begin != expected) {
            throw error("tensor '" + name + "' (" + dtype + " " + shapeNode + ") should take " + expected
                    + " bytes but data_offsets " + offsetsNode + " span " + (end - begin));
        }
        if (end > data.byteSize()) {
            throw error("tensor '" + name + "' ends at data byte " + end + " but the data section holds only "
                    + data.byteSize() + " bytes (truncated file?)");
        }
        return tensor;
    }

    private void checkNoOverlap(Iterable<SafetensorsTensor> all) {
        List<SafetensorsTensor> sorted = new ArrayList<>();
        all.forEach(sorted::add);
        sorted.sort(Comparator.comparingLong(SafetensorsTensor::begin));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i - 1).end() > sorted.get(i).begin()) {
                throw error("the data of tensors '" + sorted.get(i - 1).name() + "' and '" + sorted.get(i).name() + "' overlap");
            }
        }
    }

    private SafetensorsFormatException error(String problem) {
        return new SafetensorsFormatException(path + ": " + problem);
    }
}
