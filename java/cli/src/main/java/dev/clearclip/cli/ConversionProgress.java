package dev.clearclip.cli;

import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.TensorProgress;
import java.io.PrintWriter;

/**
 * What convert, quantize and pull print while they write a GGUF: one place, so the three commands show the
 * same bar and notes.
 */
public final class ConversionProgress {

    private ConversionProgress() {
    }

    /** Progress bar over the bytes written; notes (e.g. tensors kept in f16) are printed. */
    public static ProgressListener listener(PrintWriter err, String label, boolean verbose) {
        return new ProgressListener() {
            ProgressBar bar;

            @Override
            public void tensorWritten(TensorProgress p) {
                if (bar == null) {
                    bar = new ProgressBar(err, label, p.totalBytes(), true);
                }
                if (verbose) {
                    err.println(p.describe());
                }
                bar.update(p.bytesSoFar());
                if (p.index() + 1 == p.count()) {
                    bar.finish(p.bytesSoFar());
                }
            }

            @Override
            public void note(String message) {
                err.println("note: " + message);
            }
        };
    }
}
