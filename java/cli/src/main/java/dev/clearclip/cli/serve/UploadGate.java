package dev.clearclip.cli.serve;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.io.EndPoint;

/**
 * The servlet filter every request passes first: access checks ({@link AccessGuard}), then the whole body
 * read and counted before any handler runs, then the answer completed on the wire.
 *
 * <p>The body is read here, before the request is admitted to the model (see {@link Inference}), so that a
 * slow upload holds a connection and a thread, never a model context or a place in the queue. Every body
 * is counted against {@code --max-upload-mb} while it is read, whatever its framing (a Content-Length
 * over the limit is refused before reading, a chunked body as soon as it passes the limit). An upload
 * must end within {@code uploadTimeout} and, after its first {@value #GRACE_SECONDS} seconds, keep at
 * least {@code minBytesPerSecond} on average: Jetty's idle timeout restarts with every byte, so a client
 * sending a byte every few seconds would otherwise hold its connection for ever. When the server stops,
 * uploads still being read are cut at once rather than waited for.
 */
final class UploadGate {

    static final int GRACE_SECONDS = 5;

    private final AccessGuard guard;
    private final long maxBytes;
    private final Duration uploadTimeout;
    private final long minBytesPerSecond;
    private final Path dir;
    private final ServerMetrics metrics;
    private final ApiErrors errors;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Set<EndPoint> uploading = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;

    UploadGate(AccessGuard guard, long maxBytes, Duration uploadTimeout, long minBytesPerSecond, Path dir,
               ServerMetrics metrics, ApiErrors errors) {
        this.guard = guard;
        this.maxBytes = maxBytes;
        this.uploadTimeout = uploadTimeout;
        this.minBytesPerSecond = minBytesPerSecond;
        this.dir = dir;
        this.metrics = metrics;
        this.errors = errors;
    }

    /** Requests between arrival and their answer's last byte. */
    int inFlight() {
        return inFlight.get();
    }

    /** Refuses new bodies and cuts those being read. */
    void close() {
        closing = true;
        for (EndPoint ep : uploading) {
            ep.close();
        }
    }

    ApiException tooLarge(long length) {
        return new ApiException(413, "too_large", "the request "
                + (length > 0 ? "is " + length + " bytes, " : "is ")
                + "more than the upload limit of " + maxBytes + " bytes (--max-upload-mb)");
    }

    void filter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        HttpServletRequest req = (HttpServletRequest) request;
        HttpServletResponse res = (HttpServletResponse) response;
        long start = System.nanoTime();
        inFlight.incrementAndGet();
        UploadBody body = null;
        try {
            ApiException refused = guard.check(req, res);
            if (refused != null) {
                refuse(req, res, refused, start, hasBody(req));
                return;
            }
            if (hasBody(req) && "POST".equals(req.getMethod())) {
                long length = req.getContentLengthLong();
                if (length > maxBytes) {
                    refuse(req, res, tooLarge(length), start, true);
                    return;
                }
                if (closing) {
                    refuse(req, res, StopReason.SHUTDOWN.answer(), start, true);
                    return;
                }
                body = new UploadBody(dir);
                try {
                    read(req, body, start);
                } catch (ApiException e) {
                    refuse(req, res, e, start, true);
                    return;
                }
                req.setAttribute(UploadBody.ATTRIBUTE, body);
            }
            try {
                chain.doFilter(request, response);
            } catch (IOException | ServletException | RuntimeException | Error e) {
                // what Javalin did not answer itself: still a JSON answer and a log line, never an empty 500
                if (!ApiErrors.answer(res, errors.translate(e), true)) {
                    throw e;
                }
                return;
            }
            if (!request.isAsyncStarted()) {
                // Counts a request as running until its answer is complete on the wire, so that close() stops
                // Jetty only after that: Javalin writes a handler's result after the handler returns, and
                // counting only the handler let a stopping server cut a finished segmentation's answer
                // mid-body (ServeStopTest). Closing the output ends the body (the last chunk) now.
                try {
                    response.getOutputStream().close();
                } catch (IllegalStateException writerInUse) {
                    response.getWriter().close();
                }
            }
        } finally {
            if (body != null) {
                body.close();
            }
            inFlight.decrementAndGet();
        }
    }

    private static boolean hasBody(HttpServletRequest req) {
        return req.getContentLengthLong() > 0 || req.getHeader("Transfer-Encoding") != null;
    }

    private void refuse(HttpServletRequest req, HttpServletResponse res, ApiException e, long start, boolean close) {
        ApiErrors.answer(res, e, close);
        metrics.record(req.getMethod(), ClearClipServer.route(req.getRequestURI()), e.status, System.nanoTime() - start);
        if (e.status == 408) {
            // Jetty would go on reading the rest of the body, at the client's pace, before closing: a client
            // still trickling bytes would keep its connection and a thread; the answer is sent, then cut
            try {
                res.flushBuffer();
            } catch (IOException gone) {
                // closed below anyway
            }
            EndPoint ep = ClientLink.of(req).endPoint();
            if (ep != null) {
                ep.close();
            }
        }
    }

    /** Reads the whole body into {@code body}, within the limits (see the class comment). */
    private void read(HttpServletRequest req, UploadBody body, long start) {
        EndPoint ep = ClientLink.of(req).endPoint();
        long idle = ep == null ? 0 : ep.getIdleTimeout();
        long deadline = start + uploadTimeout.toNanos();
        if (ep != null) {
            uploading.add(ep);
        }
        byte[] buf = new byte[64 * 1024];
        try (InputStream in = req.getInputStream()) {
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw slow("did not arrive within " + uploadTimeout.toSeconds() + " s");
                }
                if (ep != null && idle > 0) {
                    // a read waits at most until the deadline, however the bytes trickle in
                    ep.setIdleTimeout(Math.max(1, Math.min(idle, left / 1_000_000L)));
                }
                int n;
                try {
                    n = in.read(buf);
                } catch (IOException e) {
                    if (closing) {
                        throw StopReason.SHUTDOWN.answer();
                    }
                    if (System.nanoTime() - deadline >= 0 || isTimeout(e)) {
                        throw slow("did not arrive within " + uploadTimeout.toSeconds() + " s");
                    }
                    if (e.getMessage() != null && e.getMessage().contains("Request content data rate")) {
                        throw slow("arrived too slowly");
                    }
                    throw ApiException.badRequest("bad_body", "the body could not be read: "
                            + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
                }
                if (n < 0) {
                    break;
                }
                if (body.size() + n > maxBytes) {
                    throw tooLarge(-1);
                }
                body.write(buf, 0, n);
                double seconds = (System.nanoTime() - start) / 1e9;
                if (seconds > GRACE_SECONDS && body.size() < minBytesPerSecond * seconds) {
                    throw slow("arrives at " + (long) (body.size() / seconds) + " bytes/s, less than the least of "
                            + minBytesPerSecond + " bytes/s");
                }
            }
            body.finish();
        } catch (IOException e) {
            throw ApiException.badRequest("bad_body", "the body could not be read: " + e.getMessage());
        } finally {
            if (ep != null) {
                uploading.remove(ep);
                if (idle > 0) {
                    ep.setIdleTimeout(idle);
                }
            }
        }
    }

    private static boolean isTimeout(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.util.concurrent.TimeoutException || t instanceof java.net.SocketTimeoutException) {
                return true;
            }
        }
        return false;
    }

    private static ApiException slow(String what) {
        return new ApiException(408, "upload_too_slow", "the request body " + what + "; the server reads each "
                + "upload whole before computing, within a time limit");
    }
}
