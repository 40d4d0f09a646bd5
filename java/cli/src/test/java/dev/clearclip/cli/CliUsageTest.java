package dev.clearclip.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exit codes and messages of command lines that are wrong or point at bad files; no model is needed. */
class CliUsageTest {

    @TempDir
    Path tmp;

    @BeforeEach
    void isolateCache() {
        System.setProperty("clearclip.cache.dir", tmp.resolve("cache").toString());
    }

    @AfterEach
    void restoreCache() {
        System.clearProperty("clearclip.cache.dir");
    }

    @Test
    void helpAndVersionExitZero() {
        Cli help = Cli.run("--help");
        assertThat(help.exit()).isZero();
        assertThat(help.out()).contains("segment", "pull", "convert", "quantize", "info", "tokenize", "embed",
                "features", "classify");
        assertThat(Cli.run("segment", "--help").out()).contains("--classes-file", "--preset", "--image", "-o");
        assertThat(Cli.run("--version").exit()).isZero();
    }

    @Test
    void usageErrorsExitTwo() {
        assertThat(Cli.run().exit()).isEqualTo(2);
        assertThat(Cli.run("frobnicate").exit()).isEqualTo(2);
        assertThat(Cli.run("quantize", "in.gguf", "-o", "out.gguf").exit()).isEqualTo(2); // --type missing
        Cli noClasses = Cli.run("segment", "-m", "x.gguf", "--image", "a.png");
        assertThat(noClasses.exit()).isEqualTo(2);
        assertThat(noClasses.err()).contains("specify one of these").contains("--classes=LIST | --classes-file=FILE | --preset=NAME");
        Cli twoSources = Cli.run("segment", "-m", "x.gguf", "--image", "a.png", "--classes", "a;b", "--preset", "voc21");
        assertThat(twoSources.exit()).isEqualTo(2);
        assertThat(twoSources.err()).contains("--classes=LIST, --preset=NAME are mutually exclusive");
        Cli badPreset = Cli.run("segment", "-m", "x.gguf", "--image", "a.png", "--preset", "voc99");
        assertThat(badPreset.exit()).isEqualTo(2);
        assertThat(badPreset.err()).contains("Invalid value for option '--preset': unknown preset 'voc99'").contains("voc21")
                .contains("Usage: clearclip segment");
        Cli badType = Cli.run("convert", tmp.toString(), "-o", "x.gguf", "--type", "q3_k");
        assertThat(badType.exit()).isEqualTo(2);
        assertThat(badType.err()).contains("--type");
        Cli badMode = Cli.run("features", "-m", "x.gguf", "--image", "a.png", "-o", "f.npy", "--mode", "fancy");
        assertThat(badMode.exit()).isEqualTo(2);
        assertThat(badMode.err()).contains("clearclip, vanilla, maskclip, sclip");
        Cli badMethod = Cli.run("segment", "-m", "x.gguf", "--image", "a.png", "--classes", "a", "--method", "fancy");
        assertThat(badMethod.exit()).isEqualTo(2);
        assertThat(badMethod.err()).contains("Invalid value for option '--method': unknown method 'fancy' (expected one of "
                + "clearclip, naclip, sclip, maskclip)");
        Cli badDataset = Cli.run("eval", "-m", "x.gguf", "--root", tmp.toString(), "--dataset", "imagenet");
        assertThat(badDataset.exit()).isEqualTo(2);
        assertThat(badDataset.err()).contains("unknown dataset 'imagenet'").contains("ade20k");
        Cli badThreads = Cli.run("--threads", "many", "info", "x.gguf");
        assertThat(badThreads.exit()).isEqualTo(2);
    }

    @Test
    void runtimeErrorsNameTheFileWithoutStackTrace() throws IOException {
        Path notGguf = tmp.resolve("notes.gguf");
        Files.writeString(notGguf, "hello, not a model");
        Cli info = Cli.run("info", notGguf.toString());
        assertThat(info.exit()).isEqualTo(1);
        assertThat(info.err()).startsWith("clearclip: error: ").contains(notGguf.toString()).doesNotContain("\tat ");

        Cli verbose = Cli.run("--verbose", "info", notGguf.toString());
        assertThat(verbose.exit()).isEqualTo(1);
        assertThat(verbose.err()).contains("\tat ");

        Path missing = tmp.resolve("nothing-here");
        Cli convert = Cli.run("convert", missing.toString(), "-o", tmp.resolve("o.gguf").toString());
        assertThat(convert.exit()).isEqualTo(1);
        assertThat(convert.err()).contains(missing.toString());

        Cli tokenize = Cli.run("tokenize", "-m", missing.toString(), "hello");
        assertThat(tokenize.exit()).isEqualTo(1);
        assertThat(tokenize.err()).contains(missing + ": no such file");
    }

    @Test
    void withoutAModelTheCommandsSayHowToGetOne() {
        Cli seg = Cli.run("segment", "--image", "a.png", "--classes", "cat;dog");
        assertThat(seg.exit()).isEqualTo(1);
        assertThat(seg.err()).contains("no default model", "clearclip.jar pull openai/clip-vit-base-patch16",
                "convert CHECKPOINT_DIR");
    }
}
