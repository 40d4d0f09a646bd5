package dev.clearclip;

/**
 * A native call was stopped before it finished, within one sliding window (or one graph node on the
 * CPU): the calling thread was interrupted, or the call's deadline ({@link SegmentOptions#timeout()})
 * passed. After an interrupt the thread's interrupt flag is still set. The model stays usable.
 */
public class AbortedException extends InferenceException {
    private static final long serialVersionUID = 1L;

    /** Why the call was stopped. */
    public enum Reason {
        /** The calling thread was interrupted. */
        INTERRUPTED,
        /** The call's timeout elapsed. */
        TIMEOUT
    }

    private final Reason reason;

    public AbortedException(Reason reason, String message) {
        super(Status.ABORTED, message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
