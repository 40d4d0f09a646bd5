package dev.clearclip.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.ClipModel;
import dev.clearclip.cli.Json;
import io.javalin.http.Context;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * {@code POST /v1/embeddings} in the shape of OpenAI's embeddings API (as llama-server offers it), so that
 * clients written for it work unchanged:
 * {@code {"model":..., "input": "text" | ["text", ...] | [{"content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,..."}}]}]}}
 * answered by {@code {"object":"list","data":[{"object":"embedding","index":i,"embedding":[...]}],"model":...,"usage":{...}}}.
 * Texts and pictures get the model's L2-normalised embeddings, in one space, so a text's and a picture's
 * dot product is their cosine similarity. Pictures come as {@code data:} URLs; remote {@code http(s)} URLs
 * are fetched only with {@code --allow-remote-images} (the server would otherwise fetch any address a
 * client names, on the client's behalf), bounded by the upload limit and the upload time limit.
 */
final class OpenAiEmbeddings {

    private final ClipModel model;
    private final RequestReader requests;
    private final Inference inference;
    private final InferenceEndpoints endpoints;
    private final boolean allowRemote;
    private final long maxBytes;
    private final Duration fetchTimeout;

    OpenAiEmbeddings(ClipModel model, RequestReader requests, Inference inference, InferenceEndpoints endpoints,
                     boolean allowRemote, long maxBytes, Duration fetchTimeout) {
        this.model = model;
        this.requests = requests;
        this.inference = inference;
        this.endpoints = endpoints;
        this.allowRemote = allowRemote;
        this.maxBytes = maxBytes;
        this.fetchTimeout = fetchTimeout;
    }

    /** One input: a text, or a stored picture. */
    private record Input(String text, RequestReader.Picture picture) {
    }

    void handle(Context ctx) throws Exception {
        if (!RequestReader.contentType(ctx).equals("application/json")) {
            throw RequestReader.unsupported(ctx, "application/json");
        }
        JsonNode body = InferenceEndpoints.strictJson(ctx);
        if (!body.isObject()) {
            throw ApiException.badRequest("bad_option", "the body must be a JSON object with \"input\"");
        }
        JsonNode format = body.get("encoding_format");
        if (format != null && !format.isNull() && !"float".equals(format.asText())) {
            throw ApiException.badRequest("bad_option", "encoding_format '" + RequestReader.shorten(format.asText())
                    + "' is not supported; use \"float\"");
        }
        JsonNode input = body.get("input");
        List<JsonNode> items = new ArrayList<>();
        if (input != null && input.isTextual()) {
            items.add(input);
        } else if (input != null && input.isArray() && !input.isEmpty()) {
            input.forEach(items::add);
        } else {
            throw ApiException.badRequest("bad_option", "give \"input\": a string, or a non-empty array of strings "
                    + "or of {\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:...\"}}]}");
        }
        if (items.size() > InferenceEndpoints.MAX_TEXTS) {
            throw ApiException.badRequest("bad_option", items.size() + " inputs; at most " + InferenceEndpoints.MAX_TEXTS
                    + " per request");
        }
        List<Input> inputs = new ArrayList<>();
        try {
            for (int i = 0; i < items.size(); i++) {
                inputs.add(input(items.get(i), i));
            }
            List<String> texts = new ArrayList<>();
            List<RequestReader.Picture> pictures = new ArrayList<>();
            long tokens = 0;
            for (Input in : inputs) {
                if (in.text() != null) {
                    texts.add(in.text());
                    tokens += model.tokenize(in.text()).length;
                } else {
                    pictures.add(in.picture());
                }
            }
            float[][] textEmbeddings;
            List<float[]> imageEmbeddings;
            try (Inference.Ticket ticket = inference.admit(ClientLink.of(ctx.req()))) {
                textEmbeddings = texts.isEmpty() ? new float[0][] : inference.call(ticket, () -> model.encodeText(texts));
                imageEmbeddings = endpoints.encodePictures(ticket, pictures);
            }
            ObjectNode root = Json.MAPPER.createObjectNode();
            root.put("object", "list");
            ArrayNode data = root.putArray("data");
            int t = 0;
            int p = 0;
            for (int i = 0; i < inputs.size(); i++) {
                float[] e = inputs.get(i).text() != null ? textEmbeddings[t++] : imageEmbeddings.get(p++);
                ObjectNode o = data.addObject();
                o.put("object", "embedding");
                o.put("index", i);
                ArrayNode a = o.putArray("embedding");
                for (float v : e) {
                    a.add(v);
                }
            }
            root.put("model", model.info().name());
            root.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
            ctx.contentType("application/json").result(Json.COMPACT.writeValueAsBytes(root));
        } finally {
            for (Input in : inputs) {
                if (in.picture() != null) {
                    in.picture().close();
                }
            }
        }
    }

    private Input input(JsonNode item, int index) {
        if (item.isTextual()) {
            return new Input(item.asText(), null);
        }
        if (item.isNumber() || (item.isArray() && !item.isEmpty() && item.get(0).isNumber())) {
            throw ApiException.badRequest("bad_option", "input " + index + ": token arrays are not supported; send text");
        }
        JsonNode content = item.isObject() ? item.get("content") : null;
        if (content != null && content.isTextual()) {
            return new Input(content.asText(), null);
        }
        if (content == null || !content.isArray() || content.size() != 1) {
            throw ApiException.badRequest("bad_option", "input " + index + ": give a string or {\"content\":[ONE part]} "
                    + "(a text or an image_url part; one embedding per input)");
        }
        JsonNode part = content.get(0);
        String type = part.path("type").asText("");
        if (type.equals("text")) {
            JsonNode text = part.get("text");
            if (text == null || !text.isTextual()) {
                throw ApiException.badRequest("bad_option", "input " + index + ": a text part needs \"text\"");
            }
            return new Input(text.asText(), null);
        }
        if (!type.equals("image_url")) {
            throw ApiException.badRequest("bad_option", "input " + index + ": part type '"
                    + RequestReader.shorten(type) + "' is not supported (text or image_url)");
        }
        JsonNode url = part.path("image_url");
        String address = url.isTextual() ? url.asText() : url.path("url").asText(null);
        if (address == null) {
            throw ApiException.badRequest("bad_option", "input " + index + ": image_url needs \"url\"");
        }
        return new Input(null, picture(address, index));
    }

    private RequestReader.Picture picture(String address, int index) {
        String name = "input " + index;
        String lower = address.toLowerCase(Locale.ROOT);
        if (lower.startsWith("data:")) {
            int comma = address.indexOf(',');
            if (comma < 0 || !address.substring(0, comma).toLowerCase(Locale.ROOT).endsWith(";base64")) {
                throw ApiException.badRequest("bad_image", name + ": only base64 data URLs are supported "
                        + "(data:image/png;base64,...)");
            }
            byte[] bytes;
            try {
                bytes = Base64.getMimeDecoder().decode(address.substring(comma + 1));
            } catch (IllegalArgumentException e) {
                throw ApiException.badRequest("bad_image", name + ": the data URL is not valid base64: " + e.getMessage());
            }
            return requests.picture(new ByteArrayInputStream(bytes), name);
        }
        if (lower.startsWith("http://") || lower.startsWith("https://")) {
            if (!allowRemote) {
                throw ApiException.badRequest("remote_image_refused", name + ": this server does not fetch remote "
                        + "pictures (start it with --allow-remote-images); send the picture as a data: URL");
            }
            return fetch(address, name);
        }
        throw ApiException.badRequest("bad_image", name + ": the image URL must be a data: URL"
                + (allowRemote ? " or http(s)" : ""));
    }

    private RequestReader.Picture fetch(String address, String name) {
        URI uri;
        try {
            uri = URI.create(address);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("bad_image", name + ": not a valid URL");
        }
        HttpClient client = HttpClient.newBuilder().connectTimeout(fetchTimeout)
                .followRedirects(HttpClient.Redirect.NEVER).build();
        long deadline = System.nanoTime() + fetchTimeout.toNanos();
        try {
            HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(uri).timeout(fetchTimeout).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                if (r.statusCode() != 200) {
                    throw ApiException.badRequest("bad_image", name + ": fetching the picture got HTTP " + r.statusCode());
                }
                // the request's timeout ends at the headers: a body trickling in is cut at the same deadline
                Thread watchdog = Thread.ofVirtual().start(() -> {
                    try {
                        Thread.sleep(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
                        in.close();
                    } catch (InterruptedException | IOException done) {
                        // finished in time, or closed already
                    }
                });
                byte[] bytes;
                try {
                    bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
                } finally {
                    watchdog.interrupt();
                }
                if (System.nanoTime() - deadline >= 0) {
                    throw ApiException.badRequest("bad_image", name + ": the remote picture did not arrive within "
                            + fetchTimeout.toSeconds() + " s");
                }
                if (bytes.length > maxBytes) {
                    throw ApiException.badRequest("bad_image", name + ": the remote picture is larger than the upload "
                            + "limit of " + maxBytes + " bytes");
                }
                return requests.picture(new ByteArrayInputStream(bytes), name);
            }
        } catch (IOException e) {
            throw ApiException.badRequest("bad_image", name + ": cannot fetch the picture: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw StopReason.SHUTDOWN.answer();
        } finally {
            client.close();
        }
    }
}
