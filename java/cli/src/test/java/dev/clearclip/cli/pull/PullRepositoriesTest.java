package dev.clearclip.cli.pull;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.clearclip.FileSupport;
import dev.clearclip.cli.Cli;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.testing.ClipCppGguf;
import dev.clearclip.gguf.testing.Fixtures;
import dev.clearclip.gguf.testing.TorchZip;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pull} of repositories that are not transformers checkpoints, against a local imitation of the
 * Hugging Face hub: {@code /<repo>/resolve/<rev>/<file>} (large files through a 302 with the LFS
 * SHA-256, as the hub does) and the model API's file list {@code /api/models/<repo>/revision/<rev>}.
 */
class PullRepositoriesTest {

    @TempDir
    static Path made;
    static byte[] clipCppF16;
    static byte[] clipCppQ8;
    static byte[] clipCppVision;

    @TempDir
    Path tmp;

    private HttpServer server;
    private String endpoint;
    /** repo -> file name -> bytes, in the order the hub lists them. */
    private final Map<String, Map<String, byte[]>> repos = new ConcurrentHashMap<>();
    private final Map<String, byte[]> cdn = new ConcurrentHashMap<>();

    @BeforeAll
    static void makeClipCppFiles() throws IOException {
        Path hf = Fixtures.model("hf-tiny");
        clipCppF16 = Files.readAllBytes(ClipCppGguf.write(hf, made.resolve("f16.gguf"), ClipCppGguf.Kind.F16));
        clipCppQ8 = Files.readAllBytes(ClipCppGguf.write(hf, made.resolve("q8.gguf"), ClipCppGguf.Kind.Q8_0));
        clipCppVision = Files.readAllBytes(ClipCppGguf.write(hf, made.resolve("v.gguf"), ClipCppGguf.Kind.F16, false, true));
    }

