package dev.clearclip.gguf;

/** A GGUF file is malformed, truncated, or uses a feature this implementation does not read. */
public class GgufFormatException extends ModelFileException {
    private static final long serialVersionUID = 1L;

    public GgufFormatException(String message) {
        super(message);
    }

    public GgufFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
