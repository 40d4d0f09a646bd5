package dev.clearclip.gguf;

/**
 * Base of the unchecked exceptions thrown by the model-file tools. Messages name the file (when
 * there is one) and say what is wrong with it, so that a command-line front end can print them as
 * they are.
 */
public class ModelFileException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ModelFileException(String message) {
        super(message);
    }

    public ModelFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
