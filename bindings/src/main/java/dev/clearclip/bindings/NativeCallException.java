package dev.clearclip.bindings;

/**
 * A call into the engine through a hand-written wrapper of this package failed: either the engine
 * returned a status other than {@code CLEARCLIP_OK} ({@link #statusName()} names it, the message
 * is {@code "STATUS: engine's last error"}), or the library loaded lacks the function (it is older
 * than the bindings; {@link #statusName()} is {@code null}).
 */
public final class NativeCallException extends ClearClipBaseException {
    private static final long serialVersionUID = 1L;

    private final String statusName;

    NativeCallException(String statusName, String message, Throwable cause) {
        super(message, cause);
        this.statusName = statusName;
    }

    /** The engine's name of the status, e.g. {@code CLEARCLIP_ERR_INVALID_ARGUMENT}; null for a missing function. */
    public String statusName() {
        return statusName;
    }
}
