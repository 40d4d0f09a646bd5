package dev.clearclip.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.FileSupport;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Downloads files of a Hugging Face hub repository through its {@code /<repo>/resolve/<revision>/<file>}
 * URLs. Interrupted transfers resume with HTTP Range requests (a {@code .part} file is kept between runs);
 * large (LFS) files are checked against the SHA-256 the hub announces in {@code X-Linked-Etag}.
 */
final class HubDownloader {

    static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final int MAX_ATTEMPTS = 5;
    private static final int MAX_REDIRECTS = 10;
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private final URI endpoint;
    private final Optional<String> token;
    private final PrintWriter err;
    private final HttpClient http;

    HubDownloader(URI endpoint, Optional<String> token, PrintWriter err) {
        this.endpoint = endpoint;
        this.token = token;
        this.err = err;
        this.http = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(30))
                .build();
    }

    /** Endpoint from --endpoint, else $CLEARCLIP_HF_ENDPOINT, else the public hub. */
    static URI endpoint(String option) {
        String e = option != null ? option : System.getenv("CLEARCLIP_HF_ENDPOINT");
        if (e == null || e.isBlank()) {
            e = DEFAULT_ENDPOINT;
        }
        return URI.create(e.endsWith("/") ? e.substring(0, e.length() - 1) : e);
    }

    URI fileUri(String repo, String revision, String file) {
        return URI.create(endpoint + "/" + repo + "/resolve/"
                + URLEncoder.encode(revision, StandardCharsets.UTF_8) + "/" + file);
    }

    /**
     * Downloads one file to {@code dest}. Returns false when the repository has no such file (HTTP 404)
     * and {@code optional} is set.
     *
     * @throws IOException naming the repository, file and problem (access denied, checksum mismatch, ...)
     */
    boolean download(String repo, String revision, String file, Path dest, boolean optional) throws IOException {
        if (Files.isRegularFile(dest)) {
            return true;
        }
        Files.createDirectories(dest.getParent());
        Path part = dest.resolveSibling(dest.getFileName() + ".part");
        URI uri = fileUri(repo, revision, file);
        String what = repo + "/" + file;
        IOException lastFailure = null;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            long have = Files.isRegularFile(part) ? Files.size(part) : 0;
            Response r;
            try {
                r = get(uri, have);
            } catch (IOException e) {
                lastFailure = e;
                err.println("note: " + what + ": " + describe(e) + "; retrying (" + attempt + "/" + MAX_ATTEMPTS + ")");
                pause(attempt);
                continue;
            }
            try (InputStream body = r.response.body()) {
                int status = r.response.statusCode();
                if (status == 404) {
                    if (optional) {
                        return false;
                    }
                    throw new IOException(what + ": not found at revision " + revision + " (HTTP 404 from " + uri + ")");
                }
                if (status == 401 || status == 403) {
                    throw new IOException(what + ": access denied (HTTP " + status + "); for gated or private "
                            + "repositories set HF_TOKEN to a Hugging Face access token");
                }
                if (status == 416) {
                    // The part file already holds every byte (or more than the file has): check it below.
                    if (r.expectedSize >= 0 && have != r.expectedSize) {
                        Files.deleteIfExists(part);
                        continue;
                    }
                } else if (status == 200 || status == 206) {
                    boolean append = status == 206 && have > 0 && contentRangeStart(r.response) == have;
                    long total = r.expectedSize >= 0 ? r.expectedSize
                            : r.response.headers().firstValueAsLong("content-length").orElse(-1)
                            + (append ? have : 0);
                    try {
                        copy(body, part, append, append ? have : 0, total, file);
                    } catch (IOException e) {
                        lastFailure = e;
                        err.println("note: " + what + ": transfer interrupted (" + describe(e) + "); resuming ("
                                + attempt + "/" + MAX_ATTEMPTS + ")");
                        pause(attempt);
                        continue;
                    }
                } else {
                    throw new IOException(what + ": HTTP " + status + " from " + uri);
                }
            }
            long size = Files.size(part);
            if (r.expectedSize >= 0 && size != r.expectedSize) {
                lastFailure = new IOException(what + ": got " + size + " bytes, expected " + r.expectedSize);
                continue;
            }
            if (r.sha256 != null) {
                String actual = FileSupport.sha256Hex(part);
                if (!actual.equals(r.sha256)) {
                    Files.deleteIfExists(part);
                    throw new IOException(what + ": checksum mismatch: the hub announces SHA-256 " + r.sha256
                            + ", the download has " + actual + " (the partial download was deleted; run pull again)");
                }
            }
            Files.move(part, dest, StandardCopyOption.REPLACE_EXISTING);
            return true;
        }
        throw new IOException(what + ": download failed after " + MAX_ATTEMPTS + " attempts"
                + (lastFailure == null ? "" : ": " + describe(lastFailure)) + "; run pull again to resume");
    }

    /**
     * The files of a repository at a revision, from the hub's model API
     * ({@code /api/models/<repo>/revision/<revision>}, its {@code siblings}).
     *
     * @throws IOException naming the repository and the problem
     */
    List<String> listFiles(String repo, String revision) throws IOException {
        URI uri = URI.create(endpoint + "/api/models/" + repo + "/revision/"
                + URLEncoder.encode(revision, StandardCharsets.UTF_8));
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(1)).GET()
                .header("User-Agent", "clearclip");
        token.ifPresent(t -> b.header("Authorization", "Bearer " + t));
        HttpResponse<byte[]> response;
        try {
            response = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(repo + ": interrupted while listing its files", e);
        } catch (IOException e) {
            throw new IOException(repo + ": cannot list its files: " + describe(e), e);
        }
        int status = response.statusCode();
        if (status == 401 || status == 403) {
            throw new IOException(repo + ": access denied (HTTP " + status + ") when listing its files; for gated or "
                    + "private repositories set HF_TOKEN to a Hugging Face access token");
        }
        if (status == 404) {
            throw new IOException(repo + ": no such repository or revision " + revision + " (HTTP 404 from " + uri + ")");
        }
        if (status != 200) {
            throw new IOException(repo + ": HTTP " + status + " when listing its files from " + uri);
        }
        JsonNode siblings;
        try {
            siblings = Json.MAPPER.readTree(response.body()).path("siblings");
        } catch (IOException e) {
            throw new IOException(repo + ": the hub's file list is not JSON (" + uri + ")", e);
        }
        List<String> files = new ArrayList<>();
        for (JsonNode sibling : siblings) {
            String name = sibling.path("rfilename").asText("");
            if (!name.isEmpty() && !name.startsWith("/") && !name.contains("..")) {
                files.add(name);
            }
        }
        return files;
    }

    private record Response(HttpResponse<InputStream> response, String sha256, long expectedSize) {
    }

    /** GET with manual redirects, so the hub's headers on the redirect (LFS SHA-256 and size) are seen. */
    private Response get(URI uri, long rangeStart) throws IOException {
        String sha = null;
        long size = -1;
        URI current = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(current).timeout(Duration.ofMinutes(5)).GET()
                    .header("User-Agent", "clearclip");
            if (rangeStart > 0) {
                b.header("Range", "bytes=" + rangeStart + "-");
            }
            if (token.isPresent() && sameHost(current, endpoint)) {
                b.header("Authorization", "Bearer " + token.get());
            }
            HttpResponse<InputStream> response;
            try {
                response = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            if (sha == null) {
                sha = linkedSha256(response);
            }
            if (size < 0) {
                size = response.headers().firstValueAsLong("x-linked-size").orElse(-1);
            }
            int status = response.statusCode();
            if (status >= 300 && status < 400 && status != 304) {
                Optional<String> location = response.headers().firstValue("location");
                response.body().close();
                if (location.isEmpty()) {
                    throw new IOException("HTTP " + status + " without a Location from " + current);
                }
                current = current.resolve(location.get());
                continue;
            }
            return new Response(response, sha, size);
        }
        throw new IOException("too many redirects from " + uri);
    }

    private static boolean sameHost(URI a, URI b) {
        return a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost()) && a.getPort() == b.getPort();
    }

    /** SHA-256 of an LFS file: X-Linked-Etag, else an ETag that is a SHA-256 (git blob ids are SHA-1). */
    static String linkedSha256(HttpResponse<?> response) {
        for (String header : new String[] {"x-linked-etag", "etag"}) {
            Optional<String> v = response.headers().firstValue(header);
            if (v.isPresent()) {
                String s = v.get().trim();
                if (s.startsWith("W/")) {
                    s = s.substring(2);
                }
                s = s.replace("\"", "").toLowerCase(Locale.ROOT);
                if (SHA256.matcher(s).matches()) {
                    return s;
                }
            }
        }
        return null;
    }

    private static long contentRangeStart(HttpResponse<?> response) {
        // "bytes START-END/TOTAL"
        return response.headers().firstValue("content-range").map(v -> {
            String s = v.trim();
            int space = s.indexOf(' ');
            int dash = s.indexOf('-');
            try {
                return Long.parseLong(s.substring(space + 1, dash));
            } catch (RuntimeException e) {
                return -1L;
            }
        }).orElse(-1L);
    }

    private void copy(InputStream body, Path part, boolean append, long start, long total, String label)
            throws IOException {
        ProgressBar bar = new ProgressBar(err, label, total, true);
        long done = start;
        byte[] buf = new byte[1 << 16];
        try (OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            int n;
            while ((n = body.read(buf)) > 0) {
                out.write(buf, 0, n);
                done += n;
                bar.update(done);
            }
        }
        bar.finish(done);
    }


    private String describe(IOException e) {
        if (e instanceof java.net.ConnectException || e instanceof java.net.UnknownHostException
                || e instanceof java.net.http.HttpConnectTimeoutException) {
            // the JDK's own messages are often empty here; say what a user can act on
            return "cannot connect to " + endpoint + " (no network, a proxy, or the host is down: "
                    + e.getClass().getSimpleName() + ")";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static void pause(int attempt) {
        try {
            Thread.sleep(Math.min(8000, 250L << attempt));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
