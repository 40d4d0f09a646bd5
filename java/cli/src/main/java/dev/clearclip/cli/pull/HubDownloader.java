package dev.clearclip.cli.pull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.FileSupport;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.ProgressBar;
import dev.clearclip.cli.UsageException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;

/**
 * Downloads the files of one Hugging Face hub repository through its
 * {@code /<repo>/resolve/<revision>/<file>} URLs, as huggingface_hub does: names percent-encoded,
 * redirects followed by hand (the token goes to the hub's own host only, never to the LFS/Xet
 * storage hosts it redirects to), large files checked against the SHA-256 in {@code X-Linked-Etag}.
 * Every file comes from the commit of the first answer ({@code X-Repo-Commit}, or the model API's
 * {@code sha}), so a push during a pull cannot mix two commits. A transfer that sends nothing for the
 * read timeout, or breaks, is resumed with a Range request; 429 and 5xx answers are retried a
 * bounded number of times (429 after its {@code Retry-After}); answers that are not the file
 * (an HTML page, a truncated or non-JSON {@code .json}) are never kept.
 */
final class HubDownloader implements AutoCloseable {

    static final int MAX_ATTEMPTS = 5;
    /** Longest Retry-After waited for; a longer one ends the pull with the hub's wait in the message. */
    static final Duration MAX_RETRY_AFTER = Duration.ofSeconds(60);
    private static final int MAX_REDIRECTS = 10;
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    private final HubSettings settings;
    private final String repo;
    private final String revision;
    private final PrintWriter err;
    private final HttpClient http;
    private String commit;

    HubDownloader(HubSettings settings, String repo, String revision, PrintWriter err, SSLContext ssl) {
        this.settings = settings;
        this.repo = repo;
        this.revision = revision;
        this.err = err;
        HttpClient.Builder b = HttpClient.newBuilder()
                .followRedirects(HttpClient.Redirect.NEVER)
                .proxy(settings.proxies())
                .connectTimeout(settings.readTimeout().compareTo(Duration.ofSeconds(10)) > 0
                        ? settings.readTimeout() : Duration.ofSeconds(10));
        if (ssl != null) {
            b.sslContext(ssl);
        }
        this.http = b.build();
        if (COMMIT.matcher(revision).matches()) {
            commit = revision;
        }
    }

    /** Stops the client's threads and connections (a cancelled transfer may still hold one). */
    @Override
    public void close() {
        http.shutdownNow();
    }

    /** The commit every file comes from, once an answer has named it. */
    Optional<String> commit() {
        return Optional.ofNullable(commit);
    }

