package dev.clearclip.gguf.inspect;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.GgufMetadata;
import dev.clearclip.gguf.GgufTensorSpec;
import dev.clearclip.gguf.GgufWriter;
import dev.clearclip.gguf.testing.TestResources;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufInspectorTest {
    @TempDir
    Path dir;

    private Path tokenizerLikeFile() {
        Path file = dir.resolve("tokens.gguf");
        List<String> tokens = IntStream.range(0, 20).mapToObj(i -> "tok" + i).toList();
        try (GgufWriter writer = GgufWriter.create(file,
                GgufMetadata.builder().putStringArray("tokenizer.ggml.tokens", tokens).putString("quote", "a \"b\"\n").build(),
                List.of(GgufTensorSpec.of("v.blk.0.attn_q.weight", GgmlType.Q8_0, 32, 3)))) {
            writer.writeTensor("v.blk.0.attn_q.weight", MemorySegment.ofArray(new byte[3 * 34]));
        }
        return file;
    }

    @Test
    void textListsKeysAndTensors() {
        try (GgufFile gguf = GgufFile.open(tokenizerLikeFile())) {
            String text = GgufInspector.text(gguf, false);
            assertThat(text).contains("version:     3", "alignment:   32", "metadata (2 keys):", "tensors (1, 0.00 MB):");
            assertThat(text).containsPattern("tokenizer\\.ggml\\.tokens\\s+string\\[20\\]\\s+\\[\"tok0\", \"tok1\", .*\"tok7\", \\.\\.\\. 12 more\\]");
            assertThat(text).contains("\"a \\\"b\\\"\\n\"");
            assertThat(text).containsPattern("v\\.blk\\.0\\.attn_q\\.weight\\s+q8_0\\s+\\[32, 3\\]\\s+102\\s+0");
            assertThat(text).containsPattern("q8_0\\s+1 tensors");
            assertThat(GgufInspector.text(gguf, true)).contains("\"tok19\"]");
        }
    }

    @Test
    void jsonSummarisesOrListsArrays() throws Exception {
        ObjectMapper mapper = new ObjectMapper();
        try (GgufFile gguf = GgufFile.open(tokenizerLikeFile())) {
            JsonNode summary = mapper.readTree(GgufInspector.json(gguf, false));
            JsonNode tokens = summary.get("metadata").get("tokenizer.ggml.tokens");
            assertThat(tokens.get("type").asText()).isEqualTo("array");
            assertThat(tokens.get("element_type").asText()).isEqualTo("string");
            assertThat(tokens.get("length").asInt()).isEqualTo(20);
            assertThat(tokens.get("values")).hasSize(GgufInspector.SUMMARY_ELEMENTS);
            assertThat(tokens.get("truncated").asBoolean()).isTrue();
            JsonNode tensor = summary.get("tensors").get(0);
            assertThat(tensor.get("name").asText()).isEqualTo("v.blk.0.attn_q.weight");
            assertThat(tensor.get("type").asText()).isEqualTo("q8_0");
            assertThat(tensor.get("shape").toString()).isEqualTo("[32,3]");
            assertThat(tensor.get("bytes").asLong()).isEqualTo(102);
            assertThat(summary.get("data_offset").asLong()).isEqualTo(gguf.dataOffset());
            JsonNode full = mapper.readTree(GgufInspector.json(gguf, true)).get("metadata").get("tokenizer.ggml.tokens");
            assertThat(full.get("values")).hasSize(20);
            assertThat(full.get("truncated").asBoolean()).isFalse();
        }
    }

    @Test
    void jsonKeepsExactValuesOfEveryType() throws Exception {
        try (GgufFile gguf = GgufFile.openAllowingNestedArrays(TestResources.path("gguf/reference.gguf"))) {
            JsonNode metadata = new ObjectMapper().readTree(GgufInspector.json(gguf, false)).get("metadata");
            assertThat(metadata.get("test.u64").get("type").asText()).isEqualTo("u64");
            assertThat(metadata.get("test.u64").get("value").bigIntegerValue()).isEqualTo(new BigInteger("18446744073709551615"));
            assertThat(metadata.get("test.i64").get("value").asLong()).isEqualTo(Long.MIN_VALUE);
            assertThat(metadata.get("test.u32").get("value").asLong()).isEqualTo(4_000_000_000L);
            assertThat(metadata.get("test.f32").get("value").floatValue()).isEqualTo(3.25f);
            assertThat(metadata.get("test.bool_true").get("value").asBoolean()).isTrue();
            assertThat(metadata.get("test.string").get("value").asText()).isEqualTo("h\u00e9llo \u2713 </w>");
            JsonNode nested = metadata.get("test.array_nested");
            assertThat(nested.get("element_type").asText()).isEqualTo("array");
            assertThat(nested.get("values").get(0).get("values").toString()).isEqualTo("[1,2]");
        }
    }
}
