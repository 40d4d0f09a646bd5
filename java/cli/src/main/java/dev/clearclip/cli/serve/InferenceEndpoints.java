package dev.clearclip.cli.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.ClassEmbeddings;
import dev.clearclip.ClassSet;
import dev.clearclip.Classification;
import dev.clearclip.ClipModel;
import dev.clearclip.LabelImages;
import dev.clearclip.Preset;
import dev.clearclip.RgbImage;
import dev.clearclip.SegmentOptions;
import dev.clearclip.SegmentSettings;
import dev.clearclip.SegmentationResult;
import dev.clearclip.cli.Json;
import dev.clearclip.cli.SegmentationJson;
import io.javalin.http.Context;
import jakarta.servlet.http.Part;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The model endpoints of {@code clearclip serve}: {@code /v1/segment}, {@code /v1/classify} and
 * {@code /v1/embed} ({@link OpenAiEmbeddings} has {@code /v1/embeddings}). Each checks the whole request
 * first (options, classes, the picture's header, the window count), then asks {@link Inference} for
 * admission, a decode permit and a model context, in that order, so that a refused request has cost no
 * decode and no context.
 */
final class InferenceEndpoints {

    /** Most texts in one embed request. */
    static final int MAX_TEXTS = 256;

    /** Strict JSON: a body with anything after its value (trailing garbage) is refused. */
    static final ObjectReader STRICT_JSON = Json.MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final ClipModel model;
    private final RequestReader requests;
    private final Inference inference;
    private final ServerMetrics metrics;
    private final long maxWindows;
    private final Map<List<ClassSet.ClassSpec>, ClassEmbeddings> embeddingCache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<List<ClassSet.ClassSpec>, ClassEmbeddings> eldest) {
            return size() > 64;
        }
    };

    InferenceEndpoints(ClipModel model, RequestReader requests, Inference inference, ServerMetrics metrics,
                       long maxWindows) {
        this.model = model;
        this.requests = requests;
        this.inference = inference;
        this.metrics = metrics;
        this.maxWindows = maxWindows;
    }

    static JsonNode strictJson(Context ctx) throws IOException {
        try {
            JsonNode body = STRICT_JSON.readTree(UploadBody.of(ctx).bytes());
            if (body == null || body.isMissingNode()) {
                throw ApiException.badRequest("bad_json", "the body is empty; a JSON object was expected");
            }
            return body;
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("bad_json", "the body is not valid JSON: " + e.getOriginalMessage());
        }
    }

    void segment(Context ctx) throws Exception {
        try (FormParts form = requests.form(ctx)) {
            Preset preset = requests.preset(form);
            SegmentSettings settings = RequestReader.segmentSettings(form);
            SegmentOptions options = RequestReader.segmentOptions(settings, preset);
            ClassSet requested = requests.classes(form, preset);
            ClassSet classes = options.usesBackground() ? requested.withBackground() : requested;
            try (RequestReader.Picture upload = requests.picture(RequestReader.pictureFile(form))) {
                checkWindows(options, upload, settings.maxSide());
                try (Inference.Ticket ticket = inference.admit(ClientLink.of(ctx.req()));
                     AutoCloseable permit = inference.decodePermit(ticket, upload.pixels())) {
                    // as segment reads a picture: at most max_side, the label map scaled back to the upload's size
                    RgbImage picture = upload.decode(settings.maxSide());
                    // the engine's own deadline stops the windows; the ticket's covers the rest of the call
                    SegmentOptions timed = options.toBuilder().timeout(ticket.remaining()).build();
                    SegmentationResult computed = inference.call(ticket, () -> model.segment(picture,
                            embeddings(classes), timed, (done, total) -> metrics.windowDone()));
                    String accept = ctx.header("Accept");
                    if (accept != null && accept.toLowerCase(Locale.ROOT).contains("image/png")) {
                        ctx.contentType("image/png").result(LabelImages.overlayPng(picture, computed));
                        return;
                    }
                    SegmentationResult result = computed.scaledTo(upload.width, upload.height);
                    ObjectNode root = Json.MAPPER.createObjectNode();
                    root.put("width", result.width());
                    root.put("height", result.height());
                    if (result != computed) {
                        root.put("computed_width", computed.width());
                        root.put("computed_height", computed.height());
                    }
                    ObjectNode used = SegmentationJson.putSettings(root, options);
                    if (settings.method() != null) {
                        used.put("method", settings.method().id()); // as segment's JSON says it
                    }
                    SegmentationJson.putClasses(root, result, classes);
                    root.put("labels_png", Base64.getEncoder().encodeToString(LabelImages.labelPng(result)));
                    ctx.contentType("application/json").result(Json.MAPPER.writeValueAsBytes(root));
                }
            }
        }
    }

    /**
     * Refuses settings whose window count exceeds {@code --max-windows}, before anything is decoded: counted at the
     * size the picture is computed at (its long side at most {@code maxSide}).
     */
    private void checkWindows(SegmentOptions options, RequestReader.Picture upload, int maxSide) {
        int w = upload.width;
        int h = upload.height;
        int longSide = Math.max(w, h);
        if (longSide > maxSide) {
            // such pictures are read scaled down to max_side
            double s = (double) maxSide / longSide;
            w = Math.max(1, (int) Math.round(w * s));
            h = Math.max(1, (int) Math.round(h * s));
        }
        long windows = options.windowCount(w, h);
        if (windows > maxWindows) {
            throw ApiException.badRequest("too_many_windows", "these settings make " + windows + " sliding windows "
                    + "for a " + upload.width + "x" + upload.height + " picture (short side " + options.shortSide()
                    + ", crop " + options.crop() + ", stride " + options.stride() + ", max side " + maxSide
                    + "); this server computes at most " + maxWindows + " per request (--max-windows): lower "
                    + "short_side or max_side, or raise stride");
        }
    }

    void classify(Context ctx) throws Exception {
        try (FormParts form = requests.form(ctx)) {
            ClassSet classes = requests.classes(form, requests.preset(form));
            try (RequestReader.Picture upload = requests.picture(RequestReader.pictureFile(form));
                 Inference.Ticket ticket = inference.admit(ClientLink.of(ctx.req()));
                 AutoCloseable permit = inference.decodePermit(ticket, upload.pixels())) {
                RgbImage picture = upload.decode();
                List<Classification> top = inference.call(ticket, () -> model.classify(picture, classes, classes.size()));
                ObjectNode root = Json.MAPPER.createObjectNode();
                ArrayNode out = root.putArray("classes");
                for (Classification c : top) {
                    out.addObject().put("index", c.classIndex()).put("name", c.name())
                            .put("probability", c.probability()).put("similarity", c.similarity());
                }
                ctx.contentType("application/json").result(Json.MAPPER.writeValueAsBytes(root));
            }
        }
    }

    void embed(Context ctx) throws Exception {
        String type = RequestReader.contentType(ctx);
        List<String> texts = new ArrayList<>();
        List<RequestReader.Picture> pictures = new ArrayList<>();
        FormParts form = null;
        try {
            if (type.equals("application/json")) {
                JsonNode text = strictJson(ctx).get("text");
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
                form = requests.form(ctx);
                texts.addAll(form.fields("text"));
                List<Part> files = form.files("image");
                if (texts.size() + files.size() > MAX_TEXTS) {
                    throw ApiException.badRequest("bad_option", (texts.size() + files.size()) + " inputs; at most "
                            + MAX_TEXTS + " per request");
                }
                // every picture's header is checked before any is decoded
                for (Part f : files) {
                    pictures.add(requests.picture(f));
                }
                if (texts.isEmpty() && pictures.isEmpty()) {
                    throw ApiException.badRequest("bad_option", "give at least one 'text' field or 'image' file");
                }
            } else {
                throw RequestReader.unsupported(ctx, "multipart/form-data or application/json");
            }
            if (texts.size() > MAX_TEXTS) {
                throw ApiException.badRequest("bad_option", texts.size() + " texts; at most " + MAX_TEXTS + " per request");
            }
            float[][] textEmbeddings;
            List<float[]> imageEmbeddings;
            try (Inference.Ticket ticket = inference.admit(ClientLink.of(ctx.req()))) {
                textEmbeddings = texts.isEmpty() ? new float[0][] : inference.call(ticket, () -> model.encodeText(texts));
                imageEmbeddings = encodePictures(ticket, pictures);
            }
            // the same document as `clearclip embed`
            ObjectNode root = Json.MAPPER.createObjectNode();
            ArrayNode textOut = root.putArray("text");
            ArrayNode imageOut = root.putArray("image");
            for (int i = 0; i < texts.size(); i++) {
                addEmbedding(textOut, texts.get(i), textEmbeddings[i]);
            }
            for (int i = 0; i < pictures.size(); i++) {
                addEmbedding(imageOut, pictures.get(i).name, imageEmbeddings.get(i));
            }
            ctx.contentType("application/json").result(Json.COMPACT.writeValueAsString(root));
        } finally {
            pictures.forEach(RequestReader.Picture::close);
            if (form != null) {
                form.close();
            }
        }
    }

    /** Global embeddings of stored pictures, one decode permit and one model call at a time. */
    List<float[]> encodePictures(Inference.Ticket ticket, List<RequestReader.Picture> pictures) throws Exception {
        List<float[]> out = new ArrayList<>();
        for (RequestReader.Picture p : pictures) {
            try (AutoCloseable permit = inference.decodePermit(ticket, p.pixels())) {
                RgbImage picture = p.decode();
                out.add(inference.call(ticket, () -> model.encodeImage(picture)));
            }
        }
        return out;
    }

    private static void addEmbedding(ArrayNode out, String input, float[] embedding) {
        ObjectNode o = out.addObject();
        o.put("input", input);
        ArrayNode a = o.putArray("embedding");
        for (float v : embedding) {
            a.add(v);
        }
    }

    /** Class embeddings, kept for the 64 class sets used last (the on-disk cache is the model's). */
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
}
