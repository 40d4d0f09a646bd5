package dev.clearclip;

/** A model file could not be loaded: missing, not GGUF, corrupt, wrong architecture, unsupported. */
public class ModelLoadException extends ClearClipException {
    private static final long serialVersionUID = 1L;

    public ModelLoadException(Status status, String message) {
        super(status, message);
    }
}
