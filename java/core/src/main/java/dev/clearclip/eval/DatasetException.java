package dev.clearclip.eval;

import dev.clearclip.ClearClipException;

/** A benchmark dataset is missing, incomplete or holds unexpected data; the message names the path. */
public class DatasetException extends ClearClipException {
    private static final long serialVersionUID = 1L;

    public DatasetException(String message) {
        super(Status.IO, message);
    }

    public DatasetException(String message, Throwable cause) {
        super(Status.IO, message, cause);
    }
}
