package dev.clearclip.cli.serve;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.AbortedException;
import dev.clearclip.ClipModel;
import dev.clearclip.FileSupport;
import dev.clearclip.cli.Json;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.inspect.GgufInspector;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import jakarta.servlet.DispatcherType;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.servlet.FilterHolder;

/**
 * The HTTP API and web page of {@code clearclip serve}: one loaded {@link ClipModel} behind Javalin (Jetty).
 * Requests never name files on the server: pictures come in the request body, the model is fixed at start.
 *
 * <p>This class wires the parts and owns the lifecycle (start, drain, stop); the concerns live apart, as
 * llama-server keeps http, queue and context apart:
 * <ul>
 *   <li>transport: Jetty, with at most {@code --max-client-connections} per client address and a deadline
 *       for request headers ({@link ClientConnectionLimit});</li>
 *   <li>access and the whole body before any handler: {@link UploadGate} with {@link AccessGuard};</li>
 *   <li>admission, decode permits, model contexts, deadlines and cancellation: {@link Inference};</li>
 *   <li>the endpoints: {@link InferenceEndpoints}, {@link OpenAiEmbeddings}, reading requests with
 *       {@link RequestReader} and {@link FormParts}; errors: {@link ApiErrors}.</li>
 * </ul>
 */
final class ClearClipServer implements AutoCloseable {

    /**
     * What the server is started with (the model is loaded by the caller, who also closes it); the
     * defaults and their reasons are those of {@code clearclip serve}'s options.
     */
    record Config(String host, int port, long maxUploadBytes, long maxPixels, int queue, String apiKey,
                  String corsOrigin, long maxWindows, Duration requestTimeout, Duration uploadTimeout,
                  long minUploadBytesPerSecond, int maxClientConnections, List<String> allowedHosts,
                  boolean allowRemoteImages, long decodePixels) {

        /** A 4096x4096 picture at the default crop 448 and stride 224, kept at its size: 18 x 18 windows. */
        static final long DEFAULT_MAX_WINDOWS = 324;
        static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);
        static final Duration DEFAULT_UPLOAD_TIMEOUT = Duration.ofSeconds(30);
        static final long DEFAULT_MIN_UPLOAD_RATE = 8 * 1024;
        static final int DEFAULT_MAX_CLIENT_CONNECTIONS = 32;

        Config {
            Objects.requireNonNull(requestTimeout, "requestTimeout");
            Objects.requireNonNull(uploadTimeout, "uploadTimeout");
            allowedHosts = List.copyOf(allowedHosts);
        }

        /** The defaults for everything but the basics (the tests' servers). */
        Config(String host, int port, long maxUploadBytes, long maxPixels, int queue, String apiKey, String corsOrigin) {
            this(host, port, maxUploadBytes, maxPixels, queue, apiKey, corsOrigin, DEFAULT_MAX_WINDOWS,
                    DEFAULT_REQUEST_TIMEOUT, DEFAULT_UPLOAD_TIMEOUT, DEFAULT_MIN_UPLOAD_RATE,
                    DEFAULT_MAX_CLIENT_CONNECTIONS, List.of(), false, ServeLimits.decodePixels(Runtime.getRuntime().maxMemory()));
        }

        Config withRequestTimeout(Duration d) {
            return new Config(host, port, maxUploadBytes, maxPixels, queue, apiKey, corsOrigin, maxWindows, d,
                    uploadTimeout, minUploadBytesPerSecond, maxClientConnections, allowedHosts, allowRemoteImages,
                    decodePixels);
        }

        Config withUploadLimits(Duration timeout, long minBytesPerSecond, int connectionsPerClient) {
            return new Config(host, port, maxUploadBytes, maxPixels, queue, apiKey, corsOrigin, maxWindows,
                    requestTimeout, timeout, minBytesPerSecond, connectionsPerClient, allowedHosts, allowRemoteImages,
                    decodePixels);
        }

