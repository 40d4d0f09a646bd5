package dev.clearclip.gguf.convert;

import static dev.clearclip.gguf.ClipNames.BIAS;
import static dev.clearclip.gguf.ClipNames.WEIGHT;
import static dev.clearclip.gguf.ClipNames.block;

import dev.clearclip.gguf.ClipNames;
import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.gguf.quantize.TensorClass;
import dev.clearclip.gguf.tokenizer.ClipVocabulary;
import dev.clearclip.gguf.torch.TorchCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * A Hugging Face transformers CLIP directory: {@code config.json}, {@code model.safetensors} (or
 * shards listed in {@code model.safetensors.index.json}), else the pickled {@code pytorch_model.bin}
 * (or shards listed in {@code pytorch_model.bin.index.json}) that older uploads such as
 * openai/clip-vit-base-patch16 have, read by {@link TorchCheckpoint} without executing them;
 * optionally {@code vocab.json} + {@code merges.txt} and {@code preprocessor_config.json}. Also reads
 * the single-tower layouts ({@code model_type} {@code clip_text_model} / {@code clip_vision_model}).
 */
final class HuggingFaceSource extends SourceSupport {
    static final String CONFIG = "config.json";
    static final String SINGLE_FILE = "model.safetensors";
    static final String SHARD_INDEX = "model.safetensors.index.json";
    static final String PREPROCESSOR_CONFIG = "preprocessor_config.json";
    static final String TORCH_FILE = "pytorch_model.bin";
    static final String TORCH_INDEX = "pytorch_model.bin.index.json";

    private static final String TEXT = "text_model.";
    private static final String VISION = "vision_model.";

    private final Path directory;
    private final ClipParameters parameters;
    private final Optional<ClipVocabulary> vocabulary;
    private final String vocabularySearch;
    private final List<String> notes = new ArrayList<>();
    /** Safetensors copies of pickled weights, deleted on close. */
    private final TemporaryCopies temporary;

    private HuggingFaceSource(Path directory, Checkpoint checkpoint, TemporaryCopies temporary, Towers towers,
                              Optional<Path> tokenizer) {
        super(checkpoint);
        this.directory = directory;
        this.temporary = temporary;
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
                && Stream.of(SINGLE_FILE, SHARD_INDEX, TORCH_FILE, TORCH_INDEX)
                .anyMatch(f -> Files.isRegularFile(directory.resolve(f)));
    }

    static HuggingFaceSource open(Path directory, Towers towers, Optional<Path> tokenizer) {
        if (!Files.isDirectory(directory)) {
            throw new ConversionException(directory + ": not a directory (a Hugging Face CLIP checkpoint is a directory "
                    + "with " + CONFIG + " and " + SINGLE_FILE + ")");
        }
        if (!Files.isRegularFile(directory.resolve(CONFIG))) {
            throw new ConversionException(directory + ": no " + CONFIG + ", so not a Hugging Face checkpoint directory");
        }
        TemporaryCopies temporary = new TemporaryCopies();
        Checkpoint checkpoint;
        try {
            checkpoint = openWeights(directory, temporary);
        } catch (RuntimeException e) {
            temporary.close();
            throw e;
        }
        try {
            return new HuggingFaceSource(directory, checkpoint, temporary, towers, tokenizer);
        } catch (RuntimeException e) {
            checkpoint.close();
            temporary.close();
            throw e;
        }
    }

    @Override
    public void close() {
        super.close();
        temporary.close();
    }

    @Override
    public List<String> notes() {
        return List.copyOf(notes);
    }

