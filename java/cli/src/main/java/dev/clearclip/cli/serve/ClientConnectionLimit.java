package dev.clearclip.cli.serve;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.HttpConnection;

/**
 * The transport's limits: at most {@code perClient} open connections per client address (beyond, a new
 * connection is closed as soon as it opens), and a request's headers must arrive whole within
 * {@code headerTimeout}. Slow uploads and slow headers each hold a connection (an upload also a Jetty
 * thread); Jetty's idle timeout restarts with every byte, so a client sending a header line every few
 * seconds would hold its connection for ever. {@link UploadGate} bounds the body the same way.
 */
final class ClientConnectionLimit implements Connection.Listener, AutoCloseable {

    private final int perClient;
    private final long headerTimeoutNanos;
    /** When each connection was first seen in the middle of a request's headers. */
    private final Map<Connection, Long> headersSince = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "clearclip-serve-header-deadline");
        t.setDaemon(true);
        return t;
    });
    private final Map<InetAddress, AtomicInteger> open = new ConcurrentHashMap<>();
    /** The address of each open connection: a closed socket no longer tells its peer's. */
    private final Map<Connection, InetAddress> addresses = new ConcurrentHashMap<>();
    private final AtomicInteger refused = new AtomicInteger();
    private final AtomicInteger slowHeaders = new AtomicInteger();

    ClientConnectionLimit(int perClient, Duration headerTimeout) {
        this.perClient = perClient;
        this.headerTimeoutNanos = headerTimeout.toNanos();
        long every = Math.max(100, Math.min(1000, headerTimeout.toMillis() / 4));
        sweeper.scheduleWithFixedDelay(this::sweep, every, every, TimeUnit.MILLISECONDS);
    }

    /** Closes the connections whose request headers have been arriving for longer than the deadline. */
    private void sweep() {
        long now = System.nanoTime();
        for (Connection c : addresses.keySet()) {
            if (!(c instanceof HttpConnection http)) {
                continue;
            }
            HttpParser parser = http.getParser();
            // START is a connection waiting for its next request (Jetty's idle timeout covers it)
            if (parser.inHeaderState() && !parser.isStart()) {
                long since = headersSince.computeIfAbsent(c, k -> now);
                if (now - since > headerTimeoutNanos) {
                    headersSince.remove(c);
                    slowHeaders.incrementAndGet();
                    c.getEndPoint().close();
                }
            } else {
                headersSince.remove(c);
            }
        }
    }

    int slowHeaders() {
        return slowHeaders.get();
    }

    @Override
    public void close() {
        sweeper.shutdownNow();
    }

    int refused() {
        return refused.get();
    }

    @Override
    public void onOpened(Connection connection) {
        InetAddress address = address(connection);
        if (address == null) {
            return;
        }
        addresses.put(connection, address);
        int n = open.computeIfAbsent(address, a -> new AtomicInteger()).incrementAndGet();
        if (n > perClient) {
            refused.incrementAndGet();
            connection.getEndPoint().close();
        }
    }

    @Override
    public void onClosed(Connection connection) {
        headersSince.remove(connection);
        InetAddress address = addresses.remove(connection);
        if (address == null) {
            return;
        }
        open.computeIfPresent(address, (a, n) -> n.decrementAndGet() <= 0 ? null : n);
    }

    private static InetAddress address(Connection connection) {
        SocketAddress remote = connection.getEndPoint() == null ? null : connection.getEndPoint().getRemoteSocketAddress();
        return remote instanceof InetSocketAddress i ? i.getAddress() : null;
    }
}
