package dev.clearclip.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufRoundTripTest {
    @TempDir
    Path dir;

    private static GgufMetadata everyValueType() {
        return GgufMetadata.builder()
                .putString("general.architecture", "clip")
                .put("t.u8", GgufValue.u8(255))
                .put("t.i8", GgufValue.i8(-128))
                .put("t.u16", GgufValue.u16(65535))
                .put("t.i16", GgufValue.i16(-32768))
                .put("t.u32", GgufValue.u32(0xFFFF_FFFFL))
                .put("t.i32", GgufValue.i32(Integer.MIN_VALUE))
                .put("t.u64", GgufValue.u64(-1L))
                .put("t.i64", GgufValue.i64(Long.MIN_VALUE))
                .put("t.f32", GgufValue.f32(Float.NaN))
                .put("t.f32_neg_zero", GgufValue.f32(-0.0f))
                .put("t.f64", GgufValue.f64(Double.MIN_VALUE))
                .put("t.bool", GgufValue.bool(true))
                .put("t.string", GgufValue.string("\u0120the</w> \u2713 \uD83D\uDE00"))
                .put("t.empty_string", GgufValue.string(""))
                .put("t.empty_array", GgufValue.array(GgufValueType.INT32, List.of()))
                .putStringArray("t.strings", List.of("a", "", "\u00e9"))
                .putF32Array("t.floats", 0.25f, -1f, Float.POSITIVE_INFINITY)
                .put("t.nested", GgufValue.array(GgufValueType.ARRAY, List.of(
                        GgufValue.array(GgufValueType.UINT8, List.of(GgufValue.u8(1), GgufValue.u8(2))),
                        GgufValue.stringArray(List.of("x")))))
                .build();
    }

    @Test
    void everyValueTypeSurvivesWriteAndRead() {
        Path file = dir.resolve("kv.gguf");
        GgufMetadata metadata = everyValueType();
        try (GgufWriter writer = GgufWriter.create(file, metadata, List.of())) {
            assertThat(writer.nextTensor()).isEmpty();
        }
        // the engine (ggml) refuses arrays of arrays, and so does the default reader
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> GgufFile.open(file)).isInstanceOf(GgufFormatException.class)
                .hasMessageContaining("nested arrays are not supported");
        try (GgufFile gguf = GgufFile.openAllowingNestedArrays(file)) {
            assertThat(gguf.version()).isEqualTo(3);
            assertThat(gguf.metadata()).isEqualTo(metadata);
            assertThat(List.copyOf(gguf.metadata().asMap().keySet())).isEqualTo(List.copyOf(metadata.asMap().keySet()));
            assertThat(gguf.metadata().getLong("t.u32")).isEqualTo(4294967295L);
            assertThat(gguf.metadata().get("t.u64")).contains(GgufValue.u64(-1L));
            assertThat(Float.isNaN(gguf.metadata().getFloat("t.f32"))).isTrue();
            assertThat(Float.floatToRawIntBits(gguf.metadata().getFloat("t.f32_neg_zero"))).isEqualTo(0x8000_0000);
            assertThat(gguf.metadata().getString("t.string")).isEqualTo("\u0120the</w> \u2713 \uD83D\uDE00");
            assertThat(gguf.metadata().getStringList("t.strings")).containsExactly("a", "", "\u00e9");
            assertThat(gguf.metadata().getFloatArray("t.floats")).containsExactly(0.25f, -1f, Float.POSITIVE_INFINITY);
            assertThat(gguf.tensors()).isEmpty();
        }
    }

    @Test
    void headerBytesAreLittleEndianV3() throws Exception {
        Path file = dir.resolve("header.gguf");
        try (GgufWriter writer = GgufWriter.create(file, GgufMetadata.builder().putU32("k", 7).build(),
                List.of(GgufTensorSpec.of("x", GgmlType.F32, 3)))) {
            writer.writeTensor("x", floats(1, 2, 3));
        }
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(new String(bytes.array(), 0, 4, "US-ASCII")).isEqualTo("GGUF");
        assertThat(bytes.getInt(4)).isEqualTo(3);
        assertThat(bytes.getLong(8)).isEqualTo(1);   // tensors
        assertThat(bytes.getLong(16)).isEqualTo(1);  // key-value pairs
        assertThat(bytes.getLong(24)).isEqualTo(1);  // length of "k"
        assertThat(bytes.get(32)).isEqualTo((byte) 'k');
        assertThat(bytes.getInt(33)).isEqualTo(4);   // u32
        assertThat(bytes.getInt(37)).isEqualTo(7);
        // tensor info: name, n_dims, ne[0], type, offset; then padding to 32 and the data
        assertThat(bytes.getLong(41)).isEqualTo(1);
        assertThat(bytes.get(49)).isEqualTo((byte) 'x');
        assertThat(bytes.getInt(50)).isEqualTo(1);
        assertThat(bytes.getLong(54)).isEqualTo(3);
        assertThat(bytes.getInt(62)).isZero();
        assertThat(bytes.getLong(66)).isZero();
        assertThat(bytes.getFloat(96)).isEqualTo(1f);
        assertThat(bytes.getFloat(104)).isEqualTo(3f);
        assertThat(bytes.capacity()).isEqualTo(96 + 32);
    }

    @Test
    void tensorsAreAlignedPaddedAndReadBack() {
        Path file = dir.resolve("tensors.gguf");
        byte[] q8 = new byte[34 * 2];
        for (int i = 0; i < q8.length; i++) {
            q8[i] = (byte) (i * 7);
        }
        List<GgufTensorSpec> specs = List.of(
                GgufTensorSpec.of("odd.f32", GgmlType.F32, 5),
                GgufTensorSpec.of("matrix.f16", GgmlType.F16, 3, 2),
                GgufTensorSpec.of("blocks.q8_0", GgmlType.Q8_0, 32, 2),
                // the engine refuses 0-dimensional tensors (models/README.md), so a one-value tensor is [1]
                GgufTensorSpec.of("scalar", GgmlType.F32, 1),
                GgufTensorSpec.of("four.d", GgmlType.F32, 1, 2, 1, 2));
        GgufMetadata metadata = GgufMetadata.builder().putU32(GgufMetadata.ALIGNMENT_KEY, 64).build();
        try (GgufWriter writer = GgufWriter.create(file, metadata, specs)) {
            writer.writeTensor("odd.f32", floats(1, 2, 3, 4, 5));
            writer.writeTensor("matrix.f16", halves(0.5f, -1f, 2f, 65504f, 0f, -0f));
            writer.writeTensor("blocks.q8_0", MemorySegment.ofArray(q8));
            writer.writeTensor("scalar", floats(42));
            writer.writeTensor("four.d", floats(1, 2, 3, 4));
        }
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThat(gguf.alignment()).isEqualTo(64);
            assertThat(gguf.dataOffset() % 64).isZero();
            assertThat(gguf.tensors()).extracting(GgufTensorInfo::spec).containsExactlyElementsOf(specs);
            assertThat(gguf.tensors()).extracting(GgufTensorInfo::offset).containsExactly(0L, 64L, 128L, 256L, 320L);
            assertThat(gguf.fileSize()).isEqualTo(gguf.dataOffset() + 384);
            assertThat(gguf.readFloats("odd.f32")).containsExactly(1, 2, 3, 4, 5);
            assertThat(gguf.readFloats("matrix.f16")).containsExactly(0.5f, -1f, 2f, 65504f, 0f, -0f);
            assertThat(gguf.tensorData("blocks.q8_0").toArray(ValueLayout.JAVA_BYTE)).isEqualTo(q8);
            assertThat(gguf.readFloats("scalar")).containsExactly(42f);
            assertThat(gguf.tensor("four.d").ne()).containsExactly(1, 2, 1, 2);
            assertThatThrownBy(() -> gguf.tensor("missing"))
                    .isInstanceOf(ModelFileException.class)
                    .hasMessage(file + ": no tensor named 'missing'");
        }
    }

    @Test
    void writerEnforcesDeclarationOrderAndSizes() {
        Path file = dir.resolve("order.gguf");
        List<GgufTensorSpec> specs = List.of(GgufTensorSpec.of("a", GgmlType.F32, 2), GgufTensorSpec.of("b", GgmlType.F32, 2));
        assertThatThrownBy(() -> {
            try (GgufWriter writer = GgufWriter.create(file, GgufMetadata.builder().build(), specs)) {
                writer.writeTensor("b", floats(1, 2));
            }
        }).isInstanceOf(IllegalStateException.class).hasMessageContaining("expected tensor 'a'").hasMessageContaining("got 'b'");
        assertThatThrownBy(() -> {
            try (GgufWriter writer = GgufWriter.create(file, GgufMetadata.builder().build(), specs)) {
                writer.writeTensor("a", floats(1, 2, 3));
            }
        }).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 8 bytes, got 12");
        assertThat(file).doesNotExist();
        assertThatThrownBy(() -> GgufWriter.create(file, GgufMetadata.builder().build(),
                List.of(GgufTensorSpec.of("a", GgmlType.F32, 1), GgufTensorSpec.of("a", GgmlType.F32, 1))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("duplicate tensor name 'a'");
        assertThatThrownBy(() -> GgufTensorSpec.of("q", GgmlType.Q8_0, 48))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a multiple of the block size 32");
    }

    @Test
    void incompleteFileIsDeletedAndTargetLeftAlone() throws Exception {
        Path file = dir.resolve("existing.gguf");
        Files.writeString(file, "previous content");
        List<GgufTensorSpec> specs = List.of(GgufTensorSpec.of("a", GgmlType.F32, 1), GgufTensorSpec.of("b", GgmlType.F32, 1));
        GgufWriter writer = GgufWriter.create(file, GgufMetadata.builder().build(), specs);
        writer.writeTensor("a", floats(1));
        assertThatThrownBy(writer::close)
                .isInstanceOf(ModelFileException.class)
                .hasMessage(file + ": not written: only 1 of 2 tensors were supplied (next missing: 'b')");
        assertThat(Files.readString(file)).isEqualTo("previous content");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).containsExactly(file);
        }
    }

    @Test
    void finishedFileReplacesTarget() throws Exception {
        Path file = dir.resolve("replace.gguf");
        Files.writeString(file, "old");
        try (GgufWriter writer = GgufWriter.create(file, GgufMetadata.builder().putBool("x", false).build(), List.of())) {
            assertThat(Files.readString(file)).isEqualTo("old");
        }
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThat(gguf.metadata().getBoolean("x")).isFalse();
        }
    }

    @Test
    void typedGettersExplainMismatches() {
        GgufMetadata metadata = everyValueType().toBuilder().source("model.gguf").build();
        assertThat(metadata.getInt("t.i16")).isEqualTo(-32768);
        assertThat(metadata.getLong("t.u8")).isEqualTo(255);
        assertThatThrownBy(() -> metadata.getString("t.u8"))
                .isInstanceOf(ModelFileException.class)
                .hasMessage("model.gguf: key 't.u8' is a u8, expected a string");
        assertThatThrownBy(() -> metadata.getInt("t.u32"))
                .hasMessage("model.gguf: key 't.u32' = 4294967295 does not fit in a 32-bit integer");
        assertThatThrownBy(() -> metadata.getLong("t.u64"))
                .hasMessage("model.gguf: key 't.u64' = 18446744073709551615 does not fit in a signed 64-bit integer");
        assertThatThrownBy(() -> metadata.getStringList("t.floats"))
                .hasMessage("model.gguf: key 't.floats' is an array of f32, expected an array of string");
        assertThatThrownBy(() -> metadata.getFloat("absent")).hasMessage("model.gguf: missing key 'absent'");
        assertThatThrownBy(() -> GgufValue.u8(256)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GgufValue.array(GgufValueType.STRING, List.of(GgufValue.u8(1))))
                .hasMessageContaining("array of string cannot hold a u8 element");
    }

    static MemorySegment floats(float... values) {
        MemorySegment segment = MemorySegment.ofArray(new byte[values.length * 4]);
        TensorCodec.encodeF32(values, segment);
        return segment;
    }

    static MemorySegment halves(float... values) {
        MemorySegment segment = MemorySegment.ofArray(new byte[values.length * 2]);
        TensorCodec.encodeF16(values, segment);
        return segment;
    }
}
