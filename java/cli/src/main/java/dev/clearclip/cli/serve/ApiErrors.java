package dev.clearclip.cli.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.AbortedException;
import dev.clearclip.ClearClipException;
import dev.clearclip.ImageReadException;
import dev.clearclip.InvalidTextException;
import dev.clearclip.cli.ErrorHandler;
import dev.clearclip.cli.Json;
import io.javalin.http.Context;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;

/**
 * How {@code clearclip serve} answers what went wrong: every error, the client's or the server's, is
 * {@code {"error":{"code":...,"message":...}}} with a status, and every server-side failure (an
 * unexpected exception, an {@link OutOfMemoryError}) also gets a line in the server's log, never an
 * empty body.
 */
final class ApiErrors {

    private final PrintWriter log;

    ApiErrors(PrintWriter log) {
        this.log = log;
    }

    /** The answer to {@code t}, logged when it is the server's failure rather than the client's. */
    ApiException translate(Throwable t) {
        if (t instanceof ApiException a) {
            return a;
        }
        if (t instanceof ImageReadException) {
            return ApiException.badRequest("bad_image", t.getMessage());
        }
        if (t instanceof InvalidTextException) {
            return ApiException.badRequest("bad_text", t.getMessage());
        }
        if (t instanceof AbortedException a) {
            // the engine's own deadline (SegmentOptions.timeout); interrupts come through Inference.Stop
            return a.reason() == AbortedException.Reason.TIMEOUT ? StopReason.TIMEOUT.answer()
                    : StopReason.SHUTDOWN.answer();
        }
        if (t instanceof OutOfMemoryError) {
            log("out of memory answering a request (" + t.getMessage() + "); lower --max-pixels, --contexts or "
                    + "--max-upload-mb, or give the JVM more heap");
            return new ApiException(503, "out_of_memory", "the server ran out of memory for this request; "
                    + "retry later or send a smaller picture", 5);
        }
        if (t instanceof ClearClipException) {
            log("inference failed: " + ErrorHandler.message(t));
            return new ApiException(500, "inference_failed", t.getMessage());
        }
        synchronized (log) {
            log.println("clearclip serve: internal error: " + t);
            t.printStackTrace(log);
            log.flush();
        }
        return new ApiException(500, "internal", "internal error (see the server's log)");
    }

    void log(String line) {
        synchronized (log) {
            log.println("clearclip serve: " + line);
            log.flush();
        }
    }

    static byte[] body(ApiException e) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("code", e.code);
        err.put("message", e.getMessage());
        try {
            return Json.MAPPER.writeValueAsBytes(root);
        } catch (IOException io) {
            throw new UncheckedIOException(io);
        }
    }

    /** Answers through Javalin (inside a handler). */
    static void answer(Context ctx, ApiException e) {
        if (e.retryAfter > 0) {
            ctx.header("Retry-After", Integer.toString(e.retryAfter));
        }
        ctx.status(e.status).contentType("application/json").result(body(e));
    }

    /** Answers directly on the servlet response (before Javalin, in the upload gate); false if too late. */
    static boolean answer(HttpServletResponse response, ApiException e, boolean closeConnection) {
        if (response.isCommitted()) {
            return false;
        }
        try {
            response.setStatus(e.status);
            response.setContentType("application/json");
            if (e.retryAfter > 0) {
                response.setHeader("Retry-After", Integer.toString(e.retryAfter));
            }
            if (e.status == 401) {
                response.setHeader("WWW-Authenticate", "Bearer");
            }
            if (closeConnection) {
                // the rest of an unread body would otherwise have to be read (or would be parsed as a request)
                response.setHeader("Connection", "close");
            }
            byte[] body = body(e);
            response.setContentLength(body.length);
            response.getOutputStream().write(body);
            return true;
        } catch (IOException | IllegalStateException gone) {
            return false;
        }
    }
}
