package dev.clearclip.gguf.convert;

import dev.clearclip.gguf.ModelFileException;

/** A checkpoint cannot be converted: files missing, an unsupported architecture, inconsistent shapes. */
public class ConversionException extends ModelFileException {
    private static final long serialVersionUID = 1L;

    public ConversionException(String message) {
        super(message);
    }

    public ConversionException(String message, Throwable cause) {
        super(message, cause);
    }
}
