package dev.clearclip.cli.commands;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Runs output writing (PNG encoding, JSON) on a background thread, one task behind the caller, so that
 * writing a picture's results overlaps the engine's work on the next picture. At most one task is
 * pending: {@link #submit} first waits for the one before. Its outcome is handed to the handlers on
 * the caller's thread, in submission order, so console output stays ordered.
 */
final class WriteBehind<T> implements AutoCloseable {

    private record Pending<T>(Future<T> future, Consumer<T> done, Consumer<RuntimeException> failed) {
    }

    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "clearclip-write-behind");
        t.setDaemon(true);
        return t;
    });
    private Pending<T> pending;

    /**
     * Waits for the task before (and calls its handler), then starts {@code task}; its result goes
     * to {@code done}, or what it threw (checked exceptions wrapped) to {@code failed}, at the next
     * {@code submit}, {@link #drain} or {@link #close}.
     */
    void submit(Callable<T> task, Consumer<T> done, Consumer<RuntimeException> failed) {
        drain();
        pending = new Pending<>(thread.submit(task), done, failed);
    }

    /** Waits for the pending task, if any, and calls its handler. */
    void drain() {
        Pending<T> p = pending;
        if (p == null) {
            return;
        }
        pending = null;
        T result;
        try {
            result = waitFor(p.future());
        } catch (RuntimeException e) {
            p.failed().accept(e);
            return;
        }
        p.done().accept(result);
    }

    private static <T> T waitFor(Future<T> future) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return future.get();
                } catch (InterruptedException e) {
                    // a Ctrl-C arrives as an interrupt: the write in progress is finished, not torn
                    interrupted = true;
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (cause instanceof RuntimeException r) {
                        throw r;
                    }
                    if (cause instanceof Error err) {
                        throw err;
                    }
                    if (cause instanceof IOException io) {
                        throw new UncheckedIOException(io);
                    }
                    throw new IllegalStateException(cause);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Finishes the pending task (calling its handler) and stops the thread; idempotent. */
    @Override
    public void close() {
        try {
            drain();
        } finally {
            thread.shutdown();
        }
    }
}
