package dev.clearclip.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.LabelImages;
import dev.clearclip.AbortedException;
import dev.clearclip.ClassEmbeddings;
import dev.clearclip.ClassSet;
import dev.clearclip.Classification;
import dev.clearclip.ClearClipException;
import dev.clearclip.ClipModel;
import dev.clearclip.ImageReadException;
import dev.clearclip.InvalidTextException;
import dev.clearclip.Preset;
import dev.clearclip.RgbImage;
import dev.clearclip.SegmentOptions;
import dev.clearclip.SegmentationResult;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.inspect.GgufInspector;
import io.javalin.Javalin;
import io.javalin.config.SizeUnit;
import io.javalin.http.Context;
import io.javalin.http.UploadedFile;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.eclipse.jetty.servlet.FilterHolder;

/**
 * The HTTP API and web page of {@code clearclip serve}: one loaded {@link ClipModel} behind Javalin (Jetty).
 * Requests never name files on the server: pictures come in the request body, the model is fixed at start.
 *
 * <p>Admission: at most {@code contexts + queue} inference requests are accepted at once; the rest get
 * 503 with Retry-After at once rather than piling up threads and memory. Of the accepted ones,
 * {@code contexts} run and the others wait (the queue depth of {@code /metrics}).
 */
final class ClearClipServer implements AutoCloseable {

    /** What the server is started with (the model is loaded by the caller, who also closes it). */
    record Config(String host, int port, long maxUploadBytes, long maxPixels, int queue, String apiKey,
                  String corsOrigin) {
    }

    /** Most texts in one embed request. */
    static final int MAX_TEXTS = 256;
    /** How long a stopping server lets running requests finish. */
    static final Duration DRAIN = Duration.ofSeconds(60);

