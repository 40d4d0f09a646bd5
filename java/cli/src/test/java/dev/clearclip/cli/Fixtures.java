package dev.clearclip.cli;

import java.nio.file.Path;

/** The reference fixtures made by gguf-tools/reference/make_fixtures.py (system property clearclip.fixtures). */
public final class Fixtures {

    private Fixtures() {
    }

    /** The tiny random-weight transformers checkpoint. */
    public static Path hfTiny() {
        return dev.clearclip.gguf.testing.Fixtures.model("hf-tiny");
    }

    /** hf-tiny converted to an f32 GGUF in the given folder. */
    public static Path hfTinyGguf(Path dir) {
        return dev.clearclip.gguf.testing.Fixtures.hfTinyGguf(dir);
    }
}
