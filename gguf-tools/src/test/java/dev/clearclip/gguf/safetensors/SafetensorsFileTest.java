package dev.clearclip.gguf.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clearclip.gguf.ModelFileException;
import dev.clearclip.gguf.testing.TestResources;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
    @TempDir
    Path dir;

    /** dtypes.safetensors was written by safetensors from torch tensors; dtypes.json holds torch's values. */
    @Test
    void readsEveryFloatDtypeAsTorchDoes() throws Exception {
        Path file = TestResources.path("safetensors/dtypes.safetensors");
        JsonNode expected = new ObjectMapper().readTree(TestResources.path("safetensors/dtypes.json").toFile());
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertThat(st.tensors().keySet()).containsExactlyInAnyOrderElementsOf(() -> expected.fieldNames());
            assertThat(st.metadata()).isEqualTo(Map.of("format", "pt"));
            for (Map.Entry<String, JsonNode> entry : expected.properties()) {
                String name = entry.getKey();
                SafetensorsTensor tensor = st.tensor(name);
                JsonNode shape = entry.getValue().get("shape");
                assertThat(tensor.rank()).as(name).isEqualTo(shape.size());
                for (int i = 0; i < shape.size(); i++) {
                    assertThat(tensor.shape()[i]).as(name).isEqualTo(shape.get(i).asLong());
                }
                JsonNode bits = entry.getValue().get("values_f32_bits");
                if (bits.isNull()) {
                    continue;
                }
                float[] values = st.readFloats(name);
                assertThat(values).as(name).hasSize(bits.size());
                for (int i = 0; i < values.length; i++) {
                    assertThat(Float.floatToRawIntBits(values[i])).as(name + "[" + i + "]").isEqualTo((int) bits.get(i).asLong());
                }
            }
            assertThat(st.tensor("bf16").dtype()).isEqualTo(SafetensorsDType.BF16);
            assertThat(st.tensor("scalar").elementCount()).isEqualTo(1);
            assertThatThrownBy(() -> st.readFloats("i64"))
                    .isInstanceOf(ModelFileException.class)
                    .hasMessage(file + ": tensor 'i64' has dtype I64, expected a floating-point type (F32, F16, BF16, F64)");
            assertThatThrownBy(() -> st.tensor("nope")).hasMessage(file + ": no tensor named 'nope'");
        }
    }

    private Path file(String name, String header, int dataBytes) throws Exception {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buffer = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putLong(json.length).put(json);
        Path path = dir.resolve(name);
        Files.write(path, buffer.array());
        return path;
    }

    private static void assertFails(Path path, String endOfMessage) {
        assertThatThrownBy(() -> SafetensorsFile.open(path).close())
                .isInstanceOf(SafetensorsFormatException.class)
                .hasMessageStartingWith(path + ": ")
                .hasMessageEndingWith(endOfMessage);
    }

    @Test
    void handMadeFileAndItsCorruptions() throws Exception {
        Path ok = file("ok.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        try (SafetensorsFile st = SafetensorsFile.open(ok)) {
            assertThat(st.readFloats("a")).containsExactly(0f, 0f);
        }
        assertFails(file("short.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4),
                "tensor 'a' ends at data byte 8 but the data section holds only 4 bytes (truncated file?)");
        assertFails(file("size.safetensors", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
                "tensor 'a' (F16 [2]) should take 4 bytes but data_offsets [0,8] span 8");
        assertFails(file("dtype.safetensors", "{\"a\":{\"dtype\":\"F12\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
                "tensor 'a' has unknown dtype 'F12'");
        Path badJson = file("json.safetensors", "{\"a\":", 0);
        assertThatThrownBy(() -> SafetensorsFile.open(badJson))
                .isInstanceOf(SafetensorsFormatException.class)
                .hasMessageStartingWith(badJson + ": the header is not valid JSON: ");
        assertFails(file("fields.safetensors", "{\"a\":{\"dtype\":\"F32\"}}", 0),
                "tensor 'a' needs \"dtype\" (string), \"shape\" (array) and \"data_offsets\" ([begin, end]) in the header");
        assertFails(file("overlap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "the data of tensors 'a' and 'b' overlap");
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        assertFails(tiny, "not a safetensors file: only 3 bytes long");
        Path huge = dir.resolve("huge.safetensors");
        Files.write(huge, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).array());
        assertFails(huge, "truncated file: the header claims 1000 bytes but only 8 follow");
        Path garbage = dir.resolve("garbage.safetensors");
        Files.write(garbage, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5).array());
        assertFails(garbage, "not a safetensors file: header length 18446744073709551611 is implausible (expected 2 .. 104857600 bytes)");
    }
}
