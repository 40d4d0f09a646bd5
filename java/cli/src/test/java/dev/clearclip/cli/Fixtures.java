package dev.clearclip.cli;

import dev.clearclip.gguf.convert.ClipConverter;
import dev.clearclip.gguf.ProgressListener;
import java.nio.file.Files;
import java.nio.file.Path;

/** The reference fixtures made by gguf-tools/reference/make_fixtures.py (system property clearclip.fixtures). */
final class Fixtures {

    private Fixtures() {
    }

    /** The tiny random-weight transformers checkpoint. */
    static Path hfTiny() {
        return dev.clearclip.gguf.testing.Fixtures.model("hf-tiny");
    }

    /** hf-tiny converted to an f32 GGUF in the given folder. */
    static Path hfTinyGguf(Path dir) {
        Path out = dir.resolve("hf-tiny.gguf");
        if (!Files.isRegularFile(out)) {
            ClipConverter.detect(hfTiny()).write(out, ProgressListener.NONE);
        }
        return out;
    }
}
