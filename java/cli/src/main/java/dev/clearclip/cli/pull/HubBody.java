package dev.clearclip.cli.pull;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.function.LongConsumer;

/**
 * The body of one answer, written to a file (the {@code .part} of a download) or kept in memory
 * (an error answer, capped), as it arrives. It records when bytes last came, so the caller can
 * give up on a transfer that stalls (Java's HTTP client has no read timeout once the headers are in)
 * and {@link #cancel} it, which closes the connection.
 */
final class HubBody implements HttpResponse.BodySubscriber<Long> {
    /** An error page needs little; the model API's answer lists every file (and the Spaces using the model). */
    static final int ERROR_CAP = 64 << 10;
    static final int API_CAP = 16 << 20;

    private final CompletableFuture<Long> result = new CompletableFuture<>();
    private final FileChannel file;
    private final ByteArrayOutputStream memory;
    private final LongConsumer progress;
    private final int cap;
    private volatile Flow.Subscription subscription;
    private volatile long lastActivity = System.nanoTime();
    private long received;

    private HubBody(FileChannel file, ByteArrayOutputStream memory, int cap, LongConsumer progress) {
        this.file = file;
        this.cap = cap;
        this.memory = memory;
        this.progress = progress;
    }

    /** Appends to {@code part} (or truncates it first); {@code progress} gets the bytes received so far. */
    static HubBody toFile(Path part, boolean append, LongConsumer progress) throws IOException {
        FileChannel channel = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
        return new HubBody(channel, null, 0, progress);
    }

    /** Keeps the first {@code cap} bytes. */
    static HubBody inMemory(int cap) {
        return new HubBody(null, new ByteArrayOutputStream(), cap, n -> { });
    }

    long lastActivityNanos() {
        return lastActivity;
    }

    long received() {
        return received;
    }

    byte[] bytes() {
        return memory == null ? new byte[0] : memory.toByteArray();
    }

    void cancel() {
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
        finish(new IOException("cancelled"));
    }

    @Override
    public CompletionStage<Long> getBody() {
        return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        s.request(1);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
        lastActivity = System.nanoTime();
        try {
            for (ByteBuffer b : items) {
                int n = b.remaining();
                if (file != null) {
                    while (b.hasRemaining()) {
                        file.write(b);
                    }
                } else if (memory.size() < cap) {
                    byte[] chunk = new byte[Math.min(n, cap - memory.size())];
                    b.get(chunk);
                    memory.write(chunk, 0, chunk.length);
                }
                received += n;
            }
        } catch (IOException e) {
            subscription.cancel();
            finish(e);
            return;
        }
        progress.accept(received);
        subscription.request(1);
    }

    @Override
    public void onError(Throwable t) {
        finish(t);
    }

    @Override
    public void onComplete() {
        finish(null);
    }

    private synchronized void finish(Throwable failure) {
        if (result.isDone()) {
            return;
        }
        if (file != null) {
            try {
                file.close();
            } catch (IOException e) {
                failure = failure == null ? e : failure;
            }
        }
        if (failure == null) {
            result.complete(received);
        } else {
            result.completeExceptionally(failure);
        }
    }
}
