package dev.clearclip.cli.serve;

/**
 * Why the server stopped a request's model call before it finished: each gets its own answer and log
 * line, so that a client (or whoever reads the log) learns the true reason.
 */
enum StopReason {
    /** The request ran longer than {@code --request-timeout}. */
    TIMEOUT,
    /** The client closed the connection: nobody waits for the answer, the context is freed. */
    DISCONNECT,
    /** The server is stopping and the drain time is over. */
    SHUTDOWN;

    ApiException answer() {
        return switch (this) {
            case TIMEOUT -> new ApiException(503, "timeout", "the request took longer than the server's "
                    + "--request-timeout and was stopped; send a smaller picture or fewer windows");
            // nobody reads it; 499 is what the metrics and the log then show (nginx's 'client closed request')
            case DISCONNECT -> new ApiException(499, "client_closed", "the client closed the connection");
            case SHUTDOWN -> new ApiException(503, "shutting_down", "the server is stopping", 5);
        };
    }

    String logLine() {
        return switch (this) {
            case TIMEOUT -> "stopped past --request-timeout";
            case DISCONNECT -> "stopped: the client closed the connection";
            case SHUTDOWN -> "stopped: the server is stopping";
        };
    }
}
