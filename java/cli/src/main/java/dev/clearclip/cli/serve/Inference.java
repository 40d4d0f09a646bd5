package dev.clearclip.cli.serve;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The compute side of {@code clearclip serve}: admission, model contexts, decode permits and the model
 * calls themselves, each under its request's budget.
 *
 * <ul>
 *   <li>Admission ({@link #admit}) happens after the whole body has been read (see {@link UploadGate}): at
 *       most {@code contexts + queue} requests are admitted, the rest get 503 with Retry-After at once, so a
 *       slow upload costs a connection, never a place in the queue.</li>
 *   <li>Pictures are decoded only under a decode permit ({@link #decodePermit}), counted in pixels, so that
 *       the pictures being decoded and held at once fit the heap.</li>
 *   <li>A model call ({@link #call}) holds one of the model's contexts and runs on a worker thread, while the
 *       request's thread watches its deadline, its client and the server's state: past the deadline, when the
 *       client closes the connection, or when the stopping server's drain time is over, the worker is
 *       interrupted, which stops the engine within one window and frees the context; the request is answered
 *       with that {@link StopReason}.</li>
 * </ul>
 */
final class Inference implements AutoCloseable {

    /** Thrown where a request's wait or call is stopped; its reason decides the answer. */
    static final class Stopped extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final transient StopReason reason;

        Stopped(StopReason reason) {
            super(reason.logLine(), null, false, false);
            this.reason = reason;
        }
    }

    /** One admitted request: its deadline and its client; closing it gives the admission place back. */
    final class Ticket implements AutoCloseable {
        private final long deadline;
        private final ClientLink client;
        private boolean closed;

        private Ticket(long deadline, ClientLink client) {
            this.deadline = deadline;
            this.client = client;
        }

        /** Time left before the deadline (at least 1 ms, so it can be given as a positive timeout). */
        Duration remaining() {
            return Duration.ofNanos(Math.max(1_000_000L, deadline - System.nanoTime()));
        }

        /** Throws {@link Stopped} when this request must stop now. */
        void check() {
            if (cancelAll != null) {
                throw new Stopped(cancelAll);
            }
            if (System.nanoTime() - deadline > 0) {
                throw new Stopped(StopReason.TIMEOUT);
            }
            if (client.gone()) {
                throw new Stopped(StopReason.DISCONNECT);
            }
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                admission.release();
            }
        }
    }

    private static final long POLL_MILLIS = 50;

    private final int contexts;
    private final int queue;
    private final Semaphore admission;
    private final Semaphore slots;
    /** Decode permits in units of {@value #PIXEL_UNIT} pixels. */
    private final Semaphore decodeUnits;
    private final int totalDecodeUnits;
    private static final long PIXEL_UNIT = 1024;
    private final Duration timeout;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private final Set<Call<?>> calls = ConcurrentHashMap.newKeySet();
    private final ExecutorService workers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "clearclip-serve-worker");
        t.setDaemon(true);
        return t;
    });
    private volatile StopReason cancelAll;
    private volatile boolean closing;
    private volatile Runnable onBusy = () -> { };

    Inference(int contexts, int queue, long decodePixels, Duration timeout) {
        this.contexts = contexts;
        this.queue = queue;
        this.admission = new Semaphore(contexts + queue);
        this.slots = new Semaphore(contexts);
        this.totalDecodeUnits = (int) Math.max(1, Math.min(Integer.MAX_VALUE, decodePixels / PIXEL_UNIT));
        this.decodeUnits = new Semaphore(totalDecodeUnits);
        this.timeout = timeout;
    }

    /** Told of each request refused because the queue was full (the metrics count them). */
    void onBusy(Runnable r) {
        onBusy = r;
    }

    int waiting() {
        return waiting.get();
    }

    int running() {
        return running.get();
    }

    /** Admits a request whose body has been read, or refuses it at once (503 busy or stopping). */
    Ticket admit(ClientLink client) {
        if (closing) {
            throw StopReason.SHUTDOWN.answer();
        }
        if (!admission.tryAcquire()) {
            onBusy.run();
            throw new ApiException(503, "busy", "all " + contexts + " model contexts are busy and the queue of "
                    + queue + " is full; retry later", 1);
        }
        return new Ticket(System.nanoTime() + timeout.toNanos(), client);
    }

    /**
     * Waits (within the request's budget) until {@code pixels} may be decoded; the permit is given back when
     * the picture is no longer held. A picture larger than the whole budget waits until no other is held.
     */
    AutoCloseable decodePermit(Ticket ticket, long pixels) throws InterruptedException {
        int units = (int) Math.min(totalDecodeUnits, Math.max(1, (pixels + PIXEL_UNIT - 1) / PIXEL_UNIT));
        while (!decodeUnits.tryAcquire(units, POLL_MILLIS, TimeUnit.MILLISECONDS)) {
            ticket.check();
        }
        return () -> decodeUnits.release(units);
    }

    /**
     * Runs {@code work} on one of the model's contexts: waits for a free one (the queue), then runs it on a
     * worker thread and watches it until it returns or must stop.
     *
     * @throws Stopped when the deadline passes, the client leaves or the server stops meanwhile
     */
    <T> T call(Ticket ticket, Callable<T> work) throws Exception {
        waiting.incrementAndGet();
        try {
            while (!slots.tryAcquire(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
                ticket.check();
            }
        } finally {
            waiting.decrementAndGet();
        }
        running.incrementAndGet();
        Call<T> call = new Call<>(work);
        calls.add(call);
        try {
            workers.execute(call);
        } catch (RuntimeException e) {
            calls.remove(call);
            running.decrementAndGet();
            slots.release();
            throw e;
        }
        while (!call.done.await(POLL_MILLIS, TimeUnit.MILLISECONDS)) {
            try {
                ticket.check();
            } catch (Stopped s) {
                // the worker stops within one window and then frees the context itself
                call.stop();
                throw s;
            }
        }
        if (call.failure instanceof Exception e) {
            throw e;
        }
        if (call.failure instanceof Error e) {
            throw e;
        }
        return call.result;
    }

    /** A model call on a worker thread; it frees its context itself, also when stopped. */
    private final class Call<T> implements Runnable {
        private final Callable<T> work;
        private final CountDownLatch done = new CountDownLatch(1);
        /** Guarded by this: the thread is interrupted only while it runs this call, never the pool's next. */
        private Thread thread;
        private boolean stopped;
        private T result;
        private Throwable failure;

        Call(Callable<T> work) {
            this.work = work;
        }

        @Override
        public void run() {
            boolean go;
            synchronized (this) {
                thread = Thread.currentThread();
                go = !stopped;
            }
            try {
                if (go) {
                    result = work.call();
                }
            } catch (Throwable t) {
                failure = t;
            } finally {
                synchronized (this) {
                    thread = null;
                }
                Thread.interrupted(); // the pool's thread must not carry a stop into the next call
                calls.remove(this);
                running.decrementAndGet();
                slots.release();
                done.countDown();
            }
        }

        /** Interrupts the engine call: it stops within one window (or one graph node). */
        synchronized void stop() {
            stopped = true;
            if (thread != null) {
                thread.interrupt();
            }
        }
    }

    /** From now on, new requests are refused; the admitted ones go on. */
    void stopAdmitting() {
        closing = true;
    }

    /** Stops every running call and wait (when the drain time is over). */
    void cancelAll(StopReason reason) {
        cancelAll = reason;
        calls.forEach(Call::stop);
    }

    /** Whether a model call is still running (a stopped one runs until its current window ends). */
    boolean busy() {
        return running.get() > 0;
    }

    @Override
    public void close() {
        closing = true;
        workers.shutdownNow();
    }
}
