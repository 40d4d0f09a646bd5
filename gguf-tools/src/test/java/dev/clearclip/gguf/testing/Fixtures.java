package dev.clearclip.gguf.testing;

import static org.assertj.core.api.Assertions.fail;

import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.convert.ClipConverter;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The reference models made by {@code gguf-tools/reference/make_fixtures.py} (system property
 * {@code clearclip.fixtures}, set by the build to {@code build/fixtures}). Tests that need them fail,
 * rather than skip, when they are missing: a green run must mean the checks ran.
 */
public final class Fixtures {
    public static final String PROPERTY = "clearclip.fixtures";

    private Fixtures() {
    }

    public static Path root() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            return fail("system property " + PROPERTY + " is not set; run the tests through Maven (it points at "
                    + "build/fixtures) after `make fixtures`");
        }
        Path root = Path.of(value);
        if (!Files.isRegularFile(root.resolve("manifest.json"))) {
            return fail("fixtures missing: " + root + "/manifest.json does not exist; generate them with `make fixtures` "
                    + "(gguf-tools/reference/make_fixtures.py --out build/fixtures)");
        }
        return root;
    }

    /** A model directory, e.g. {@code hf-tiny}, that must exist. */
    public static Path model(String name) {
        Path dir = root().resolve(name);
        if (!Files.isDirectory(dir)) {
            return fail("fixture model missing: " + dir + " (regenerate with `make fixtures`)");
        }
        return dir;
    }

    /** A file inside the fixtures that must exist. */
    public static Path file(String relative) {
        Path file = root().resolve(relative);
        if (!Files.isRegularFile(file)) {
            return fail("fixture file missing: " + file + " (regenerate with `make fixtures`)");
        }
        return file;
    }

    /** The tiny transformers fixture hf-tiny converted (f32) by the project's converter into dir, once. */
    public static Path hfTinyGguf(Path dir) {
        Path out = dir.resolve("hf-tiny.gguf");
        if (!Files.isRegularFile(out)) {
            ClipConverter.detect(model("hf-tiny")).write(out, ProgressListener.NONE);
        }
        return out;
    }
}
