package dev.clearclip.gguf.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/**
 * Writes a tokenizer file in the format of open_clip's {@code bpe_simple_vocab_16e6.txt.gz}: a
 * gzipped version header line, then one merge per line. The fixtures carry only the Hugging Face
 * tokenizer files, so tests rebuild this one from their merges.
 */
public final class ClipMergeList {
    private ClipMergeList() {
    }

    /** Writes {@code merges}, then {@code surplus} lines, each newline-terminated, after the header. */
    public static void write(Path gz, List<String> merges, String... surplus) throws IOException {
        try (OutputStream file = Files.newOutputStream(gz);
             Writer out = new OutputStreamWriter(new GZIPOutputStream(file), StandardCharsets.UTF_8)) {
            out.write("\"bpe_simple_vocab_16e6.txt#version: 0.2\n");
            for (String merge : merges) {
                out.write(merge + "\n");
            }
            for (String line : surplus) {
                out.write(line + "\n");
            }
        }
    }
}
