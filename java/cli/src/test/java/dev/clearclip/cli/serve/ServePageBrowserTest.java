package dev.clearclip.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import dev.clearclip.cli.Fixtures;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The web page in a real browser: headless Chromium driven through the DevTools protocol (JSON over the
 * JDK's WebSocket client). Loads the page, uploads a picture, presses Segment, and checks that the overlay
 * is drawn, the legend lists the classes, hovering names a class, and the console stayed free of errors.
 * A screenshot is written to target/serve-page.png for people. Skipped only when Chromium is absent
 * locally; under CI=true its absence is a failure (.ci/run installs it).
 */
class ServePageBrowserTest {

    @TempDir
    Path tmp;

    static Path chromium() {
        for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    /** A DevTools protocol session on one page target. */
    static final class Cdp implements WebSocket.Listener, AutoCloseable {
        private final AtomicInteger ids = new AtomicInteger();
        private final Map<Integer, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
        final List<String> errors = Collections.synchronizedList(new ArrayList<>());
        private final StringBuilder partial = new StringBuilder();
        private WebSocket socket;

        static Cdp connect(String url) throws Exception {
            Cdp cdp = new Cdp();
            cdp.socket = Http.CLIENT.newWebSocketBuilder().buildAsync(URI.create(url), cdp).get(30, TimeUnit.SECONDS);
            return cdp;
        }

        JsonNode call(String method, ObjectNode params) throws Exception {
            int id = ids.incrementAndGet();
            CompletableFuture<JsonNode> answer = new CompletableFuture<>();
            pending.put(id, answer);
            ObjectNode msg = Http.JSON.createObjectNode().put("id", id).put("method", method);
            msg.set("params", params == null ? Http.JSON.createObjectNode() : params);
            socket.sendText(Http.JSON.writeValueAsString(msg), true).get(30, TimeUnit.SECONDS);
            JsonNode r = answer.get(60, TimeUnit.SECONDS);
            if (r.has("error")) {
                throw new IllegalStateException(method + ": " + r.get("error"));
            }
            return r.path("result");
        }

        JsonNode call(String method) throws Exception {
            return call(method, null);
        }

        /** Evaluates a JavaScript expression in the page and returns its value. */
        JsonNode eval(String expression) throws Exception {
            JsonNode r = call("Runtime.evaluate", Http.JSON.createObjectNode().put("expression", expression)
                    .put("returnByValue", true).put("awaitPromise", true));
            if (r.has("exceptionDetails")) {
                throw new IllegalStateException(expression + ": " + r.get("exceptionDetails"));
            }
            return r.path("result").path("value");
        }

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                String text = partial.toString();
                partial.setLength(0);
                try {
                    JsonNode msg = Http.JSON.readTree(text);
                    if (msg.has("id")) {
                        CompletableFuture<JsonNode> f = pending.remove(msg.get("id").asInt());
                        if (f != null) {
                            f.complete(msg);
                        }
                    } else {
                        event(msg.path("method").asText(), msg.path("params"));
                    }
                } catch (java.io.IOException e) {
                    errors.add("unreadable DevTools message: " + e);
                }
            }
            ws.request(1);
            return null;
        }

        private void event(String method, JsonNode params) {
            switch (method) {
                case "Runtime.exceptionThrown" -> errors.add("exception: " + params.path("exceptionDetails"));
                case "Runtime.consoleAPICalled" -> {
                    if (params.path("type").asText().equals("error")) {
                        errors.add("console.error: " + params.path("args"));
                    }
                }
                case "Log.entryAdded" -> {
                    if (params.path("entry").path("level").asText().equals("error")) {
                        errors.add("log: " + params.path("entry").path("text").asText() + " "
                                + params.path("entry").path("url").asText());
                    }
                }
                default -> {
                }
            }
        }

        @Override
        public void close() {
            if (socket != null) {
                socket.abort();
            }
        }
    }

    /** Ends the browser and its helper processes (listed first: they are re-parented once it exits). */
    private static void stopWithHelpers(Process browser) {
        List<ProcessHandle> all = new ArrayList<>(browser.descendants().toList());
        all.add(browser.toHandle());
        all.forEach(ProcessHandle::destroy);
        for (ProcessHandle p : all) {
            try {
                p.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception stillRunning) {
                p.destroyForcibly();
            }
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException ignored) {
            // a leftover profile in the system's temporary folder is harmless
        }
    }

    private static void waitFor(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static boolean truthy(Cdp cdp, String expression) {
        try {
            return cdp.eval(expression).asBoolean(false);
        } catch (Exception e) {
            return false;
        }
    }

    @Test
    void uploadSegmentAndSeeTheOverlayAndLegend() throws Exception {
        Path browser = chromium();
        if (browser == null) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError("chromium is not installed; CI must install it (.ci/run installs the Debian "
                        + "package 'chromium')");
            }
            Assumptions.abort("chromium is not installed (apt-get install chromium); the browser test of the web page "
                    + "is skipped");
        }
        System.setProperty("clearclip.cache.dir", tmp.resolve("cache").toString());
        Path model = Fixtures.hfTinyGguf(tmp);
        Path picture = tmp.resolve("scene.png");
        Files.write(picture, ServeApiTest.png(ServeApiTest.picture(320, 240, 7)));
        StringWriter log = new StringWriter();
        Process chrome = null;
        // Chromium's helper processes may still write to their profile after the browser process has
        // ended, which made JUnit's @TempDir cleanup fail once: the profile lives outside it, and is
        // removed best-effort once every process of the browser has exited.
        Path profile = Files.createTempDirectory("clearclip-chrome-profile");
        try (ClipModel clip = ClipModel.load(model, ModelOptions.builder().contexts(1).build());
             ClearClipServer server = ClearClipServer.start(clip, new ClearClipServer.Config("127.0.0.1", 0, 20L << 20,
                     100_000_000L, 4, null, null), new PrintWriter(log, true))) {
            chrome = new ProcessBuilder(browser.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--disable-dev-shm-usage", "--remote-debugging-port=0", "--window-size=1280,900",
                    "--user-data-dir=" + profile, "about:blank")
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            // Chromium announces its DevTools port on stderr
            String port = null;
            BufferedReader err = new BufferedReader(new InputStreamReader(chrome.getErrorStream(), StandardCharsets.UTF_8));
            Pattern devtools = Pattern.compile("DevTools listening on ws://127\\.0\\.0\\.1:(\\d+)/");
            StringBuilder seen = new StringBuilder();
            for (String line; port == null && (line = err.readLine()) != null; ) {
                seen.append(line).append('\n');
                Matcher m = devtools.matcher(line);
                if (m.find()) {
                    port = m.group(1);
                }
            }
            assertThat(port).as("chromium's DevTools port; its stderr:\n" + seen).isNotNull();
            Process c = chrome;
            Thread.ofVirtual().start(() -> {
                try {
                    c.getErrorStream().transferTo(java.io.OutputStream.nullOutputStream());
                } catch (java.io.IOException ignored) {
                    // chromium ended
                }
            });
            Http devtoolsHttp = new Http("http://127.0.0.1:" + port);
            String pageSocket = null;
            for (JsonNode t : devtoolsHttp.get("/json/list").json()) {
                if (t.path("type").asText().equals("page")) {
                    pageSocket = t.path("webSocketDebuggerUrl").asText();
                }
            }
            assertThat(pageSocket).as("a page target").isNotNull();

            try (Cdp cdp = Cdp.connect(pageSocket)) {
                cdp.call("Runtime.enable");
                cdp.call("Log.enable");
                cdp.call("Page.enable");
                cdp.call("Page.navigate", Http.JSON.createObjectNode().put("url", server.url() + "/"));
                String modelName = Http.JSON.writeValueAsString(clip.info().name());
                waitFor("the page to load", () -> truthy(cdp, "document.readyState === 'complete' && "
                        + "document.getElementById('model').textContent === " + modelName));

                int documentNode = cdp.call("DOM.getDocument").path("root").path("nodeId").asInt();
                int fileInput = cdp.call("DOM.querySelector", Http.JSON.createObjectNode().put("nodeId", documentNode)
                        .put("selector", "#file")).path("nodeId").asInt();
                ObjectNode files = Http.JSON.createObjectNode().put("nodeId", fileInput);
                files.putArray("files").add(picture.toString());
                cdp.call("DOM.setFileInputFiles", files);
                waitFor("the file to be chosen", () -> truthy(cdp,
                        "document.getElementById('filename').textContent.startsWith('scene.png')"));
                cdp.eval("document.getElementById('classes').value = 'sky,blue sky; grass; road'");
                cdp.eval("document.getElementById('submit').click()");
                waitFor("the result", () -> truthy(cdp, "document.getElementById('status').textContent.startsWith('Done')"
                        + " || document.getElementById('status').className === 'error'"));
                assertThat(cdp.eval("document.getElementById('status').textContent").asText()).startsWith("Done");

                assertThat(cdp.eval("getComputedStyle(document.getElementById('result')).display").asText())
                        .isEqualTo("flex");
                assertThat(cdp.eval("[document.getElementById('canvas').width, document.getElementById('canvas').height]"
                        + ".join('x')").asText()).isEqualTo("320x240");
                // the overlay is drawn: the canvas differs from the plain picture somewhere
                String differs = """
                        (async () => {
                          const c = document.getElementById('canvas');
                          const img = await createImageBitmap(document.getElementById('file').files[0]);
                          const o = new OffscreenCanvas(c.width, c.height).getContext('2d');
                          o.drawImage(img, 0, 0, c.width, c.height);
                          const a = o.getImageData(0, 0, c.width, c.height).data;
                          const b = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                          let n = 0;
                          for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
                          return n;
                        })()""";
                assertThat(cdp.eval(differs).asInt()).isPositive();
                JsonNode legend = cdp.eval("[...document.querySelectorAll('#legend tr')].map(r => r.cells[1].textContent)");
                List<String> names = new ArrayList<>();
                legend.forEach(n -> names.add(n.asText()));
                assertThat(names).containsExactlyInAnyOrder("sky", "grass", "road");
                assertThat(cdp.eval("document.getElementById('dl-labels').href").asText()).startsWith("blob:");
                assertThat(cdp.eval("document.getElementById('dl-json').download").asText()).isEqualTo("scene.json");

                // hovering a pixel names its class
                JsonNode box = cdp.eval("(() => { const r = document.getElementById('canvas').getBoundingClientRect(); "
                        + "return [r.left + r.width / 2, r.top + r.height / 2]; })()");
                cdp.call("Input.dispatchMouseEvent", Http.JSON.createObjectNode().put("type", "mouseMoved")
                        .put("x", box.get(0).asDouble()).put("y", box.get(1).asDouble()));
                waitFor("the hover text", () -> truthy(cdp, "document.getElementById('hover').textContent !== ''"));
                assertThat(cdp.eval("document.getElementById('hover').textContent").asText())
                        .matches("\\(\\d+, \\d+\\): (sky|grass|road)");

                JsonNode shot = cdp.call("Page.captureScreenshot", Http.JSON.createObjectNode().put("format", "png"));
                Path target = Path.of("target");
                Files.createDirectories(target);
                Files.write(target.resolve("serve-page.png"), Base64.getDecoder().decode(shot.path("data").asText()));

                assertThat(cdp.errors).as("console errors").isEmpty();
            }
        } finally {
            if (chrome != null) {
                stopWithHelpers(chrome);
            }
            deleteQuietly(profile);
            System.clearProperty("clearclip.cache.dir");
        }
    }
}
