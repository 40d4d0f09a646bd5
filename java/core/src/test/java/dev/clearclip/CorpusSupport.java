package dev.clearclip;

import dev.clearclip.gguf.testing.BadGgufCorpus;
import dev.clearclip.gguf.testing.BadGgufCorpus.Input;
import java.nio.file.Path;
import java.util.List;

/** The shared bad-input corpus for the library's tests. */
final class CorpusSupport {
    private CorpusSupport() {
    }

    static List<Input> write(Path dir) {
        return BadGgufCorpus.write(dir);
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
