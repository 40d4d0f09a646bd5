package dev.clearclip.gguf.convert;

import static dev.clearclip.gguf.ClipNames.BIAS;
import static dev.clearclip.gguf.ClipNames.WEIGHT;
import static dev.clearclip.gguf.ClipNames.block;

import dev.clearclip.gguf.ClipNames;
import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.gguf.quantize.TensorClass;
import dev.clearclip.gguf.tokenizer.ClipVocabulary;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A Hugging Face transformers CLIP directory: {@code config.json}, {@code model.safetensors} (or
 * shards listed in {@code model.safetensors.index.json}), optionally {@code vocab.json} +
 * {@code merges.txt} and {@code preprocessor_config.json}. Also reads the single-tower layouts
 * ({@code model_type} {@code clip_text_model} / {@code clip_vision_model}).
 */
final class HuggingFaceSource extends SourceSupport {
    static final String CONFIG = "config.json";
    static final String SINGLE_FILE = "model.safetensors";
    static final String SHARD_INDEX = "model.safetensors.index.json";
    static final String PREPROCESSOR_CONFIG = "preprocessor_config.json";

    private static final String TEXT = "text_model.";
    private static final String VISION = "vision_model.";

    private final Path directory;
    private final ClipParameters parameters;
    private final Optional<ClipVocabulary> vocabulary;
    private final String vocabularySearch;

    private HuggingFaceSource(Path directory, Checkpoint checkpoint, Towers towers, Optional<Path> tokenizer) {
        super(checkpoint);
        this.directory = directory;
        JsonNode config = readJson(directory.resolve(CONFIG));
        String modelType = config.path("model_type").asText("");
        JsonNode textConfig = switch (modelType) {
            case "clip" -> config.path("text_config");
            case "clip_text_model" -> config;
            case "clip_vision_model" -> null;
            default -> throw new ConversionException(directory.resolve(CONFIG) + ": model_type is '" + modelType
                    + "', expected 'clip' (or 'clip_text_model' / 'clip_vision_model')");
        };
        JsonNode visionConfig = switch (modelType) {
            case "clip" -> config.path("vision_config");
            case "clip_vision_model" -> config;
            default -> null;
        };
        boolean hasText = textConfig != null && checkpoint.has(TEXT + "embeddings.token_embedding.weight");
        boolean hasVision = visionConfig != null && checkpoint.has(VISION + "embeddings.class_embedding");
        if (towers.text() && !hasText && (towers == Towers.TEXT_ONLY || !hasVision)) {
            throw new ConversionException(checkpoint.description() + ": has no text tower (no " + TEXT
                    + "embeddings.token_embedding.weight)");
        }
        if (towers.vision() && !hasVision && (towers == Towers.VISION_ONLY || !hasText)) {
            throw new ConversionException(checkpoint.description() + ": has no vision tower (no " + VISION
                    + "embeddings.class_embedding)");
        }
        boolean text = towers.text() && hasText;
        boolean vision = towers.vision() && hasVision;

        Optional<TextParameters> textParameters = text ? Optional.of(planText(textConfig, config)) : Optional.empty();
        Optional<VisionParameters> visionParameters = vision
                ? Optional.of(planVision(visionConfig, config, directory.resolve(PREPROCESSOR_CONFIG)))
                : Optional.empty();
        Boolean gelu = null;
        if (text) {
            gelu = usesGelu(textConfig, "text_config.hidden_act");
        }
        if (vision) {
            boolean visionGelu = usesGelu(visionConfig, "vision_config.hidden_act");
            if (gelu != null && gelu != visionGelu) {
                throw new ConversionException(directory.resolve(CONFIG) + ": the towers use different activations; "
                        + "a GGUF has one clip.use_gelu");
            }
            gelu = visionGelu;
        }
        this.parameters = new ClipParameters(textParameters, visionParameters, gelu, logitScale());

        checkpoint.names().stream().filter(n -> n.endsWith("embeddings.position_ids")).forEach(checkpoint::ignore);
        Set<String> otherTowers = new LinkedHashSet<>();
        if (!text) {
            otherTowers.add(TEXT);
            otherTowers.add("text_projection");
        }
        if (!vision) {
            otherTowers.add(VISION);
            otherTowers.add("visual_projection");
        }
        rejectUnknownTensors(otherTowers);

        if (tokenizer.isPresent()) {
            this.vocabulary = text ? Optional.of(ClipVocabulary.load(tokenizer.get())) : Optional.empty();
            this.vocabularySearch = tokenizer.get().toString();
        } else {
            this.vocabulary = text && ClipVocabulary.isHuggingFaceTokenizerDir(directory)
                    ? Optional.of(ClipVocabulary.load(directory)) : Optional.empty();
            this.vocabularySearch = directory.resolve(ClipVocabulary.VOCAB_JSON) + " and " + ClipVocabulary.MERGES_TXT;
        }
    }

