package dev.clearclip.cli;

import static org.assertj.core.api.Assertions.fail;

import dev.clearclip.gguf.convert.ClipConverter;
import dev.clearclip.gguf.ProgressListener;
import java.nio.file.Files;
import java.nio.file.Path;

/** The reference fixtures made by gguf-tools/reference/make_fixtures.py (system property clearclip.fixtures). */
final class Fixtures {

    private Fixtures() {
    }

    static Path root() {
        String dir = System.getProperty("clearclip.fixtures");
        Path root = dir == null ? null : Path.of(dir);
        if (root == null || !Files.isRegularFile(root.resolve("manifest.json"))) {
            fail("test fixtures missing at " + root + ": run `make fixtures` (gguf-tools/reference/make_fixtures.py "
                    + "--out build/fixtures) or pass -Dclearclip.fixtures=DIR");
        }
        return root;
    }

    /** The tiny random-weight transformers checkpoint. */
    static Path hfTiny() {
        Path dir = root().resolve("hf-tiny");
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            fail("fixture " + dir + " is incomplete: regenerate the fixtures with `make fixtures`");
        }
        return dir;
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
