package dev.clearclip;

/**
 * A text cannot be given to the engine as it is: it contains a NUL character (the engine takes
 * C strings, which would silently end there) or an unpaired UTF-16 surrogate (not Unicode, so it has
 * no UTF-8 form and would silently become {@code ?}). The message names the text and the position.
 */
public class InvalidTextException extends ClearClipException {
    private static final long serialVersionUID = 1L;

    private final int index;

    public InvalidTextException(String message, int index) {
        super(Status.INVALID_ARGUMENT, message);
        this.index = index;
    }

    /** Position of the offending character in the Java string (a UTF-16 index, as {@link String#charAt}). */
    public int index() {
        return index;
    }
}
