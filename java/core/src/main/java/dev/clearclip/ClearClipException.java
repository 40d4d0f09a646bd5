package dev.clearclip;

import dev.clearclip.bindings.ClearClipBaseException;
import dev.clearclip.bindings.ffi.ClearClipNative;

/**
 * Base of every error the Java library reports. Unchecked: callers that can recover catch the
 * subclass they care about ({@link ModelLoadException}, {@link ImageReadException},
 * {@link InferenceException}, {@link AbortedException}). It is itself a
 * {@link ClearClipBaseException}, the root shared with the GGUF tools' {@code ModelFileException}
 * and the bindings' {@code NativeLibraryException}: catch that to handle any clearclip error.
 */
public class ClearClipException extends ClearClipBaseException {
    private static final long serialVersionUID = 1L;


    /**
     * Failure kinds; the native engine's status codes map one to one onto the non-OK values. The
     * codes are read from the generated bindings ({@code ClearClipNative.CLEARCLIP_ERR_*()}), not
     * re-typed, so a renumbered header cannot silently shift them; {@code NativeConstantsTest}
     * pins the correspondence.
     */
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

        /**
         * The engine's clearclip_status value of this kind, or -1 for {@link #UNKNOWN}. Evaluated on
         * call, not in the enum's initializer, because touching {@code ClearClipNative} loads the
         * native library and merely naming a status must not.
         */
        int nativeCode() {
            return switch (this) {
                case INVALID_ARGUMENT -> ClearClipNative.CLEARCLIP_ERR_INVALID_ARGUMENT();
                case IO -> ClearClipNative.CLEARCLIP_ERR_IO();
                case FORMAT -> ClearClipNative.CLEARCLIP_ERR_FORMAT();
                case MODEL -> ClearClipNative.CLEARCLIP_ERR_MODEL();
                case UNSUPPORTED -> ClearClipNative.CLEARCLIP_ERR_UNSUPPORTED();
                case NO_TOWER -> ClearClipNative.CLEARCLIP_ERR_NO_TOWER();
                case BACKEND -> ClearClipNative.CLEARCLIP_ERR_BACKEND();
                case OUT_OF_MEMORY -> ClearClipNative.CLEARCLIP_ERR_OUT_OF_MEMORY();
                case ABORTED -> ClearClipNative.CLEARCLIP_ERR_ABORTED();
                case UNKNOWN -> -1;
            };
        }

        /** Status for a clearclip_status value other than CLEARCLIP_OK. */
        static Status fromNative(int code) {
            for (Status status : values()) {
                if (status != UNKNOWN && status.nativeCode() == code) {
                    return status;
                }
            }
            return UNKNOWN;
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
