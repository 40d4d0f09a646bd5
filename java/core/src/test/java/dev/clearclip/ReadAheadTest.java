package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ReadAheadTest {

    @Test
    void givesEveryItemInOrderAndLoadsEachOnce() {
        List<Integer> loaded = Collections.synchronizedList(new ArrayList<>());
        try (ReadAhead<Integer, String> r = new ReadAhead<>(List.of(3, 1, 2), i -> {
            loaded.add(i);
            return "item " + i;
        })) {
            List<String> got = new ArrayList<>();
            while (r.hasNext()) {
                got.add(r.next());
            }
            assertThat(got).containsExactly("item 3", "item 1", "item 2");
            assertThatThrownBy(r::next).isInstanceOf(NoSuchElementException.class);
        }
        assertThat(loaded).containsExactly(3, 1, 2);
    }

    @Test
    void loadsTheNextItemWhileTheCallerWorksOnThisOne() throws InterruptedException {
        CountDownLatch secondStarted = new CountDownLatch(1);
        try (ReadAhead<Integer, Integer> r = new ReadAhead<>(List.of(0, 1), i -> {
            if (i == 1) {
                secondStarted.countDown();
            }
            return i;
        })) {
            assertThat(r.next()).isZero();
            // the caller has not asked for item 1 yet, but its loading has begun
            assertThat(secondStarted.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(r.next()).isEqualTo(1);
        }
    }

    @Test
    void neverLoadsMoreThanOneItemAhead() throws InterruptedException {
        List<Integer> loaded = Collections.synchronizedList(new ArrayList<>());
        try (ReadAhead<Integer, Integer> r = new ReadAhead<>(List.of(0, 1, 2, 3), i -> {
            loaded.add(i);
            return i;
        })) {
            r.next();
            for (int i = 0; i < 1000 && loaded.size() < 2; i++) {
                Thread.sleep(10);
            }
            Thread.sleep(100); // time in which a loader running further ahead would take item 2
            assertThat(loaded).containsExactly(0, 1);
        }
    }

    @Test
    void aLoaderFailureIsThrownForItsOwnItemAndTheRestStillLoad() {
        try (ReadAhead<String, String> r = new ReadAhead<>(List.of("a.jpg", "bad.jpg", "c.jpg"), name -> {
            if (name.startsWith("bad")) {
                throw new ImageReadException(name + ": not a picture");
            }
            return name.toUpperCase();
        })) {
            assertThat(r.next()).isEqualTo("A.JPG");
            assertThatThrownBy(r::next).isInstanceOf(ImageReadException.class).hasMessage("bad.jpg: not a picture");
            assertThat(r.next()).isEqualTo("C.JPG");
        }
    }

    @Test
    void anInterruptWhileWaitingIsAnAbortWithTheFlagKept() {
        CountDownLatch never = new CountDownLatch(1);
        try (ReadAhead<Integer, Integer> r = new ReadAhead<>(List.of(0), i -> {
            try {
                never.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return i;
        })) {
            Thread.currentThread().interrupt();
            assertThatThrownBy(r::next).isInstanceOf(AbortedException.class)
                    .satisfies(e -> assertThat(((AbortedException) e).reason())
                            .isEqualTo(AbortedException.Reason.INTERRUPTED));
            assertThat(Thread.interrupted()).isTrue();
        }
    }

    @Test
    void closeIsIdempotentAndNextAfterCloseIsRefused() {
        ReadAhead<Integer, Integer> r = new ReadAhead<>(List.of(0, 1), i -> i);
        r.close();
        r.close();
        assertThatThrownBy(r::next).isInstanceOf(IllegalStateException.class).hasMessage("closed");
    }

    @Test
    void anEmptyListHasNothing() {
        try (ReadAhead<Integer, Integer> r = new ReadAhead<>(List.of(), i -> i)) {
            assertThat(r.hasNext()).isFalse();
        }
    }
}
