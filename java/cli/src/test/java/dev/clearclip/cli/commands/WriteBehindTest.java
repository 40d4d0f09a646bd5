package dev.clearclip.cli.commands;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WriteBehindTest {

    @Test
    void handlersRunOnTheCallerInOrderAndCloseFinishesTheLastTask() {
        Thread caller = Thread.currentThread();
        List<String> seen = new ArrayList<>();
        try (WriteBehind<String> w = new WriteBehind<>()) {
            for (int i = 0; i < 4; i++) {
                int n = i;
                w.submit(() -> "picture " + n, s -> {
                    assertThat(Thread.currentThread()).isSameAs(caller);
                    seen.add(s);
                }, e -> seen.add("failed " + e));
            }
            assertThat(seen).containsExactly("picture 0", "picture 1", "picture 2");
        }
        assertThat(seen).containsExactly("picture 0", "picture 1", "picture 2", "picture 3");
    }

    @Test
    void theCallerGoesOnWhileATaskRuns() throws InterruptedException {
        CountDownLatch release = new CountDownLatch(1);
        List<String> seen = new ArrayList<>();
        try (WriteBehind<String> w = new WriteBehind<>()) {
            w.submit(() -> {
                assertThat(release.await(10, TimeUnit.SECONDS)).isTrue();
                return "written";
            }, seen::add, e -> seen.add("failed"));
            // submit returned although its task waits for the caller: the caller computes meanwhile
            release.countDown();
            w.drain();
        }
        assertThat(seen).containsExactly("written");
    }

    @Test
    void neverMoreThanOneTaskAtATime() {
        AtomicInteger running = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        try (WriteBehind<Integer> w = new WriteBehind<>()) {
            for (int i = 0; i < 20; i++) {
                w.submit(() -> {
                    most.accumulateAndGet(running.incrementAndGet(), Math::max);
                    Thread.sleep(2);
                    running.decrementAndGet();
                    return 0;
                }, x -> { }, e -> { });
            }
        }
        assertThat(most.get()).isEqualTo(1);
    }

    @Test
    void failuresGoToTheirOwnHandlerWithCheckedOnesWrapped() {
        List<String> seen = new ArrayList<>();
        try (WriteBehind<String> w = new WriteBehind<>()) {
            w.submit(() -> {
                throw new IOException("disk full");
            }, seen::add, e -> seen.add(e.getClass().getSimpleName() + ": " + e.getCause().getMessage()));
            w.submit(() -> {
                throw new IllegalStateException("bad");
            }, seen::add, e -> seen.add(e.getMessage()));
            w.submit(() -> "next one", seen::add, e -> seen.add("failed"));
        }
        assertThat(seen).containsExactly(UncheckedIOException.class.getSimpleName() + ": disk full", "bad",
                "next one");
    }

    @Test
    void anInterruptWhileWaitingLetsTheWriteFinishAndKeepsTheFlag() {
        List<String> seen = new ArrayList<>();
        WriteBehind<String> w = new WriteBehind<>();
        w.submit(() -> {
            Thread.sleep(100);
            return "whole file";
        }, seen::add, e -> seen.add("failed " + e));
        Thread.currentThread().interrupt();
        w.close();
        assertThat(Thread.interrupted()).isTrue();
        assertThat(seen).containsExactly("whole file");
        w.close(); // idempotent
    }
}
