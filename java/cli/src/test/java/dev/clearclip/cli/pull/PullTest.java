package dev.clearclip.cli.pull;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.clearclip.FileSupport;
import dev.clearclip.cli.Cli;
import dev.clearclip.cli.Fixtures;
import dev.clearclip.gguf.GgufFile;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pull} against a plain mirror: a local server without the hub's model API nor its error codes
 * (a bare 404 for what it lacks), so files are asked for one by one: {@code /<repo>/resolve/<rev>/<file>},
 * small files served directly with a git-style ETag, the LFS weights answered with a 302 carrying
 * {@code X-Linked-Etag} (SHA-256) and {@code X-Linked-Size}, then served from a "CDN" path with Range support.
 */
class PullTest {

    @TempDir
    Path tmp;

    private HttpServer server;
    private String endpoint;
    private final List<String> rangeRequests = new CopyOnWriteArrayList<>();
    private final AtomicInteger cdnRequests = new AtomicInteger();
    /** When set, the first CDN response stops half-way, as a dropped connection would. */
    private volatile boolean dropFirstTransfer;
    /** When set, the hub announces this SHA-256 instead of the real one. */
    private volatile String announcedSha;
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();

    @BeforeEach
    void start() throws IOException {
        Path tiny = Fixtures.hfTiny();
        for (String f : List.of("config.json", "vocab.json", "merges.txt", "model.safetensors")) {
            files.put(f, Files.readAllBytes(tiny.resolve(f)));
        }
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
        endpoint = "http://127.0.0.1:" + server.getAddress().getPort();
        System.setProperty("clearclip.cache.dir", tmp.resolve("cache").toString());
        // none of the developer's tokens or proxies
        PullCommand.environment = Map.of("HF_HOME", tmp.resolve("hf-home").toString())::get;
    }

    @AfterEach
    void stop() {
        server.stop(0);
        System.clearProperty("clearclip.cache.dir");
        PullCommand.environment = System::getenv;
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            String prefix = "/org/tiny-clip/resolve/main/";
            if (path.startsWith("/cdn/")) {
                serveCdn(ex, files.get("model.safetensors"));
                return;
            }
            if (!path.startsWith(prefix) || !files.containsKey(path.substring(prefix.length()))) {
                ex.sendResponseHeaders(404, -1);
                return;
            }
            String file = path.substring(prefix.length());
            byte[] data = files.get(file);
            if (file.endsWith(".safetensors")) {
                ex.getResponseHeaders().add("Location", "/cdn/" + FileSupport.sha256Hex(data));
                ex.getResponseHeaders().add("X-Linked-Etag", "\"" + (announcedSha != null ? announcedSha : FileSupport.sha256Hex(data)) + "\"");
                ex.getResponseHeaders().add("X-Linked-Size", Long.toString(data.length));
                ex.sendResponseHeaders(302, -1);
                return;
            }
            ex.getResponseHeaders().add("ETag", "\"0123456789abcdef0123456789abcdef01234567\"");
            ex.sendResponseHeaders(200, data.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(data);
            }
        }
    }

    private void serveCdn(HttpExchange ex, byte[] data) throws IOException {
        int n = cdnRequests.incrementAndGet();
        String range = ex.getRequestHeaders().getFirst("Range");
        int start = 0;
        if (range != null) {
            rangeRequests.add(range);
            start = Integer.parseInt(range.substring("bytes=".length(), range.indexOf('-')));
            ex.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + (data.length - 1) + "/" + data.length);
            ex.sendResponseHeaders(206, data.length - start);
        } else {
            ex.sendResponseHeaders(200, data.length);
        }
        OutputStream out = ex.getResponseBody();
        if (n == 1 && dropFirstTransfer) {
            out.write(data, 0, data.length / 2);
            out.flush();
            // closing a fixed-length response early makes the server drop the connection
            throw new IOException("simulated connection drop");
        }
        out.write(data, start, data.length - start);
        out.close();
    }

    @Test
    void pullsResumesConvertsAndBecomesTheDefault() throws IOException {
        dropFirstTransfer = true;
        Cli pull = Cli.run("pull", "org/tiny-clip", "--endpoint", endpoint);
        assertThat(pull.exit()).as(pull.err()).isZero();
        // the dropped transfer was resumed from where it stopped, not restarted
        assertThat(rangeRequests).hasSize(1);
        // (from the bytes that actually arrived before the drop: somewhere in the first half)
        int half = files.get("model.safetensors").length / 2;
        assertThat(rangeRequests.get(0)).matches("bytes=\\d+-");
        long resumedAt = Long.parseLong(rangeRequests.get(0).replaceAll("\\D", ""));
        assertThat(resumedAt).isPositive().isLessThanOrEqualTo(half);

        Path model = tmp.resolve("cache/models/org--tiny-clip-f32.gguf");
        assertThat(pull.out()).contains(model.toString(), "default");
        try (GgufFile gguf = GgufFile.open(model)) {
            assertThat(gguf.metadata().getString("general.name")).isEqualTo("org/tiny-clip");
            assertThat(gguf.metadata().getLong("clip.vision.image_size")).isEqualTo(224);
        }
        assertThat(Files.readString(tmp.resolve("cache/models/default"), StandardCharsets.UTF_8).strip())
                .isEqualTo(model.toString());
        // downloads are removed after a successful conversion
        assertThat(tmp.resolve("cache/downloads/org--tiny-clip")).doesNotExist();

        // commands without -m now use the pulled model
        Cli embed = Cli.run("embed", "--text", "a photo of a cat");
        assertThat(embed.exit()).as(embed.err()).isZero();
        assertThat(embed.out()).startsWith("{\"text\":[{\"input\":\"a photo of a cat\",\"embedding\":[");
    }

    @Test
    void checksumMismatchFailsAndNamesTheFile() {
        announcedSha = "0".repeat(64);
        Cli pull = Cli.run("pull", "org/tiny-clip", "--endpoint", endpoint);
        assertThat(pull.exit()).isEqualTo(1);
        assertThat(pull.err()).contains("org/tiny-clip/model.safetensors", "checksum mismatch");
        assertThat(tmp.resolve("cache/models/default")).doesNotExist();
    }

    @Test
    void unknownRepositoryIsAClearError() {
        Cli pull = Cli.run("pull", "org/missing", "--endpoint", endpoint);
        assertThat(pull.exit()).isEqualTo(1);
        assertThat(pull.err()).contains("org/missing", "neither config.json", "open_clip_config.json");
        assertThat(Cli.run("pull", "not a repo id", "--endpoint", endpoint).exit()).isEqualTo(2);
    }

    @Test
    void endpointComesFromTheEnvironmentOrTheOption() {
        Map<String, String> none = Map.of();
        assertThat(HubSettings.endpoint("http://mirror.local/", none::get).toString()).isEqualTo("http://mirror.local");
        HubSettings settings = HubSettings.resolve("http://h", null, none::get);
        assertThat(new HubDownloader(settings, "org/name", "refs/pr/1", null, null)
                .fileUri("model.safetensors").toString())
                .isEqualTo("http://h/org/name/resolve/refs%2Fpr%2F1/model.safetensors");
    }
}
