package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stopping native work (thread interrupt, timeout, failing progress listener), per-window progress and
 * the routing of the engine's and ggml's log messages, on the tiny reference model.
 */
class CancellationTest {

    @TempDir
    static Path dir;

    static Path modelFile;
    static ClipModel model;
    static ClassEmbeddings embeddings;

    /** Big enough for many windows: 10 x 7 windows of 448 at stride 224 with the size kept. */
    static final RgbImage BIG = noise(2400, 1600, 7);
    static final SegmentOptions KEEP_SIZE = SegmentOptions.builder().shortSide(0).build();

    @BeforeAll
    static void load() {
        modelFile = TestFixtures.hfTinyGguf(dir);
        model = ClipModel.load(modelFile, ModelOptions.builder().threads(1).contexts(1)
                .textCacheDir(dir.resolve("text-cache")).build());
        embeddings = model.classEmbeddings(ClassSet.parse("cat;dog;sky"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static RgbImage noise(int w, int h, int seed) {
        byte[] rgb = new byte[w * h * 3];
        int s = seed;
        for (int i = 0; i < rgb.length; i++) {
            s = s * 1103515245 + 12345;
            rgb[i] = (byte) ((s >>> 16) + (i / (w * 3)) / 4);
        }
        return new RgbImage(w, h, rgb);
    }

    /** The reference pipeline's (mmseg slide inference) window count along one axis: max(size - crop + stride - 1, 0) / stride + 1. */
    static int windows(int size, int crop, int stride) {
        return Math.max(size - crop + stride - 1, 0) / stride + 1;
    }

    /** The reference pipeline's short-side resize (mmcv rounding: int(x * scale + 0.5)). */
    static int[] resized(int w, int h, int shortSide) {
        if (shortSide == 0) {
            return new int[] {w, h};
        }
        double s = (double) shortSide / Math.min(w, h);
        return new int[] {(int) (w * s + 0.5), (int) (h * s + 0.5)};
    }

    @Test
    void cropAndStrideAboveTheEnginesLargestSideAreRefusedAsOptions() {
        assertThatThrownBy(() -> SegmentOptions.builder().crop(16385).stride(224).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 16384");
        assertThat(SegmentOptions.builder().shortSide(0).crop(16384).stride(16384).build().windowCount(100, 50))
                .isEqualTo(1);
    }

    @Test
    void progressReportsEveryWindowOfTheSpecGrid() {
        record Case(int w, int h, SegmentOptions options) { }
        List<Case> cases = List.of(
                new Case(450, 333, SegmentOptions.defaults()),
                new Case(300, 200, SegmentOptions.builder().shortSide(0).crop(96).stride(40).build()),
                new Case(1000, 120, SegmentOptions.builder().shortSide(224).crop(224).stride(112).build()));
        for (Case c : cases) {
            int[] size = resized(c.w, c.h, c.options.shortSide());
            int expected = windows(size[0], c.options.crop(), c.options.stride())
                    * windows(size[1], c.options.crop(), c.options.stride());
            List<int[]> calls = new ArrayList<>();
            Thread caller = Thread.currentThread();
            List<Thread> threads = new ArrayList<>();
            SegmentationResult withProgress = model.segment(noise(c.w, c.h, 3), embeddings, c.options, (done, total) -> {
                calls.add(new int[] {done, total});
                threads.add(Thread.currentThread());
            });
            assertThat(calls).as("progress calls for %s", c).hasSize(expected);
            // what a server checks before a call must be the count the engine then runs
            assertThat(c.options.windowCount(c.w, c.h)).as("windowCount for %s", c).isEqualTo(calls.get(0)[1]);
            for (int i = 0; i < calls.size(); i++) {
                assertThat(calls.get(i)).containsExactly(i + 1, expected);
            }
            assertThat(threads).containsOnly(caller);
            SegmentationResult without = model.segment(noise(c.w, c.h, 3), embeddings, c.options);
            assertThat(withProgress.labels()).isEqualTo(without.labels());
        }
    }

    @Test
    void interruptStopsWithinOneWindowAndKeepsTheFlag() {
        RgbImage small = noise(200, 150, 5);
        SegmentationResult before = model.segment(small, embeddings, SegmentOptions.defaults());
        AtomicInteger windows = new AtomicInteger();
        // the listener interrupts its own thread after the third window: the fourth never runs
        assertThatThrownBy(() -> model.segment(BIG, embeddings, KEEP_SIZE, (done, total) -> {
            windows.set(done);
            if (done == 3) {
                Thread.currentThread().interrupt();
            }
        })).isInstanceOf(AbortedException.class)
                .hasMessageContaining("interrupted")
                .satisfies(e -> {
                    assertThat(((AbortedException) e).reason()).isEqualTo(AbortedException.Reason.INTERRUPTED);
                    assertThat(((AbortedException) e).status()).isEqualTo(ClearClipException.Status.ABORTED);
                });
        assertThat(Thread.interrupted()).as("interrupt flag still set (and now cleared)").isTrue();
        assertThat(windows.get()).isEqualTo(3);
        // the model (and its one context) still work and give the same result
        assertThat(model.segment(small, embeddings, SegmentOptions.defaults()).labels()).isEqualTo(before.labels());
    }

    @Test
    void interruptFromAnotherThreadStopsABigSegmentation() throws Exception {
        int total = windows(BIG.width(), 448, 224) * windows(BIG.height(), 448, 224);
        AtomicInteger windows = new AtomicInteger();
        CountDownLatch started = new CountDownLatch(2);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicReference<Boolean> flagAfter = new AtomicReference<>();
        Thread worker = new Thread(() -> {
            try {
                model.segment(BIG, embeddings, KEEP_SIZE, (done, n) -> {
                    windows.set(done);
                    started.countDown();
                });
            } catch (Throwable t) {
                thrown.set(t);
            }
            flagAfter.set(Thread.currentThread().isInterrupted());
        });
        worker.start();
        assertThat(started.await(60, TimeUnit.SECONDS)).isTrue();
        worker.interrupt();
        int seenAfterInterrupt = windows.get();
        worker.join(60_000);
        assertThat(worker.isAlive()).isFalse();
        assertThat(thrown.get()).isInstanceOf(AbortedException.class);
        assertThat(flagAfter.get()).isTrue();
        // at most the window running when the interrupt came was finished
        assertThat(windows.get()).isLessThanOrEqualTo(seenAfterInterrupt + 1).isLessThan(total);
        assertThat(model.segment(noise(64, 64, 1), embeddings, SegmentOptions.defaults()).labels()).hasSize(64 * 64);
    }

    @Test
    void timeoutStopsTheSegmentation() {
        int total = windows(BIG.width(), 448, 224) * windows(BIG.height(), 448, 224);
        AtomicInteger windows = new AtomicInteger();
        SegmentOptions options = KEEP_SIZE.toBuilder().timeout(Duration.ofMillis(1)).build();
        assertThatThrownBy(() -> model.segment(BIG, embeddings, options, (done, n) -> {
            windows.set(done);
            sleep(5); // each window outlasts the timeout
        })).isInstanceOf(AbortedException.class)
                .hasMessageContaining("timeout of 1 ms exceeded")
                .satisfies(e -> assertThat(((AbortedException) e).reason()).isEqualTo(AbortedException.Reason.TIMEOUT));
        assertThat(windows.get()).isLessThanOrEqualTo(1).isLessThan(total);
        assertThat(Thread.currentThread().isInterrupted()).isFalse();
        assertThatThrownBy(() -> SegmentOptions.builder().timeout(Duration.ZERO).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeout");
    }

    @Test
    void aFailingListenerStopsTheSegmentationWithItsException() {
        AtomicInteger windows = new AtomicInteger();
        IllegalStateException boom = new IllegalStateException("listener gave up");
        assertThatThrownBy(() -> model.segment(BIG, embeddings, KEEP_SIZE, (done, n) -> {
            windows.set(done);
            if (done == 2) {
                throw boom;
            }
        })).isSameAs(boom);
        assertThat(windows.get()).isEqualTo(2);
    }

    @Test
    void engineAndGgmlMessagesGoToSystemLogger() throws Exception {
        Logger jul = Logger.getLogger(NativeEngine.LOGGER_NAME);
        Level old = jul.getLevel();
        List<LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        jul.setLevel(Level.ALL);
        jul.addHandler(handler);
        try {
            // the engine's own line when a context is made (at debug level)
            try (ClipModel m = ClipModel.load(modelFile, ModelOptions.builder().threads(1).noTextCache().build())) {
                m.encodeText("a photo of a cat");
            }
            assertThat(records).anySatisfy(r -> {
                assertThat(r.getLevel()).isEqualTo(Level.FINE);
                assertThat(r.getMessage()).startsWith("clearclip: context on CPU").doesNotEndWith("\n");
            });
            // a cut header is refused by the engine's own GGUF check before ggml reads it: the
            // exception says why, and ggml has nothing to complain about on the log
            Path cut = dir.resolve("cut-header.gguf");
            Files.write(cut, Arrays.copyOf(Files.readAllBytes(modelFile), 200));
            assertThatThrownBy(() -> ClipModel.load(cut)).isInstanceOf(ModelLoadException.class)
                    .hasMessageContaining(cut.toString());
            assertThat(records).noneSatisfy(r -> assertThat(r.getMessage()).startsWith("gguf_"));
            assertThat(records).allSatisfy(r -> assertThat(r.getLoggerName()).isEqualTo("dev.clearclip.native"));
        } finally {
            jul.removeHandler(handler);
            jul.setLevel(old);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
