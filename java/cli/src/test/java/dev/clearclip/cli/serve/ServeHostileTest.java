package dev.clearclip.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import dev.clearclip.cli.Fixtures;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code clearclip serve} against a hostile client (issue 20), findings 1-3 of the attack report: slow
 * clients, unbounded compute, pictures claiming many pixels; {@link ServeRequestChecksTest} has findings 4-8.
 * On loopback, each test bounded in time. The server runs the tiny fixture model with one context, so that
 * a single stuck request would lock out every other one.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ServeHostileTest {

    @TempDir
    static Path shared;

    static Path model;
    static ClipModel clip;
    static byte[] scene;

    @BeforeAll
    static void load() throws IOException {
        model = Fixtures.hfTinyGguf(shared);
        clip = ClipModel.load(model, ModelOptions.builder().contexts(1).threads(1)
                .textCacheDir(shared.resolve("text-cache")).build());
        scene = scenePng();
    }

    static byte[] scenePng() throws IOException {
        return ServeApiTest.png(ServeApiTest.picture(320, 240, 7));
    }

    @AfterAll
    static void close() {
        if (clip != null) {
            clip.close();
        }
    }

    static ClearClipServer.Config config() {
        return new ClearClipServer.Config("127.0.0.1", 0, 2L << 20, 100_000_000L, 1, null, null);
    }

    static Http.Form sceneForm() {
        return new Http.Form().file("image", "scene.png", "image/png", scene).field("classes", "sky;grass;road");
    }

    /** A flat picture: a tiny PNG, but many windows when kept at its size (short_side 0). */
    static byte[] flat(int w, int h) throws IOException {
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        return ServeApiTest.png(image);
    }

    /** A form that keeps the one context busy for a while: 17 x 13 = 221 windows of 448 at stride 224. */
    static Http.Form longForm() throws IOException {
        return new Http.Form().file("image", "big.png", "image/png", flat(4000, 3000)).field("classes", "sky;grass")
                .field("short_side", "0");
    }

    /** A 35-byte GIF whose header claims 10000 x 10000 pixels. */
    static byte[] gifClaiming10000x10000() {
        return new byte[] {'G', 'I', 'F', '8', '9', 'a', 0x10, 0x27, 0x10, 0x27, (byte) 0x80, 0, 0,
                0, 0, 0, (byte) 0xff, (byte) 0xff, (byte) 0xff,
                0x2c, 0, 0, 0, 0, 0x10, 0x27, 0x10, 0x27, 0,
                2, 2, 0x44, 0x01, 0, 0x3b};
    }

    /** Sends a raw request (with 'Connection: close') and returns the whole answer as text. */
    static String raw(int port, String head, byte[] body) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(30_000);
            OutputStream out = s.getOutputStream();
            out.write(head.getBytes(StandardCharsets.ISO_8859_1));
            if (body != null) {
                out.write(body);
            }
            out.flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static int status(String answer) {
        return Integer.parseInt(answer.substring(9, 12));
    }

    static long gauge(Http http, String name) {
        Matcher m = Pattern.compile("(?m)^" + name + " (\\d+)").matcher(http.get("/metrics").text());
        assertThat(m.find()).as(name).isTrue();
        return Long.parseLong(m.group(1));
    }

    static void awaitRunning(Http http, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (gauge(http, "clearclip_inference_running") != n) {
            assertThat(System.nanoTime()).as("inference_running never became " + n).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    // ---- finding 1: slow uploads ----

    /** Opens a POST whose body then trickles in, one byte every {@code everyMillis}. */
    static Socket trickle(int port, List<Socket> sockets) throws IOException {
        return trickle(port, sockets, false);
    }

    /** With mayBeRefused, the server may close the connection before the request's start is written
     *  (one over a limit): the write then fails (broken pipe, reset) and the socket is returned all the
     *  same, for the caller to see it closed. */
    static Socket trickle(int port, List<Socket> sockets, boolean mayBeRefused) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        sockets.add(s);
        s.setSoTimeout(20_000);
        Http.Form form = sceneForm();
        byte[] body = form.body();
        try {
            s.getOutputStream().write(("POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + form.contentType()
                    + "\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(body, 0, 10);
            s.getOutputStream().flush();
        } catch (IOException closedFirst) {
            if (!mayBeRefused) {
                throw closedFirst;
            }
        }
        return s;
    }

    @Test
    void slowUploadsCostAConnectionNeverAContextAndAreCutAtTheUploadDeadline() throws Exception {
        ClearClipServer.Config c = config().withUploadLimits(Duration.ofSeconds(4), 1024, 32);
        StringWriter log = new StringWriter();
        List<Socket> slow = new ArrayList<>();
        try (ClearClipServer server = ClearClipServer.start(clip, c, new PrintWriter(log, true))) {
            Http http = new Http(server.url());
            // 6 slow uploads with 1 context and a queue of 1: before the fix, 2 were enough to refuse everyone
            for (int i = 0; i < 6; i++) {
                trickle(server.port(), slow);
            }
            long start = System.nanoTime();
            for (int i = 0; i < 3; i++) {
                Thread.sleep(300);
                for (Socket s : slow) {
                    s.getOutputStream().write('x');
                    s.getOutputStream().flush();
                }
                Http.Response good = http.post("/v1/segment", sceneForm());
                assertThat(good.status()).as(good.text()).isEqualTo(200);
            }
            assertThat(gauge(http, "clearclip_queue_depth")).isZero();
            // the slow ones are answered 408 by the deadline (4 s), whatever they send meanwhile
            for (Socket s : slow) {
                String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!answer.isEmpty()) {
                    assertThat(status(answer)).as(answer).isEqualTo(408);
                    assertThat(answer).contains("upload_too_slow");
                }
            }
            assertThat(System.nanoTime() - start).as("cut at the deadline").isLessThan(TimeUnit.SECONDS.toNanos(10));
        } finally {
            for (Socket s : slow) {
                s.close();
            }
        }
    }

    @Test
    void aStoppingServerCutsUploadsStillBeingReadAtOnce() throws Exception {
        List<Socket> slow = new ArrayList<>();
        ClearClipServer server = ClearClipServer.start(clip, config(), new PrintWriter(new StringWriter(), true));
        try {
            for (int i = 0; i < 4; i++) {
                trickle(server.port(), slow);
            }
            Thread.sleep(300);
            long start = System.nanoTime();
            server.close();
            assertThat(System.nanoTime() - start).as("close() does not wait for slow uploads")
                    .isLessThan(TimeUnit.SECONDS.toNanos(5));
        } finally {
            server.close();
            for (Socket s : slow) {
                s.close();
            }
        }
    }

    @Test
    void slowHeadersAreCutAtTheirDeadline() throws Exception {
        ClearClipServer.Config c = config().withUploadLimits(Duration.ofSeconds(2), 1024, 32);
        try (ClearClipServer server = ClearClipServer.start(clip, c, new PrintWriter(new StringWriter(), true));
             Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            s.setSoTimeout(300);
            OutputStream out = s.getOutputStream();
            out.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n".getBytes(StandardCharsets.US_ASCII));
            long start = System.nanoTime();
            boolean cut = false;
            // a header line every 300 ms: each restarts Jetty's idle timeout, never the header deadline
            while (!cut && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10)) {
                try {
                    out.write("X-Slow: 1\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    cut = s.getInputStream().read() < 0;
                } catch (SocketTimeoutException stillOpen) {
                    // nothing yet
                } catch (IOException closed) {
                    cut = true;
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(cut).as("connection closed by the server").isTrue();
            assertThat(seconds).isBetween(1.5, 5.0);
            assertThat(new Http(server.url()).get("/health").status()).isEqualTo(200);
            assertThat(gauge(new Http(server.url()), "clearclip_slow_headers_total")).isEqualTo(1);
        }
    }

    @Test
    void connectionsPerClientAddressAreBounded() throws Exception {
        ClearClipServer.Config c = config().withUploadLimits(Duration.ofSeconds(30), 1024, 4);
        List<Socket> sockets = new ArrayList<>();
        try (ClearClipServer server = ClearClipServer.start(clip, c, new PrintWriter(new StringWriter(), true))) {
            for (int i = 0; i < 7; i++) {
                trickle(server.port(), sockets, true);
            }
            int closedByServer = 0;
            for (Socket s : sockets) {
                s.setSoTimeout(700);
                try {
                    if (s.getInputStream().read() < 0) {
                        closedByServer++;
                    }
                } catch (SocketTimeoutException stillOpen) {
                    // held open: one of the 4 allowed
                } catch (IOException reset) {
                    closedByServer++;
                }
            }
            assertThat(closedByServer).as("connections beyond 4 from 127.0.0.1").isEqualTo(3);
            assertThat(server.metrics().render()).contains("clearclip_connections_refused_total 3\n");
            for (Socket s : sockets) {
                s.close();
            }
            // once they are gone, the address is welcome again (as soon as the server has seen them close)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            int status = 0;
            while (status != 200 && System.nanoTime() < deadline) {
                Thread.sleep(100);
                try {
                    status = new Http(server.url()).post("/v1/segment", sceneForm()).status();
                } catch (java.io.UncheckedIOException refusedStill) {
                    status = -1;
                }
            }
            assertThat(status).isEqualTo(200);
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    // ---- finding 2: compute budget ----

    @Test
    void settingsOfTooManyWindowsAreRefusedNamingTheLimit() throws Exception {
        try (ClearClipServer server = ClearClipServer.start(clip, config(), new PrintWriter(new StringWriter(), true));
             ClearClipServer small = ClearClipServer.start(clip, config().withMaxWindows(8),
                     new PrintWriter(new StringWriter(), true))) {
            Http http = new Http(server.url());
            // 88 KB picture, short side 16384: 5329 windows before the fix
            Http.Response huge = http.post("/v1/segment", sceneForm().field("short_side", "16384"));
            assertThat(huge.status()).as(huge.text()).isEqualTo(400);
            assertThat(huge.errorCode()).isEqualTo("too_many_windows");
            assertThat(huge.json().path("error").path("message").asText()).contains("324").contains("--max-windows");
            assertThat(gauge(http, "clearclip_windows_total")).isZero();
            // stride 1: 150 windows instead of 2
            Http.Response stride = new Http(small.url()).post("/v1/segment", sceneForm().field("stride", "1"));
            assertThat(stride.status()).as(stride.text()).isEqualTo(400);
            assertThat(stride.json().path("error").path("message").asText()).contains("150 sliding windows")
                    .contains("at most 8");
            assertThat(new Http(small.url()).post("/v1/segment", sceneForm()).status()).isEqualTo(200);
        }
    }

    @Test
    void aRequestPastItsDeadlineIsStoppedWithTheReasonTimeout() throws Exception {
        StringWriter log = new StringWriter();
        ClearClipServer.Config c = config().withRequestTimeout(Duration.ofMillis(1000));
        try (ClearClipServer server = ClearClipServer.start(clip, c, new PrintWriter(log, true))) {
            Http http = new Http(server.url());
            long start = System.nanoTime();
            // warm the class embeddings, so that the deadline is spent on windows
            assertThat(http.post("/v1/segment", new Http.Form().file("image", "scene.png", "image/png", scene)
                    .field("classes", "sky;grass")).status()).isEqualTo(200);
            Http.Response r = http.post("/v1/segment", longForm());
            double seconds = (System.nanoTime() - start) / 1e9;
            assertThat(r.status()).as(r.text()).isEqualTo(503);
            assertThat(r.errorCode()).isEqualTo("timeout");
            assertThat(seconds).as("stopped within about one window of the deadline").isLessThan(5);
            assertThat(log.toString()).contains("stopped past --request-timeout");
            assertThat(gauge(http, "clearclip_windows_total")).isLessThan(221);
            // the stopped call frees the context after its current window; a small request then fits the deadline
            awaitRunning(http, 0);
            Http.Response small = http.post("/v1/segment", sceneForm());
            assertThat(small.status()).as(small.text()).isEqualTo(200);
        }
    }

    @Test
    void aClientThatLeavesStopsItsComputationAndFreesTheContext() throws Exception {
        StringWriter log = new StringWriter();
        try (ClearClipServer server = ClearClipServer.start(clip, config(), new PrintWriter(log, true))) {
            Http http = new Http(server.url());
            Http.Form form = longForm();
            byte[] body = form.body();
            Socket s = new Socket();
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            s.getOutputStream().write(("POST /v1/segment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                    + form.contentType() + "\r\nContent-Length: " + body.length + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().write(body);
            s.getOutputStream().flush();
            awaitRunning(http, 1);
            long windowsAtClose = gauge(http, "clearclip_windows_total");
            s.close();
            long closed = System.nanoTime();
            awaitRunning(http, 0);
            double seconds = (System.nanoTime() - closed) / 1e9;
            assertThat(seconds).as("the context is free again within about one window").isLessThan(3);
            assertThat(gauge(http, "clearclip_windows_total") - windowsAtClose).isLessThan(221);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!log.toString().contains("the client closed the connection") && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(log.toString()).contains("the client closed the connection");
            assertThat(http.post("/v1/segment", sceneForm()).status()).isEqualTo(200);
        }
    }

    // ---- finding 3: pictures claiming many pixels, memory ----

    @Test
    void aTinyGifClaiming100MegapixelsIsRefusedByTheHeapFittingLimitBeforeDecoding() throws Exception {
        long limit = ServeLimits.defaultMaxPixels(768L << 20, 100_000_000L);
        assertThat(limit).as("768 MiB heap / 2 / 24 bytes per pixel / 4 pictures").isEqualTo(4_194_304L);
        assertThat(ServeLimits.defaultMaxPixels(6L << 30, 100_000_000L)).as("6 GiB heap").isEqualTo(33_554_432L);
        assertThat(ServeLimits.defaultMaxPixels(64L << 30, 100_000_000L)).as("at most the library's").isEqualTo(100_000_000L);
        ClearClipServer.Config c = new ClearClipServer.Config("127.0.0.1", 0, 2L << 20, limit, 1, null, null);
        StringWriter log = new StringWriter();
        try (ClearClipServer server = ClearClipServer.start(clip, c, new PrintWriter(log, true))) {
            Http http = new Http(server.url());
            byte[] gif = gifClaiming10000x10000();
            assertThat(gif).hasSize(35);
            Http.Response one = http.post("/v1/segment", new Http.Form().file("image", "bomb.gif", "image/gif", gif)
                    .field("classes", "sky"));
            assertThat(one.status()).as(one.text()).isEqualTo(400);
            assertThat(one.json().path("error").path("message").asText()).contains("10000x10000")
                    .contains("4194304").contains("--max-pixels");
            // 12 of them in one embed request: refused as a whole, at once
            Http.Form twelve = new Http.Form();
            for (int i = 0; i < 12; i++) {
                twelve.file("image", "bomb" + i + ".gif", "image/gif", gif);
            }
            long start = System.nanoTime();
            Http.Response embed = http.post("/v1/embed", twelve);
            assertThat(embed.status()).as(embed.text()).isEqualTo(400);
            assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(3));
            assertThat(gauge(http, "clearclip_inference_running")).isZero();
            assertThat(http.get("/health").status()).isEqualTo(200);
        }
    }

    @Test
    void outOfMemoryIsAJsonAnswerWithALogLine() {
        StringWriter log = new StringWriter();
        ApiException e = new ApiErrors(new PrintWriter(log, true)).translate(new OutOfMemoryError("Java heap space"));
        assertThat(e.status).isEqualTo(503);
        assertThat(e.code).isEqualTo("out_of_memory");
        assertThat(new String(ApiErrors.body(e), StandardCharsets.UTF_8)).contains("\"out_of_memory\"");
        assertThat(log.toString()).contains("out of memory");
    }

    @Test
    void decodePermitsBoundThePixelsDecodedAtOnce() throws Exception {
        try (Inference inference = new Inference(1, 4, 1 << 20, Duration.ofMillis(300))) {
            ClientLink nobody = ClientLink.of(null);
            try (Inference.Ticket first = inference.admit(nobody);
                 AutoCloseable held = inference.decodePermit(first, 1 << 20);
                 Inference.Ticket second = inference.admit(nobody)) {
                long start = System.nanoTime();
                try {
                    inference.decodePermit(second, 1000);
                    throw new AssertionError("a second picture was let in over the budget");
                } catch (Inference.Stopped s) {
                    assertThat(s.reason).isEqualTo(StopReason.TIMEOUT);
                }
                assertThat(System.nanoTime() - start).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(200));
            }
            // given back: the next one gets its permit at once
            try (Inference.Ticket third = inference.admit(nobody);
                 AutoCloseable permit = inference.decodePermit(third, 1000)) {
                assertThat(permit).isNotNull();
            }
        }
    }
}
