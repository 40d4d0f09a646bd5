package dev.clearclip;

/**
 * Base of every error clearclip reports. Unchecked: callers that can recover catch the subclass
 * they care about ({@link ModelLoadException}, {@link ImageReadException}, {@link InferenceException},
 * {@link AbortedException}).
 */
public class ClearClipException extends RuntimeException {
    private static final long serialVersionUID = 1L;


    /** Failure kinds; the native engine's status codes map one to one onto the non-OK values. */
    public enum Status {
        INVALID_ARGUMENT,
        IO,
        FORMAT,
        MODEL,
        UNSUPPORTED,
        NO_TOWER,
        BACKEND,
        OUT_OF_MEMORY,
        /** The call was stopped: thread interrupt, deadline or a failing progress listener. */
        ABORTED,
        /** A code this library does not know (a newer engine). */
        UNKNOWN;

        /** Status for a clearclip_status value other than CLEARCLIP_OK (0). */
        static Status fromNative(int code) {
            return switch (code) {
                case 1 -> INVALID_ARGUMENT;
                case 2 -> IO;
                case 3 -> FORMAT;
                case 4 -> MODEL;
                case 5 -> UNSUPPORTED;
                case 6 -> NO_TOWER;
                case 7 -> BACKEND;
                case 8 -> OUT_OF_MEMORY;
                case 9 -> ABORTED;
                default -> UNKNOWN;
            };
        }
    }

    private final Status status;

    public ClearClipException(Status status, String message) {
        super(message);
        this.status = status;
    }

    public ClearClipException(Status status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    public Status status() {
        return status;
    }
}
