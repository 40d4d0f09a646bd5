package dev.clearclip;

import java.util.List;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * Loads the items of a list one ahead of their use, on a background thread, so that reading and
 * decoding the next picture overlaps the engine's work on this one. At most one item is loaded
 * ahead, so at most two are in memory: the one being used and the next.
 *
 * <pre>{@code
 * try (ReadAhead<Path, RgbImage> pictures = new ReadAhead<>(files, Images::read)) {
 *     for (Path file : files) {
 *         RgbImage picture = pictures.next();   // decoded while the previous one was segmented
 *         model.segment(picture, embeddings, options);
 *     }
 * }
 * }</pre>
 *
 * <p>Not thread-safe: one thread calls {@link #next()}. A loader's exception is thrown by the
 * {@code next()} that asks for that item, as it was thrown; the items after it still load.
 */
public final class ReadAhead<I, T> implements AutoCloseable {

    private final List<I> items;
    private final Function<? super I, ? extends T> loader;
    private final ExecutorService thread;
    private Future<? extends T> ahead;
    private int index;

    /**
     * Starts loading the first item.
     *
     * @param loader called on the background thread, once per item, in list order
     */
    public ReadAhead(List<I> items, Function<? super I, ? extends T> loader) {
        this.items = List.copyOf(items);
        this.loader = Objects.requireNonNull(loader, "loader");
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "clearclip-read-ahead");
            t.setDaemon(true);
            return t;
        });
        this.ahead = this.items.isEmpty() ? null : submit(0);
    }

    public boolean hasNext() {
        return index < items.size();
    }

    /**
     * The next item's result, waiting for it if it is still loading; starts loading the item after it.
     *
     * @throws NoSuchElementException when all items were taken
     * @throws AbortedException       when the calling thread is interrupted while it waits (its interrupt flag
     *                                stays set)
     * @throws IllegalStateException  after {@link #close()}
     */
    public T next() {
        if (!hasNext()) {
            throw new NoSuchElementException("all " + items.size() + " items were taken");
        }
        if (thread.isShutdown()) {
            throw new IllegalStateException("closed");
        }
        Future<? extends T> current = ahead;
        index++;
        ahead = hasNext() ? submit(index) : null;
        try {
            return current.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AbortedException(AbortedException.Reason.INTERRUPTED, "interrupted while waiting for "
                    + items.get(index - 1));
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        } catch (CancellationException e) {
            throw new IllegalStateException("closed", e);
        }
    }

    private Future<? extends T> submit(int i) {
        I item = items.get(i);
        return thread.submit(() -> loader.apply(item));
    }

    /** Stops the background thread (an item being loaded is interrupted); idempotent. */
    @Override
    public void close() {
        thread.shutdownNow();
    }
}
