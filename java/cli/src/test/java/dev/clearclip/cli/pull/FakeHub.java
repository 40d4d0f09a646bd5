package dev.clearclip.cli.pull;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.clearclip.FileSupport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;

/**
 * A local imitation of the Hugging Face hub, on 127.0.0.1, answering as the real one does (read from
 * huggingface_hub's sources and the hub's documented behaviour):
 * <ul>
 * <li>{@code /api/models/<repo>/revision/<rev>}: {@code {"id", "sha", "siblings": [{"rfilename"}]}};</li>
 * <li>{@code /<repo>/resolve/<rev>/<file>} ({@code rev} percent-encoded whole, {@code file} per segment):
 *     small files as a 307 to the relative {@code /api/resolve-cache/models/<repo>/<commit>/<file>},
 *     LFS files (.safetensors, .bin, .gguf) as a 302 to a storage host on another port, with
 *     {@code X-Linked-Etag} (SHA-256) and {@code X-Linked-Size}; every hub answer carries
 *     {@code X-Repo-Commit};</li>
 * <li>errors with {@code X-Error-Code} and {@code X-Error-Message}: a missing (or private) repository
 *     is 401 {@code RepoNotFound} without a token and 404 with one; a gated repository 401
 *     {@code GatedRepo} without a token, 403 with a token not on its list ("Visit ... to ask for
 *     access"); a token the hub does not know is 401 "Invalid credentials in Authorization header"
 *     even for a public repository; a wrong revision 404 {@code RevisionNotFound}; a missing file
 *     404 {@code EntryNotFound}; 429 with {@code Retry-After} when rate limited.</li>
 * </ul>
 * Test switches: a number of 429s to answer first, a storage transfer that stalls half-way, a captive
 * portal answering every request with an HTML page, HTTPS with a given certificate.
 */
final class FakeHub implements AutoCloseable {

    record Request(String server, String method, String path, String authorization, String range) {
    }

    static final class Repo {
        final Map<String, Map<String, byte[]>> commits = new LinkedHashMap<>();
        String main;
        boolean gated;
        boolean hidden;
        final Set<String> allowed = ConcurrentHashMap.newKeySet();

        Map<String, byte[]> files() {
            return commits.get(main);
        }

        /** A new commit on main with these files (copied). */
        Repo push(Map<String, byte[]> files) {
            String sha = FileSupport.sha256Hex(String.join(",", files.keySet()).getBytes(StandardCharsets.UTF_8)
                    ).substring(0, 24) + String.format("%016x", (long) commits.size() + System.nanoTime());
            commits.put(sha, new LinkedHashMap<>(files));
            main = sha;
            return this;
        }
    }

    final Map<String, Repo> repos = new ConcurrentHashMap<>();
    final Set<String> knownTokens = ConcurrentHashMap.newKeySet();
    final List<Request> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger rateLimited = new AtomicInteger();
    volatile int retryAfterSeconds = 1;
    volatile boolean stallFirstTransfer;
    volatile boolean captivePortal;
    /** Called once after the first resolve answer, e.g. to push a commit in the middle of a pull. */
    volatile Consumer<FakeHub> afterFirstResolve;
    private final AtomicInteger storageRequests = new AtomicInteger();
    private final CountDownLatch closing = new CountDownLatch(1);
    private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
    private final HttpServer hub;
    private final HttpServer storage;
    private final String scheme;

    FakeHub() throws IOException {
        this(null);
    }

    /** With {@code tls}, both servers speak HTTPS with its certificate. */
    FakeHub(SSLContext tls) throws IOException {
        InetSocketAddress loopback = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
        if (tls != null) {
            HttpsServer h = HttpsServer.create(loopback, 0);
            h.setHttpsConfigurator(new HttpsConfigurator(tls));
            HttpsServer s = HttpsServer.create(loopback, 0);
            s.setHttpsConfigurator(new HttpsConfigurator(tls));
            hub = h;
            storage = s;
            scheme = "https";
        } else {
            hub = HttpServer.create(loopback, 0);
            storage = HttpServer.create(loopback, 0);
            scheme = "http";
        }
        hub.createContext("/", this::handleHub);
        storage.createContext("/", this::handleStorage);
        hub.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        storage.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        hub.start();
        storage.start();
    }

    String endpoint() {
        return scheme + "://127.0.0.1:" + hub.getAddress().getPort();
    }

