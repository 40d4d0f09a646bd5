package dev.clearclip.cli.serve;

import jakarta.servlet.ServletRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;

/**
 * The connection of one request, to learn while its model call runs whether the client is still there.
 * Jetty reads nothing from a connection while its request is being handled, so a client that gives up is
 * noticed only when the answer is written: the server would compute for minutes for nobody. Once the whole
 * body has been read, an HTTP/1.1 client sends nothing until it has the answer, so a non-blocking read of
 * one byte tells: end of stream (or a reset) means gone, nothing means still waiting. A client that does
 * send (pipelining) is taken as present and is no longer probed; the byte read is lost, so its connection is
 * closed after the answer. A client that half-closes its side after
 * the request (as HTTP/1.0-era tools may) looks gone and is answered by no one: HTTP/1.1 clients do not.
 */
final class ClientLink {

    private static final long PROBE_EVERY_NANOS = 100_000_000L;

    private final SocketChannel channel;
    private final EndPoint endPoint;
    private long lastProbe;
    private volatile boolean gone;
    private volatile boolean sentMore;

    private ClientLink(SocketChannel channel, EndPoint endPoint) {
        this.channel = channel;
        this.endPoint = endPoint;
    }

    /** The link of a request, or one that never reports a disconnect where the transport is not a socket. */
    static ClientLink of(ServletRequest request) {
        Object cached = request == null ? null : request.getAttribute(ClientLink.class.getName());
        if (cached instanceof ClientLink link) {
            return link;
        }
        ClientLink link = find(request);
        if (request != null) {
            request.setAttribute(ClientLink.class.getName(), link);
        }
        return link;
    }

    private static ClientLink find(ServletRequest request) {
        try {
            Request base = Request.getBaseRequest(request);
            EndPoint ep = base == null || base.getHttpChannel() == null ? null : base.getHttpChannel().getEndPoint();
            Object transport = ep == null ? null : ep.getTransport();
            return new ClientLink(transport instanceof SocketChannel s ? s : null, ep);
        } catch (RuntimeException e) {
            return new ClientLink(null, null);
        }
    }

    EndPoint endPoint() {
        return endPoint;
    }

    /** Whether the client has closed its side (probed at most every 100 ms). */
    synchronized boolean gone() {
        if (gone || sentMore || channel == null) {
            return gone;
        }
        long now = System.nanoTime();
        if (now - lastProbe < PROBE_EVERY_NANOS) {
            return false;
        }
        lastProbe = now;
        if (!channel.isOpen() || (endPoint != null && !endPoint.isOpen())) {
            gone = true;
            return true;
        }
        if (channel.isBlocking()) {
            return false; // a read would wait: never on a Jetty connection, which is non-blocking
        }
        try {
            int n = channel.read(ByteBuffer.allocate(1));
            if (n < 0) {
                gone = true;
            } else if (n > 0) {
                sentMore = true;
            }
        } catch (IOException e) {
            gone = true; // reset by the peer
        }
        return gone;
    }

    /** Whether the client sent bytes while waiting (their request is lost: close the connection after). */
    boolean sentMore() {
        return sentMore;
    }
}
