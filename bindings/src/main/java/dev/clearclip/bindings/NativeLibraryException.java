package dev.clearclip.bindings;

/**
 * The clearclip native libraries could not be found, extracted or loaded. A
 * {@link ClearClipBaseException}, like every other error clearclip reports.
 */
public final class NativeLibraryException extends ClearClipBaseException {
    private static final long serialVersionUID = 1L;

    public NativeLibraryException(String message) {
        super(message);
    }

    public NativeLibraryException(String message, Throwable cause) {
        super(message, cause);
    }
}
