package dev.clearclip.gguf.convert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.GgufMetadata;
import dev.clearclip.gguf.GgufTensorInfo;
import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.safetensors.SafetensorsFile;
import dev.clearclip.gguf.testing.ClipMergeList;
import dev.clearclip.gguf.testing.Fixtures;
import dev.clearclip.gguf.tokenizer.ClipVocabulary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Converts the openclip-tiny reference model: packed q/k/v must be split, the x @ P projections
 * transposed, and the tokenizer taken from elsewhere.
 */
class OpenClipConversionTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path out;
    static Path model;
    static Path tokenizer;
    static JsonNode modelConfig;

    @BeforeAll
    static void fixture() throws Exception {
        model = Fixtures.model("openclip-tiny");
        tokenizer = Fixtures.model("hf-tiny");
        modelConfig = JSON.readTree(model.resolve("open_clip_config.json").toFile()).get("model_cfg");
    }

    private static Map<String, long[]> expectedLayout() {
        JsonNode t = modelConfig.get("text_cfg");
        JsonNode v = modelConfig.get("vision_cfg");
        long embed = modelConfig.get("embed_dim").asLong();
        long grid = v.get("image_size").asLong() / v.get("patch_size").asLong();
        Map<String, long[]> layout = new LinkedHashMap<>();
        layout.putAll(ClipModelLayout.text(t.get("width").asLong(), (long) (t.get("width").asLong() * t.path("mlp_ratio").asDouble(4)),
                t.get("layers").asInt(), t.get("vocab_size").asLong(), t.get("context_length").asLong(), embed));
        layout.putAll(ClipModelLayout.vision(v.get("width").asLong(), (long) (v.get("width").asLong() * v.path("mlp_ratio").asDouble(4)),
                v.get("layers").asInt(), v.get("patch_size").asLong(), grid * grid + 1, embed));
        return layout;
    }

    /**
     * The values a GGUF tensor must hold, computed from the open_clip state dict by the rules of
     * the two layouts: q/k/v are row blocks 0/1/2 of in_proj, projections are transposed.
     */
    private static float[] expectedValues(SafetensorsFile weights, String gguf, long[] ne) {
        Map<String, String> direct = Map.ofEntries(
                Map.entry("t.token_embd.weight", "token_embedding.weight"),
                Map.entry("t.position_embd.weight", "positional_embedding"),
                Map.entry("t.post_ln.weight", "ln_final.weight"),
                Map.entry("t.post_ln.bias", "ln_final.bias"),
                Map.entry("v.class_embd", "visual.class_embedding"),
                Map.entry("v.patch_embd.weight", "visual.conv1.weight"),
                Map.entry("v.position_embd.weight", "visual.positional_embedding"),
                Map.entry("v.pre_ln.weight", "visual.ln_pre.weight"),
                Map.entry("v.pre_ln.bias", "visual.ln_pre.bias"),
                Map.entry("v.post_ln.weight", "visual.ln_post.weight"),
                Map.entry("v.post_ln.bias", "visual.ln_post.bias"));
        if (direct.containsKey(gguf)) {
            return weights.readFloats(direct.get(gguf));
        }
        if (gguf.equals("text_projection.weight") || gguf.equals("visual_projection.weight")) {
            // GGUF [width, embed] element (w, e) sits at e * width + w; open_clip's P[w][e] at w * embed + e
            float[] p = weights.readFloats(gguf.startsWith("text") ? "text_projection" : "visual.proj");
            int width = (int) ne[0];
            int embed = (int) ne[1];
            float[] expected = new float[p.length];
            for (int w = 0; w < width; w++) {
                for (int e = 0; e < embed; e++) {
                    expected[e * width + w] = p[w * embed + e];
                }
            }
            return expected;
        }
        String[] parts = gguf.split("\\.", 4);
        String block = (parts[0].equals("v") ? "visual." : "") + "transformer.resblocks." + parts[2] + ".";
        String rest = parts[3];
        if (rest.matches("attn_[qkv]\\.(weight|bias)")) {
            int which = "qkv".indexOf(rest.charAt(5));
            float[] packed = weights.readFloats(block + "attn.in_proj_" + rest.substring(7));
            int size = packed.length / 3;
            return Arrays.copyOfRange(packed, which * size, (which + 1) * size);
        }
        return weights.readFloats(block + rest
                .replace("attn_out", "attn.out_proj")
                .replace("ln1", "ln_1")
                .replace("ln2", "ln_2")
                .replace("ffn_up", "mlp.c_fc")
                .replace("ffn_down", "mlp.c_proj"));
    }

    @Test
    void f32FileFollowsTheSplitAndTransposeRules() {
        Path file = out.resolve("openclip-f32.gguf");
        ClipConverter.fromOpenClip(model).tokenizer(tokenizer).write(file, ProgressListener.NONE);
        Map<String, long[]> layout = expectedLayout();
        try (GgufFile gguf = GgufFile.open(file);
             SafetensorsFile weights = SafetensorsFile.open(model.resolve("open_clip_model.safetensors"))) {
            assertThat(gguf.tensors()).extracting(GgufTensorInfo::name).containsExactlyInAnyOrderElementsOf(layout.keySet());
            for (GgufTensorInfo tensor : gguf.tensors()) {
                assertThat(tensor.ne()).as(tensor.name()).containsExactly(layout.get(tensor.name()));
                assertThat(tensor.type()).as(tensor.name()).isEqualTo(GgmlType.F32);
                assertThat(gguf.readFloats(tensor.name())).as(tensor.name())
                        .isEqualTo(expectedValues(weights, tensor.name(), tensor.ne()));
            }
            GgufMetadata kv = gguf.metadata();
            JsonNode t = modelConfig.get("text_cfg");
            JsonNode v = modelConfig.get("vision_cfg");
            assertThat(kv.getBoolean("clip.use_gelu")).isEqualTo(!modelConfig.get("quick_gelu").asBoolean());
            assertThat(kv.getLong("clip.text.attention.head_count")).isEqualTo(t.get("heads").asLong());
            assertThat(kv.getLong("clip.vision.attention.head_count"))
                    .isEqualTo(v.get("width").asLong() / v.get("head_width").asLong());
            assertThat(kv.getLong("clip.text.projection_dim")).isEqualTo(modelConfig.get("embed_dim").asLong());
            assertThat(kv.getLong("clip.vision.projection_dim")).isEqualTo(modelConfig.get("embed_dim").asLong());
            assertThat(kv.getLong("clip.vision.image_size")).isEqualTo(v.get("image_size").asLong());
            assertThat(kv.getFloat("clip.vision.attention.layer_norm_epsilon")).isEqualTo(1e-5f);
            assertThat(kv.getFloat("clip.logit_scale")).isEqualTo((float) Math.exp(weights.readFloats("logit_scale")[0]));
            assertThat(kv.getString("general.name")).isEqualTo("openclip-tiny");
            assertThat(kv.getStringList("tokenizer.ggml.tokens")).isEqualTo(ClipVocabulary.load(tokenizer).tokens());
        }
    }

    @Test
    void tokenizerFromClipMergeList() throws Exception {
        List<String> merges = ClipVocabulary.load(tokenizer).merges();
        Path gz = out.resolve("bpe_simple_vocab_16e6.txt.gz");
        ClipMergeList.write(gz, merges);
        Path file = out.resolve("openclip-bpe.gguf");
        ClipConverter.fromOpenClip(model.resolve("open_clip_model.safetensors")).tokenizer(gz).outputType(GgmlType.F16)
                .write(file, ProgressListener.NONE);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThat(gguf.metadata().getStringList("tokenizer.ggml.tokens")).isEqualTo(ClipVocabulary.load(tokenizer).tokens());
            assertThat(gguf.metadata().getStringList("tokenizer.ggml.merges")).isEqualTo(merges);
            assertThat(gguf.metadata().getLong("general.file_type")).isEqualTo(1);
            for (GgufTensorInfo tensor : gguf.tensors()) {
                assertThat(tensor.type()).as(tensor.name()).isEqualTo(ClipModelLayout.expectedType(tensor.name(), tensor.ne(), GgmlType.F16));
            }
        }
    }

    @Test
    void missingTokenizerIsExplained() {
        assertThatThrownBy(() -> ClipConverter.fromOpenClip(model).write(out.resolve("none.gguf"), ProgressListener.NONE))
                .isInstanceOf(ConversionException.class)
                .hasMessageContaining("no tokenizer for the text tower; looked for " + model.toAbsolutePath())
                .hasMessageContaining("bpe_simple_vocab_16e6.txt.gz");
        Path vision = out.resolve("openclip-vision.gguf");
        ClipConverter.fromOpenClip(model).towers(Towers.VISION_ONLY).write(vision, ProgressListener.NONE);
        try (GgufFile gguf = GgufFile.open(vision)) {
            assertThat(gguf.tensors()).allMatch(t -> t.name().startsWith("v.") || t.name().equals("visual_projection.weight"));
            assertThat(gguf.metadata().contains("tokenizer.ggml.tokens")).isFalse();
        }
    }

    private static Path withConfig(String name, ObjectNode config) throws Exception {
        Path dir = Files.createDirectories(out.resolve(name));
        Files.createSymbolicLink(dir.resolve("open_clip_model.safetensors"),
                model.resolve("open_clip_model.safetensors").toAbsolutePath());
        Files.writeString(dir.resolve("open_clip_config.json"), JSON.writeValueAsString(config));
        return dir;
    }

    @Test
    void unsupportedArchitectureOptionsAreRefusedByName() throws Exception {
        ObjectNode config = (ObjectNode) JSON.readTree(model.resolve("open_clip_config.json").toFile());
        ObjectNode vision = (ObjectNode) config.get("model_cfg").get("vision_cfg");
        vision.put("attentional_pool", true);
        vision.put("pool_type", "avg");
        Path dir = withConfig("attn-pool", config);
        assertThatThrownBy(() -> ClipConverter.fromOpenClip(dir).towers(Towers.VISION_ONLY).write(out.resolve("u.gguf"), ProgressListener.NONE))
                .isInstanceOf(ConversionException.class)
                .hasMessageStartingWith(dir.resolve("open_clip_config.json") + ": vision_cfg uses options the engine does not implement: ")
                .hasMessageContaining("pool_type = \"avg\" (only \"tok\" is supported)")
                .hasMessageContaining("attentional_pool = true");

        ObjectNode resnet = (ObjectNode) JSON.readTree(model.resolve("open_clip_config.json").toFile());
        ((ObjectNode) resnet.get("model_cfg").get("vision_cfg")).putArray("layers").add(3).add(4).add(6).add(3);
        Path rn = withConfig("resnet", resnet);
        assertThatThrownBy(() -> ClipConverter.fromOpenClip(rn).towers(Towers.VISION_ONLY).write(out.resolve("u.gguf"), ProgressListener.NONE))
                .hasMessageEndingWith("vision_cfg.layers is a list: a ResNet vision tower, not a ViT");

        ObjectNode wrongWidth = (ObjectNode) JSON.readTree(model.resolve("open_clip_config.json").toFile());
        ((ObjectNode) wrongWidth.get("model_cfg").get("text_cfg")).put("width", 512);
        Path ww = withConfig("wrong-width", wrongWidth);
        assertThatThrownBy(() -> ClipConverter.fromOpenClip(ww).tokenizer(tokenizer).write(out.resolve("u.gguf"), ProgressListener.NONE))
                .hasMessageEndingWith(": the config says text_cfg.width = 512 but the tensors say 64");
        assertThat(out.resolve("u.gguf")).doesNotExist();
    }

    @Test
    void missingConfigIsExplained() throws Exception {
        Path dir = Files.createDirectories(out.resolve("no-config"));
        Files.createSymbolicLink(dir.resolve("weights.safetensors"), model.resolve("open_clip_model.safetensors").toAbsolutePath());
        assertThatThrownBy(() -> ClipConverter.fromOpenClip(dir).write(out.resolve("c.gguf"), ProgressListener.NONE))
                .hasMessage(dir.toAbsolutePath().resolve("open_clip_config.json")
                        + ": missing: an open_clip checkpoint needs its open_clip_config.json ({\"model_cfg\": {...}}) beside the weights");
        Path file = out.resolve("explicit-config.gguf");
        ClipConverter.fromOpenClip(dir.resolve("weights.safetensors"), model.resolve("open_clip_config.json"))
                .towers(Towers.VISION_ONLY).write(file, ProgressListener.NONE);
        assertThat(ClipConverter.detect(model).format()).isEqualTo(ClipConverter.SourceFormat.OPEN_CLIP);
    }
}