    String storageHost() {
        return "127.0.0.1:" + storage.getAddress().getPort();
    }

    Repo add(String id, Map<String, byte[]> files) {
        Repo r = new Repo().push(files);
        repos.put(id, r);
        return r;
    }

    List<Request> requestsTo(String server) {
        return requests.stream().filter(r -> r.server.equals(server)).toList();
    }

    @Override
    public void close() {
        closing.countDown();
        hub.stop(0);
        storage.stop(0);
    }

    private void log(String server, HttpExchange ex) {
        requests.add(new Request(server, ex.getRequestMethod(), ex.getRequestURI().getRawPath(),
                ex.getRequestHeaders().getFirst("Authorization"), ex.getRequestHeaders().getFirst("Range")));
    }

    private void handleHub(HttpExchange ex) throws IOException {
        try (ex) {
            log("hub", ex);
            if (captivePortal) {
                ex.getResponseHeaders().add("Content-Type", "text/html; charset=utf-8");
                send(ex, 200, "<!DOCTYPE html><html><body>Log in to the guest Wi-Fi</body></html>");
                return;
            }
            if (rateLimited.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                ex.getResponseHeaders().add("Retry-After", Integer.toString(retryAfterSeconds));
                error(ex, 429, null, "You have been rate-limited; you can retry this action in about 1 minute.");
                return;
            }
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            String token = auth != null && auth.startsWith("Bearer ") ? auth.substring(7) : null;
            if (auth != null && (token == null || !knownTokens.contains(token))) {
                error(ex, 401, null, "Invalid credentials in Authorization header");
                return;
            }
            List<String> segments = decodedSegments(ex.getRequestURI().getRawPath());
            if (segments.size() >= 6 && segments.get(0).equals("api") && segments.get(1).equals("models")
                    && segments.get(4).equals("revision")) {
                apiModel(ex, segments.get(2) + "/" + segments.get(3), segments.get(5), token);
            } else if (segments.size() >= 5 && segments.get(2).equals("resolve")) {
                resolve(ex, segments.get(0) + "/" + segments.get(1), segments.get(3),
                        String.join("/", segments.subList(4, segments.size())), token);
            } else if (segments.size() >= 7 && segments.get(0).equals("api") && segments.get(1).equals("resolve-cache")) {
                Repo repo = repos.get(segments.get(3) + "/" + segments.get(4));
                Map<String, byte[]> files = repo == null ? null : repo.commits.get(segments.get(5));
                byte[] data = files == null ? null : files.get(String.join("/", segments.subList(6, segments.size())));
                if (data == null) {
                    error(ex, 404, "EntryNotFound", "Entry not found");
                    return;
                }
                ex.getResponseHeaders().add("Content-Type", "text/plain; charset=utf-8");
                ex.getResponseHeaders().add("X-Repo-Commit", segments.get(5));
                send(ex, 200, data);
            } else {
                error(ex, 404, null, "Not Found");
            }
        }
    }

    /** The repository if the caller may see it; else answers as the hub does and returns null. */
    private Repo visible(HttpExchange ex, String id, String token, boolean resolving) throws IOException {
        Repo repo = repos.get(id);
        if (repo == null || repo.hidden && (token == null || !repo.allowed.contains(token))) {
            error(ex, token == null ? 401 : 404, "RepoNotFound", "Repository not found");
            return null;
        }
        if (resolving && repo.gated && token == null) {
            error(ex, 401, "GatedRepo", "Access to model " + id + " is restricted. You must have access to it and be "
                    + "authenticated to access it. Please log in.");
            return null;
        }
        if (resolving && repo.gated && !repo.allowed.contains(token)) {
            error(ex, 403, "GatedRepo", "Access to model " + id + " is restricted and you are not in the authorized "
                    + "list. Visit https://huggingface.co/" + id + " to ask for access.");
            return null;
        }
        return repo;
    }

    private static String commitOf(Repo repo, String revision) {
        return revision.equals("main") ? repo.main : repo.commits.containsKey(revision) ? revision : null;
    }

