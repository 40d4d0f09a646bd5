package dev.clearclip.cli.commands;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Ctrl-C (SIGINT) or SIGTERM while a long command runs: the JVM runs its shutdown hooks and then exits
 * even if the main thread is inside the native engine. This hook interrupts the working thread, which
 * stops the engine within one window, and waits until the command has left its work (at most a few
 * seconds), so the process ends after the engine has stopped rather than under it.
 */
final class StopOnSignal implements AutoCloseable {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final Thread worker = Thread.currentThread();
    private final CountDownLatch done = new CountDownLatch(1);
    private final Thread hook;
    private volatile boolean signalled;

    StopOnSignal() {
        hook = new Thread(() -> {
            signalled = true;
            worker.interrupt();
            try {
                done.await(WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "clearclip-stop");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Whether a signal asked the command to stop. */
    boolean signalled() {
        return signalled;
    }

    @Override
    public void close() {
        done.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // shutting down already: the hook is running and now returns
        }
    }
}
