package dev.clearclip.gguf;

/**
 * Receives progress of a conversion or quantization, so that the library never prints: a
 * command-line front end prints, a GUI updates a bar, a test collects.
 */
public interface ProgressListener {
    /** A listener that ignores everything. */
    ProgressListener NONE = new ProgressListener() {
    };

    /** Called after each tensor has been written. */
    default void tensorWritten(TensorProgress progress) {
    }

    /** A note worth showing a person, e.g. that a matrix stays f16 because its rows do not fit the blocks. */
    default void note(String message) {
    }
}