    /** safetensors first (as transformers prefers them), else the pickled PyTorch files. */
    private static Checkpoint openWeights(Path directory, TemporaryCopies temporary) {
        if (Files.isRegularFile(directory.resolve(SHARD_INDEX))) {
            return openShards(directory, SHARD_INDEX, shard -> shard);
        }
        Path single = directory.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            return Checkpoint.open(directory.toString(), List.of(single), Map.of());
        }
        if (Files.isRegularFile(directory.resolve(TORCH_INDEX))) {
            return openShards(directory, TORCH_INDEX, temporary::safetensorsOf);
        }
        Path torch = directory.resolve(TORCH_FILE);
        if (Files.isRegularFile(torch)) {
            return Checkpoint.open(directory.toString(), List.of(temporary.safetensorsOf(torch)), Map.of());
        }
        throw new ConversionException(directory + ": no " + SINGLE_FILE + ", " + SHARD_INDEX + ", " + TORCH_FILE
                + " or " + TORCH_INDEX);
    }

    /**
     * The shards a {@code weight_map} lists; {@code readable} turns a shard into the safetensors file
     * read (itself, or a copy of a pickled one), which keeps the shard's name for the location check.
     */
    private static Checkpoint openShards(Path directory, String indexName, UnaryOperator<Path> readable) {
        Path index = directory.resolve(indexName);
        JsonNode weightMap = readJson(index).path("weight_map");
        if (!weightMap.isObject() || weightMap.isEmpty()) {
            throw new ConversionException(index + ": has no \"weight_map\" object");
        }
        Map<String, String> location = new LinkedHashMap<>();
        Set<String> shards = new LinkedHashSet<>();
        for (Map.Entry<String, JsonNode> entry : weightMap.properties()) {
            String shard = entry.getValue().asText();
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals("..")) {
                throw new ConversionException(index + ": shard name '" + shard + "' is not a file name in " + directory);
            }
            location.put(entry.getKey(), shard);
            shards.add(shard);
        }
        List<Path> paths = new ArrayList<>();
        for (String shard : shards) {
            Path path = directory.resolve(shard);
            if (!Files.isRegularFile(path)) {
                throw new ConversionException(index + ": lists shard " + shard + ", which is missing from " + directory);
            }
            paths.add(readable.apply(path));
        }
        return Checkpoint.open(directory.toString(), paths, location);
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
            if (preprocessing.path("do_normalize").asBoolean(true)) {
                mean = rgb(preprocessing.get("image_mean"), mean, "image_mean", preprocessorConfig);
                std = rgb(preprocessing.get("image_std"), std, "image_std", preprocessorConfig);
            } else {
                mean = new float[] {0, 0, 0};
                std = new float[] {1, 1, 1};
            }
            checkPreprocessingSize(preprocessing, preprocessorConfig, imageSize);
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

    /**
     * The engine feeds a picture as CLIPImageProcessor does by default: short side resized to the
     * model's image size, then a centred square crop of that size. A preprocessor that crops
     * another size cannot be followed (the position embeddings fix the input); one that resizes
     * to another short side before the crop is followed only approximately, which is said.
     */
    private void checkPreprocessingSize(JsonNode preprocessing, Path file, int imageSize) {
        // transformers accepts a plain number (older files, e.g. openai/clip-vit-base-patch16's) or a dict
        JsonNode crop = preprocessing.get("crop_size");
        if (preprocessing.path("do_center_crop").asBoolean(true) && crop != null && !crop.isNull()) {
            int height = crop.isObject() ? crop.path("height").asInt(-1) : crop.asInt(-1);
            int width = crop.isObject() ? crop.path("width").asInt(-1) : crop.asInt(-1);
            if (height != imageSize || width != imageSize) {
                throw new ConversionException(file + ": crop_size " + crop + " is not the model's image size "
                        + imageSize + " (vision_config.image_size and the position embeddings)");
            }
        }
        JsonNode size = preprocessing.get("size");
        if (preprocessing.path("do_resize").asBoolean(true) && size != null && !size.isNull()) {
            int shortSide = size.isObject() ? size.path("shortest_edge").asInt(-1) : size.asInt(-1);
            if (shortSide < 0) {
                notes.add(file + ": size " + size + " is not a shortest_edge; the engine resizes the short side to "
                        + imageSize + " and crops the centre");
            } else if (shortSide != imageSize) {
                notes.add(file + ": resizes the short side to " + shortSide + " before a " + imageSize
                        + " crop; the engine resizes it to " + imageSize + " (whole-picture embeddings differ a little)");
            }
        }
        if (!preprocessing.path("do_rescale").asBoolean(true)
                || Math.abs(preprocessing.path("rescale_factor").asDouble(1 / 255.0) - 1 / 255.0) > 1e-9) {
            throw new ConversionException(file + ": rescales pixels other than to 0..1 (do_rescale, rescale_factor "
                    + preprocessing.get("rescale_factor") + "); the engine normalises 0..1 values");
        }
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
