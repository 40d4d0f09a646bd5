package dev.clearclip.gguf.safetensors;

import dev.clearclip.gguf.ModelFileException;

/** A safetensors file is malformed or truncated. */
public class SafetensorsFormatException extends ModelFileException {
    private static final long serialVersionUID = 1L;

    public SafetensorsFormatException(String message) {
        super(message);
    }

    public SafetensorsFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