    /** True if {@code directory} looks like a transformers CLIP checkpoint. */
    static boolean looksLike(Path directory) {
        return Files.isRegularFile(directory.resolve(CONFIG))
                && (Files.isRegularFile(directory.resolve(SINGLE_FILE)) || Files.isRegularFile(directory.resolve(SHARD_INDEX)));
    }

    static HuggingFaceSource open(Path directory, Towers towers, Optional<Path> tokenizer) {
        if (!Files.isDirectory(directory)) {
            throw new ConversionException(directory + ": not a directory (a Hugging Face CLIP checkpoint is a directory "
                    + "with " + CONFIG + " and " + SINGLE_FILE + ")");
        }
        if (!Files.isRegularFile(directory.resolve(CONFIG))) {
            throw new ConversionException(directory + ": no " + CONFIG + ", so not a Hugging Face checkpoint directory");
        }
        Checkpoint checkpoint = openWeights(directory);
        try {
            return new HuggingFaceSource(directory, checkpoint, towers, tokenizer);
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    private static Checkpoint openWeights(Path directory) {
        Path index = directory.resolve(SHARD_INDEX);
        if (Files.isRegularFile(index)) {
            JsonNode weightMap = readJson(index).path("weight_map");
            if (!weightMap.isObject() || weightMap.isEmpty()) {
                throw new ConversionException(index + ": has no \"weight_map\" object");
            }
            Map<String, String> location = new LinkedHashMap<>();
            Set<String> shards = new LinkedHashSet<>();
            for (Map.Entry<String, JsonNode> entry : weightMap.properties()) {
                location.put(entry.getKey(), entry.getValue().asText());
                shards.add(entry.getValue().asText());
            }
            List<Path> paths = new ArrayList<>();
            for (String shard : shards) {
                Path path = directory.resolve(shard);
                if (!Files.isRegularFile(path)) {
                    throw new ConversionException(index + ": lists shard " + shard + ", which is missing from " + directory);
                }
                paths.add(path);
            }
            return Checkpoint.open(directory.toString(), paths, location);
        }
        Path single = directory.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            return Checkpoint.open(directory.toString(), List.of(single), Map.of());
        }
        String hint = Files.isRegularFile(directory.resolve("pytorch_model.bin"))
                ? " (only pytorch_model.bin is there: pickled PyTorch files are not read; re-save the model with "
                + "save_pretrained(..., safe_serialization=True))"
                : "";
        throw new ConversionException(directory + ": no " + SINGLE_FILE + " or " + SHARD_INDEX + hint);
    }

    private TextParameters planText(JsonNode config, JsonNode root) {
        String token = TEXT + "embeddings.token_embedding.weight";
        String position = TEXT + "embeddings.position_embedding.weight";
        int vocab = dim(token, 0);
        int width = dim(token, 1);
        int context = dim(position, 0);
        int blocks = countBlocks(TEXT + "encoder.layers.", ".layer_norm1.weight");
        if (blocks == 0) {
            throw new ConversionException(checkpoint.description() + ": the text tower has no encoder layers");
        }
        int ffn = dim(TEXT + "encoder.layers.0.mlp.fc1.weight", 0);
        int projection = dim("text_projection.weight", 0);
        checkAgrees("text_config.hidden_size", config.get("hidden_size"), width);
        checkAgrees("text_config.vocab_size", config.get("vocab_size"), vocab);
        checkAgrees("text_config.max_position_embeddings", config.get("max_position_embeddings"), context);
        checkAgrees("text_config.num_hidden_layers", config.get("num_hidden_layers"), blocks);
        checkAgrees("text_config.intermediate_size", config.get("intermediate_size"), ffn);
        checkAgrees("projection_dim", root.get("projection_dim"), projection);
        // transformers' CLIPTextConfig defaults, for configs saved without them
        int heads = config.path("num_attention_heads").asInt(8);
        float eps = (float) config.path("layer_norm_eps").asDouble(1e-5);
        TowerParameters tower = towerParameters(directory.resolve(CONFIG), "text", width, ffn, blocks, heads, eps, projection);

        add(ClipNames.TOKEN_EMBD, TensorClass.TOKEN_EMBEDDING, token, vocab, width);
        add(ClipNames.positionEmbd(true), TensorClass.POSITION_EMBEDDING, position, context, width);
        for (int i = 0; i < blocks; i++) {
            addBlock(true, i, TEXT + "encoder.layers." + i + ".", width, ffn);
        }
        add(ClipNames.postLn(true, ClipNames.WEIGHT), TensorClass.NORM, TEXT + "final_layer_norm.weight", width);
        add(ClipNames.postLn(true, ClipNames.BIAS), TensorClass.NORM, TEXT + "final_layer_norm.bias", width);
        add(ClipNames.TEXT_PROJECTION, TensorClass.MATRIX, "text_projection.weight", projection, width);
        return new TextParameters(tower, context, vocab);
    }

    private VisionParameters planVision(JsonNode config, JsonNode root, Path preprocessorConfig) {
        String classEmbedding = VISION + "embeddings.class_embedding";
        String patch = VISION + "embeddings.patch_embedding.weight";
        String position = VISION + "embeddings.position_embedding.weight";
        int width = dim(classEmbedding, 0);
        int patchSize = dim(patch, 2);
        int positions = dim(position, 0);
        int grid = patchGrid(positions);
        int imageSize = config.path("image_size").asInt(grid * patchSize);
        checkImageSize(checkpoint.description(), "vision_config.image_size", imageSize, grid, patchSize);
        int blocks = countBlocks(VISION + "encoder.layers.", ".layer_norm1.weight");
        if (blocks == 0) {
            throw new ConversionException(checkpoint.description() + ": the vision tower has no encoder layers");
        }
        int ffn = dim(VISION + "encoder.layers.0.mlp.fc1.weight", 0);
        int projection = dim("visual_projection.weight", 0);
        checkAgrees("vision_config.hidden_size", config.get("hidden_size"), width);
        checkAgrees("vision_config.patch_size", config.get("patch_size"), patchSize);
        checkAgrees("vision_config.num_hidden_layers", config.get("num_hidden_layers"), blocks);
        checkAgrees("vision_config.intermediate_size", config.get("intermediate_size"), ffn);
        checkAgrees("projection_dim", root.get("projection_dim"), projection);
        // transformers' CLIPVisionConfig defaults, for configs saved without them
        int heads = config.path("num_attention_heads").asInt(12);
        float eps = (float) config.path("layer_norm_eps").asDouble(1e-5);
        TowerParameters tower = towerParameters(directory.resolve(CONFIG), "vision", width, ffn, blocks, heads, eps, projection);

        float[] mean = VisionParameters.OPENAI_MEAN;
        float[] std = VisionParameters.OPENAI_STD;
        if (Files.isRegularFile(preprocessorConfig)) {
            JsonNode preprocessing = readJson(preprocessorConfig);
            mean = rgb(preprocessing.get("image_mean"), mean, "image_mean", preprocessorConfig);
            std = rgb(preprocessing.get("image_std"), std, "image_std", preprocessorConfig);
        }

        add(ClipNames.CLASS_EMBD, TensorClass.CLASS_EMBEDDING, classEmbedding, width);
        add(ClipNames.PATCH_EMBD, TensorClass.PATCH_EMBEDDING, patch, width, 3, patchSize, patchSize);
        add(ClipNames.positionEmbd(false), TensorClass.POSITION_EMBEDDING, position, positions, width);
        // "pre_layrnorm" is how transformers spells it
        add(ClipNames.preLn(ClipNames.WEIGHT), TensorClass.NORM, VISION + "pre_layrnorm.weight", width);
        add(ClipNames.preLn(ClipNames.BIAS), TensorClass.NORM, VISION + "pre_layrnorm.bias", width);
        for (int i = 0; i < blocks; i++) {
            addBlock(false, i, VISION + "encoder.layers." + i + ".", width, ffn);
        }
        add(ClipNames.postLn(false, ClipNames.WEIGHT), TensorClass.NORM, VISION + "post_layernorm.weight", width);
        add(ClipNames.postLn(false, ClipNames.BIAS), TensorClass.NORM, VISION + "post_layernorm.bias", width);
        add(ClipNames.VISUAL_PROJECTION, TensorClass.MATRIX, "visual_projection.weight", projection, width);
        return new VisionParameters(tower, imageSize, patchSize, mean, std);
    }

    private void addBlock(boolean text, int index, String hf, int width, int ffn) {
        for (String p : ClipNames.ATTN_PARTS) {
            add(block(text, index, ClipNames.attn(p), WEIGHT), TensorClass.MATRIX, hf + "self_attn." + p + "_proj.weight", width, width);
            add(block(text, index, ClipNames.attn(p), BIAS), TensorClass.BIAS, hf + "self_attn." + p + "_proj.bias", width);
        }
        add(block(text, index, ClipNames.LN1, WEIGHT), TensorClass.NORM, hf + "layer_norm1.weight", width);
        add(block(text, index, ClipNames.LN1, BIAS), TensorClass.NORM, hf + "layer_norm1.bias", width);
        add(block(text, index, ClipNames.FFN_UP, WEIGHT), TensorClass.MATRIX, hf + "mlp.fc1.weight", ffn, width);
        add(block(text, index, ClipNames.FFN_UP, BIAS), TensorClass.BIAS, hf + "mlp.fc1.bias", ffn);
        add(block(text, index, ClipNames.FFN_DOWN, WEIGHT), TensorClass.MATRIX, hf + "mlp.fc2.weight", width, ffn);
        add(block(text, index, ClipNames.FFN_DOWN, BIAS), TensorClass.BIAS, hf + "mlp.fc2.bias", width);
        add(block(text, index, ClipNames.LN2, WEIGHT), TensorClass.NORM, hf + "layer_norm2.weight", width);
        add(block(text, index, ClipNames.LN2, BIAS), TensorClass.NORM, hf + "layer_norm2.bias", width);
    }

    private boolean usesGelu(JsonNode config, String what) {
        String act = config.path("hidden_act").asText("quick_gelu");
        return switch (act) {
            case "quick_gelu" -> false;
            case "gelu" -> true;
            default -> throw new ConversionException(directory.resolve(CONFIG) + ": " + what + " is '" + act
                    + "'; the engine implements quick_gelu and gelu (exact)");
        };
    }

    @Override
    public String defaultName() {
        Path name = directory.toAbsolutePath().normalize().getFileName();
        return name == null ? "clip" : name.toString();
    }

    @Override
    public ClipParameters parameters() {
        return parameters;
    }

    @Override
    public Optional<ClipVocabulary> vocabulary() {
        return vocabulary;
    }

    @Override
    public String vocabularySearchDescription() {
        return vocabularySearch;
    }
}
