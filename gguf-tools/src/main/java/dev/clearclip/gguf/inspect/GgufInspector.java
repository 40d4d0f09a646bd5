package dev.clearclip.gguf.inspect;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.ValueNode;
import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.GgufTensorInfo;
import dev.clearclip.gguf.GgufValue;
import dev.clearclip.gguf.Shapes;
import java.math.BigInteger;
import java.util.EnumMap;
import java.util.Map;

/**
 * Describes a GGUF file for people (text) and programs (JSON): header facts, every metadata key
 * with its type and value, and every tensor with type, shape, size and offset. Long arrays (the
 * tokenizer's 49408 tokens) are summarised by their first elements unless asked for in full.
 */
public final class GgufInspector {
    /** Elements of an array shown when arrays are summarised. */
    public static final int SUMMARY_ELEMENTS = 8;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private GgufInspector() {
    }

    /** A text report; with {@code fullArrays} every array element is listed. */
    public static String text(GgufFile file, boolean fullArrays) {
        StringBuilder out = new StringBuilder();
        out.append("file:        ").append(file.path()).append('\n');
        out.append("version:     ").append(file.version()).append('\n');
        out.append("alignment:   ").append(file.alignment()).append('\n');
        out.append("data offset: ").append(file.dataOffset()).append('\n');
        out.append("file size:   ").append(file.fileSize()).append(String.format(" (%.2f MB)%n", file.fileSize() / 1e6));
        out.append('\n').append("metadata (").append(file.metadata().size()).append(" keys):\n");
        int keyWidth = file.metadata().asMap().keySet().stream().mapToInt(String::length).max().orElse(0);
        for (Map.Entry<String, GgufValue> entry : file.metadata().asMap().entrySet()) {
            out.append(String.format("  %-" + keyWidth + "s  %-14s %s%n", entry.getKey(), typeName(entry.getValue()),
                    valueText(entry.getValue(), fullArrays) + fileTypeName(entry.getKey(), entry.getValue())));
        }
        long totalBytes = file.tensors().stream().mapToLong(GgufTensorInfo::byteSize).sum();
        out.append('\n').append("tensors (").append(file.tensors().size())
                .append(String.format(", %.2f MB):%n", totalBytes / 1e6));
        int nameWidth = Math.max(4, file.tensors().stream().mapToInt(t -> t.name().length()).max().orElse(0));
        out.append(String.format("  %-" + nameWidth + "s  %-7s %-22s %12s %12s%n", "name", "type", "shape", "bytes", "offset"));
        Map<GgmlType, long[]> byType = new EnumMap<>(GgmlType.class);
        for (GgufTensorInfo tensor : file.tensors()) {
            out.append(String.format("  %-" + nameWidth + "s  %-7s %-22s %12d %12d%n", tensor.name(), tensor.type(),
                    Shapes.format(tensor.ne()), tensor.byteSize(), tensor.offset()));
            long[] sum = byType.computeIfAbsent(tensor.type(), t -> new long[2]);
            sum[0]++;
            sum[1] += tensor.byteSize();
        }
        if (!byType.isEmpty()) {
            out.append('\n').append("by type:\n");
            byType.forEach((type, sum) -> out.append(String.format("  %-7s %5d tensors %12.2f MB%n", type, sum[0], sum[1] / 1e6)));
        }
        return out.toString();
    }

    /** A JSON report (see {@link #jsonTree}) as indented text. */
    public static String json(GgufFile file, boolean fullArrays) {
        try {
            return JSON.writeValueAsString(jsonTree(file, fullArrays));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise the report of " + file.path(), e);
        }
    }

    /**
     * {@code {"path", "version", "alignment", "data_offset", "file_size", "metadata": {key: {"type",
     * "value"}}, "tensors": [{"name", "type", "shape", "bytes", "offset"}]}}; an array value is
     * {@code {"type": "array", "element_type", "length", "values", "truncated"}}.
     */
    public static ObjectNode jsonTree(GgufFile file, boolean fullArrays) {
        ObjectNode root = NODES.objectNode();
        root.put("path", file.path().toString());
        root.put("version", file.version());
        root.put("alignment", file.alignment());
        root.put("data_offset", file.dataOffset());
        root.put("file_size", file.fileSize());
        ObjectNode metadata = root.putObject("metadata");
        file.metadata().asMap().forEach((key, value) -> metadata.set(key, valueJson(value, fullArrays)));
        ArrayNode tensors = root.putArray("tensors");
        for (GgufTensorInfo tensor : file.tensors()) {
            ObjectNode node = tensors.addObject();
            node.put("name", tensor.name());
            node.put("type", tensor.type().ggmlName());
            ArrayNode shape = node.putArray("shape");
            for (long n : tensor.ne()) {
                shape.add(n);
            }
            node.put("bytes", tensor.byteSize());
            node.put("offset", tensor.offset());
        }
        return root;
    }

