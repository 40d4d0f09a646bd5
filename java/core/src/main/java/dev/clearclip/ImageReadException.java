package dev.clearclip;

/** An image file could not be read or decoded; the message names the file. */
public class ImageReadException extends ClearClipException {
    private static final long serialVersionUID = 1L;

    public ImageReadException(String message) {
        super(Status.IO, message);
    }

    public ImageReadException(String message, Throwable cause) {
        super(Status.IO, message, cause);
    }
}
