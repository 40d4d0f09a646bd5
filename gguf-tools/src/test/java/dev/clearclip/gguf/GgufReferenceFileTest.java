package dev.clearclip.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clearclip.gguf.testing.TestResources;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Reads a file written by llama.cpp's own Python GGUF writer (the {@code gguf} package, see
 * src/test/python/make_test_files.py): every value type, alignment 64, and tensors whose expected
 * values are what that package decodes them to.
 */
class GgufReferenceFileTest {
    private static final Path RESOURCES = TestResources.path("gguf");

    @Test
    void metadataOfEveryType() {
        try (GgufFile gguf = GgufFile.openAllowingNestedArrays(RESOURCES.resolve("reference.gguf"))) {
            GgufMetadata kv = gguf.metadata();
            assertThat(gguf.version()).isEqualTo(3);
            assertThat(kv.getString("general.architecture")).isEqualTo("clip");
            assertThat(kv.get("test.u8")).contains(GgufValue.u8(200));
            assertThat(kv.get("test.i8")).contains(GgufValue.i8(-100));
            assertThat(kv.get("test.u16")).contains(GgufValue.u16(60000));
            assertThat(kv.get("test.i16")).contains(GgufValue.i16(-30000));
            assertThat(kv.get("test.u32")).contains(GgufValue.u32(4_000_000_000L));
            assertThat(kv.get("test.i32")).contains(GgufValue.i32(-2_000_000_000));
            assertThat(kv.get("test.f32")).contains(GgufValue.f32(3.25f));
            assertThat(kv.get("test.u64")).contains(GgufValue.u64(-1L));
            assertThat(kv.get("test.i64")).contains(GgufValue.i64(Long.MIN_VALUE));
            assertThat(kv.get("test.f64")).contains(GgufValue.f64(-1.5e300));
            assertThat(kv.getBoolean("test.bool_true")).isTrue();
            assertThat(kv.getBoolean("test.bool_false")).isFalse();
            assertThat(kv.getString("test.string")).isEqualTo("h\u00e9llo \u2713 </w>");
            assertThat(kv.get("test.array_u32")).contains(GgufValue.array(GgufValueType.UINT32,
                    List.of(GgufValue.u32(1), GgufValue.u32(2), GgufValue.u32(4_000_000_000L))));
            assertThat(kv.getFloatArray("test.array_f32")).containsExactly(0.5f, -2.0f, 1e-3f);
            assertThat(kv.getStringList("test.array_string")).containsExactly("a", "", "\u0120the</w>");
            GgufValue.Array nested = (GgufValue.Array) kv.get("test.array_nested").orElseThrow();
            assertThat(nested.elementType()).isEqualTo(GgufValueType.ARRAY);
            assertThat(nested.elements()).hasSize(2);
            assertThat(((GgufValue.Array) nested.elements().get(1)).elements()).hasSize(1);
            assertThat(gguf.alignment()).isEqualTo(64);
        }
    }

    @Test
    void tensorsDecodeToTheWriterPackageValues() throws Exception {
        JsonNode expected = new ObjectMapper().readTree(RESOURCES.resolve("reference.json").toFile());
        try (GgufFile gguf = GgufFile.openAllowingNestedArrays(RESOURCES.resolve("reference.gguf"))) {
            assertThat(gguf.tensors()).hasSize(expected.get("tensors").size());
            for (JsonNode tensor : expected.get("tensors")) {
                String name = tensor.get("name").asText();
                GgufTensorInfo info = gguf.tensor(name);
                assertThat(info.type().ggmlName()).as(name).isEqualTo(tensor.get("type").asText());
                long[] ne = new long[tensor.get("ne").size()];
                for (int i = 0; i < ne.length; i++) {
                    ne[i] = tensor.get("ne").get(i).asLong();
                }
                assertThat(info.ne()).as(name).containsExactly(ne);
                assertThat(info.offset() % 64).as(name).isZero();
                float[] actual = gguf.readFloats(name);
                JsonNode bits = tensor.get("values_f32_bits");
                assertThat(actual).as(name).hasSize(bits.size());
                for (int i = 0; i < actual.length; i++) {
                    assertThat(Float.floatToRawIntBits(actual[i])).as(name + "[" + i + "]").isEqualTo((int) bits.get(i).asLong());
                }
            }
        }
    }
}