    private static ObjectNode valueJson(GgufValue value, boolean fullArrays) {
        ObjectNode node = NODES.objectNode();
        node.put("type", value.type().displayName());
        if (value instanceof GgufValue.Array array) {
            node.put("element_type", array.elementType().displayName());
            node.put("length", array.size());
            int shown = fullArrays ? array.size() : Math.min(array.size(), SUMMARY_ELEMENTS);
            ArrayNode values = node.putArray("values");
            for (int i = 0; i < shown; i++) {
                GgufValue element = array.elements().get(i);
                values.add(element instanceof GgufValue.Array ? valueJson(element, fullArrays) : scalarJson(element));
            }
            node.put("truncated", shown < array.size());
        } else {
            node.set("value", scalarJson(value));
        }
        return node;
    }

    private static ValueNode scalarJson(GgufValue value) {
        return switch (value) {
            case GgufValue.UInt8 v -> NODES.numberNode(v.value());
            case GgufValue.Int8 v -> NODES.numberNode(v.value());
            case GgufValue.UInt16 v -> NODES.numberNode(v.value());
            case GgufValue.Int16 v -> NODES.numberNode(v.value());
            case GgufValue.UInt32 v -> NODES.numberNode(v.value());
            case GgufValue.Int32 v -> NODES.numberNode(v.value());
            case GgufValue.UInt64 v -> NODES.numberNode(new BigInteger(Long.toUnsignedString(v.value())));
            case GgufValue.Int64 v -> NODES.numberNode(v.value());
            case GgufValue.Float32 v -> NODES.numberNode(v.value());
            case GgufValue.Float64 v -> NODES.numberNode(v.value());
            case GgufValue.Bool v -> NODES.booleanNode(v.value());
            case GgufValue.Str v -> NODES.textNode(v.value());
            case GgufValue.Array v -> throw new IllegalArgumentException("not a scalar: array of " + v.elementType());
        };
    }

    private static String typeName(GgufValue value) {
        return value instanceof GgufValue.Array array
                ? array.elementType().displayName() + "[" + array.size() + "]"
                : value.type().displayName();
    }

    private static String valueText(GgufValue value, boolean fullArrays) {
        return switch (value) {
            case GgufValue.UInt8 v -> Integer.toString(v.value());
            case GgufValue.Int8 v -> Byte.toString(v.value());
            case GgufValue.UInt16 v -> Integer.toString(v.value());
            case GgufValue.Int16 v -> Short.toString(v.value());
            case GgufValue.UInt32 v -> Long.toString(v.value());
            case GgufValue.Int32 v -> Integer.toString(v.value());
            case GgufValue.UInt64 v -> Long.toUnsignedString(v.value());
            case GgufValue.Int64 v -> Long.toString(v.value());
            case GgufValue.Float32 v -> Float.toString(v.value());
            case GgufValue.Float64 v -> Double.toString(v.value());
            case GgufValue.Bool v -> Boolean.toString(v.value());
            case GgufValue.Str v -> quote(v.value());
            case GgufValue.Array v -> {
                int shown = fullArrays ? v.size() : Math.min(v.size(), SUMMARY_ELEMENTS);
                StringBuilder text = new StringBuilder("[");
                for (int i = 0; i < shown; i++) {
                    text.append(i > 0 ? ", " : "").append(valueText(v.elements().get(i), fullArrays));
                }
                if (shown < v.size()) {
                    text.append(", ... ").append(v.size() - shown).append(" more");
                }
                yield text.append(']').toString();
            }
        };
    }

    private static String quote(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    /** " (q8_0)" after general.file_type: the number alone means nothing to most readers. */
    static String fileTypeName(String key, GgufValue value) {
        if (!key.equals("general.file_type")) {
            return "";
        }
        String text = valueText(value, false).trim();
        for (dev.clearclip.gguf.GgmlType t : dev.clearclip.gguf.GgmlType.outputTypes()) {
            if (String.valueOf(t.llamaFileType()).equals(text)) {
                return " (" + (t == dev.clearclip.gguf.GgmlType.F16 ? "mostly f16" : t.toString()) + ")";
            }
        }
        return " (unknown file type)";
    }
}
