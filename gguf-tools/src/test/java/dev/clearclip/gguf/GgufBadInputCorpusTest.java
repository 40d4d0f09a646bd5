package dev.clearclip.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clearclip.gguf.testing.BadGgufCorpus;
import dev.clearclip.gguf.testing.BadGgufCorpus.Expect;
import dev.clearclip.gguf.testing.BadGgufCorpus.Input;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input corpus through the Java GGUF reader: every malformed input is refused with a
 * {@link ModelFileException} whose message starts with the file's path, within seconds (FIFOs and
 * devices included); valid ones open; nothing else is ever thrown.
 */
class GgufBadInputCorpusTest {
    @TempDir
    static Path dir;

    static List<Input> corpus;

    @BeforeAll
    static void writeCorpus() {
        corpus = BadGgufCorpus.write(dir);
    }

    @Test
    void corpusCoversEveryKind() {
        assertThat(corpus).hasSizeGreaterThan(500);
        assertThat(corpus).extracting(Input::expect).contains(Expect.values());
        assertThat(corpus).extracting(Input::name).contains("empty", "directory", "fifo", "dev-zero", "llava-projector",
                "architecture-llama", "duplicate-tensor-name", "overlapping-tensors", "misaligned-tensor");
    }

    @TestFactory
    Stream<DynamicTest> everyInputIsOpenedOrRefusedCleanly() {
        return BadGgufCorpus.dynamicTests(corpus, Duration.ofSeconds(10), GgufBadInputCorpusTest::check);
    }

    private static void check(Input input) {
        switch (input.expect()) {
            case MALFORMED -> assertThatThrownBy(() -> GgufFile.open(input.path()).close())
                    .isInstanceOf(ModelFileException.class)
                    .hasMessageStartingWith(input.path() + ": ")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
            case VALID, ENGINE_REJECTS -> {
                try (GgufFile file = GgufFile.open(input.path())) {
                    assertThat(file.tensors()).allSatisfy(t -> assertThat(file.tensorData(t).byteSize()).isEqualTo(t.byteSize()));
                }
            }
            case EITHER -> {
                try (GgufFile file = GgufFile.open(input.path())) {
                    assertThat(file.fileSize()).isPositive();
                } catch (ModelFileException e) {
                    assertThat(e.getMessage()).startsWith(input.path() + ": ").doesNotContain("\n");
                }
            }
        }
    }
}
