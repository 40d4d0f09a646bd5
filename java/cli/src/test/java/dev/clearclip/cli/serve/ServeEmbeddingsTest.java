package dev.clearclip.cli.serve;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import dev.clearclip.cli.Fixtures;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /v1/embeddings}, the OpenAI-style endpoint: its vectors must be those of {@code /v1/embed} (itself
 * tested against {@code clearclip embed}) for the same inputs and batch, in OpenAI's document shape.
 */
class ServeEmbeddingsTest {

    @TempDir
    static Path shared;

    static ClipModel clip;
    static ClearClipServer server;
    static Http http;
    static byte[] scene;

    @BeforeAll
    static void start() throws IOException {
        Path model = Fixtures.hfTinyGguf(shared);
        clip = ClipModel.load(model, ModelOptions.builder().contexts(1).threads(1).noTextCache().build());
        server = ClearClipServer.start(clip, new ClearClipServer.Config("127.0.0.1", 0, 4L << 20, 100_000_000L, 4,
                null, null), new PrintWriter(new StringWriter(), true));
        http = new Http(server.url());
        scene = ServeApiTest.png(ServeApiTest.picture(320, 240, 7));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        if (clip != null) {
            clip.close();
        }
    }

    static Http.Response embeddings(String json) {
        return http.post("/v1/embeddings", "application/json", json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void textsGetTheVectorsOfV1EmbedInOpenAisShape() {
        Http.Response ours = http.post("/v1/embed", "application/json",
                "{\"text\":[\"a fox\",\"café au lait\"]}".getBytes(StandardCharsets.UTF_8));
        Http.Response r = embeddings("{\"model\":\"anything\",\"input\":[\"a fox\",\"café au lait\"]}");
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        JsonNode root = r.json();
        assertThat(root.path("object").asText()).isEqualTo("list");
        assertThat(root.path("model").asText()).isEqualTo(clip.info().name());
        assertThat(root.path("data").size()).isEqualTo(2);
        for (int i = 0; i < 2; i++) {
            JsonNode d = root.path("data").get(i);
            assertThat(d.path("object").asText()).isEqualTo("embedding");
            assertThat(d.path("index").asInt()).isEqualTo(i);
            assertThat(d.path("embedding")).isEqualTo(ours.json().path("text").get(i).path("embedding"));
        }
        int tokens = clip.tokenize("a fox").length + clip.tokenize("café au lait").length;
        assertThat(root.path("usage").path("prompt_tokens").asInt()).isEqualTo(tokens);
        assertThat(root.path("usage").path("total_tokens").asInt()).isEqualTo(tokens);

        // a single string is a batch of one, as /v1/embed with one text
        Http.Response one = embeddings("{\"input\":\"a fox\"}");
        Http.Response oursOne = http.post("/v1/embed", "application/json",
                "{\"text\":[\"a fox\"]}".getBytes(StandardCharsets.UTF_8));
        assertThat(one.json().path("data").get(0).path("embedding"))
                .isEqualTo(oursOne.json().path("text").get(0).path("embedding"));
    }

    @Test
    void aDataUrlPictureGetsTheVectorOfTheUploadedPictureAndTextsShareItsSpace() {
        String url = "data:image/png;base64," + Base64.getEncoder().encodeToString(scene);
        Http.Response r = embeddings("{\"input\":[\"a fox\",{\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\""
                + url + "\"}}]}]}");
        assertThat(r.status()).as(r.text()).isEqualTo(200);
        Http.Response ours = http.post("/v1/embed", new Http.Form().file("image", "scene.png", "image/png", scene));
        JsonNode image = r.json().path("data").get(1).path("embedding");
        assertThat(image).isEqualTo(ours.json().path("image").get(0).path("embedding"));
        // both unit vectors of one dimension: their dot product is a cosine
        JsonNode text = r.json().path("data").get(0).path("embedding");
        assertThat(text.size()).isEqualTo(image.size()).isEqualTo(clip.info().projectionDim());
        double tn = 0;
        double in = 0;
        for (int i = 0; i < text.size(); i++) {
            tn += text.get(i).asDouble() * text.get(i).asDouble();
            in += image.get(i).asDouble() * image.get(i).asDouble();
        }
        assertThat(tn).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
        assertThat(in).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
    }

    @Test
    void withTheOptionARemotePictureIsFetchedAndGetsTheVectorOfItsBytes() throws IOException {
        com.sun.net.httpserver.HttpServer pictures = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        pictures.createContext("/scene.png", exchange -> {
            exchange.sendResponseHeaders(200, scene.length);
            exchange.getResponseBody().write(scene);
            exchange.close();
        });
        pictures.start();
        ClearClipServer.Config base = new ClearClipServer.Config("127.0.0.1", 0, 4L << 20, 100_000_000L, 4, null, null);
        ClearClipServer.Config remote = new ClearClipServer.Config(base.host(), base.port(), base.maxUploadBytes(),
                base.maxPixels(), base.queue(), null, null, base.maxWindows(), base.requestTimeout(),
                base.uploadTimeout(), base.minUploadBytesPerSecond(), base.maxClientConnections(), java.util.List.of(),
                true, base.decodePixels());
        try (ClearClipServer s = ClearClipServer.start(clip, remote, new PrintWriter(new StringWriter(), true))) {
            String url = "http://127.0.0.1:" + pictures.getAddress().getPort() + "/scene.png";
            Http.Response r = new Http(s.url()).post("/v1/embeddings", "application/json",
                    ("{\"input\":[{\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"" + url + "\"}}]}]}")
                            .getBytes(StandardCharsets.UTF_8));
            assertThat(r.status()).as(r.text()).isEqualTo(200);
            Http.Response ours = http.post("/v1/embed", new Http.Form().file("image", "scene.png", "image/png", scene));
            assertThat(r.json().path("data").get(0).path("embedding"))
                    .isEqualTo(ours.json().path("image").get(0).path("embedding"));
        } finally {
            pictures.stop(0);
        }
    }

    @Test
    void remoteUrlsAreRefusedWithoutTheOptionAndBadInputsAre400() {
        Http.Response remote = embeddings("{\"input\":[{\"content\":[{\"type\":\"image_url\",\"image_url\":"
                + "{\"url\":\"http://127.0.0.1:1/x.png\"}}]}]}");
        assertThat(remote.status()).as(remote.text()).isEqualTo(400);
        assertThat(remote.errorCode()).isEqualTo("remote_image_refused");
        assertThat(remote.json().path("error").path("message").asText()).contains("--allow-remote-images");
        assertThat(embeddings("{\"input\":[]}").status()).isEqualTo(400);
        assertThat(embeddings("{\"input\":[[1,2,3]]}").errorCode()).isEqualTo("bad_option");
        assertThat(embeddings("{\"input\":\"x\",\"encoding_format\":\"base64\"}").errorCode()).isEqualTo("bad_option");
        assertThat(embeddings("{\"input\":\"x\"} {}").errorCode()).isEqualTo("bad_json");
        assertThat(embeddings("{\"input\":[{\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
                + "\"data:image/png;base64,AAAA\"}}]}]}").errorCode()).isEqualTo("bad_image");
        assertThat(http.post("/v1/embeddings", "text/plain", "x".getBytes(StandardCharsets.UTF_8)).status())
                .isEqualTo(415);
    }
}
