package dev.clearclip.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import dev.clearclip.cli.Cli;
import dev.clearclip.cli.Fixtures;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code clearclip serve}'s API against the command line on the tiny fixture model: every answer must equal
 * what {@code segment}, {@code classify}, {@code embed} and {@code info --json} give for the same input,
 * and bad requests get a 4xx JSON error and leave the server healthy.
 */
class ServeApiTest {

    @TempDir
    static Path shared;

    static Path model;
    static ClipModel clip;
    static ClearClipServer server;
    static Http http;
    static StringWriter log = new StringWriter();
    static byte[] scene;
    static Path scenePath;

    static final String CLASSES = "sky,blue sky;grass;road";

    @BeforeAll
    static void start() throws IOException {
        System.setProperty("clearclip.cache.dir", shared.resolve("cache").toString());
        model = Fixtures.hfTinyGguf(shared);
        // one thread per context, as the command line below runs with --threads 1: ggml's sums depend on
        // how the work is split between threads, and the answers are compared bit for bit
        clip = ClipModel.load(model, ModelOptions.builder().contexts(2).threads(1).build());
        server = ClearClipServer.start(clip, config(20L << 20, 0, null), new PrintWriter(log, true));
        http = new Http(server.url());
        scene = png(picture(320, 240, 7));
        scenePath = shared.resolve("scene.png");
        Files.write(scenePath, scene);
    }

    static ClearClipServer.Config config(long maxUpload, int queue, String key) {
        return new ClearClipServer.Config("127.0.0.1", 0, maxUpload, 100_000_000L, queue == 0 ? 16 : queue, key, null);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (clip != null) {
            clip.close();
        }
        System.clearProperty("clearclip.cache.dir");
    }

