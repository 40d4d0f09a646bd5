package dev.clearclip.cli.commands;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.cli.Cli;
import dev.clearclip.cli.Fixtures;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.testing.ClipCppGguf;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code convert in.gguf -o out.gguf}: a clip.cpp-layout file rewritten into ours. */
class ConvertGgufCliTest {
    @TempDir
    Path tmp;

    @Test
    void rewritesClipCppFileAndSaysWhatItMended() {
        Path in = ClipCppGguf.write(Fixtures.hfTiny(), tmp.resolve("clip.cpp-f16.gguf"), ClipCppGguf.Kind.F16);
        Path out = tmp.resolve("ours.gguf");
        Cli convert = Cli.run("convert", in.toString(), "-o", out.toString());
        assertThat(convert.exit()).as(convert.err()).isZero();
        assertThat(convert.out()).contains("wrote " + out + " (f16)");
        assertThat(convert.err()).contains(
                "note: clip.text.projection_dim says 512 but the tensor shapes say 64; using 64",
                "note: clip.vision.projection_dim says 512 but the tensor shapes say 64; using 64",
                "note: tokenizer.ggml.merges is missing; rebuilt 48894 BPE merges");
        try (GgufFile gguf = GgufFile.open(out)) {
            assertThat(gguf.metadata().getString("tokenizer.ggml.model")).isEqualTo("clip");
        }
        Cli info = Cli.run("info", out.toString());
        assertThat(info.exit()).as(info.err()).isZero();
    }

    @Test
    void verboseSaysWhatTheEngineMendedInAClipCppFile() {
        Path in = ClipCppGguf.write(Fixtures.hfTiny(), tmp.resolve("clip.cpp.gguf"), ClipCppGguf.Kind.F16);
        Cli quiet = Cli.run("tokenize", "-m", in.toString(), "a photo of a fox");
        assertThat(quiet.exit()).as(quiet.err()).isZero();
        assertThat(quiet.err()).doesNotContain("projection_dim");
        Cli verbose = Cli.run("--verbose", "tokenize", "-m", in.toString(), "a photo of a fox");
        assertThat(verbose.exit()).as(verbose.err()).isZero();
        assertThat(verbose.out()).isEqualTo(quiet.out());
        assertThat(verbose.err()).contains(
                "clip.text.projection_dim says 512 but text_projection.weight is [64, 64]; using 64",
                "clip.vision.projection_dim says 512 but visual_projection.weight is [96, 64]; using 64",
                "no tokenizer.ggml.merges; rebuilt 48894 BPE merges from the order of tokenizer.ggml.tokens");
    }

    @Test
    void refusesToWriteOverItsInput() throws Exception {
        Path in = ClipCppGguf.write(Fixtures.hfTiny(), tmp.resolve("same.gguf"), ClipCppGguf.Kind.F16);
        byte[] before = Files.readAllBytes(in);
        Cli convert = Cli.run("convert", in.toString(), "-o", tmp.resolve(".").resolve("same.gguf").toString(),
                "--type", "f32");
        assertThat(convert.exit()).isEqualTo(1);
        assertThat(convert.err()).contains("same.gguf", "is the file being converted");
        assertThat(Files.readAllBytes(in)).isEqualTo(before);
    }
}
