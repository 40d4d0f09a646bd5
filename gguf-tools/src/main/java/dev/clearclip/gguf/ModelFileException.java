package dev.clearclip.gguf;

import dev.clearclip.bindings.ClearClipBaseException;

/**
 * Base of the unchecked exceptions thrown by the model-file tools. Messages name the file (when
 * there is one) and say what is wrong with it, so that a command-line front end can print them as
 * they are. Part of the one hierarchy rooted at {@link ClearClipBaseException}.
 */
public class ModelFileException extends ClearClipBaseException {
    private static final long serialVersionUID = 1L;

    public ModelFileException(String message) {
        super(message);
    }

    public ModelFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
