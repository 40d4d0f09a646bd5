package dev.clearclip.cli.serve;

/**
 * A request the server refuses: the HTTP status, a stable machine-readable code and a message for people.
 * Answered as {@code {"error":{"code":...,"message":...}}}.
 */
final class ApiException extends RuntimeException {

    final int status;
    final String code;
    /** Seconds for a Retry-After header, or 0 for none. */
    final int retryAfter;

    ApiException(int status, String code, String message) {
        this(status, code, message, 0);
    }

    ApiException(int status, String code, String message, int retryAfter) {
        super(message);
        this.status = status;
        this.code = code;
        this.retryAfter = retryAfter;
    }

    static ApiException badRequest(String code, String message) {
        return new ApiException(400, code, message);
    }
}