    /** Percent-encodes for a URL path: unreserved characters stay, and '/' too if {@code keepSlash}. */
    static String encode(String s, boolean keepSlash) {
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (x & 0xff);
            if (c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || "-._~".indexOf(c) >= 0
                    || keepSlash && c == '/') {
                b.append(c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return b.toString();
    }

    /** The revision (quoted whole, "refs/pr/1" as refs%2Fpr%2F1) and the file (path kept), as huggingface_hub builds it. */
    URI fileUri(String file) {
        return URI.create(settings.endpoint() + "/" + repo + "/resolve/" + encode(commit != null ? commit : revision, false)
                + "/" + encode(file, true));
    }

    /** The commit and files of the revision, from the hub's model API. */
    record RepoInfo(String commit, List<String> files) {
    }

    /**
     * Asks the model API ({@code /api/models/<repo>/revision/<rev>}) for the commit and the file list,
     * and pins the commit. Empty when the address answers without the hub's API (a plain mirror).
     *
     * @throws HubException when the hub says the repository or revision does not exist, is gated, or refuses the token
     */
    Optional<RepoInfo> repoInfo() throws IOException {
        URI uri = URI.create(settings.endpoint() + "/api/models/" + repo + "/revision/" + encode(revision, false));
        for (int attempt = 1; ; attempt++) {
            Answer a;
            try {
                a = fetch(uri, 0, null, HubBody.API_CAP);
            } catch (IOException e) {
                if (attempt >= MAX_ATTEMPTS) {
                    throw new IOException(repo + ": cannot reach the hub after " + MAX_ATTEMPTS + " attempts: " + describe(e), e);
                }
                note(repo + ": " + describe(e) + "; retrying (" + attempt + "/" + MAX_ATTEMPTS + ")");
                pause(attempt);
                continue;
            }
            if (a.status != 200) {
                HubException e = error(a, repo);
                if (e.retryable() && attempt < MAX_ATTEMPTS) {
                    waitBeforeRetry(a, e, attempt);
                    continue;
                }
                if (a.headers.firstValue("x-error-code").isPresent() || e.kind() == HubException.Kind.BAD_TOKEN
                        || e.retryable()) {
                    throw e;
                }
                return Optional.empty();
            }
            JsonNode json;
            try {
                json = Json.MAPPER.readTree(a.body.bytes());
            } catch (IOException e) {
                return Optional.empty();
            }
            if (json == null || !json.path("siblings").isArray()) {
                return Optional.empty();
            }
            List<String> files = new ArrayList<>();
            for (JsonNode sibling : json.path("siblings")) {
                String name = sibling.path("rfilename").asText("");
                if (!name.isEmpty() && !name.startsWith("/") && !name.contains("..")) {
                    files.add(name);
                }
            }
            String sha = json.path("sha").asText("");
            if (COMMIT.matcher(sha).matches()) {
                pin(sha);
            }
            return Optional.of(new RepoInfo(commit, List.copyOf(files)));
        }
    }

    /**
     * Downloads one file to {@code dest} (kept in {@code dest.part} until complete and checked).
     * Returns false when the repository has no such file and {@code optional} is set.
     *
     * @throws IOException naming the repository, file and problem
     */
    boolean download(String file, Path dest, boolean optional) throws IOException {
        if (Files.isRegularFile(dest)) {
            return true;
        }
        Files.createDirectories(dest.getParent());
        Path part = dest.resolveSibling(dest.getFileName() + ".part");
        String what = repo + "/" + file;
        IOException lastFailure = null;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            long have = Files.isRegularFile(part) ? Files.size(part) : 0;
            URI uri = fileUri(file);
            ProgressBar bar = null;
            Answer a;
            try {
                a = fetch(uri, have, part, HubBody.ERROR_CAP);
            } catch (IOException e) {
                lastFailure = e;
                note(what + ": " + (Files.isRegularFile(part) && Files.size(part) > have
                        ? "transfer interrupted (" + describe(e) + "); resuming" : describe(e) + "; retrying")
                        + " (" + attempt + "/" + MAX_ATTEMPTS + ")");
                pause(attempt);
                continue;
            }
            if (a.status == 416 && a.expectedSize >= 0 && have == a.expectedSize) {
                // the part file already holds every byte: checked below
            } else if (a.status == 416) {
                Files.deleteIfExists(part);
                continue;
            } else if (a.writtenToFile) {
                bar = a.bar;
            } else if ((a.status == 200 || a.status == 206) && a.html) {
                throw new IOException(what + ": the answer from " + a.uri + " is an HTML page, not the file (a captive "
                        + "portal, proxy login or error page?); nothing was kept");
            } else if (a.status == 206) {
                Files.deleteIfExists(part); // a range we did not ask for: start again
                continue;
            } else {
                HubException e = error(a, what);
                if (e.kind() == HubException.Kind.ENTRY_NOT_FOUND && optional) {
                    return false;
                }
                if (e.retryable() && attempt < MAX_ATTEMPTS) {
                    lastFailure = e;
                    waitBeforeRetry(a, e, attempt);
                    continue;
                }
                throw e;
            }
            long size = Files.size(part);
            if (bar != null) {
                bar.finish(size);
            }
            long expected = a.expectedSize >= 0 ? a.expectedSize
                    : a.contentLength >= 0 ? a.contentLength + (a.appended ? have : 0) : -1;
            if (expected >= 0 && size < expected) {
                lastFailure = new IOException(what + ": got " + size + " of " + expected + " bytes");
                note(what + ": transfer ended early at " + size + " of " + expected + " bytes; resuming ("
                        + attempt + "/" + MAX_ATTEMPTS + ")");
                continue;
            }
            if (expected >= 0 && size > expected) {
                Files.deleteIfExists(part);
                lastFailure = new IOException(what + ": got " + size + " bytes, the hub announced " + expected);
                continue;
            }
            if (a.sha256 != null) {
                String actual = FileSupport.sha256Hex(part);
                if (!actual.equals(a.sha256)) {
                    Files.deleteIfExists(part);
                    throw new IOException(what + ": checksum mismatch: the hub announces SHA-256 " + a.sha256
                            + ", the download has " + actual + " (the partial download was deleted; run pull again)");
                }
            }
            if (file.endsWith(".json")) {
                try {
                    Json.MAPPER.readTree(part.toFile());
                } catch (IOException e) {
                    Files.deleteIfExists(part);
                    throw new IOException(what + ": the answer from " + a.uri + " is not JSON, so not the hub's file "
                            + "(a captive portal or proxy page?); nothing was kept");
                }
            }
            Files.move(part, dest, StandardCopyOption.REPLACE_EXISTING);
            return true;
        }
        throw new IOException(what + ": download failed after " + MAX_ATTEMPTS + " attempts"
                + (lastFailure == null ? "" : ": " + describe(lastFailure)) + "; run pull again to resume");
    }

    private HubException error(Answer a, String what) {
        return HubException.of(a.status, a.headers, a.body.bytes(), a.uri, repo, revision, what,
                settings.token().map(HubSettings.HubToken::toString), settings.endpoint());
    }

    private void waitBeforeRetry(Answer a, HubException e, int attempt) throws IOException {
        if (e.kind() != HubException.Kind.RATE_LIMITED) {
            note(e.getMessage() + "; retrying (" + attempt + "/" + MAX_ATTEMPTS + ")");
            pause(attempt);
            return;
        }
        Duration wait = retryAfter(a.headers).orElse(Duration.ofSeconds(Math.min(8, 1L << attempt)));
        if (wait.compareTo(MAX_RETRY_AFTER) > 0) {
            throw new IOException(e.getMessage() + "; it asks to wait " + wait.toSeconds() + " s: run pull again later");
        }
        note(e.getMessage() + "; waiting " + Math.max(1, wait.toSeconds()) + " s as it asks (" + attempt + "/"
                + MAX_ATTEMPTS + ")");
        sleep(wait.toMillis());
    }

    /** Retry-After: seconds, or an HTTP date. */
    static Optional<Duration> retryAfter(HttpHeaders headers) {
        Optional<String> v = headers.firstValue("retry-after").map(String::strip);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(v.get()))));
        } catch (NumberFormatException e) {
            try {
                ZonedDateTime when = ZonedDateTime.parse(v.get(), DateTimeFormatter.RFC_1123_DATE_TIME);
                Duration d = Duration.between(ZonedDateTime.now(when.getZone()), when);
                return Optional.of(d.isNegative() ? Duration.ZERO : d);
            } catch (RuntimeException ignored) {
                return Optional.empty();
            }
        }
    }

    private void pin(String answered) throws IOException {
        if (commit == null) {
            commit = answered;
        } else if (!commit.equals(answered)) {
            throw new IOException(repo + ": the hub answered from commit " + answered + " after " + commit
                    + " (the repository changed during the pull?); run pull again");
        }
    }

    /** What one request chain (redirects followed) gave. */
    private static final class Answer {
        int status;
        HttpHeaders headers;
        URI uri;
        HubBody body;
        String sha256;
        long expectedSize = -1;
        long contentLength = -1;
        boolean writtenToFile;
        boolean appended;
        boolean html;
        ProgressBar bar;
    }

    /**
     * GET with redirects followed by hand, so the hub's headers on the redirect (LFS SHA-256, size,
     * commit) are seen and the token stays on the hub's host. A success body goes to {@code part}
     * when given (appended when the answer continues at {@code rangeStart}), else to memory (its
     * first {@code memoryCap} bytes).
     */
    private Answer fetch(URI uri, long rangeStart, Path part, int memoryCap) throws IOException {
        Answer a = new Answer();
        URI current = uri;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder b = HttpRequest.newBuilder(current).GET().header("User-Agent", "clearclip")
                    .timeout(settings.readTimeout());
            if (rangeStart > 0 && part != null) {
                b.header("Range", "bytes=" + rangeStart + "-");
            }
            boolean hubHost = sameOrigin(current, settings.endpoint());
            if (settings.token().isPresent() && hubHost) {
                try {
                    b.header("Authorization", "Bearer " + settings.token().get().value());
                } catch (IllegalArgumentException e) {
                    // the JDK's message would repeat the header's value
                    throw new UsageException("the Hugging Face " + settings.token().get() + " cannot be sent in an HTTP header");
                }
            }
            final URI at = current;
            AtomicReference<HubBody> holder = new AtomicReference<>();
            HttpResponse.BodyHandler<Long> handler = info -> {
                int status = info.statusCode();
                HubBody body;
                boolean html = info.headers().firstValue("content-type").orElse("").toLowerCase(Locale.ROOT)
                        .startsWith("text/html");
                if (part != null && !html && (status == 200 || status == 206 && contentRangeStart(info.headers()) == rangeStart)) {
                    a.appended = status == 206;
                    long total = a.expectedSize >= 0 ? a.expectedSize : info.headers().firstValueAsLong("content-length")
                            .orElse(-1) + (a.appended ? rangeStart : 0);
                    String name = part.getFileName().toString();
                    a.bar = new ProgressBar(err, name.substring(0, name.length() - ".part".length()), total, true);
                    long base = a.appended ? rangeStart : 0;
                    ProgressBar bar = a.bar;
                    try {
                        body = HubBody.toFile(part, a.appended, n -> bar.update(base + n));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    a.writtenToFile = true;
                } else {
                    a.html = html;
                    body = HubBody.inMemory(status >= 300 && status < 400 ? 0 : memoryCap);
                }
                holder.set(body);
                return body;
            };
            HttpResponse<Long> response = await(http.sendAsync(b.build(), handler), holder, at);
            a.status = response.statusCode();
            a.headers = response.headers();
            a.uri = at;
            a.body = holder.get();
            if (hubHost) {
                if (a.sha256 == null) {
                    a.sha256 = linkedSha256(response.headers());
                }
                if (a.expectedSize < 0) {
                    a.expectedSize = response.headers().firstValueAsLong("x-linked-size").orElse(-1);
                }
                Optional<String> answeredCommit = response.headers().firstValue("x-repo-commit").map(String::strip)
                        .filter(c -> COMMIT.matcher(c).matches());
                if (answeredCommit.isPresent()) {
                    pin(answeredCommit.get());
                }
            }
            if (a.status >= 300 && a.status < 400 && a.status != 304) {
                Optional<String> location = response.headers().firstValue("location");
                if (location.isEmpty()) {
                    throw new IOException("HTTP " + a.status + " without a Location from " + at);
                }
                current = at.resolve(location.get());
                continue;
            }
            a.contentLength = response.headers().firstValueAsLong("content-length").orElse(-1);
            return a;
        }
        throw new IOException("too many redirects from " + uri);
    }

    /** Waits for the answer, giving up when no byte has come for the read timeout. */
    private HttpResponse<Long> await(CompletableFuture<HttpResponse<Long>> future, AtomicReference<HubBody> holder, URI uri)
            throws IOException {
        long limit = settings.readTimeout().toNanos();
        long started = System.nanoTime();
        while (true) {
            try {
                return future.get(50, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                HubBody body = holder.get();
                long last = body == null ? started : Math.max(started, body.lastActivityNanos());
                if (System.nanoTime() - last > limit) {
                    if (body != null) {
                        body.cancel();
                    }
                    future.cancel(true);
                    throw new HttpTimeoutException("no data from " + uri.getHost() + " for "
                            + settings.readTimeout().toMillis() / 1000.0 + " s");
                }
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof UsageException u) {
                    throw u;
                }
                if (cause instanceof UncheckedIOException u) {
                    throw u.getCause();
                }
                if (cause instanceof IOException io) {
                    throw io;
                }
                throw new IOException(cause == null ? "request failed" : cause.toString(), cause);
            } catch (InterruptedException e) {
                future.cancel(true);
                HubBody body = holder.get();
                if (body != null) {
                    body.cancel();
                }
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted");
            }
        }
    }

    private static boolean sameOrigin(URI a, URI b) {
        return a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost()) && port(a) == port(b)
                && a.getScheme().equalsIgnoreCase(b.getScheme());
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    /** SHA-256 of an LFS file: X-Linked-Etag, else an ETag that is a SHA-256 (git blob ids are SHA-1). */
    static String linkedSha256(HttpHeaders headers) {
        for (String header : new String[] {"x-linked-etag", "etag"}) {
            Optional<String> v = headers.firstValue(header);
            if (v.isPresent()) {
                String s = v.get().strip();
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

    /** "bytes START-END/TOTAL" -> START, else -1. */
    private static long contentRangeStart(HttpHeaders headers) {
        return headers.firstValue("content-range").map(v -> {
            String s = v.strip();
            int space = s.indexOf(' ');
            int dash = s.indexOf('-');
            try {
                return Long.parseLong(s.substring(space + 1, dash));
            } catch (RuntimeException e) {
                return -1L;
            }
        }).orElse(-1L);
    }

    private void note(String message) {
        err.println("note: " + message);
    }

    private String describe(IOException e) {
        if (e instanceof java.net.ConnectException || e instanceof java.net.UnknownHostException
                || e instanceof java.net.http.HttpConnectTimeoutException) {
            // the JDK's own messages are often empty here; say what a user can act on
            java.net.Proxy proxy = settings.proxies().select(settings.endpoint()).getFirst();
            String through = proxy.type() == java.net.Proxy.Type.DIRECT
                    ? " (no proxy set: behind one, set HTTPS_PROXY)"
                    : " through the proxy " + ((java.net.InetSocketAddress) proxy.address()).getHostString() + ":"
                    + ((java.net.InetSocketAddress) proxy.address()).getPort();
            return "cannot connect to " + settings.endpoint().getHost() + through + " (" + e.getClass().getSimpleName() + ")";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static void pause(int attempt) {
        sleep(Math.min(8000, 250L << attempt));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
