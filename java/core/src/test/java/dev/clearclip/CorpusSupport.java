package dev.clearclip;

import dev.clearclip.gguf.testing.BadGgufCorpus;
import dev.clearclip.gguf.testing.BadGgufCorpus.Input;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** The shared bad-input corpus for the library's tests. */
final class CorpusSupport {
    /**
     * Names of corpus inputs to leave out, comma-separated (system property): only to look at the rest of
     * a run while one input still kills the JVM; a normal run leaves out nothing.
     */
    static final String EXCLUDE_PROPERTY = "clearclip.corpus.exclude";

    private CorpusSupport() {
    }

    static List<Input> write(Path dir) {
        Set<String> excluded = Arrays.stream(System.getProperty(EXCLUDE_PROPERTY, "").split(","))
                .map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toSet());
        return BadGgufCorpus.write(dir).stream().filter(i -> !excluded.contains(i.name())).toList();
    }

    /** A small picture with some structure (not one flat colour). */
    static RgbImage picture(int width, int height) {
        byte[] rgb = new byte[width * height * 3];
        for (int i = 0; i < rgb.length; i++) {
            rgb[i] = (byte) (i * 37 + (i / (width * 3)) * 11);
        }
        return new RgbImage(width, height, rgb);
    }
}
