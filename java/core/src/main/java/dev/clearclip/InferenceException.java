package dev.clearclip;

/** The engine failed while encoding or segmenting (e.g. out of memory, backend failure, missing tower). */
public class InferenceException extends ClearClipException {
    private static final long serialVersionUID = 1L;

    public InferenceException(Status status, String message) {
        super(status, message);
    }
}