        Config withMaxWindows(long windows) {
            return new Config(host, port, maxUploadBytes, maxPixels, queue, apiKey, corsOrigin, windows,
                    requestTimeout, uploadTimeout, minUploadBytesPerSecond, maxClientConnections, allowedHosts,
                    allowRemoteImages, decodePixels);
        }
    }

    /** How long a stopping server lets running requests finish. */
    static final Duration DRAIN = Duration.ofSeconds(60);
    /** After the drain, how long stopped calls get to leave the engine (they stop within one window). */
    private static final Duration AFTER_CANCEL = Duration.ofSeconds(10);

    private static final Set<String> ROUTES = Set.of("/", "/health", "/v1/model", "/metrics", "/v1/segment",
            "/v1/classify", "/v1/embed", "/v1/embeddings");

    private final ClipModel model;
    private final Config config;
    private final Javalin app;
    private final Path uploads;
    private final Inference inference;
    private final UploadGate gate;
    private final ClientConnectionLimit transport;
    private final ApiErrors errors;
    private final ServerMetrics metrics;
    private final ObjectNode modelInfo;
    private final byte[] page;
    private volatile boolean closing;
    private boolean closed;
    private Duration drain = DRAIN;

    private ClearClipServer(ClipModel model, Config config, PrintWriter log) throws IOException {
        this.model = model;
        this.config = config;
        this.errors = new ApiErrors(log);
        this.inference = new Inference(model.maxContexts(), config.queue(), config.decodePixels(), config.requestTimeout());
        this.metrics = new ServerMetrics(inference::waiting, inference::running);
        inference.onBusy(metrics::rejected);
        this.modelInfo = describe(model);
        // beside this class: resources/dev/clearclip/cli/serve/index.html
        try (InputStream in = ClearClipServer.class.getResourceAsStream("index.html")) {
            if (in == null) {
                throw new IOException("the web page (serve/index.html) is missing from the jar");
            }
            this.page = in.readAllBytes();
        }
        this.uploads = Files.createTempDirectory("clearclip-serve-");
        RequestReader requests = new RequestReader(uploads, config.maxUploadBytes(), config.maxPixels());
        AccessGuard guard = new AccessGuard(config.apiKey(), config.corsOrigin(), config.host(), config.allowedHosts());
        this.gate = new UploadGate(guard, config.maxUploadBytes(), config.uploadTimeout(),
                config.minUploadBytesPerSecond(), uploads, metrics, errors);
        InferenceEndpoints endpoints = new InferenceEndpoints(model, requests, inference, metrics, config.maxWindows());
        OpenAiEmbeddings openAi = new OpenAiEmbeddings(model, requests, inference, endpoints, config.allowRemoteImages(),
                config.maxUploadBytes(), config.uploadTimeout());
        this.transport = new ClientConnectionLimit(config.maxClientConnections(), config.uploadTimeout());
        ClientConnectionLimit perClient = transport;
        metrics.transport(transport::refused, transport::slowHeaders);
        this.app = Javalin.create(c -> {
            c.showJavalinBanner = false;
            c.startupWatcherEnabled = false;
            c.http.prefer405over404 = true;
            c.jetty.addConnector((server, http) -> {
                ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
                connector.setHost(config.host());
                connector.setPort(config.port());
                connector.addBean(perClient);
                return connector;
            });
            c.jetty.modifyServletContextHandler(h ->
                    h.addFilter(new FilterHolder(gate::filter), "/*", EnumSet.of(DispatcherType.REQUEST)));
            c.requestLogger.http((ctx, ms) -> metrics.record(ctx.method().name(), route(ctx.path()), ctx.statusCode(),
                    (long) (ms * 1e6)));
        });
        app.get("/", ctx -> ctx.contentType("text/html; charset=utf-8").result(page));
        app.get("/health", this::health);
        app.get("/v1/model", ctx -> ctx.contentType("application/json").result(Json.MAPPER.writeValueAsBytes(modelInfo)));
        app.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.render()));
        app.post("/v1/segment", answered(endpoints::segment));
        app.post("/v1/classify", answered(endpoints::classify));
        app.post("/v1/embed", answered(endpoints::embed));
        app.post("/v1/embeddings", answered(openAi::handle));
        if (config.corsOrigin() != null) {
            app.options("/*", ctx -> ctx.status(204)
                    .header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
                    .header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-API-Key, Accept")
                    .header("Access-Control-Max-Age", "600"));
        }
        app.exception(Exception.class, (e, ctx) -> ApiErrors.answer(ctx, errors.translate(e)));
        // replaces Javalin's plain-text answers, so that every error of the API has the same JSON shape
        app.error(404, ctx -> ApiErrors.answer(ctx, new ApiException(404, "not_found",
                "no such endpoint: " + ctx.method() + " " + ctx.path())));
        app.error(405, ctx -> ApiErrors.answer(ctx, new ApiException(405, "method_not_allowed",
                ctx.method() + " is not allowed on " + ctx.path())));
    }

    /** Starts the server; {@link #port()} tells the port when 0 was asked for. */
    static ClearClipServer start(ClipModel model, Config config, PrintWriter log) throws IOException {
        ClearClipServer s = new ClearClipServer(model, config, log);
        try {
            s.app.start();
        } catch (RuntimeException e) {
            s.inference.close();
            s.transport.close();
            s.deleteUploads();
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            throw new IllegalStateException("cannot listen on " + config.host() + ":" + config.port() + ": "
                    + cause.getMessage(), e);
        }
        return s;
    }

    int port() {
        return app.port();
    }

    String url() {
        String host = config.host().contains(":") ? "[" + config.host() + "]" : config.host();
        return "http://" + host + ":" + port();
    }

    ServerMetrics metrics() {
        return metrics;
    }

    /** The label of a path in the metrics: a route of the API, never the raw URL (to bound the label set). */
    static String route(String path) {
        String p = path == null ? "" : AccessGuard.trimSlashes(path);
        return ROUTES.contains(p) ? p : "unmatched";
    }

    private void health(Context ctx) throws IOException {
        if (closing) {
            // a load balancer must stop sending work as soon as the server is stopping
            ApiErrors.answer(ctx, StopReason.SHUTDOWN.answer());
            return;
        }
        ctx.contentType("application/json").result(Json.MAPPER.writeValueAsBytes(Json.MAPPER.createObjectNode()
                .put("status", "ok").put("model", model.info().name())));
    }

    private interface Endpoint {
        void handle(Context ctx) throws Exception;
    }

    /**
     * An endpoint whose every outcome is a JSON answer: a stop (timeout, disconnect, shutdown) gets its own
     * answer and log line, and an {@link OutOfMemoryError} or other error is answered and logged as well.
     */
    private Handler answered(Endpoint endpoint) {
        return ctx -> {
            long start = System.nanoTime();
            try {
                endpoint.handle(ctx);
            } catch (Inference.Stopped s) {
                stopped(ctx, s.reason, start);
            } catch (AbortedException a) {
                // the engine's own deadline (SegmentOptions.timeout) passed inside the windows
                stopped(ctx, a.reason() == AbortedException.Reason.TIMEOUT ? StopReason.TIMEOUT : StopReason.SHUTDOWN,
                        start);
            } catch (Throwable t) {
                ApiErrors.answer(ctx, errors.translate(t));
            }
            if (ClientLink.of(ctx.req()).sentMore()) {
                // the probe took a byte of a pipelined request: that connection cannot go on
                ctx.header("Connection", "close");
            }
        };
    }

    private void stopped(Context ctx, StopReason reason, long start) {
        errors.log(ctx.method() + " " + ctx.path() + ": " + reason.logLine() + " after "
                + String.format(Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e9) + " s");
        ApiErrors.answer(ctx, reason.answer());
    }

    /** {@code clearclip info --json} of the model file, plus how it is being run; the path only by name. */
    private static ObjectNode describe(ClipModel model) throws IOException {
        ObjectNode info;
        try (GgufFile file = GgufFile.open(model.path())) {
            info = (ObjectNode) Json.MAPPER.readTree(GgufInspector.json(file, false));
        }
        // the server's folders are none of a client's business
        Path name = model.path().getFileName();
        info.put("path", name == null ? "" : name.toString());
        info.put("name", model.info().name());
        info.put("backend", model.backendName());
        info.put("contexts", model.maxContexts());
        info.put("threads_per_context", model.threadsPerContext());
        return info;
    }

    // ---- stopping ----

    /**
     * Stops taking new requests (and {@code /health} answers 503), cuts the uploads still being read, lets
     * the running requests finish (at most {@link #DRAIN}), then stops what still runs with the reason
     * 'shutdown' and stops Jetty. Idempotent. The model is the caller's to close.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        closing = true;
        inference.stopAdmitting();
        gate.close();
        if (!waitUntilIdle(drain)) {
            inference.cancelAll(StopReason.SHUTDOWN);
            waitUntilIdle(AFTER_CANCEL);
        }
        app.stop();
        inference.close();
        transport.close();
        deleteUploads();
    }

    /** How long {@link #close()} lets running requests finish ({@link #DRAIN} unless changed, for tests). */
    synchronized void drainTime(Duration d) {
        drain = d;
    }

    private boolean waitUntilIdle(Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while ((gate.inFlight() > 0 || inference.busy()) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return gate.inFlight() == 0 && !inference.busy();
    }

    private void deleteUploads() {
        try {
            FileSupport.deleteTree(uploads);
        } catch (IOException ignored) {
            // a temporary folder: the OS cleans it eventually
        }
    }
}
