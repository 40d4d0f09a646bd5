package dev.clearclip.eval;

import dev.clearclip.ClearClipException;

/** An evaluation state file cannot be read or written; the message names the file. */
public class EvalStateException extends ClearClipException {
    private static final long serialVersionUID = 1L;

    public EvalStateException(String message, Throwable cause) {
        super(Status.IO, message, cause);
    }

    public EvalStateException(String message) {
        super(Status.IO, message);
    }
}
