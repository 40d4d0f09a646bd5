package dev.clearclip.gguf.quantize;

import dev.clearclip.gguf.ModelFileException;

/** Quantization failed: the native engine is missing or refused the request. */
public class QuantizationException extends ModelFileException {
    private static final long serialVersionUID = 1L;

    public QuantizationException(String message) {
        super(message);
    }

    public QuantizationException(String message, Throwable cause) {
        super(message, cause);
    }
}