    @BeforeEach
    void start() throws IOException {
        Map<String, byte[]> gguf = new LinkedHashMap<>();
        gguf.put(".gitattributes", "*.gguf filter=lfs\n".getBytes(StandardCharsets.UTF_8));
        gguf.put("README.md", "# tiny CLIP GGUFs\n".getBytes(StandardCharsets.UTF_8));
        gguf.put("tiny-clip_ggml-model-f16.gguf", clipCppF16);
        gguf.put("tiny-clip_ggml-model-q8_0.gguf", clipCppQ8);
        gguf.put("tiny-clip_ggml-vision-model-f16.gguf", clipCppVision);
        repos.put("org/clip-gguf", gguf);

        Path openClip = Fixtures.model("openclip-tiny");
        Path hf = Fixtures.model("hf-tiny");
        Map<String, byte[]> oc = new LinkedHashMap<>();
        oc.put("open_clip_config.json", Files.readAllBytes(openClip.resolve("open_clip_config.json")));
        oc.put("open_clip_model.safetensors", Files.readAllBytes(openClip.resolve("open_clip_model.safetensors")));
        oc.put("vocab.json", Files.readAllBytes(hf.resolve("vocab.json")));
        oc.put("merges.txt", Files.readAllBytes(hf.resolve("merges.txt")));
        repos.put("org/openclip-tiny", oc);

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
            if (path.startsWith("/cdn/")) {
                send(ex, 200, cdn.get(path.substring("/cdn/".length())));
                return;
            }
            for (Map.Entry<String, Map<String, byte[]>> repo : repos.entrySet()) {
                if (path.equals("/api/models/" + repo.getKey() + "/revision/main")) {
                    String siblings = repo.getValue().keySet().stream()
                            .map(f -> "{\"rfilename\":\"" + f + "\"}").collect(Collectors.joining(","));
                    send(ex, 200, ("{\"id\":\"" + repo.getKey() + "\",\"siblings\":[" + siblings + "]}")
                            .getBytes(StandardCharsets.UTF_8));
                    return;
                }
                String prefix = "/" + repo.getKey() + "/resolve/main/";
                if (path.startsWith(prefix) && repo.getValue().containsKey(path.substring(prefix.length()))) {
                    String file = path.substring(prefix.length());
                    byte[] data = repo.getValue().get(file);
                    if (file.endsWith(".gguf") || file.endsWith(".safetensors") || file.endsWith(".bin")) {
                        String sha = FileSupport.sha256Hex(data);
                        cdn.put(sha, data);
                        ex.getResponseHeaders().add("Location", "/cdn/" + sha);
                        ex.getResponseHeaders().add("X-Linked-Etag", "\"" + sha + "\"");
                        ex.getResponseHeaders().add("X-Linked-Size", Long.toString(data.length));
                        ex.sendResponseHeaders(302, -1);
                        return;
                    }
                    send(ex, 200, data);
                    return;
                }
            }
            ex.sendResponseHeaders(404, -1);
        }
    }

    private static void send(HttpExchange ex, int status, byte[] data) throws IOException {
        ex.sendResponseHeaders(status, data.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(data);
        }
    }

    @Test
    void ggufRepositoryByTypeIsConvertedToOurLayout() throws IOException {
        Cli pull = Cli.run("pull", "org/clip-gguf", "--type", "f16", "--endpoint", endpoint);
        assertThat(pull.exit()).as(pull.err()).isZero();
        // the two-tower file, not the vision-only one of the same type
        assertThat(pull.err()).contains("note: clip.text.projection_dim says 512 but the tensor shapes say 64")
                .contains("rebuilt 48894 BPE merges");
        Path model = tmp.resolve("cache/models/org--clip-gguf-f16.gguf");
        assertThat(pull.out()).contains(model.toString(), "default");
        try (GgufFile gguf = GgufFile.open(model)) {
            assertThat(gguf.metadata().getString("general.name")).isEqualTo("org/clip-gguf");
            assertThat(gguf.metadata().getLong("clip.text.projection_dim")).isEqualTo(64);
            assertThat(gguf.metadata().getStringList("tokenizer.ggml.merges")).hasSize(48894);
        }
        assertThat(tmp.resolve("cache/downloads/org--clip-gguf")).doesNotExist();
        Cli tokenize = Cli.run("tokenize", "a photo of a fox");
        assertThat(tokenize.exit()).as(tokenize.err()).isZero();
        assertThat(tokenize.out()).contains("49406", "320", "1125", "539", "3240", "49407");
    }

    @Test
    void quantizedGgufKeepsItsTypeWhenAskedForIt() throws IOException {
        Cli pull = Cli.run("pull", "org/clip-gguf", "--type", "q8_0", "--no-default", "--endpoint", endpoint);
        assertThat(pull.exit()).as(pull.err()).isZero();
        try (GgufFile gguf = GgufFile.open(tmp.resolve("cache/models/org--clip-gguf-q8_0.gguf"))) {
            assertThat(gguf.tensor("v.blk.0.attn_q.weight").type().toString()).isEqualTo("q8_0");
            assertThat(gguf.tensor("v.position_embd.weight").type().toString()).isEqualTo("f32");
        }
        assertThat(tmp.resolve("cache/models/default")).doesNotExist();
    }

    @Test
    void severalOrNoMatchingFilesAreListed() {
        Cli ambiguous = Cli.run("pull", "org/clip-gguf", "--endpoint", endpoint);
        assertThat(ambiguous.exit()).isEqualTo(2);
        assertThat(ambiguous.err()).contains("org/clip-gguf holds 2 GGUF files; choose one with --type T or --file NAME",
                "tiny-clip_ggml-model-f16.gguf  (f16)", "tiny-clip_ggml-model-q8_0.gguf  (q8_0)",
                "tiny-clip_ggml-vision-model-f16.gguf  (f16)  [partial]");
        Cli missing = Cli.run("pull", "org/clip-gguf", "--type", "q5_1", "--endpoint", endpoint);
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err()).contains("org/clip-gguf has no GGUF file of type q5_1", "tiny-clip_ggml-model-q8_0.gguf");
        assertThat(tmp.resolve("cache/models/default")).doesNotExist();
    }

    @Test
    void fileOptionPicksOneByName() throws IOException {
        Cli pull = Cli.run("pull", "org/clip-gguf", "--file", "tiny-clip_ggml-vision-model-f16.gguf",
                "--endpoint", endpoint);
        assertThat(pull.exit()).as(pull.err()).isZero();
        try (GgufFile gguf = GgufFile.open(tmp.resolve("cache/models/org--clip-gguf-f16.gguf"))) {
            assertThat(gguf.metadata().getBoolean("clip.has_text_encoder")).isFalse();
        }
        assertThat(Cli.run("pull", "org/clip-gguf", "--file", "../x.gguf", "--endpoint", endpoint).exit()).isEqualTo(2);
    }

    @Test
    void openClipRepository() throws IOException {
        Cli pull = Cli.run("pull", "org/openclip-tiny", "--endpoint", endpoint);
        assertThat(pull.exit()).as(pull.err()).isZero();
        try (GgufFile gguf = GgufFile.open(tmp.resolve("cache/models/org--openclip-tiny-f32.gguf"))) {
            assertThat(gguf.metadata().getString("general.name")).isEqualTo("org/openclip-tiny");
            assertThat(gguf.metadata().getBoolean("clip.use_gelu")).isTrue();
            assertThat(gguf.metadata().getStringList("tokenizer.ggml.merges")).hasSize(48894);
        }
    }

    @Test
    void openClipRepositoryWithOnlyPyTorchWeights() throws IOException {
        Map<String, byte[]> oc = repos.get("org/openclip-tiny");
        Path bin = TorchZip.fromSafetensors(Fixtures.model("openclip-tiny").resolve("open_clip_model.safetensors"),
                tmp.resolve("open_clip_pytorch_model.bin"));
        oc.remove("open_clip_model.safetensors");
        oc.put("open_clip_pytorch_model.bin", Files.readAllBytes(bin));
        Cli pull = Cli.run("pull", "org/openclip-tiny", "--type", "f16", "--endpoint", endpoint);
        assertThat(pull.exit()).as(pull.err()).isZero();
        try (GgufFile gguf = GgufFile.open(tmp.resolve("cache/models/org--openclip-tiny-f16.gguf"))) {
            assertThat(gguf.metadata().getLong("clip.vision.block_count")).isEqualTo(3);
        }
    }

    @Test
    void openClipRepositoryWithoutWeightsSaysWhichFilesItLooksFor() {
        repos.get("org/openclip-tiny").remove("open_clip_model.safetensors");
        Cli pull = Cli.run("pull", "org/openclip-tiny", "--endpoint", endpoint);
        assertThat(pull.exit()).isEqualTo(1);
        assertThat(pull.err()).contains("open_clip_model.safetensors", "open_clip_pytorch_model.bin");
    }

    @Test
    void repositoryWithNothingKnownNamesWhatItLookedFor() {
        repos.put("org/empty", new LinkedHashMap<>(Map.of("README.md", new byte[] {'x'})));
        Cli pull = Cli.run("pull", "org/empty", "--endpoint", endpoint);
        assertThat(pull.exit()).isEqualTo(1);
        assertThat(pull.err()).contains("config.json", "open_clip_config.json", ".gguf files");
    }

    @Test
    void typeIsReadFromFileNames() {
        assertThat(GgufChoice.typeOf("x_ggml-model-q4_0.gguf")).hasValueSatisfying(t -> assertThat(t.toString()).isEqualTo("q4_0"));
        assertThat(GgufChoice.typeOf("CLIP-ViT-B-32.Q8_0.gguf")).hasValueSatisfying(t -> assertThat(t.toString()).isEqualTo("q8_0"));
        assertThat(GgufChoice.typeOf("mmproj-model-fp16.gguf")).hasValueSatisfying(t -> assertThat(t.toString()).isEqualTo("f16"));
        assertThat(GgufChoice.typeOf("model.gguf")).isEmpty();
        assertThat(GgufChoice.isPartial("mmproj-model-f16.gguf")).isTrue();
        assertThat(GgufChoice.isPartial("x_ggml-text-model-f16.gguf")).isTrue();
        assertThat(GgufChoice.isPartial("x_ggml-model-f16.gguf")).isFalse();
    }
}
