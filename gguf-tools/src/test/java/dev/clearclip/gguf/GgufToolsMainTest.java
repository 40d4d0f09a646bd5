package dev.clearclip.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.gguf.testing.Fixtures;
import dev.clearclip.gguf.testing.TestResources;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufToolsMainTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final GgufToolsMain main = new GgufToolsMain(new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void usageErrorsExitWith2() {
        assertThat(main.run()).isEqualTo(2);
        assertThat(err()).contains("usage:");
        assertThat(main.run("frobnicate")).isEqualTo(2);
        assertThat(err()).contains("error: unknown command 'frobnicate'");
        assertThat(main.run("convert", "src")).isEqualTo(2);
        assertThat(err()).contains("error: convert needs one SOURCE and -o OUT.gguf");
        assertThat(main.run("convert", "src", "-o", "x.gguf", "--text-only", "--vision-only")).isEqualTo(2);
        assertThat(err()).contains("--text-only and --vision-only exclude each other");
        assertThat(main.run("inspect", "--bogus", "x")).isEqualTo(2);
        assertThat(err()).contains("unknown option '--bogus'");
        assertThat(main.run("--help")).isZero();
        assertThat(out()).contains("usage:");
    }

    @Test
    void failuresExitWith1AndNameTheProblem() {
        Path missing = dir.resolve("missing.gguf");
        assertThat(main.run("inspect", missing.toString())).isEqualTo(1);
        assertThat(err()).isEqualTo("error: " + missing + ": no such file\n");
        assertThat(main.run("convert", dir.toString(), "-o", dir.resolve("o.gguf").toString(), "--type", "q3_k")).isEqualTo(1);
        assertThat(err()).contains("unknown output type 'q3_k'");
    }

    @Test
    void inspectsAsTextAndJson() {
        String file = TestResources.path("gguf/reference.gguf").toString();
        assertThat(main.run("inspect", file)).isZero();
        assertThat(out()).contains("test.u64", "18446744073709551615", "quant.q8_0");
        out.reset();
        assertThat(main.run("inspect", file, "--json")).isZero();
        assertThat(out()).startsWith("{").contains("\"tensors\"");
    }

    @Test
    void convertsWithProgressOnStderr() {
        Path output = dir.resolve("v.gguf");
        int status = main.run("convert", Fixtures.model("hf-tiny").toString(), "-o", output.toString(),
                "--type", "f16", "--vision-only", "--name", "tiny");
        assertThat(status).as(err()).isZero();
        assertThat(out()).startsWith("wrote " + output).contains("total");
        assertThat(err()).contains("[ 1/", "v.class_embd", "-> f32");
        try (GgufFile gguf = GgufFile.open(output)) {
            assertThat(gguf.metadata().getString("general.name")).isEqualTo("tiny");
            assertThat(gguf.metadata().getBoolean("clip.has_text_encoder")).isFalse();
        }
    }
}
