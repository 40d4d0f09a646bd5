package dev.clearclip.cli.commands;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.clearclip.cli.Cli;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.TinyModelCliTest;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** segment's per-window progress, stopping it (thread interrupt, SIGINT) and ggml's lines only with --verbose. */
class ProgressAndStopCliTest extends TinyModelCliTest {


    private Path picture(String name, int w, int h) throws IOException {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.setRGB(x, y, (x * 7 + y * 13) % 251 << 16 | (x ^ y) & 0xff);
            }
        }
        Path file = tmp.resolve(name);
        ImageIO.write(image, "png", file.toFile());
        return file;
    }

    /** The reference pipeline's (mmseg slide inference) window count along one axis: max(size - crop + stride - 1, 0) / stride + 1. */
    static int windows(int size, int crop, int stride) {
        return Math.max(size - crop + stride - 1, 0) / stride + 1;
    }

    @Test
    void aSinglePictureShowsItsWindowsAsProgress() throws IOException {
        Path pic = picture("wide.png", 1200, 300);
        // short side 300 -> 448: 1792 x 448 (mmcv rounding), windows of 448 at stride 224
        int expected = windows((int) (1200 * (448.0 / 300) + 0.5), 448, 224) * windows(448, 448, 224);
        Cli r = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "sky;grass",
                "-o", tmp.resolve("out").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("segmenting wide.png [", expected + "/" + expected, "100%");
        assertThat(r.out()).contains("wrote ");
    }

    @Test
    void nativeLogLinesAppearOnlyWithVerbose() throws IOException {
        // the engine logs one debug line per context it makes ("clearclip: context on CPU ...")
        Cli quiet = Cli.run("embed", "-m", model.toString(), "--text", "a photo");
        assertThat(quiet.exit()).as(quiet.err()).isZero();
        assertThat(quiet.err()).doesNotContain("clearclip: context on");

        Cli verbose = Cli.run("--verbose", "embed", "-m", model.toString(), "--text", "a photo");
        assertThat(verbose.exit()).as(verbose.err()).isZero();
        assertThat(verbose.err()).contains("clearclip: context on");

        // and not left on for the next run in this JVM
        Cli again = Cli.run("embed", "-m", model.toString(), "--text", "a photo");
        assertThat(again.err()).doesNotContain("clearclip: context on");

        // a corrupt file: one clean line naming it, with or without --verbose (the engine's own GGUF
        // check refuses it before ggml's reader could print anything)
        Path cut = tmp.resolve("cut.gguf");
        Files.write(cut, Arrays.copyOf(Files.readAllBytes(model), 200));
        Cli bad = Cli.run("tokenize", "-m", cut.toString(), "a photo");
        assertThat(bad.exit()).isEqualTo(1);
        assertThat(bad.err()).doesNotContain("gguf_").startsWith("clearclip: error: ").contains(cut.toString());
        assertThat(bad.err().strip().lines()).hasSize(1);
        // --verbose adds the stack trace, but ggml still has nothing to say about the file
        Cli badVerbose = Cli.run("--verbose", "tokenize", "-m", cut.toString(), "a photo");
        assertThat(badVerbose.exit()).isEqualTo(1);
        assertThat(badVerbose.err()).doesNotContain("gguf_").startsWith("clearclip: error: ").contains(cut.toString());
    }

    @Test
    void anInterruptStopsTheSegmentationCleanly() throws Exception {
        Path pic = picture("big.png", 1400, 900); // 6 x 4 windows
        Path out = tmp.resolve("out");
        StringWriter err = new StringWriter();
        StringWriter stdout = new StringWriter();
        AtomicInteger exit = new AtomicInteger(-1);
        boolean[] flagAfter = new boolean[1];
        Thread runner = new Thread(() -> {
            exit.set(Main.run(new String[] {"segment", "-m", model.toString(), "--image", pic.toString(), "--classes",
                    "sky;grass", "--short-side", "0", "-o", out.toString()},
                    new PrintWriter(stdout, true), new PrintWriter(err, true)));
            flagAfter[0] = Thread.currentThread().isInterrupted();
        });
        runner.start();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!err.toString().contains("segmenting big.png") && runner.isAlive() && System.nanoTime() < until) {
            Thread.sleep(20);
        }
        runner.interrupt();
        runner.join(60_000);
        assertThat(runner.isAlive()).isFalse();
        assertThat(exit.get()).as(err.toString()).isEqualTo(1);
        assertThat(err.toString()).contains("clearclip: stopped: ", "interrupted").doesNotContain("\tat ");
        assertThat(stdout.toString()).doesNotContain("wrote");
        assertThat(flagAfter[0]).as("the command cleared the interrupt it handled").isFalse();
        assertThat(out.resolve("big.json")).doesNotExist();
    }

    @Test
    @EnabledOnOs(OS.LINUX)
    void ctrlCStopsTheProcessCleanly() throws Exception {
        // A shell without job control starts background commands with SIGINT ignored ('mvn ... &' in a
        // script); the child inherits that, the JVM then installs no handler, and kill -INT does nothing.
        // GNU env (coreutils 8.31+) can give the child the default action back; without it the test is skipped.
        List<String> restoreSigint = List.of();
        if (sigintIgnoredHere()) {
            restoreSigint = List.of("env", "--default-signal=INT");
            assumeThat(runs(restoreSigint)).as("SIGINT is ignored here and 'env --default-signal' is missing").isTrue();
        }
        Path pic = picture("huge.png", 2400, 1600); // 10 x 7 windows
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(restoreSigint);
        command.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Djava.awt.headless=true",
                "-Dclearclip.cache.dir=" + shared.resolve("cache"), "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "segment", "-m", model.toString(), "--image", pic.toString(),
                "--classes", "sky;grass", "--short-side", "0", "-o", tmp.resolve("out").toString()));
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        StringBuilder err = new StringBuilder();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getErrorStream()) {
                byte[] buf = new byte[4096];
                for (int n; (n = in.read(buf)) > 0; ) {
                    synchronized (err) {
                        err.append(new String(buf, 0, n, StandardCharsets.UTF_8));
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        });
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (p.isAlive() && System.nanoTime() < until) {
            synchronized (err) {
                if (err.toString().contains("segmenting huge.png")) {
                    break;
                }
            }
            Thread.sleep(20);
        }
        assertThat(p.isAlive()).as("still segmenting when the signal is sent: %s", err).isTrue();
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        boolean ended = p.waitFor(30, TimeUnit.SECONDS);
        if (!ended) {
            p.destroyForcibly();
        }
        reader.join(10_000);
        assertThat(ended).as("the process ended after SIGINT: %s", err).isTrue();
        assertThat(p.exitValue()).isEqualTo(130); // 128 + SIGINT: the JVM's exit on the signal
        assertThat(err.toString()).contains("clearclip: stopped by a signal (Ctrl-C)").doesNotContain("\tat ")
                .doesNotContain("hs_err");
    }

    /** Whether {@code prefix true} runs and exits 0. */
    static boolean runs(List<String> prefix) {
        List<String> command = new ArrayList<>(prefix);
        command.add("true");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Whether this process ignores SIGINT (signal 2: bit 1 of the SigIgn mask in /proc/self/status). */
    static boolean sigintIgnoredHere() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("SigIgn:")) {
                return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & 0x2) != 0;
            }
        }
        return false;
    }
}
