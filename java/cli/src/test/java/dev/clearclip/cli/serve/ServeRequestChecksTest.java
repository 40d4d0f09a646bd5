package dev.clearclip.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import dev.clearclip.cli.Cli;
import dev.clearclip.cli.Fixtures;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code clearclip serve} against a hostile client (issue 20), findings 4-8 of the attack report: bodies
 * counted whatever their framing, names bounded, options the engine cannot take, the README's curl example,
 * and the smaller checks (multipart, keys, stopping, JSON, Host and Origin). The helpers are
 * {@link ServeHostileTest}'s; loopback only, each test bounded in time.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServeRequestChecksTest {

    @TempDir
    static Path shared;

    static ClipModel clip;
    static byte[] scene;

    @BeforeAll
    static void load() throws IOException {
        clip = ClipModel.load(Fixtures.hfTinyGguf(shared), ModelOptions.builder().contexts(1).threads(1)
                .textCacheDir(shared.resolve("text-cache")).build());
        scene = ServeHostileTest.scenePng();
    }

    @AfterAll
    static void close() {
        if (clip != null) {
            clip.close();
        }
    }

    static ClearClipServer.Config config() {
        return ServeHostileTest.config();
    }

    static Http.Form sceneForm() {
        return new Http.Form().file("image", "scene.png", "image/png", scene).field("classes", "sky;grass;road");
    }

    static Http.Form longForm() throws IOException {
        return ServeHostileTest.longForm();
    }

    static String raw(int port, String head, byte[] body) throws IOException {
        return ServeHostileTest.raw(port, head, body);
    }

    static int status(String answer) {
        return ServeHostileTest.status(answer);
    }

    static void awaitRunning(Http http, int n) throws InterruptedException {
        ServeHostileTest.awaitRunning(http, n);
    }

    // ---- finding 4: chunked bodies ----

    @Test
    void chunkedBodiesAreCountedAgainstTheUploadLimit() throws Exception {
        try (ClearClipServer server = ClearClipServer.start(clip, config(), new PrintWriter(new StringWriter(), true))) {
            Http http = new Http(server.url());
            // a 6 MiB JSON body without Content-Length (chunked) on a 2 MiB server
            StringBuilder json = new StringBuilder("{\"text\":[");
            String item = "\"" + "a".repeat(1000) + "\",";
            while (json.length() < (6 << 20)) {
                json.append(item);
            }
            json.append("\"end\"]}");
            byte[] bytes = json.toString().getBytes(StandardCharsets.UTF_8);
            Http.Response r = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/v1/embed"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(bytes))));
            assertThat(r.status()).as(r.text()).isEqualTo(413);
            assertThat(r.errorCode()).isEqualTo("too_large");
            assertThat(r.json().path("error").path("message").asText()).contains("--max-upload-mb");
            assertThat(http.get("/health").status()).isEqualTo(200);
        }
    }

    // ---- finding 5: names, not classes ----

    @Test
    void oneClassWithTenThousandSynonymsIsRefusedByTheNameLimit() throws Exception {
        try (ClearClipServer server = ClearClipServer.start(clip, config(), new PrintWriter(new StringWriter(), true))) {
            StringBuilder names = new StringBuilder("thing");
            for (int i = 0; i < 10_000; i++) {
                names.append(",n").append(i);
            }
            assertThat(names.length()).isLessThan(RequestReader.MAX_CLASSES_CHARS);
            long start = System.nanoTime();
            Http.Response r = new Http(server.url()).post("/v1/segment", new Http.Form()
                    .file("image", "scene.png", "image/png", scene).field("classes", names.toString()));
            assertThat(r.status()).as(r.text()).isEqualTo(400);
            assertThat(r.json().path("error").path("message").asText()).contains("10001 names").contains("at most 2000");
            assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(3));
        }
    }

    // ---- finding 6: crop above the engine's side ----

    @Test
    void aCropAboveTheEnginesLargestSideIsABadOption() throws Exception {
        try (ClearClipServer server = ClearClipServer.start(clip, config(), new PrintWriter(new StringWriter(), true))) {
            Http.Response r = new Http(server.url()).post("/v1/segment", sceneForm().field("crop", "16385"));
            assertThat(r.status()).as(r.text()).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("bad_option");
            assertThat(r.json().path("error").path("message").asText()).contains("at most 16384");
        }
    }

    // ---- finding 7: the README's curl example ----

    @Test
    void theReadmesCurlExamplesSendClassesAsAStringField() throws IOException {
        Path page = Path.of("../../docs/server.md");
        assertThat(page).exists();
        int examples = 0;
        for (String line : Files.readAllLines(page)) {
            if (line.contains("curl") && line.contains("classes=")) {
                // with -F, curl reads ';' as the start of a part option and sends only the first class
                assertThat(line).as(line).doesNotContainPattern("-F\\s+'?classes=").contains("--form-string");
                examples++;
            }
        }
        assertThat(examples).as("curl examples with classes in %s", page).isPositive();
    }

    // ---- finding 8: the smaller ones ----

    @Test
    void multipartWithoutBoundaryAndUpperCaseMediaType() throws Exception {
        try (ClearClipServer server = ClearClipServer.start(clip, config(), new PrintWriter(new StringWriter(), true))) {
            Http http = new Http(server.url());
            Http.Form form = sceneForm();
            Http.Response none = http.post("/v1/segment", "multipart/form-data", form.body());
            assertThat(none.status()).as(none.text()).isEqualTo(400);
            assertThat(none.errorCode()).isEqualTo("bad_multipart");
            assertThat(none.json().path("error").path("message").asText()).contains("no boundary");
            Http.Response upper = http.post("/v1/segment", form.contentType().replace("multipart/form-data",
                    "MULTIPART/FORM-DATA").replace("boundary=", "BOUNDARY="), form.body());
            assertThat(upper.status()).as(upper.text()).isEqualTo(200);
        }
    }

    @Test
    void healthWithASlashIsOpenAndAnEmptyXApiKeyDoesNotHideTheBearerKey() throws Exception {
        ClearClipServer.Config c = new ClearClipServer.Config("127.0.0.1", 0, 2L << 20, 100_000_000L, 1, "k3y", null);
        try (ClearClipServer server = ClearClipServer.start(clip, c, new PrintWriter(new StringWriter(), true))) {
            Http http = new Http(server.url());
            assertThat(http.get("/health/").status()).isEqualTo(200);
            assertThat(http.get("/v1/model/").status()).isEqualTo(401);
            assertThat(http.get("/v1/model", "X-API-Key", "", "Authorization", "Bearer k3y").status()).isEqualTo(200);
            assertThat(http.get("/v1/model", "X-API-Key", "k3y", "Authorization", "Bearer wrong").status()).isEqualTo(200);
            assertThat(http.get("/v1/model", "X-API-Key", "", "Authorization", "Bearer wrong").status()).isEqualTo(401);
            // with a key the Host is not checked (a reverse proxy may use any name)
            assertThat(status(raw(server.port(), "GET /health HTTP/1.1\r\nHost: proxy.example\r\nConnection: close\r\n\r\n",
                    null))).isEqualTo(200);
        }
    }

    @Test
    void healthIs503WhileStoppingAndTheRunningRequestStillFinishes() throws Exception {
        ClearClipServer server = ClearClipServer.start(clip, config(), new PrintWriter(new StringWriter(), true));
        try {
            Http http = new Http(server.url());
            CompletableFuture<Http.Response> running = CompletableFuture.supplyAsync(() -> {
                try {
                    return http.post("/v1/segment", longForm());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, Thread::startVirtualThread);
            awaitRunning(http, 1);
            CompletableFuture<Void> closing = CompletableFuture.runAsync(server::close, Thread::startVirtualThread);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            int seen = 0;
            while (seen != 503 && System.nanoTime() < deadline && !running.isDone()) {
                seen = http.get("/health").status();
            }
            assertThat(seen).as("/health while stopping").isEqualTo(503);
            assertThat(running.get(60, TimeUnit.SECONDS).status()).isEqualTo(200);
            closing.get(60, TimeUnit.SECONDS);
        } finally {
            server.close();
        }
    }

    @Test
    void aRequestStillRunningWhenTheDrainTimeIsOverIsStoppedWithTheReasonShutdown() throws Exception {
        StringWriter log = new StringWriter();
        ClearClipServer server = ClearClipServer.start(clip, config(), new PrintWriter(log, true));
        try {
            server.drainTime(Duration.ofMillis(300));
            Http http = new Http(server.url());
            CompletableFuture<Http.Response> running = CompletableFuture.supplyAsync(() -> {
                try {
                    return http.post("/v1/segment", longForm());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, Thread::startVirtualThread);
            awaitRunning(http, 1);
            long start = System.nanoTime();
            server.close();
            assertThat(System.nanoTime() - start).as("drain, then one window").isLessThan(TimeUnit.SECONDS.toNanos(10));
            Http.Response r = running.get(30, TimeUnit.SECONDS);
            assertThat(r.status()).as(r.text()).isEqualTo(503);
            assertThat(r.errorCode()).isEqualTo("shutting_down");
            assertThat(log.toString()).contains("stopped: the server is stopping");
        } finally {
            server.close();
        }
    }

    @Test
    void trailingGarbageAfterAJsonBodyIsRefused() throws Exception {
        try (ClearClipServer server = ClearClipServer.start(clip, config(), new PrintWriter(new StringWriter(), true))) {
            Http http = new Http(server.url());
            Http.Response r = http.post("/v1/embed", "application/json",
                    "{\"text\":[\"a fox\"]} trailing".getBytes(StandardCharsets.UTF_8));
            assertThat(r.status()).as(r.text()).isEqualTo(400);
            assertThat(r.errorCode()).isEqualTo("bad_json");
            assertThat(http.post("/v1/embed", "application/json", "{\"text\":[\"a fox\"]}\n"
                    .getBytes(StandardCharsets.UTF_8)).status()).isEqualTo(200);
        }
    }

    @Test
    void withoutAKeyForeignHostsAndCrossSiteOriginsAreRefused() throws Exception {
        try (ClearClipServer server = ClearClipServer.start(clip, config(), new PrintWriter(new StringWriter(), true))) {
            int port = server.port();
            // DNS rebinding: a name of the attacker's resolving to 127.0.0.1
            String rebound = raw(port, "GET /v1/model HTTP/1.1\r\nHost: attacker.example:" + port
                    + "\r\nConnection: close\r\n\r\n", null);
            assertThat(status(rebound)).as(rebound).isEqualTo(403);
            assertThat(rebound).contains("forbidden_host");
            for (String host : List.of("127.0.0.1:" + port, "localhost:" + port, "127.0.0.1")) {
                assertThat(status(raw(port, "GET /health HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n",
                        null))).as(host).isEqualTo(200);
            }
            // a form posted by a page of another site
            Http.Form form = sceneForm();
            byte[] body = form.body();
            String crossSite = raw(port, "POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1:" + port
                    + "\r\nOrigin: https://evil.example\r\nContent-Type: " + form.contentType() + "\r\nContent-Length: "
                    + body.length + "\r\nConnection: close\r\n\r\n", body);
            assertThat(status(crossSite)).as(crossSite).isEqualTo(403);
            assertThat(crossSite).contains("forbidden_origin");
            // the server's own page posts with its own origin
            String own = raw(port, "POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1:" + port
                    + "\r\nOrigin: http://127.0.0.1:" + port + "\r\nContent-Type: " + form.contentType()
                    + "\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n", body);
            assertThat(status(own)).as(own).isEqualTo(200);
        }
    }

    @Test
    void serveRefusesLimitsThatCannotWorkAsUsageErrors() {
        String model = shared.resolve("hf-tiny.gguf").toString();
        for (String[] bad : List.of(new String[] {"--max-windows", "0"}, new String[] {"--request-timeout", "0"},
                new String[] {"--upload-timeout", "0"}, new String[] {"--max-client-connections", "0"},
                new String[] {"--text-cache-max-mb", "0"})) {
            Cli cli = Cli.run("serve", "-m", model, "--port", "0", bad[0], bad[1]);
            assertThat(cli.exit()).as(String.join(" ", bad)).isEqualTo(2);
            assertThat(cli.err()).contains(bad[0]);
        }
    }
}
