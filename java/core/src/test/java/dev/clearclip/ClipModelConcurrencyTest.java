package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clearclip.gguf.testing.Npy;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The concurrency contract of ClipModel on the tiny fixture model: a shared model gives every thread what
 * a single-threaded run gives, the pool never grows past its size, and close() while other threads are
 * inside lets them finish or fail with a clear exception, never a crash.
 */
class ClipModelConcurrencyTest {

    @TempDir
    static Path dir;

    static Path modelFile;
    static RgbImage picture;
    static final ClassSet CLASSES = ClassSet.parse("cat;dog,puppy;sky;grass");
    static final List<String> TEXTS = List.of("a photo of a cat", "a dog", "the sky at night", "café naïve 🦊");
    static final SegmentOptions SEGMENT = SegmentOptions.builder().keepProbabilities(true).build();

    /** What one thread alone gets. */
    static SegmentationResult refSegment;
    static float[][] refText;
    static int[][] refTokens;

    @BeforeAll
    static void reference() throws IOException {
        modelFile = TestFixtures.hfTinyGguf(dir);
        picture = TestFixtures.pictureOf(Npy.read(TestFixtures.hfTiny().resolve("golden/inputs/450x333.npy")));
        try (ClipModel m = ClipModel.load(modelFile, options(1, 1))) {
            refSegment = m.segment(picture, CLASSES, SEGMENT);
            refText = m.encodeText(TEXTS);
            refTokens = TEXTS.stream().map(m::tokenize).toArray(int[][]::new);
        }
    }

    static ModelOptions options(int contexts, int threads) {
        return ModelOptions.builder().contexts(contexts).threads(threads).noTextCache().build();
    }

    /** Runs one of three kinds of call and says whether it gave the single-threaded result. */
    static boolean sameAsAlone(ClipModel m, int kind) {
        return switch (kind % 3) {
            case 0 -> {
                SegmentationResult r = m.segment(picture, CLASSES, SEGMENT);
                yield Arrays.equals(r.labels(), refSegment.labels())
                        && Arrays.deepEquals(r.probabilities().orElseThrow(), refSegment.probabilities().orElseThrow());
            }
            case 1 -> Arrays.deepEquals(m.encodeText(TEXTS), refText);
            default -> Arrays.deepEquals(TEXTS.stream().map(m::tokenize).toArray(int[][]::new), refTokens);
        };
    }

    @Test
    void manyThreadsSharingOneModelGetTheSingleThreadedResults() throws Exception {
        // 3 contexts of 1 thread (as the reference) for 8 Java threads: calls overlap and queue.
        try (ClipModel m = ClipModel.load(modelFile, options(3, 1))) {
            ExecutorService pool = Executors.newFixedThreadPool(8);
            CountDownLatch start = new CountDownLatch(1);
            try {
                List<Future<Boolean>> results = new ArrayList<>();
                for (int t = 0; t < 24; t++) {
                    int kind = t;
                    results.add(pool.submit(() -> {
                        start.await();
                        return sameAsAlone(m, kind);
                    }));
                }
                start.countDown();
                for (Future<Boolean> r : results) {
                    assertThat(r.get(2, TimeUnit.MINUTES)).isTrue();
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(m.contextsCreated()).isBetween(1, 3);
        }
    }

    @Test
    void defaultPoolRunsNoMoreThreadsThanCoresAndGivesTheSameResults() throws Exception {
        try (ClipModel m = ClipModel.load(modelFile, ModelOptions.builder().noTextCache().build())) {
            int cores = Runtime.getRuntime().availableProcessors();
            assertThat(m.maxContexts() * m.threadsPerContext()).isLessThanOrEqualTo(cores);
            ExecutorService pool = Executors.newFixedThreadPool(4 * cores);
            try {
                List<Future<Boolean>> results = new ArrayList<>();
                for (int t = 0; t < 8 * cores; t++) {
                    int kind = t;
                    results.add(pool.submit(() -> sameAsAlone(m, kind)));
                }
                for (Future<Boolean> r : results) {
                    // The reference ran on 1 thread, these on threadsPerContext: ggml splits the work by
                    // rows, so each value is still computed by one thread in the same order.
                    assertThat(r.get(2, TimeUnit.MINUTES)).isTrue();
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(m.contextsCreated()).isBetween(1, m.maxContexts());
        }
    }

    @Test
    void closeWhileOtherThreadsAreInsideLetsThemFinishOrFailClearly() throws Exception {
        for (int attempt = 0; attempt < 3; attempt++) {
            ClipModel m = ClipModel.load(modelFile, options(2, 1));
            ExecutorService pool = Executors.newFixedThreadPool(6);
            AtomicInteger finished = new AtomicInteger();
            CountDownLatch running = new CountDownLatch(6);
            try {
                List<Future<Integer>> workers = new ArrayList<>();
                for (int t = 0; t < 6; t++) {
                    int kind = t;
                    workers.add(pool.submit(() -> {
                        running.countDown();
                        int ok = 0;
                        // Until the model closes under it; each completed call must still be right.
                        while (true) {
                            try {
                                assertThat(sameAsAlone(m, kind + ok)).isTrue();
                            } catch (IllegalStateException e) {
                                assertThat(e).hasMessageContaining("is closed").hasMessageContaining(modelFile.toString());
                                return ok;
                            }
                            ok++;
                            finished.incrementAndGet();
                        }
                    }));
                }
                running.await();
                while (finished.get() < 6) {
                    Thread.sleep(1);
                }
                m.close();
                assertThat(m.contextsCreated()).as("every context freed").isZero();
                int total = 0;
                for (Future<Integer> w : workers) {
                    try {
                        total += w.get(2, TimeUnit.MINUTES);
                    } catch (ExecutionException e) {
                        throw new AssertionError("a worker failed otherwise than with 'closed'", e.getCause());
                    }
                }
                assertThat(total).isGreaterThanOrEqualTo(6);
            } finally {
                pool.shutdownNow();
                m.close();
            }
            assertThatThrownBy(() -> m.segment(picture, CLASSES, SEGMENT)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed");
        }
    }

    @Test
    void closeFromInsideACallFailsInsteadOfWaitingForItself() {
        ClipModel m = ClipModel.load(modelFile, options(1, 1));
        try {
            m.withModel(() -> {
                assertThatThrownBy(m::close).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("from inside");
                return null;
            });
            assertThat(m.tokenize("still open")).isNotEmpty();
        } finally {
            m.close();
        }
        assertThatThrownBy(() -> m.tokenize("x")).isInstanceOf(IllegalStateException.class);
    }
}