    private void apiModel(HttpExchange ex, String id, String revision, String token) throws IOException {
        Repo repo = visible(ex, id, token, false);
        if (repo == null) {
            return;
        }
        String commit = commitOf(repo, revision);
        if (commit == null) {
            error(ex, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return;
        }
        String siblings = repo.commits.get(commit).keySet().stream().map(f -> "{\"rfilename\":\"" + f + "\"}")
                .collect(Collectors.joining(","));
        ex.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
        send(ex, 200, "{\"_id\":\"x\",\"id\":\"" + id + "\",\"private\":" + repo.hidden + ",\"gated\":"
                + (repo.gated ? "\"manual\"" : "false") + ",\"sha\":\"" + commit + "\",\"siblings\":[" + siblings + "]}");
    }

    private void resolve(HttpExchange ex, String id, String revision, String file, String token) throws IOException {
        Repo repo = visible(ex, id, token, true);
        if (repo == null) {
            return;
        }
        String commit = commitOf(repo, revision);
        if (commit == null) {
            error(ex, 404, "RevisionNotFound", "Invalid rev id: " + revision);
            return;
        }
        byte[] data = repo.commits.get(commit).get(file);
        ex.getResponseHeaders().add("X-Repo-Commit", commit);
        if (data == null) {
            error(ex, 404, "EntryNotFound", "Entry not found");
            return;
        }
        String sha = FileSupport.sha256Hex(data);
        if (file.endsWith(".safetensors") || file.endsWith(".bin") || file.endsWith(".gguf")) {
            blobs.put(sha, data);
            ex.getResponseHeaders().add("Location", scheme + "://" + storageHost() + "/xet-bridge/" + sha
                    + "?X-Amz-Signature=abc");
            ex.getResponseHeaders().add("X-Linked-Etag", "\"" + sha + "\"");
            ex.getResponseHeaders().add("X-Linked-Size", Long.toString(data.length));
            ex.getResponseHeaders().add("ETag", "\"" + sha + "\"");
            ex.sendResponseHeaders(302, -1);
        } else {
            ex.getResponseHeaders().add("ETag", "\"" + sha.substring(0, 40) + "\"");
            ex.getResponseHeaders().add("Location", "/api/resolve-cache/models/" + id + "/" + commit + "/"
                    + HubDownloader.encode(file, true));
            ex.sendResponseHeaders(307, -1);
        }
        Consumer<FakeHub> hook = afterFirstResolve;
        if (hook != null) {
            afterFirstResolve = null;
            hook.accept(this);
        }
    }

    private void handleStorage(HttpExchange ex) throws IOException {
        try (ex) {
            log("storage", ex);
            String path = ex.getRequestURI().getPath();
            byte[] data = path.startsWith("/xet-bridge/") ? blobs.get(path.substring("/xet-bridge/".length())) : null;
            if (data == null) {
                send(ex, 404, "NoSuchKey");
                return;
            }
            String range = ex.getRequestHeaders().getFirst("Range");
            int start = 0;
            ex.getResponseHeaders().add("Content-Type", "application/octet-stream");
            if (range != null) {
                start = Integer.parseInt(range.substring("bytes=".length(), range.indexOf('-')));
                ex.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + (data.length - 1) + "/" + data.length);
                ex.sendResponseHeaders(206, data.length - start);
            } else {
                ex.sendResponseHeaders(200, data.length);
            }
            OutputStream out = ex.getResponseBody();
            if (storageRequests.incrementAndGet() == 1 && stallFirstTransfer) {
                out.write(data, 0, data.length / 2);
                out.flush();
                // then nothing more, with the connection open, until the test ends
                try {
                    closing.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return;
            }
            out.write(data, start, data.length - start);
            out.close();
        }
    }

    private static void error(HttpExchange ex, int status, String code, String message) throws IOException {
        if (code != null) {
            ex.getResponseHeaders().add("X-Error-Code", code);
        }
        ex.getResponseHeaders().add("X-Error-Message", message);
        ex.getResponseHeaders().add("Content-Type", "application/json; charset=utf-8");
        send(ex, status, "{\"error\":\"" + message.replace("\"", "\\\"") + "\"}");
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        send(ex, status, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange ex, int status, byte[] data) throws IOException {
        ex.sendResponseHeaders(status, data.length == 0 ? -1 : data.length);
        if (data.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(data);
            }
        }
    }

    /** Path segments, each percent-decoded on its own (so an encoded '/' in a revision stays inside it). */
    static List<String> decodedSegments(String rawPath) {
        List<String> out = new ArrayList<>();
        for (String s : rawPath.substring(1).split("/", -1)) {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '%' && i + 2 < s.length()) {
                    b.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                    i += 2;
                } else {
                    b.write(c);
                }
            }
            out.add(b.toString(StandardCharsets.UTF_8));
        }
        return out;
    }
}
