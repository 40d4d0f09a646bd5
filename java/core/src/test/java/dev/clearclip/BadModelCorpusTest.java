package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.clearclip.gguf.testing.BadGgufCorpus;
import dev.clearclip.gguf.testing.BadGgufCorpus.Expect;
import dev.clearclip.gguf.testing.BadGgufCorpus.Input;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input corpus of issue #7 through the library: {@link ClipModel#load} and then tokenize,
 * encode and segment wherever loading succeeds. Every refusal is a {@link ClearClipException} (a
 * {@link ModelLoadException} when loading) whose one-line message names the file; nothing else is
 * thrown, nothing hangs (each input has a time limit) and the JVM survives (a native crash ends the
 * run).
 */
class BadModelCorpusTest {
    /** Generous for a shared machine: the tiny model loads and runs in milliseconds. */
    static final Duration LIMIT = Duration.ofSeconds(20);

    @TempDir
    static Path dir;

    static List<Input> corpus;
    static final AtomicInteger tried = new AtomicInteger();
    static final AtomicInteger refused = new AtomicInteger();
    static final AtomicInteger loaded = new AtomicInteger();

    static final ModelOptions OPTIONS = ModelOptions.builder().threads(1).contexts(1).noTextCache().build();

    @BeforeAll
    static void writeCorpus() {
        corpus = CorpusSupport.write(dir);
    }

    @AfterAll
    static void figures() {
        System.out.printf("bad-input corpus through ClipModel: %d inputs, %d refused with a clean error, %d loaded and ran%n",
                tried.get(), refused.get(), loaded.get());
    }

    @TestFactory
    Stream<DynamicTest> everyInputLoadsAndRunsOrIsRefusedCleanly() {
        return BadGgufCorpus.dynamicTests(corpus, LIMIT, BadModelCorpusTest::check);
    }

    private static void check(Input input) {
        tried.incrementAndGet();
        switch (input.expect()) {
            case MALFORMED, ENGINE_REJECTS -> {
                assertThatThrownBy(() -> ClipModel.load(input.path(), OPTIONS).close())
                        .isInstanceOf(ModelLoadException.class)
                        .satisfies(e -> assertCleanMessage(e, input));
                refused.incrementAndGet();
            }
            case VALID -> {
                try (ClipModel model = ClipModel.load(input.path(), OPTIONS)) {
                    exercise(model, true);
                }
                loaded.incrementAndGet();
            }
            case EITHER -> {
                ClipModel model;
                try {
                    model = ClipModel.load(input.path(), OPTIONS);
                } catch (ClearClipException e) {
                    assertCleanMessage(e, input);
                    refused.incrementAndGet();
                    return;
                }
                try (model) {
                    exercise(model, false);
                }
                loaded.incrementAndGet();
            }
        }
    }

    private static void assertCleanMessage(Throwable e, Input input) {
        assertThat(e).isInstanceOf(ClearClipException.class);
        assertThat(e.getMessage()).startsWith(input.path() + ": ").doesNotContain("\n");
    }

    /**
     * Runs what a loaded model offers. A valid file must work; a mutated one may fail, but only with a
     * ClearClipException (a tower it lacks, a bad tokenizer, ...).
     */
    private static void exercise(ClipModel model, boolean mustWork) {
        ModelInfo info = model.info();
        RgbImage picture = CorpusSupport.picture(40, 30);
        SegmentOptions segment = SegmentOptions.builder().shortSide(64).crop(32).stride(16).build();
        List<Runnable> calls = List.of(
                () -> assertThat(model.tokenize("hello world")).hasSizeGreaterThanOrEqualTo(2),
                () -> assertThat(model.encodeText("hello")).hasSize(info.projectionDim()),
                () -> assertThat(model.encodeImage(picture)).hasSize(info.projectionDim()),
                () -> assertThat(model.segment(picture, ClassSet.parse("hello;sky"), segment).labels())
                        .hasSize(40 * 30));
        for (int i = 0; i < calls.size(); i++) {
            boolean needsText = i != 2;
            boolean needsVision = i >= 2;
            boolean available = (!needsText || info.hasText()) && (!needsVision || info.hasVision());
            Throwable failure = catchThrowable(calls.get(i)::run);
            if (failure == null) {
                continue;
            }
            if (failure instanceof AssertionError assertion && !mustWork) {
                continue; // a mutated file may compute something odd; only crashes and foreign exceptions matter
            }
            if (mustWork && available) {
                throw new AssertionError("call " + i + " failed on a valid model", failure);
            }
            assertThat(failure).as("call %d", i).isInstanceOf(ClearClipException.class);
            assertThat(failure.getMessage()).doesNotContain("\n");
        }
    }
}
