package dev.clearclip.gguf.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clearclip.gguf.ModelFileException;
import dev.clearclip.gguf.testing.ClipMergeList;
import dev.clearclip.gguf.testing.Fixtures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipVocabularyTest {
    @TempDir
    Path dir;

    @Test
    void byteSymbolsAreGpt2sTable() {
        List<String> symbols = ByteSymbols.symbols();
        assertThat(symbols).hasSize(256).doesNotHaveDuplicates();
        assertThat(symbols.get(0)).isEqualTo("!");
        assertThat(symbols.get(93)).isEqualTo("~");
        assertThat(symbols.get(94)).isEqualTo("\u00a1");
        assertThat(symbols.get(187)).isEqualTo("\u00ff");
        // the 68 other bytes in increasing order: byte 0 -> U+0100, space (32) -> U+0120 'Ġ'
        assertThat(symbols.get(188)).isEqualTo("\u0100");
        assertThat(symbols.get(188 + 32)).isEqualTo("\u0120");
        assertThat(symbols.get(255)).isEqualTo("\u0143");
    }

    /** The fixture's vocab.json was made in Python from open_clip's SimpleTokenizer. */
    @Test
    void readsHuggingFaceFiles() throws Exception {
        Path model = Fixtures.model("hf-tiny");
        ClipVocabulary vocabulary = ClipVocabulary.load(model);
        JsonNode vocabJson = new ObjectMapper().readTree(model.resolve("vocab.json").toFile());
        assertThat(vocabulary.tokens()).hasSize(vocabJson.size()).hasSize(49408);
        for (Map.Entry<String, JsonNode> entry : vocabJson.properties()) {
            assertThat(vocabulary.tokens().get(entry.getValue().asInt())).isEqualTo(entry.getKey());
        }
        List<String> mergeLines = Files.readAllLines(model.resolve("merges.txt"), StandardCharsets.UTF_8).stream()
                .filter(line -> !line.startsWith("#version") && !line.isEmpty()).toList();
        assertThat(vocabulary.merges()).isEqualTo(mergeLines).hasSize(ClipVocabulary.CLIP_MERGE_COUNT);
        assertThat(vocabulary.startOfTextId()).isEqualTo(49406);
        assertThat(vocabulary.endOfTextId()).isEqualTo(49407);
        assertThat(vocabulary.tokens().get(320)).isEqualTo("a</w>"); // "a photo of a fox" -> 49406 320 ...
    }

    /**
     * CLIP's merge list file: a header line, then far more merges than CLIP uses. Rebuilt here from
     * the fixture's merges plus surplus lines; the vocabulary built from it must be the fixture's.
     */
    @Test
    void buildsClipVocabularyFromItsMergeList() throws Exception {
        Path model = Fixtures.model("hf-tiny");
        List<String> merges = ClipVocabulary.load(model).merges();
        Path gz = dir.resolve("bpe_simple_vocab_16e6.txt.gz");
        ClipMergeList.write(gz, merges, "surplus merge", "not used");
        ClipVocabulary built = ClipVocabulary.load(gz);
        ClipVocabulary expected = ClipVocabulary.load(model);
        assertThat(built.tokens()).isEqualTo(expected.tokens());
        assertThat(built.merges()).isEqualTo(expected.merges());
    }

    @Test
    void explainsMissingAndMalformedInput() throws Exception {
        Files.writeString(dir.resolve("vocab.json"), "{}");
        assertThatThrownBy(() -> ClipVocabulary.load(dir))
                .isInstanceOf(ModelFileException.class)
                .hasMessage(dir + ": a tokenizer directory needs vocab.json and merges.txt (merges.txt is missing)");
        Path absent = dir.resolve("absent.txt.gz");
        assertThatThrownBy(() -> ClipVocabulary.load(absent)).hasMessage(absent + ": no such tokenizer file or directory");

        Path shortList = dir.resolve("short.txt");
        Files.writeString(shortList, "#version: 0.2\na b\n");
        assertThatThrownBy(() -> ClipVocabulary.load(shortList))
                .hasMessage(shortList + ": holds 1 merges, CLIP's vocabulary needs 48894 (is this bpe_simple_vocab_16e6.txt.gz?)");

        Path other = Files.createDirectory(dir.resolve("other"));
        Files.writeString(other.resolve("vocab.json"), "{\"a\": 0, \"b\": 0}");
        Files.writeString(other.resolve("merges.txt"), "#version: 0.2\n");
        assertThatThrownBy(() -> ClipVocabulary.load(other)).hasMessageContaining("share id 0");

        Files.writeString(other.resolve("vocab.json"), "{\"a\": 0, \"b\": 1}");
        assertThatThrownBy(() -> ClipVocabulary.load(other))
                .hasMessage(other.resolve("vocab.json") + ": the vocabulary lacks <|startoftext|> or <|endoftext|>, so it is not a CLIP tokenizer");

        Files.writeString(other.resolve("merges.txt"), "#version: 0.2\nab\n");
        Files.writeString(other.resolve("vocab.json"), "{\"<|startoftext|>\": 0, \"<|endoftext|>\": 1}");
        assertThatThrownBy(() -> ClipVocabulary.load(other))
                .hasMessage(other.resolve("merges.txt") + ": line 2 is not a merge \"left right\": 'ab'");

        List<String> tokens = new ArrayList<>(List.of("x"));
        assertThatThrownBy(() -> new ClipVocabulary(tokens, List.of())).isInstanceOf(IllegalArgumentException.class);
    }
}
