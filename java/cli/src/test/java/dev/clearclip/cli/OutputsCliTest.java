package dev.clearclip.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/** Issue #10: honest outputs and the small things of the command line, on the tiny fixture model. */
class OutputsCliTest extends TinyModelCliTest {

    private Path picture(Path file, int w, int h, String format) throws IOException {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                image.setRGB(x, y, x < w / 2 ? 0x3060C0 : 0x40A040);
            }
        }
        Files.createDirectories(file.getParent());
        assertThat(ImageIO.write(image, format, file.toFile())).isTrue();
        return file;
    }

    private Path picture(String name, int w, int h) throws IOException {
        return picture(tmp.resolve(name), w, h, "png");
    }

    private static int[] size(Path png) throws IOException {
        BufferedImage b = ImageIO.read(png.toFile());
        return new int[] {b.getWidth(), b.getHeight()};
    }

    @Test
    void aReducedComputationIsScaledBackToThePictureAndReported() throws IOException {
        Path pic = picture("big.png", 900, 600);
        Path out = tmp.resolve("out");
        Cli r = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "a;b",
                "--max-side", "300", "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(size(out.resolve("big.labels.png"))).containsExactly(900, 600);
        JsonNode json = Json.MAPPER.readTree(out.resolve("big.json").toFile());
        assertThat(json.get("width").asInt()).isEqualTo(900);
        assertThat(json.get("computed_width").asInt()).isEqualTo(300);
        assertThat(json.get("computed_height").asInt()).isEqualTo(200);
        long pixels = 0;
        for (JsonNode c : json.get("classes")) {
            pixels += c.get("pixels").asLong();
        }
        assertThat(pixels).isEqualTo(900 * 600);
        assertThat(r.err()).contains("warning: " + pic + ": 900x600 is longer than 300 px: computed at 300x200");

        // no reduction: nothing reported
        Cli plain = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "a;b",
                "-o", out.toString());
        assertThat(plain.exit()).as(plain.err()).isZero();
        assertThat(Json.MAPPER.readTree(out.resolve("big.json").toFile()).has("computed_width")).isFalse();
        assertThat(plain.err()).doesNotContain("warning");
    }

    @Test
    void anExtremeAspectRatioWorksAtThePictureSizeWithAWarning() throws IOException {
        // used to fail: "resized image 448x149333 exceeds 16384 per side", without the file's name
        Path pic = picture("strip.png", 3, 1000);
        Path out = tmp.resolve("strip");
        Cli r = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "a;b",
                "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(size(out.resolve("strip.labels.png"))).containsExactly(3, 1000);
        JsonNode json = Json.MAPPER.readTree(out.resolve("strip.json").toFile());
        assertThat(json.get("settings").get("short_side").asInt()).isEqualTo(16384 * 3 / 1000);
        assertThat(r.err()).contains(pic + ": aspect ratio 3x1000: short side 49 instead of 448");
    }

    @Test
    void overlongClassNamesAreWarnedAboutAndListed() throws IOException {
        Path pic = picture("p.png", 64, 48);
        Path out = tmp.resolve("long");
        String longName = "cat ".repeat(80).trim();
        Cli r = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes",
                "fox;" + longName, "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.err()).contains("warning: 1 class name(s) too long for the model's 77-token prompts");
        JsonNode json = Json.MAPPER.readTree(out.resolve("p.json").toFile());
        assertThat(json.get("overlong_names").toString()).isEqualTo("[\"" + longName + "\"]");
    }

    @Test
    void sameFileNamesInTwoFoldersGetOutputsThatNameTheirFolder() throws IOException {
        Path a = picture(tmp.resolve("in/a/x.png"), 40, 30, "png");
        Path b = picture(tmp.resolve("in/b/x.png"), 50, 30, "png");
        Path c = picture(tmp.resolve("in/b/y.png"), 30, 30, "png");
        Path out = tmp.resolve("out");
        Cli r = Cli.run("segment", "-m", model.toString(), "--image", a.toString(), b.toString(), c.toString(),
                "--classes", "a;b", "-o", out.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(Json.MAPPER.readTree(out.resolve("a/x.png.json").toFile()).get("image").asText()).isEqualTo(a.toString());
        assertThat(Json.MAPPER.readTree(out.resolve("b/x.png.json").toFile()).get("image").asText()).isEqualTo(b.toString());
        assertThat(size(out.resolve("b/x.png.labels.png"))).containsExactly(50, 30);
        assertThat(out.resolve("y.json")).exists(); // a unique name stays short
        // the console summary: one line per picture with its largest classes and their shares
        assertThat(r.out().lines().filter(l -> l.startsWith(a + ": ") && l.matches(".*\\d+\\.\\d%.*")).count()).isOne();
        assertThat(r.out()).contains("segmented 3 of 3 pictures");
    }

    @Test
    void classifyTakesFoldersAndGlobsAndTiffIsFoundInFolders() throws IOException {
        Path dir = tmp.resolve("pics");
        picture(dir.resolve("one.png"), 40, 30, "png");
        picture(dir.resolve("two.tif"), 40, 30, "tiff");
        Cli folder = Cli.run("classify", "-m", model.toString(), "--image", dir.toString(), "--classes", "a;b", "--json");
        assertThat(folder.exit()).as(folder.err()).isZero();
        JsonNode all = Json.MAPPER.readTree(folder.out());
        assertThat(all).hasSize(2);
        assertThat(all.get(1).get("image").asText()).endsWith("two.tif");
        Cli glob = Cli.run("classify", "-m", model.toString(), "--image", dir + "/*.png", "--classes", "a;b", "--json");
        assertThat(glob.exit()).as(glob.err()).isZero();
        assertThat(Json.MAPPER.readTree(glob.out())).hasSize(1);
    }

    @Test
    void emptyClassesAndMaxSideZeroAreUsageErrorsNamingTheOption() throws IOException {
        Path pic = picture("u.png", 20, 20);
        Cli empty = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "", "-o",
                tmp.toString());
        assertThat(empty.exit()).isEqualTo(2);
        assertThat(empty.err()).contains("--classes");
        Cli emptyClassify = Cli.run("classify", "-m", model.toString(), "--image", pic.toString(), "--classes", " ; ");
        assertThat(emptyClassify.exit()).isEqualTo(2);
        assertThat(emptyClassify.err()).contains("--classes");
        Cli side = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "a", "--max-side",
                "0", "-o", tmp.toString());
        assertThat(side.exit()).isEqualTo(2);
        assertThat(side.err()).contains("--max-side must be within 1..16384, got 0");
    }

    @Test
    void quantizeRefusesToOverwriteItsInputAndGroupsItsNotes() throws IOException {
        Path copy = Files.copy(model, tmp.resolve("m.gguf"));
        byte[] before = Files.readAllBytes(copy);
        Cli same = Cli.run("quantize", copy.toString(), "-o", tmp.resolve("./m.gguf").toString(), "--type", "q8_0");
        assertThat(same.exit()).isEqualTo(2);
        assertThat(same.err()).contains("is the input file");
        assertThat(Files.readAllBytes(copy)).isEqualTo(before);

        Path q8 = tmp.resolve("q8.gguf");
        assertThat(Cli.run("quantize", copy.toString(), "-o", q8.toString(), "--type", "q8_0").exit()).isZero();
        Cli re = Cli.run("quantize", q8.toString(), "-o", tmp.resolve("q4.gguf").toString(), "--type", "q4_0");
        assertThat(re.exit()).as(re.err()).isZero();
        long notes = re.err().lines().filter(l -> l.startsWith("note:")).count();
        assertThat(notes).isBetween(1L, 2L); // one per kind of note, not one per tensor
        assertThat(re.err()).containsPattern("note: \\d+ tensors are re-encoded from q8_0");

        Cli help = Cli.run("quantize", "--help");
        assertThat(help.out().replaceAll("\\s+", " ")).contains("token and patch embeddings take the type",
                "position embeddings", "stay f32");
    }

    @Test
    void infoNamesTheFileTypeAndVersionNamesGgml() throws IOException {
        Path q8 = tmp.resolve("v8.gguf");
        assertThat(Cli.run("quantize", model.toString(), "-o", q8.toString(), "--type", "q8_0").exit()).isZero();
        Cli info = Cli.run("info", q8.toString());
        assertThat(info.out()).containsPattern("general\\.file_type\\s+\\S+\\s+7 \\(q8_0\\)");

        Cli v = Cli.run("--version");
        assertThat(v.exit()).isZero();
        assertThat(v.out()).doesNotContain("development build", "unknown version");
        assertThat(v.out()).containsPattern("clearclip \\d+\\.\\d+\\.\\d+");
        assertThat(v.out()).containsPattern("engine: clearclip \\S+; ggml \\d+\\.\\d+");
    }

    @Test
    void threadsAndBackendAreOfferedOnlyWhereTheyAct() {
        for (String cmd : new String[] {"convert", "quantize", "info", "tokenize", "pull"}) {
            Cli help = Cli.run(cmd, "--help");
            assertThat(help.out()).as(cmd).doesNotContain("--threads", "--backend");
        }
        for (String cmd : new String[] {"embed", "features", "segment", "classify", "eval", "bench", "serve"}) {
            Cli help = Cli.run(cmd, "--help");
            assertThat(help.out()).as(cmd).contains("--threads", "--backend");
        }
        assertThat(Cli.run("info", "--threads", "2", model.toString()).exit()).isEqualTo(2);
        // before the command name they are still accepted, as before
        assertThat(Cli.run("--threads", "1", "embed", "-m", model.toString(), "--text", "x").exit()).isZero();
        assertThat(Cli.run("embed", "--threads", "1", "--backend", "cpu", "-m", model.toString(), "--text", "x").exit())
                .isZero();
    }

    private static long files(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    @Test
    void theTextCacheCanBeMovedOrSwitchedOff() throws IOException {
        Path pic = picture("t.png", 32, 32);
        Path cache = tmp.resolve("my-cache");
        Cli moved = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "owl;newt",
                "--text-cache", cache.toString(), "-o", tmp.resolve("o1").toString());
        assertThat(moved.exit()).as(moved.err()).isZero();
        try (Stream<Path> s = Files.walk(cache)) {
            assertThat(s.filter(Files::isRegularFile).count()).isPositive();
        }
        // switched off: the default cache (clearclip.cache.dir of these tests) gets no entry for new names
        Path standard = shared.resolve("cache");
        long before = files(standard);
        Cli none = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "quokka;axolotl",
                "--no-text-cache", "-o", tmp.resolve("o2").toString());
        assertThat(none.exit()).as(none.err()).isZero();
        assertThat(files(standard)).isEqualTo(before);
        Cli on = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "quokka;axolotl",
                "-o", tmp.resolve("o3").toString());
        assertThat(on.exit()).as(on.err()).isZero();
        assertThat(files(standard)).isGreaterThan(before);
        Path off = tmp.resolve("off-cache");
        Cli both = Cli.run("segment", "-m", model.toString(), "--image", pic.toString(), "--classes", "owl",
                "--no-text-cache", "--text-cache", off.toString(), "-o", tmp.toString());
        assertThat(both.exit()).isEqualTo(2);
    }
}
