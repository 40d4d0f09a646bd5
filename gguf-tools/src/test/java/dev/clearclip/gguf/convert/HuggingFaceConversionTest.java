package dev.clearclip.gguf.convert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.GgufMetadata;
import dev.clearclip.gguf.GgufTensorInfo;
import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.TensorProgress;
import dev.clearclip.gguf.safetensors.SafetensorsFile;
import dev.clearclip.gguf.testing.Fixtures;
import dev.clearclip.gguf.tokenizer.ClipVocabulary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Converts the hf-tiny reference model and checks the GGUF against models/README.md and the checkpoint. */
class HuggingFaceConversionTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path out;
    static Path model;
    static JsonNode config;

    @BeforeAll
    static void fixture() throws Exception {
        model = Fixtures.model("hf-tiny");
        config = JSON.readTree(model.resolve("config.json").toFile());
    }

    private static Map<String, long[]> expectedLayout(boolean text, boolean vision) {
        JsonNode t = config.get("text_config");
        JsonNode v = config.get("vision_config");
        long projection = config.get("projection_dim").asLong();
        Map<String, long[]> layout = new LinkedHashMap<>();
        if (text) {
            layout.putAll(ClipModelLayout.text(t.get("hidden_size").asLong(), t.get("intermediate_size").asLong(),
                    t.get("num_hidden_layers").asInt(), t.get("vocab_size").asLong(),
                    t.get("max_position_embeddings").asLong(), projection));
        }
        if (vision) {
            long grid = v.get("image_size").asLong() / v.get("patch_size").asLong();
            layout.putAll(ClipModelLayout.vision(v.get("hidden_size").asLong(), v.get("intermediate_size").asLong(),
                    v.get("num_hidden_layers").asInt(), v.get("patch_size").asLong(), grid * grid + 1, projection));
        }
        return layout;
    }

    /** The transformers name of a GGUF tensor (inverse of the mapping, spelled out for the test). */
    private static String hfName(String gguf) {
        Map<String, String> fixed = Map.ofEntries(
                Map.entry("t.token_embd.weight", "text_model.embeddings.token_embedding.weight"),
                Map.entry("t.position_embd.weight", "text_model.embeddings.position_embedding.weight"),
                Map.entry("t.post_ln.weight", "text_model.final_layer_norm.weight"),
                Map.entry("t.post_ln.bias", "text_model.final_layer_norm.bias"),
                Map.entry("text_projection.weight", "text_projection.weight"),
                Map.entry("v.class_embd", "vision_model.embeddings.class_embedding"),
                Map.entry("v.patch_embd.weight", "vision_model.embeddings.patch_embedding.weight"),
                Map.entry("v.position_embd.weight", "vision_model.embeddings.position_embedding.weight"),
                Map.entry("v.pre_ln.weight", "vision_model.pre_layrnorm.weight"),
                Map.entry("v.pre_ln.bias", "vision_model.pre_layrnorm.bias"),
                Map.entry("v.post_ln.weight", "vision_model.post_layernorm.weight"),
                Map.entry("v.post_ln.bias", "vision_model.post_layernorm.bias"),
                Map.entry("visual_projection.weight", "visual_projection.weight"));
        if (fixed.containsKey(gguf)) {
            return fixed.get(gguf);
        }
        String[] parts = gguf.split("\\.", 4); // tower, "blk", index, rest
        String prefix = (parts[0].equals("t") ? "text_model" : "vision_model") + ".encoder.layers." + parts[2] + ".";
        String rest = parts[3]
                .replace("attn_out", "self_attn.out_proj")
                .replaceAll("attn_([qkv])", "self_attn.$1_proj")
                .replace("ln1", "layer_norm1")
                .replace("ln2", "layer_norm2")
                .replace("ffn_up", "mlp.fc1")
                .replace("ffn_down", "mlp.fc2");
        return prefix + rest;
    }

    private static ConversionResult convert(Path file, GgmlType type, Towers towers) {
        return ClipConverter.fromHuggingFace(model).outputType(type).towers(towers).write(file, ProgressListener.NONE);
    }

    @Test
    void f32FileHoldsEveryTensorExactly() throws Exception {
        Path file = out.resolve("hf-f32.gguf");
        List<TensorProgress> progress = new ArrayList<>();
        ClipConverter.fromHuggingFace(model).write(file, new ProgressListener() {
            @Override
            public void tensorWritten(TensorProgress p) {
                progress.add(p);
            }
        });
        Map<String, long[]> layout = expectedLayout(true, true);
        try (GgufFile gguf = GgufFile.open(file); SafetensorsFile weights = SafetensorsFile.open(model.resolve("model.safetensors"))) {
            assertThat(gguf.tensors()).extracting(GgufTensorInfo::name).containsExactlyInAnyOrderElementsOf(layout.keySet());
            for (GgufTensorInfo tensor : gguf.tensors()) {
                assertThat(tensor.ne()).as(tensor.name()).containsExactly(layout.get(tensor.name()));
                assertThat(tensor.type()).as(tensor.name()).isEqualTo(GgmlType.F32);
                // same element order: a PyTorch [out, in] tensor is ggml [in, out]
                assertThat(gguf.readFloats(tensor.name())).as(tensor.name()).isEqualTo(weights.readFloats(hfName(tensor.name())));
            }
            checkMetadata(gguf.metadata(), weights, GgmlType.F32, true, true);
        }
        assertThat(progress).hasSize(layout.size());
        assertThat(progress.getLast().bytesSoFar()).isEqualTo(progress.getLast().totalBytes());
        assertThat(progress.getFirst().describe()).startsWith("[ 1/93] t.token_embd.weight");
    }

    private static void checkMetadata(GgufMetadata kv, SafetensorsFile weights, GgmlType type, boolean text, boolean vision)
            throws Exception {
        JsonNode t = config.get("text_config");
        JsonNode v = config.get("vision_config");
        assertThat(kv.getString("general.architecture")).isEqualTo("clip");
        assertThat(kv.getString("general.name")).isEqualTo("hf-tiny");
        assertThat(kv.getLong("general.file_type")).isEqualTo(type.llamaFileType());
        assertThat(kv.getBoolean("clip.has_text_encoder")).isEqualTo(text);
        assertThat(kv.getBoolean("clip.has_vision_encoder")).isEqualTo(vision);
        assertThat(kv.getBoolean("clip.use_gelu")).isEqualTo(!t.get("hidden_act").asText().equals("quick_gelu"));
        assertThat(kv.getFloat("clip.logit_scale")).isEqualTo((float) Math.exp(weights.readFloats("logit_scale")[0]));
        if (text) {
            assertThat(kv.getLong("clip.text.context_length")).isEqualTo(t.get("max_position_embeddings").asLong());
            assertThat(kv.getLong("clip.text.embedding_length")).isEqualTo(t.get("hidden_size").asLong());
            assertThat(kv.getLong("clip.text.feed_forward_length")).isEqualTo(t.get("intermediate_size").asLong());
            assertThat(kv.getLong("clip.text.block_count")).isEqualTo(t.get("num_hidden_layers").asLong());
            assertThat(kv.getLong("clip.text.projection_dim")).isEqualTo(config.get("projection_dim").asLong());
            assertThat(kv.getLong("clip.text.attention.head_count")).isEqualTo(t.get("num_attention_heads").asLong());
            assertThat(kv.getFloat("clip.text.attention.layer_norm_epsilon")).isEqualTo((float) t.get("layer_norm_eps").asDouble());
            checkTokenizer(kv);
        } else {
            assertThat(kv.asMap().keySet()).noneMatch(k -> k.startsWith("clip.text.") || k.startsWith("tokenizer."));
        }
        if (vision) {
            assertThat(kv.getLong("clip.vision.image_size")).isEqualTo(v.get("image_size").asLong());
            assertThat(kv.getLong("clip.vision.patch_size")).isEqualTo(v.get("patch_size").asLong());
            assertThat(kv.getLong("clip.vision.embedding_length")).isEqualTo(v.get("hidden_size").asLong());
            assertThat(kv.getLong("clip.vision.feed_forward_length")).isEqualTo(v.get("intermediate_size").asLong());
            assertThat(kv.getLong("clip.vision.block_count")).isEqualTo(v.get("num_hidden_layers").asLong());
            assertThat(kv.getLong("clip.vision.projection_dim")).isEqualTo(config.get("projection_dim").asLong());
            assertThat(kv.getLong("clip.vision.attention.head_count")).isEqualTo(v.get("num_attention_heads").asLong());
            assertThat(kv.getFloat("clip.vision.attention.layer_norm_epsilon")).isEqualTo((float) v.get("layer_norm_eps").asDouble());
            JsonNode preprocessing = JSON.readTree(model.resolve("preprocessor_config.json").toFile());
            for (int c = 0; c < 3; c++) {
                assertThat(kv.getFloatArray("clip.vision.image_mean")[c]).isEqualTo((float) preprocessing.get("image_mean").get(c).asDouble());
                assertThat(kv.getFloatArray("clip.vision.image_std")[c]).isEqualTo((float) preprocessing.get("image_std").get(c).asDouble());
            }
        } else {
            assertThat(kv.asMap().keySet()).noneMatch(k -> k.startsWith("clip.vision."));
        }
    }

    private static void checkTokenizer(GgufMetadata kv) throws Exception {
        assertThat(kv.getString("tokenizer.ggml.model")).isEqualTo("clip");
        JsonNode vocab = JSON.readTree(model.resolve("vocab.json").toFile());
        List<String> tokens = kv.getStringList("tokenizer.ggml.tokens");
        assertThat(tokens).hasSize(vocab.size());
        for (Map.Entry<String, JsonNode> entry : vocab.properties()) {
            assertThat(tokens.get(entry.getValue().asInt())).isEqualTo(entry.getKey());
        }
        List<String> merges = Files.readAllLines(model.resolve("merges.txt")).stream()
                .filter(l -> !l.startsWith("#version") && !l.isEmpty()).toList();
        assertThat(kv.getStringList("tokenizer.ggml.merges")).isEqualTo(merges);
        assertThat(kv.getLong("tokenizer.ggml.bos_token_id")).isEqualTo(49406);
        assertThat(kv.getLong("tokenizer.ggml.eos_token_id")).isEqualTo(49407);
    }

    @Test
    void f16FileStoresMatricesAndEmbeddingTablesAsHalves() throws Exception {
        Path file = out.resolve("hf-f16.gguf");
        ConversionResult result = convert(file, GgmlType.F16, Towers.BOTH);
        try (GgufFile gguf = GgufFile.open(file); SafetensorsFile weights = SafetensorsFile.open(model.resolve("model.safetensors"))) {
            for (GgufTensorInfo tensor : gguf.tensors()) {
                GgmlType expected = ClipModelLayout.expectedType(tensor.name(), tensor.ne(), GgmlType.F16);
                assertThat(tensor.type()).as(tensor.name()).isEqualTo(expected);
                float[] source = weights.readFloats(hfName(tensor.name()));
                float[] stored = gguf.readFloats(tensor.name());
                for (int i = 0; i < source.length; i++) {
                    float want = expected == GgmlType.F16 ? Float.float16ToFloat(Float.floatToFloat16(source[i])) : source[i];
                    if (stored[i] != want) {
                        throw new AssertionError(tensor.name() + "[" + i + "] = " + stored[i] + ", expected " + want);
                    }
                }
            }
            assertThat(gguf.tensor("t.token_embd.weight").type()).isEqualTo(GgmlType.F16);
            assertThat(gguf.tensor("v.patch_embd.weight").type()).isEqualTo(GgmlType.F16);
            assertThat(gguf.tensor("v.position_embd.weight").type()).isEqualTo(GgmlType.F32);
            checkMetadata(gguf.metadata(), weights, GgmlType.F16, true, true);
        }
        assertThat(result.sizes().bytesAfter()).isLessThan(result.sizes().bytesBefore());
        assertThat(result.parameters().vision().orElseThrow().tower().headCount()).isEqualTo(3);
    }

    @Test
    void singleTowerFiles() throws Exception {
        Path vision = out.resolve("hf-vision.gguf");
        convert(vision, GgmlType.F32, Towers.VISION_ONLY);
        Path text = out.resolve("hf-text.gguf");
        convert(text, GgmlType.F32, Towers.TEXT_ONLY);
        try (SafetensorsFile weights = SafetensorsFile.open(model.resolve("model.safetensors"))) {
            try (GgufFile gguf = GgufFile.open(vision)) {
                assertThat(gguf.tensors()).extracting(GgufTensorInfo::name)
                        .containsExactlyInAnyOrderElementsOf(expectedLayout(false, true).keySet());
                checkMetadata(gguf.metadata(), weights, GgmlType.F32, false, true);
            }
            try (GgufFile gguf = GgufFile.open(text)) {
                assertThat(gguf.tensors()).extracting(GgufTensorInfo::name)
                        .containsExactlyInAnyOrderElementsOf(expectedLayout(true, false).keySet());
                checkMetadata(gguf.metadata(), weights, GgmlType.F32, true, false);
            }
        }
    }

    /** A copy of hf-tiny made of links to its files, minus some, plus extra files. */
    private static Path variant(String name, List<String> omit, Map<String, String> extra) throws Exception {
        Path dir = Files.createDirectories(out.resolve(name));
        for (String file : List.of("config.json", "model.safetensors", "vocab.json", "merges.txt", "preprocessor_config.json")) {
            if (!omit.contains(file)) {
                Files.createSymbolicLink(dir.resolve(file), model.resolve(file).toAbsolutePath());
            }
        }
        for (Map.Entry<String, String> file : extra.entrySet()) {
            Files.writeString(dir.resolve(file.getKey()), file.getValue());
        }
        return dir;
    }

    /** Every tensor and key of a GGUF, for comparing two conversions of the same weights. */
    private static void assertSameModel(Path actual, Path expected) {
        try (GgufFile a = GgufFile.open(actual); GgufFile b = GgufFile.open(expected)) {
            assertThat(a.tensors()).extracting(GgufTensorInfo::name)
                    .containsExactlyElementsOf(b.tensors().stream().map(GgufTensorInfo::name).toList());
            for (GgufTensorInfo t : b.tensors()) {
                assertThat(a.readFloats(t.name())).as(t.name()).isEqualTo(b.readFloats(t.name()));
            }
            assertThat(a.metadata().getFloatArray("clip.vision.image_mean"))
                    .isEqualTo(b.metadata().getFloatArray("clip.vision.image_mean"));
            assertThat(a.metadata().getLong("clip.vision.image_size")).isEqualTo(b.metadata().getLong("clip.vision.image_size"));
        }
    }

    private static List<String> torchTemporaries() throws Exception {
        try (var files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            return files.map(p -> p.getFileName().toString()).filter(f -> f.startsWith("clearclip-torch-")).toList();
        }
    }

    /**
     * pytorch_model.bin written by torch.save (with the int64 position_ids buffers older transformers
     * saved), and the same weights in two torch.save shards with their index, convert to exactly the
     * GGUF that model.safetensors gives; safetensors win when both are there.
     */
    @Test
    void pickledWeightsConvertLikeSafetensors() throws Exception {
        List<String> before = torchTemporaries();
        Path reference = out.resolve("from-safetensors.gguf");
        ClipConverter.fromHuggingFace(model).name("m").write(reference, ProgressListener.NONE);

        Path single = variant("bin-only", List.of("model.safetensors"), Map.of());
        Files.createSymbolicLink(single.resolve("pytorch_model.bin"), model.resolve("pytorch_model.bin").toAbsolutePath());
        assertThat(ClipConverter.detect(single)).isNotNull();
        Path fromBin = out.resolve("from-bin.gguf");
        ClipConverter.fromHuggingFace(single).name("m").write(fromBin, ProgressListener.NONE);
        assertSameModel(fromBin, reference);

        Path sharded = variant("bin-sharded", List.of("model.safetensors"), Map.of());
        try (var shards = Files.list(model.resolve("bin-sharded"))) {
            for (Path shard : shards.toList()) {
                Files.createSymbolicLink(sharded.resolve(shard.getFileName()), shard.toAbsolutePath());
            }
        }
        Path fromShards = out.resolve("from-bin-shards.gguf");
        ClipConverter.detect(sharded).name("m").write(fromShards, ProgressListener.NONE);
        assertSameModel(fromShards, reference);

        // a pickle that is not even a zip is never opened when model.safetensors is there
        Path both = variant("both", List.of(), Map.of("pytorch_model.bin", "not read"));
        Path fromBoth = out.resolve("from-both.gguf");
        ClipConverter.fromHuggingFace(both).name("m").write(fromBoth, ProgressListener.NONE);
        assertSameModel(fromBoth, reference);
        // the safetensors copies of the pickles are gone
        assertThat(torchTemporaries()).isSubsetOf(before);
    }

    /**
     * preprocessor_config.json as transformers writes it (other mean/std, a 256 short side) and in
     * the older CLIPFeatureExtractor form: the GGUF holds what CLIPImageProcessor reads from them.
     */
    @Test
    void preprocessorConfigIsReadAsTransformersReadsIt() throws Exception {
        for (String name : List.of("preprocessor-custom", "preprocessor-legacy")) {
            JsonNode expected = JSON.readTree(model.resolve(name).resolve("expected.json").toFile());
            Path dir = variant(name, List.of("preprocessor_config.json"), Map.of());
            Files.createSymbolicLink(dir.resolve("preprocessor_config.json"),
                    model.resolve(name).resolve("preprocessor_config.json").toAbsolutePath());
            List<String> notes = new ArrayList<>();
            Path file = out.resolve(name + ".gguf");
            ClipConverter.fromHuggingFace(dir).write(file, new ProgressListener() {
                @Override
                public void note(String message) {
                    notes.add(message);
                }
            });
            try (GgufFile gguf = GgufFile.open(file)) {
                GgufMetadata kv = gguf.metadata();
                for (String key : List.of("image_mean", "image_std")) {
                    float[] want = new float[3];
                    for (int i = 0; i < 3; i++) {
                        want[i] = (float) expected.get(key).get(i).asDouble();
                    }
                    assertThat(kv.getFloatArray("clip.vision." + key)).as(name + " " + key).containsExactly(want);
                }
                assertThat(kv.getLong("clip.vision.image_size")).isEqualTo(expected.get("crop").get(0).asLong());
            }
            int shortSide = expected.get("shortest_edge").asInt();
            if (shortSide != 224) {
                assertThat(notes).anyMatch(n -> n.contains("resizes the short side to " + shortSide + " before a 224 crop"));
            } else {
                assertThat(notes).noneMatch(n -> n.contains("short side"));
            }
        }
        String wrongCrop = Files.readString(model.resolve("preprocessor-legacy/preprocessor_config.json"))
                .replace("\"crop_size\": 224", "\"crop_size\": 336");
        Path crop = variant("crop-336", List.of("preprocessor_config.json"), Map.of("preprocessor_config.json", wrongCrop));
        assertThatThrownBy(() -> ClipConverter.fromHuggingFace(crop).write(out.resolve("c.gguf"), ProgressListener.NONE))
                .hasMessageContaining("crop_size 336 is not the model's image size 224");
    }

    @Test
    void tokenizerFromElsewhereOrMissing() throws Exception {
        Path noTokenizer = variant("no-tokenizer", List.of("vocab.json", "merges.txt"), Map.of());
        assertThatThrownBy(() -> ClipConverter.fromHuggingFace(noTokenizer).write(out.resolve("x.gguf"), ProgressListener.NONE))
                .isInstanceOf(ConversionException.class)
                .hasMessageStartingWith(noTokenizer + ": no tokenizer for the text tower; looked for " + noTokenizer.resolve("vocab.json"))
                .hasMessageContaining("Give one with --tokenizer"); // an option both command lines have
        assertThat(out.resolve("x.gguf")).doesNotExist();

        Path file = out.resolve("hf-explicit-tokenizer.gguf");
        ClipConverter.fromHuggingFace(noTokenizer).tokenizer(model).name("renamed").write(file, ProgressListener.NONE);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThat(gguf.metadata().getString("general.name")).isEqualTo("renamed");
            assertThat(gguf.metadata().getStringList("tokenizer.ggml.tokens")).isEqualTo(ClipVocabulary.load(model).tokens());
        }
        ClipConverter.fromHuggingFace(noTokenizer).towers(Towers.VISION_ONLY).write(out.resolve("v.gguf"), ProgressListener.NONE);
    }

    @Test
    void shardIndexIsFollowedAndChecked() throws Exception {
        Map<String, String> weightMap = new LinkedHashMap<>();
        try (SafetensorsFile weights = SafetensorsFile.open(model.resolve("model.safetensors"))) {
            weights.tensors().keySet().forEach(name -> weightMap.put(name, "model-00001-of-00001.safetensors"));
        }
        Path sharded = variant("sharded", List.of("model.safetensors"),
                Map.of("model.safetensors.index.json", JSON.writeValueAsString(Map.of("weight_map", weightMap))));
        Files.createSymbolicLink(sharded.resolve("model-00001-of-00001.safetensors"), model.resolve("model.safetensors").toAbsolutePath());
        Path file = out.resolve("hf-sharded.gguf");
        ClipConverter.fromHuggingFace(sharded).write(file, ProgressListener.NONE);
        try (GgufFile gguf = GgufFile.open(file)) {
            assertThat(gguf.tensors()).extracting(GgufTensorInfo::name)
                    .containsExactlyInAnyOrderElementsOf(expectedLayout(true, true).keySet());
        }

        weightMap.put("ghost.weight", "model-00001-of-00001.safetensors");
        Path broken = variant("sharded-broken", List.of("model.safetensors"),
                Map.of("model.safetensors.index.json", JSON.writeValueAsString(Map.of("weight_map", weightMap))));
        Files.createSymbolicLink(broken.resolve("model-00001-of-00001.safetensors"), model.resolve("model.safetensors").toAbsolutePath());
        assertThatThrownBy(() -> ClipConverter.fromHuggingFace(broken).write(out.resolve("y.gguf"), ProgressListener.NONE))
                .hasMessage(broken + ": the shard index lists tensor 'ghost.weight' in model-00001-of-00001.safetensors, but no shard holds it");

        Path missingShard = variant("sharded-missing", List.of("model.safetensors"),
                Map.of("model.safetensors.index.json", JSON.writeValueAsString(Map.of("weight_map", Map.of("a", "model-2.safetensors")))));
        assertThatThrownBy(() -> ClipConverter.fromHuggingFace(missingShard).write(out.resolve("y.gguf"), ProgressListener.NONE))
                .hasMessage(missingShard.resolve("model.safetensors.index.json") + ": lists shard model-2.safetensors, which is missing from "
                        + missingShard);
    }

    @Test
    void explainsUnusableDirectories() throws Exception {
        Path noWeights = variant("no-weights", List.of("model.safetensors"), Map.of());
        assertThatThrownBy(() -> ClipConverter.fromHuggingFace(noWeights).write(out.resolve("z.gguf"), ProgressListener.NONE))
                .isInstanceOf(ConversionException.class)
                .hasMessage(noWeights + ": no model.safetensors, model.safetensors.index.json, pytorch_model.bin or "
                        + "pytorch_model.bin.index.json");
        Path oldPickle = variant("old-pickle", List.of("model.safetensors"), Map.of("pytorch_model.bin", "pickle"));
        assertThatThrownBy(() -> ClipConverter.fromHuggingFace(oldPickle).write(out.resolve("z.gguf"), ProgressListener.NONE))
                .hasMessageContaining(oldPickle.resolve("pytorch_model.bin") + ": not a PyTorch zip checkpoint");
        Path noConfig = variant("no-config", List.of("config.json"), Map.of());
        assertThatThrownBy(() -> ClipConverter.fromHuggingFace(noConfig).write(out.resolve("z.gguf"), ProgressListener.NONE))
                .hasMessage(noConfig + ": no config.json, so not a Hugging Face checkpoint directory");
        String siglip = Files.readString(model.resolve("config.json")).replace("\"model_type\": \"clip\"", "\"model_type\": \"siglip\"");
        Path wrongType = variant("siglip", List.of("config.json"), Map.of("config.json", siglip));
        assertThatThrownBy(() -> ClipConverter.fromHuggingFace(wrongType).write(out.resolve("z.gguf"), ProgressListener.NONE))
                .hasMessage(wrongType.resolve("config.json") + ": model_type is 'siglip', expected 'clip' (or 'clip_text_model' / 'clip_vision_model')");
        String gelu = Files.readString(model.resolve("config.json")).replace("\"quick_gelu\"", "\"gelu_new\"");
        Path wrongAct = variant("gelu-new", List.of("config.json"), Map.of("config.json", gelu));
        assertThatThrownBy(() -> ClipConverter.fromHuggingFace(wrongAct).write(out.resolve("z.gguf"), ProgressListener.NONE))
                .hasMessageContaining("hidden_act is 'gelu_new'; the engine implements quick_gelu and gelu (exact)");
        String wrongWidth = Files.readString(model.resolve("config.json")).replace("\"hidden_size\": 96", "\"hidden_size\": 128");
        Path mismatch = variant("mismatch", List.of("config.json"), Map.of("config.json", wrongWidth));
        assertThatThrownBy(() -> ClipConverter.fromHuggingFace(mismatch).write(out.resolve("z.gguf"), ProgressListener.NONE))
                .hasMessage(mismatch + ": the config says vision_config.hidden_size = 128 but the tensors say 96");
        assertThat(out.resolve("z.gguf")).doesNotExist();
    }

    @Test
    void detectsTheLayout() {
        assertThat(ClipConverter.detect(model).format()).isEqualTo(ClipConverter.SourceFormat.HUGGING_FACE);
        assertThatThrownBy(() -> ClipConverter.detect(out)).isInstanceOf(ConversionException.class)
                .hasMessageContaining("not a recognised CLIP checkpoint");
    }
}