    private final ClipModel model;
    private final Config config;
    private final PrintWriter log;
    private final Javalin app;
    private final Path uploads;
    private final RequestReader requests;
    private final Semaphore admission;
    private final Semaphore slots;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean closing;
    private boolean closed;
    private final ServerMetrics metrics;
    private final ObjectNode modelInfo;
    private final byte[] page;
    private final Map<List<ClassSet.ClassSpec>, ClassEmbeddings> embeddingCache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<List<ClassSet.ClassSpec>, ClassEmbeddings> eldest) {
            return size() > 64;
        }
    };

    private ClearClipServer(ClipModel model, Config config, PrintWriter log) throws IOException {
        this.model = model;
        this.config = config;
        this.log = log;
        int contexts = model.maxContexts();
        this.admission = new Semaphore(contexts + config.queue());
        this.slots = new Semaphore(contexts);
        this.metrics = new ServerMetrics(waiting::get, running::get);
        this.modelInfo = describe(model);
        try (InputStream in = ClearClipServer.class.getResourceAsStream("serve/index.html")) {
            if (in == null) {
                throw new IOException("the web page (serve/index.html) is missing from the jar");
            }
            this.page = in.readAllBytes();
        }
        this.uploads = Files.createTempDirectory("clearclip-serve-");
        this.requests = new RequestReader(uploads, config.maxUploadBytes(), config.maxPixels());
        long max = config.maxUploadBytes();
        this.app = Javalin.create(c -> {
            c.showJavalinBanner = false;
            c.startupWatcherEnabled = false;
            c.http.maxRequestSize = max;
            c.http.prefer405over404 = true;
            c.jetty.multipartConfig.cacheDirectory(uploads.toString());
            c.jetty.multipartConfig.maxFileSize(max, SizeUnit.BYTES);
            c.jetty.multipartConfig.maxTotalRequestSize(max, SizeUnit.BYTES);
            c.jetty.multipartConfig.maxInMemoryFileSize(1, SizeUnit.MB);
            // Jetty's own cap on form fields (200 kB) would refuse a long 'classes' field with a generic
            // message; the upload limit bounds the body, and RequestReader.classes() gives the specific limit.
            c.jetty.modifyServletContextHandler(h -> {
                h.setMaxFormContentSize((int) Math.min(Integer.MAX_VALUE, max));
                h.addFilter(new FilterHolder(this::countUntilSent), "/*", EnumSet.of(DispatcherType.REQUEST));
            });
            c.requestLogger.http((ctx, ms) -> metrics.record(ctx.method().name(), route(ctx), ctx.statusCode(),
                    (long) (ms * 1e6)));
        });
        routes();
    }

    /** Starts the server; {@link #port()} tells the port when 0 was asked for. */
    static ClearClipServer start(ClipModel model, Config config, PrintWriter log) throws IOException {
        ClearClipServer s = new ClearClipServer(model, config, log);
        try {
            s.app.start(config.host(), config.port());
        } catch (RuntimeException e) {
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

    private static String route(Context ctx) {
        try {
            String p = ctx.endpointHandlerPath();
            return p == null || p.isEmpty() || p.equals("*") ? "unmatched" : p;
        } catch (RuntimeException e) {
            return "unmatched";
        }
    }

    private void routes() {
        app.before(this::guard);
        app.get("/", ctx -> ctx.contentType("text/html; charset=utf-8").result(page));
        app.get("/health", ctx -> json(ctx, Json.MAPPER.createObjectNode().put("status", "ok")
                .put("model", model.info().name())));
        app.get("/v1/model", ctx -> json(ctx, modelInfo));
        app.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(metrics.render()));
        app.post("/v1/segment", ctx -> inference(ctx, () -> segment(ctx)));
        app.post("/v1/classify", ctx -> inference(ctx, () -> classify(ctx)));
        app.post("/v1/embed", ctx -> inference(ctx, () -> embed(ctx)));
        if (config.corsOrigin() != null) {
            app.options("/*", ctx -> ctx.status(204)
                    .header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
                    .header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-API-Key, Accept")
                    .header("Access-Control-Max-Age", "600"));
        }
        app.exception(ApiException.class, (e, ctx) -> error(ctx, e));
        app.exception(Exception.class, (e, ctx) -> error(ctx, translate(e)));
        // replaces Javalin's plain-text answers, so that every error of the API has the same JSON shape
        app.error(404, ctx -> error(ctx, new ApiException(404, "not_found",
                "no such endpoint: " + ctx.method() + " " + ctx.path())));
        app.error(405, ctx -> error(ctx, new ApiException(405, "method_not_allowed",
                ctx.method() + " is not allowed on " + ctx.path())));
    }

    /** Before every request: CORS, the API key, the upload limit. */
    private void guard(Context ctx) {
        String origin = ctx.header("Origin");
        String allowed = config.corsOrigin();
        if (allowed != null && origin != null && (allowed.equals("*") || allowed.equals(origin))) {
            ctx.header("Access-Control-Allow-Origin", allowed.equals("*") ? "*" : origin);
            ctx.header("Vary", "Origin");
        }
        if (ctx.method().name().equals("OPTIONS")) {
            return;
        }
        String path = ctx.path();
        boolean open = path.equals("/") || path.equals("/health");
        if (config.apiKey() != null && !open && !keyMatches(ctx)) {
            ctx.header("WWW-Authenticate", "Bearer");
            throw new ApiException(401, "unauthorized", "missing or wrong API key (send 'Authorization: Bearer KEY' "
                    + "or 'X-API-Key: KEY')");
        }
        long length = ctx.req().getContentLengthLong();
        if (length > config.maxUploadBytes()) {
            throw requests.tooLarge(length);
        }
    }

    private boolean keyMatches(Context ctx) {
        String given = ctx.header("X-API-Key");
        String auth = ctx.header("Authorization");
        if (given == null && auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            given = auth.substring(7).strip();
        }
        // constant time, so that the key cannot be guessed byte by byte from response times
        return given != null && MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8),
                config.apiKey().getBytes(StandardCharsets.UTF_8));
    }

    private interface Work {
        void run() throws Exception;
    }

    /** Runs an inference request under admission control: refused at once when the queue is full. */
    private void inference(Context ctx, Work work) throws Exception {
        if (closing) {
            throw new ApiException(503, "shutting_down", "the server is stopping", 5);
        }
        if (!admission.tryAcquire()) {
            metrics.rejected();
            throw new ApiException(503, "busy", "all " + model.maxContexts() + " model contexts are busy and the queue of "
                    + config.queue() + " is full; retry later", 1);
        }
        try {
            work.run();
        } finally {
            admission.release();
        }
    }

    /**
     * Counts a request as running until its response is complete on the wire, so that {@link #close()}
     * stops Jetty only after that. Javalin writes a handler's result after the handler returns; counting
     * only the handler let a stopping server cut a finished segmentation's answer mid-body (on a loaded
     * machine, ServeProcessTest's client saw 'EOF reached while reading'; ServeStopTest makes it certain).
     */
    private void countUntilSent(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        inFlight.incrementAndGet();
        try {
            chain.doFilter(request, response);
            if (!request.isAsyncStarted()) {
                // closing the output ends the body (the last chunk) now rather than after this filter
                try {
                    response.getOutputStream().close();
                } catch (IllegalStateException writerInUse) {
                    response.getWriter().close();
                }
            }
        } finally {
            inFlight.decrementAndGet();
        }
    }

    /** Holds one of the model's contexts for a model call (the waiting ones are the queue depth). */
    private <T> T withSlot(java.util.concurrent.Callable<T> call) throws Exception {
        waiting.incrementAndGet();
        try {
            slots.acquire();
        } finally {
            waiting.decrementAndGet();
        }
        running.incrementAndGet();
        try {
            return call.call();
        } finally {
            running.decrementAndGet();
            slots.release();
        }
    }

    // ---- the endpoints ----

    private void segment(Context ctx) throws Exception {
        RequestReader.requireMultipart(ctx);
        Preset preset = requests.preset(ctx);
        SegmentOptions options = requests.segmentOptions(ctx, preset);
        ClassSet classes = requests.classes(ctx, preset);
        if (options.usesBackground()) {
            classes = classes.withBackground();
        }
        RgbImage picture = requests.picture(ctx);
        ClassSet effective = classes;
        SegmentationResult result = withSlot(() -> {
            ClassEmbeddings embeddings = embeddings(effective);
            return model.segment(picture, embeddings, options, (done, total) -> metrics.windowDone());
        });
        String accept = ctx.header("Accept");
        if (accept != null && accept.toLowerCase(Locale.ROOT).contains("image/png")) {
            ctx.contentType("image/png").result(png(LabelImages.overlay(picture, result)));
            return;
        }
        ObjectNode root = Json.MAPPER.createObjectNode();
        root.put("width", result.width());
        root.put("height", result.height());
        SegmentationJson.putSettings(root, options);
        SegmentationJson.putClasses(root, result, effective);
        root.put("labels_png", Base64.getEncoder().encodeToString(png(LabelImages.labelImage(result))));
        json(ctx, root);
    }

    private void classify(Context ctx) throws Exception {
        RequestReader.requireMultipart(ctx);
        ClassSet classes = requests.classes(ctx, requests.preset(ctx));
        RgbImage picture = requests.picture(ctx);
        List<Classification> top = withSlot(() -> model.classify(picture, classes, classes.size()));
        ObjectNode root = Json.MAPPER.createObjectNode();
        ArrayNode out = root.putArray("classes");
        for (Classification c : top) {
            out.addObject().put("index", c.classIndex()).put("name", c.name())
                    .put("probability", c.probability()).put("similarity", c.similarity());
        }
        json(ctx, root);
    }

    private void embed(Context ctx) throws Exception {
        String type = RequestReader.contentType(ctx);
        List<String> texts = new ArrayList<>();
        List<RgbImage> pictures = new ArrayList<>();
        List<String> pictureNames = new ArrayList<>();
        if (type.equals("application/json")) {
            JsonNode body;
            try {
                body = Json.MAPPER.readTree(ctx.bodyAsBytes());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw ApiException.badRequest("bad_json", "the body is not valid JSON: " + e.getOriginalMessage());
            }
            JsonNode text = body == null ? null : body.get("text");
            if (text == null || !text.isArray() || text.isEmpty()) {
                throw ApiException.badRequest("bad_option", "give {\"text\": [\"...\", ...]} with at least one text "
                        + "(pictures are sent as multipart/form-data)");
            }
            for (JsonNode t : text) {
                if (!t.isTextual()) {
                    throw ApiException.badRequest("bad_option", "every entry of \"text\" must be a string");
                }
                texts.add(t.asText());
            }
        } else if (type.equals("multipart/form-data")) {
            texts.addAll(requests.multipart(() -> ctx.formParams("text")));
            for (UploadedFile f : requests.multipart(() -> ctx.uploadedFiles("image"))) {
                pictures.add(requests.readPicture(f));
                pictureNames.add(f.filename() == null ? "image" : f.filename());
            }
            if (texts.isEmpty() && pictures.isEmpty()) {
                throw ApiException.badRequest("bad_option", "give at least one 'text' field or 'image' file");
            }
        } else {
            throw RequestReader.unsupported(ctx);
        }
        if (texts.size() > MAX_TEXTS) {
            throw ApiException.badRequest("bad_option", texts.size() + " texts; at most " + MAX_TEXTS + " per request");
        }
        float[][] textEmbeddings = texts.isEmpty() ? new float[0][] : withSlot(() -> model.encodeText(texts));
        List<float[]> imageEmbeddings = new ArrayList<>();
        for (RgbImage p : pictures) {
            imageEmbeddings.add(withSlot(() -> model.encodeImage(p)));
        }
        // the same document as `clearclip embed`
        ObjectNode root = Json.MAPPER.createObjectNode();
        ArrayNode textOut = root.putArray("text");
        ArrayNode imageOut = root.putArray("image");
        for (int i = 0; i < texts.size(); i++) {
            addEmbedding(textOut, texts.get(i), textEmbeddings[i]);
        }
        for (int i = 0; i < pictures.size(); i++) {
            addEmbedding(imageOut, pictureNames.get(i), imageEmbeddings.get(i));
        }
        ctx.contentType("application/json").result(Json.COMPACT.writeValueAsString(root));
    }

    private static void addEmbedding(ArrayNode out, String input, float[] embedding) {
        ObjectNode o = out.addObject();
        o.put("input", input);
        ArrayNode a = o.putArray("embedding");
        for (float v : embedding) {
            a.add(v);
        }
    }

    private ClassEmbeddings embeddings(ClassSet classes) {
        List<ClassSet.ClassSpec> key = classes.classes();
        synchronized (embeddingCache) {
            ClassEmbeddings e = embeddingCache.get(key);
            if (e != null) {
                return e;
            }
        }
        ClassEmbeddings e = model.classEmbeddings(classes);
        synchronized (embeddingCache) {
            embeddingCache.put(key, e);
        }
        return e;
    }

    // ---- answers ----

    private static byte[] png(BufferedImage image) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(image, "png", out)) {
            throw new IOException("no PNG writer available");
        }
        return out.toByteArray();
    }

    private static void json(Context ctx, JsonNode node) throws IOException {
        ctx.contentType("application/json").result(Json.MAPPER.writeValueAsBytes(node));
    }

    private ApiException translate(Exception e) {
        if (e instanceof ImageReadException) {
            return ApiException.badRequest("bad_image", e.getMessage());
        }
        if (e instanceof InvalidTextException) {
            return ApiException.badRequest("bad_text", e.getMessage());
        }
        if (e instanceof AbortedException) {
            return new ApiException(503, "shutting_down", "the server is stopping", 5);
        }
        if (e instanceof ClearClipException) {
            log.println("clearclip serve: inference failed: " + ErrorHandler.message(e));
            return new ApiException(500, "inference_failed", e.getMessage());
        }
        log.println("clearclip serve: internal error: " + e);
        e.printStackTrace(log);
        log.flush();
        return new ApiException(500, "internal", "internal error (see the server's log)");
    }

    private static void error(Context ctx, ApiException e) {
        ObjectNode root = Json.MAPPER.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("code", e.code);
        err.put("message", e.getMessage());
        if (e.retryAfter > 0) {
            ctx.header("Retry-After", Integer.toString(e.retryAfter));
        }
        try {
            ctx.status(e.status).contentType("application/json").result(Json.MAPPER.writeValueAsBytes(root));
        } catch (IOException io) {
            throw new UncheckedIOException(io);
        }
    }

    /** {@code clearclip info --json} of the model file, plus how it is being run. */
    private static ObjectNode describe(ClipModel model) throws IOException {
        ObjectNode info;
        try (GgufFile file = GgufFile.open(model.path())) {
            info = (ObjectNode) Json.MAPPER.readTree(GgufInspector.json(file, false));
        }
        info.put("name", model.info().name());
        info.put("backend", model.backendName());
        info.put("contexts", model.maxContexts());
        info.put("threads_per_context", model.threadsPerContext());
        return info;
    }

    // ---- stopping ----

    /**
     * Stops taking new requests, lets the running ones finish (at most {@link #DRAIN}), then stops Jetty.
     * Idempotent. The model is the caller's to close.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        closing = true;
        long deadline = System.nanoTime() + DRAIN.toNanos();
        while (inFlight.get() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        app.stop();
        deleteUploads();
    }

    private void deleteUploads() {
        try (Stream<Path> files = Files.walk(uploads)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // a temporary folder: the OS cleans it eventually
                }
            });
        } catch (IOException ignored) {
            // already gone
        }
    }
}