    /** Smooth colour regions with noise, so that a random-weight model still gives several labels. */
    static BufferedImage picture(int w, int h, long seed) {
        Random rnd = new Random(seed);
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int base = y < h / 3 ? 0x4080E0 : x < w / 2 ? 0x30A030 : 0x707070;
                int n = rnd.nextInt(40);
                int r = Math.min(255, (base >> 16 & 255) + n);
                int g = Math.min(255, (base >> 8 & 255) + n);
                int b = Math.min(255, (base & 255) + n);
                image.setRGB(x, y, r << 16 | g << 8 | b);
            }
        }
        return image;
    }

    static byte[] png(BufferedImage image) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    static int[] samples(byte[] png) throws IOException {
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        return image.getRaster().getSamples(0, 0, image.getWidth(), image.getHeight(), 0, (int[]) null);
    }

    static int[] rgb(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

    static Http.Form sceneForm() {
        return new Http.Form().file("image", "scene.png", "image/png", scene).field("classes", CLASSES);
    }

    private void assertHealthy() {
        Http.Response r = http.get("/health");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json().path("status").asText()).isEqualTo("ok");
    }

    @Test
    void healthNamesTheModel() {
        Http.Response r = http.get("/health");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).startsWith("application/json");
        assertThat(r.json().path("model").asText()).isEqualTo(clip.info().name());
    }

    @Test
    void modelGivesTheFactsOfInfoJson() throws IOException {
        Cli info = Cli.run("info", "--json", model.toString());
        assertThat(info.exit()).as(info.err()).isZero();
        JsonNode expected = Http.JSON.readTree(info.out());
        JsonNode got = http.get("/v1/model").json();
        for (Iterator<Map.Entry<String, JsonNode>> it = expected.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("path")) {
                // the server's folders are not shown: only the file's name
                assertThat(got.get("path").asText()).isEqualTo(model.getFileName().toString());
                assertThat(e.getValue().asText()).endsWith(model.getFileName().toString()).isNotEqualTo(got.get("path").asText());
                continue;
            }
            assertThat(got.get(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
        }
        assertThat(got.path("backend").asText()).isEqualTo(clip.backendName());
        assertThat(got.path("contexts").asInt()).isEqualTo(2);
    }

    @Test
    void segmentEqualsTheCommandLine() throws IOException {
        Path out = shared.resolve("cli-segment");
        Cli cli = Cli.run("--threads", "1", "segment", "-m", model.toString(), "--image", scenePath.toString(), "--classes", CLASSES,
                "-o", out.toString());
        assertThat(cli.exit()).as(cli.err()).isZero();
        JsonNode expected = Http.JSON.readTree(out.resolve("scene.json").toFile());

        Http.Response r = http.post("/v1/segment", sceneForm());
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        JsonNode got = r.json();
        assertThat(got.path("width").asInt()).isEqualTo(320);
        assertThat(got.path("height").asInt()).isEqualTo(240);
        assertThat(got.path("settings")).isEqualTo(expected.path("settings"));
        assertThat(got.path("classes").size()).isEqualTo(3);
        for (int c = 0; c < 3; c++) {
            JsonNode g = got.path("classes").get(c);
            JsonNode e = expected.path("classes").get(c);
            assertThat(g.path("name")).isEqualTo(e.path("name"));
            assertThat(g.path("names")).isEqualTo(e.path("names"));
            assertThat(g.path("colour")).isEqualTo(e.path("colour"));
            assertThat(g.path("pixels")).isEqualTo(e.path("pixels"));
            assertThat(g.path("fraction").asDouble()).isEqualTo(e.path("fraction").asDouble());
        }
        byte[] labels = Base64.getDecoder().decode(got.path("labels_png").asText());
        assertThat(samples(labels)).isEqualTo(samples(Files.readAllBytes(out.resolve("scene.labels.png"))));
        // the same palette PNG, byte for byte
        assertThat(labels).isEqualTo(Files.readAllBytes(out.resolve("scene.labels.png")));

        Http.Response overlay = http.post("/v1/segment", sceneForm(), "Accept", "image/png");
        assertThat(overlay.status()).isEqualTo(200);
        assertThat(overlay.header("Content-Type")).startsWith("image/png");
        assertThat(rgb(ImageIO.read(new ByteArrayInputStream(overlay.body()))))
                .isEqualTo(rgb(ImageIO.read(out.resolve("scene.overlay.png").toFile())));
    }

    @Test
    void segmentWithPresetAndOptionsEqualsTheCommandLine() throws IOException {
        Path out = shared.resolve("cli-preset");
        Cli cli = Cli.run("--threads", "1", "segment", "-m", model.toString(), "--image", scenePath.toString(), "--preset", "voc21",
                "--crop", "224", "--stride", "112", "--short-side", "224", "--mode", "maskclip", "--threshold", "0.3",
                "-o", out.toString());
        assertThat(cli.exit()).as(cli.err()).isZero();
        Http.Response r = http.post("/v1/segment", new Http.Form().file("image", "scene.png", "image/png", scene)
                .field("preset", "voc21").field("crop", "224").field("stride", "112").field("short_side", "224")
                .field("mode", "maskclip").field("prob_threshold", "0.3"));
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        JsonNode expected = Http.JSON.readTree(out.resolve("scene.json").toFile());
        assertThat(r.json().path("settings")).isEqualTo(expected.path("settings"));
        assertThat(r.json().path("classes").size()).isEqualTo(21);
        assertThat(samples(Base64.getDecoder().decode(r.json().path("labels_png").asText())))
                .isEqualTo(samples(Files.readAllBytes(out.resolve("scene.labels.png"))));
    }

    @Test
    void segmentsFlagsAsFieldsEqualTheCommandLine() throws IOException {
        // issue #23: every setting of `segment` is a field (flag name, '_' for '-'), read by core's SegmentSettings;
        // max_side as --max-side: computed at 200x150, the label map at the upload's 320x240
        Path out = shared.resolve("cli-fields");
        Cli cli = Cli.run("--threads", "1", "segment", "-m", model.toString(), "--image", scenePath.toString(),
                "--classes", CLASSES, "--method", "naclip", "--pamr-steps", "0", "--naclip-std", "3", "--logit-scale",
                "45", "--threshold", "0.2", "--max-side", "200", "-o", out.toString());
        assertThat(cli.exit()).as(cli.err()).isZero();
        JsonNode expected = Http.JSON.readTree(out.resolve("scene.json").toFile());
        Http.Response r = http.post("/v1/segment", sceneForm().field("method", "NACLIP").field("pamr_steps", "0")
                .field("naclip_std", "3").field("logit_scale", "45").field("threshold", "0.2").field("max_side", "200"));
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        JsonNode got = r.json();
        assertThat(got.path("settings")).isEqualTo(expected.path("settings"));
        for (String key : List.of("width", "height", "computed_width", "computed_height")) {
            assertThat(got.path(key)).as(key).isEqualTo(expected.path(key));
        }
        assertThat(got.path("computed_width").asInt()).isEqualTo(200);
        assertThat(Base64.getDecoder().decode(got.path("labels_png").asText()))
                .isEqualTo(Files.readAllBytes(out.resolve("scene.labels.png")));
        // the method's PAMR is refused (it could not be stopped at the deadline), naming the field to set
        assertError(http.post("/v1/segment", sceneForm().field("method", "naclip")), 400, "bad_option", "pamr_steps=0");
        assertError(http.post("/v1/segment", sceneForm().field("max_side", "0")), 400, "bad_option", "'max_side'");
        assertError(http.post("/v1/segment", sceneForm().field("background", "maybe")), 400, "bad_option", "'background'");
        assertError(http.post("/v1/segment", sceneForm().field("threshold", "0.2").field("prob_threshold", "0.3")), 400,
                "bad_option", "not both");
    }

    @Test
    void classifyEqualsTheCommandLine() throws IOException {
        Cli cli = Cli.run("--threads", "1", "classify", "-m", model.toString(), "--image", scenePath.toString(), "--classes", CLASSES,
                "--json", "-k", "3");
        assertThat(cli.exit()).as(cli.err()).isZero();
        JsonNode expected = Http.JSON.readTree(cli.out()).get(0).path("top");
        Http.Response r = http.post("/v1/classify", sceneForm());
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        JsonNode got = r.json().path("classes");
        assertThat(got.size()).isEqualTo(3);
        for (int i = 0; i < 3; i++) {
            assertThat(got.get(i).path("name")).isEqualTo(expected.get(i).path("name"));
            assertThat(got.get(i).path("probability").asDouble()).isEqualTo(expected.get(i).path("probability").asDouble());
        }
        assertThat(got.get(0).path("probability").asDouble()).isGreaterThanOrEqualTo(got.get(1).path("probability").asDouble());
    }

    @Test
    void embedEqualsTheCommandLine() throws IOException {
        Cli cli = Cli.run("--threads", "1", "embed", "-m", model.toString(), "--text", "a fox", "--text", "café au lait",
                "--image", scenePath.toString());
        assertThat(cli.exit()).as(cli.err()).isZero();
        JsonNode expected = Http.JSON.readTree(cli.out());

        Http.Response json = http.post("/v1/embed", "application/json",
                "{\"text\":[\"a fox\",\"café au lait\"]}".getBytes(StandardCharsets.UTF_8));
        assertThat(json.status()).as(json.text()).isEqualTo(200);
        assertThat(json.json().path("text")).isEqualTo(expected.path("text"));

        // the same batch of texts: the batch size changes the last bits of the sums
        Http.Response form = http.post("/v1/embed", new Http.Form().field("text", "a fox").field("text", "café au lait")
                .file("image", "scene.png", "image/png", scene));
        assertThat(form.status()).as(form.text()).isEqualTo(200);
        assertThat(form.json().path("text")).isEqualTo(expected.path("text"));
        assertThat(form.json().path("image").get(0).path("input").asText()).isEqualTo("scene.png");
        assertThat(form.json().path("image").get(0).path("embedding"))
                .isEqualTo(expected.path("image").get(0).path("embedding"));
    }

    // ---- bad input ----

    /** A PNG whose header claims the given size, with one tiny IDAT: a decompression-bomb header. */
    static byte[] pngHeader(int w, int h) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteArrayOutputStream ihdr = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(ihdr);
        d.writeInt(w);
        d.writeInt(h);
        d.write(new byte[] {8, 2, 0, 0, 0});
        chunk(out, "IHDR", ihdr.toByteArray());
        Deflater deflater = new Deflater();
        deflater.setInput(new byte[64]);
        deflater.finish();
        byte[] buf = new byte[128];
        int n = deflater.deflate(buf);
        chunk(out, "IDAT", Arrays.copyOf(buf, n));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
        DataOutputStream d = new DataOutputStream(out);
        d.writeInt(data.length);
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        d.write(t);
        d.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        d.writeInt((int) crc.getValue());
    }

    private void assertError(Http.Response r, int status, String code, String messagePart) {
        assertThat(r.status()).as(r.text()).isEqualTo(status);
        assertThat(r.header("Content-Type")).startsWith("application/json");
        assertThat(r.errorCode()).as(r.text()).isEqualTo(code);
        assertThat(r.json().path("error").path("message").asText()).contains(messagePart);
        assertHealthy();
    }

    @Test
    void badUploadsGet400AndLeaveTheServerHealthy() throws IOException {
        byte[] truncated = Arrays.copyOf(scene, scene.length / 2);
        assertError(http.post("/v1/segment", new Http.Form().file("image", "cut.png", "image/png", truncated)
                .field("classes", CLASSES)), 400, "bad_image", "cut.png");
        assertError(http.post("/v1/segment", new Http.Form().file("image", "notes.txt", "text/plain",
                "just some text\n".getBytes(StandardCharsets.UTF_8)).field("classes", CLASSES)), 400, "bad_image",
                "not a supported image");
        assertError(http.post("/v1/segment", new Http.Form().file("image", "bomb.png", "image/png",
                pngHeader(100_000, 100_000)).field("classes", CLASSES)), 400, "bad_image", "100000x100000");
        assertError(http.post("/v1/segment", new Http.Form().file("image", "empty.png", "image/png", new byte[0])
                .field("classes", CLASSES)), 400, "bad_image", "empty");
        assertError(http.post("/v1/segment", new Http.Form().field("classes", CLASSES)), 400, "bad_image", "no 'image'");
        assertError(http.post("/v1/segment", new Http.Form().file("image", "scene.png", "image/png", scene)
                .field("classes", " ; ;, ")), 400, "empty_classes", "no classes");
        assertError(http.post("/v1/segment", new Http.Form().file("image", "scene.png", "image/png", scene)),
                400, "empty_classes", "give 'classes'");
        assertError(http.post("/v1/segment", new Http.Form().file("image", "scene.png", "image/png", scene)
                .field("preset", "pascal-voc-99")), 400, "unknown_preset", "pascal-voc-99");
        assertError(http.post("/v1/segment", sceneForm().field("crop", "big")), 400, "bad_option", "crop");
        assertError(http.post("/v1/segment", sceneForm().field("mode", "nonsense")), 400, "bad_option", "nonsense");
        assertError(http.post("/v1/segment", sceneForm().field("stride", "-5")), 400, "bad_option", "stride");
        assertError(http.post("/v1/segment", sceneForm().field("prob_threshold", "high")), 400, "bad_option",
                "prob_threshold");
        // 10 MB of classes: under the upload limit, over the classes limit
        String many = "cat;".repeat(10 * 1024 * 1024 / 4);
        assertError(http.post("/v1/segment", new Http.Form().file("image", "scene.png", "image/png", scene)
                .field("classes", many)), 400, "bad_option", "characters");
        assertError(http.post("/v1/classify", new Http.Form().file("image", "scene.png", "image/png", scene)
                .field("classes", "a\u0000b")), 400, "bad_text", "");
        assertError(http.post("/v1/segment", "application/json", "{}".getBytes(StandardCharsets.UTF_8)), 415,
                "unsupported_media_type", "multipart/form-data");
        assertError(http.post("/v1/embed", "text/plain", "hello".getBytes(StandardCharsets.UTF_8)), 415,
                "unsupported_media_type", "application/json");
        assertError(http.post("/v1/embed", "application/json", "{\"text\":".getBytes(StandardCharsets.UTF_8)), 400,
                "bad_json", "JSON");
        assertError(http.post("/v1/embed", "application/json", "{\"text\":[1]}".getBytes(StandardCharsets.UTF_8)), 400,
                "bad_option", "string");
        assertError(http.post("/v1/segment", "multipart/form-data; boundary=xyz",
                "garbage without parts".getBytes(StandardCharsets.UTF_8)), 400, "bad_multipart", "multipart");
        assertError(http.get("/v1/nothing"), 404, "not_found", "/v1/nothing");
        assertError(http.get("/v1/segment"), 405, "method_not_allowed", "GET");
        assertThat(log.toString()).doesNotContain("internal error");
    }

    @Test
    void uploadsOverTheLimitGet413() throws IOException {
        try (ClearClipServer small = ClearClipServer.start(clip, config(1L << 20, 0, null), new PrintWriter(log, true))) {
            Http h = new Http(small.url());
            byte[] big = new byte[2 << 20];
            new Random(1).nextBytes(big);
            Http.Response r = h.post("/v1/segment", new Http.Form().file("image", "big.png", "image/png", big)
                    .field("classes", CLASSES));
            assertThat(r.status()).as(r.text()).isEqualTo(413);
            assertThat(r.errorCode()).isEqualTo("too_large");
            assertThat(h.get("/health").status()).isEqualTo(200);
            // a picture under the limit still works
            assertThat(h.post("/v1/segment", sceneForm()).status()).isEqualTo(200);
        }
    }

    @Test
    void apiKeyIsRequiredWhereSet() {
        try (ClearClipServer keyed = ClearClipServer.start(clip, config(20L << 20, 0, "s3cret"), new PrintWriter(log, true))) {
            Http h = new Http(keyed.url());
            assertThat(h.get("/health").status()).isEqualTo(200);
            assertThat(h.get("/").status()).isEqualTo(200);
            Http.Response none = h.post("/v1/segment", sceneForm());
            assertThat(none.status()).isEqualTo(401);
            assertThat(none.errorCode()).isEqualTo("unauthorized");
            assertThat(h.post("/v1/segment", sceneForm(), "Authorization", "Bearer wrong").status()).isEqualTo(401);
            assertThat(h.get("/metrics").status()).isEqualTo(401);
            assertThat(h.get("/v1/model").status()).isEqualTo(401);
            assertThat(h.post("/v1/segment", sceneForm(), "Authorization", "Bearer s3cret").status()).isEqualTo(200);
            assertThat(h.post("/v1/classify", sceneForm(), "X-API-Key", "s3cret").status()).isEqualTo(200);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void corsAllowsTheConfiguredOriginOnly() throws IOException {
        ClearClipServer.Config c = new ClearClipServer.Config("127.0.0.1", 0, 20L << 20, 100_000_000L, 16, null,
                "https://app.example");
        try (ClearClipServer s = ClearClipServer.start(clip, c, new PrintWriter(log, true))) {
            Http h = new Http(s.url());
            Http.Response ok = h.get("/health", "Origin", "https://app.example");
            assertThat(ok.header("Access-Control-Allow-Origin")).isEqualTo("https://app.example");
            Http.Response other = h.get("/health", "Origin", "https://evil.example");
            assertThat(other.header("Access-Control-Allow-Origin")).isNull();
            Http.Response pre = h.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(s.url() + "/v1/segment"))
                    .method("OPTIONS", java.net.http.HttpRequest.BodyPublishers.noBody()),
                    "Origin", "https://app.example", "Access-Control-Request-Method", "POST");
            assertThat(pre.status()).isEqualTo(204);
            assertThat(pre.header("Access-Control-Allow-Methods")).contains("POST");
        }
        // without --cors no browser origin is allowed
        assertThat(http.get("/health", "Origin", "https://app.example").header("Access-Control-Allow-Origin")).isNull();
    }

    @Test
    void theWebPageIsServedFromTheJar() {
        Http.Response r = http.get("/");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).startsWith("text/html");
        assertThat(r.text()).contains("<form").contains("v1/segment").doesNotContain("http://").doesNotContain("https://");
    }

    @Test
    void metricsCountRequestsLatencyAndWindows() {
        assertThat(http.post("/v1/segment", sceneForm()).status()).isEqualTo(200);
        http.get("/v1/nothing");
        Http.Response r = http.get("/metrics");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("Content-Type")).startsWith("text/plain");
        String m = r.text();
        assertThat(m).containsPattern("clearclip_http_requests_total\\{method=\"POST\",route=\"/v1/segment\",status=\"200\"\\} [1-9]");
        assertThat(m).contains("clearclip_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}");
        assertThat(m).containsPattern("clearclip_http_request_duration_seconds_bucket\\{route=\"/v1/segment\",le=\"\\+Inf\"\\} [1-9]");
        assertThat(m).contains("clearclip_queue_depth 0");
        assertThat(server.metrics().windows()).isPositive();
        assertThat(m).containsPattern("clearclip_windows_total [1-9]");
    }

    @Test
    void aFullQueueGets503WithRetryAfter() throws Exception {
        ClearClipServer.Config c = new ClearClipServer.Config("127.0.0.1", 0, 20L << 20, 100_000_000L, 0, null, null);
        try (ClipModel one = ClipModel.load(model, ModelOptions.builder().contexts(1).threads(1).build());
             ClearClipServer s = ClearClipServer.start(one, c, new PrintWriter(log, true))) {
            Http h = new Http(s.url());
            // a big picture keeps the one context busy for many windows
            byte[] large = png(picture(1600, 1200, 3));
            List<Thread> threads = new ArrayList<>();
            List<Http.Response> responses = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int i = 0; i < 6; i++) {
                Thread t = new Thread(() -> responses.add(h.post("/v1/segment", new Http.Form()
                        .file("image", "large.png", "image/png", large).field("classes", CLASSES)
                        .field("short_side", "0"))));
                threads.add(t);
                t.start();
            }
            for (Thread t : threads) {
                t.join();
            }
            assertThat(responses).extracting(Http.Response::status).containsOnly(200, 503).contains(200, 503);
            for (Http.Response r : responses) {
                if (r.status() == 503) {
                    assertThat(r.header("Retry-After")).isNotNull();
                    assertThat(r.errorCode()).isEqualTo("busy");
                }
            }
            assertThat(h.get("/health").status()).isEqualTo(200);
            long refused = responses.stream().filter(r -> r.status() == 503).count();
            assertThat(h.get("/metrics").text()).contains("clearclip_rejected_total " + refused + "\n");
        }
    }
}
