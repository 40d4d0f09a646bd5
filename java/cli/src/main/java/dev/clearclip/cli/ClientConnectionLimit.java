package dev.clearclip.cli;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.io.Connection;

/**
 * At most {@code perClient} open connections per client address: beyond, a new connection is closed as soon
 * as it opens. Slow uploads and slow headers each hold a connection and a Jetty thread; this keeps one
 * client from taking them all (Jetty's pool has 250 threads).
 */
final class ClientConnectionLimit implements Connection.Listener {

    private final int perClient;
    private final Map<InetAddress, AtomicInteger> open = new ConcurrentHashMap<>();
    /** The address of each open connection: a closed socket no longer tells its peer's. */
    private final Map<Connection, InetAddress> addresses = new ConcurrentHashMap<>();
    private final AtomicInteger refused = new AtomicInteger();

    ClientConnectionLimit(int perClient) {
        this.perClient = perClient;
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
