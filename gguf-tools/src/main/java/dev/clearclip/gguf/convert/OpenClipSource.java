package dev.clearclip.gguf.convert;

import static dev.clearclip.gguf.ClipNames.BIAS;
import static dev.clearclip.gguf.ClipNames.WEIGHT;
import static dev.clearclip.gguf.ClipNames.block;

import dev.clearclip.gguf.ClipNames;
import com.fasterxml.jackson.databind.JsonNode;
import dev.clearclip.gguf.quantize.TensorClass;
import dev.clearclip.gguf.tokenizer.ClipVocabulary;
import dev.clearclip.gguf.torch.TorchCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * An open_clip checkpoint: a safetensors state dict ({@code open_clip_model.safetensors} in the
 * hub layout) and its {@code open_clip_config.json} ({@code {"model_cfg": {...},
 * "preprocess_cfg": {...}}}, or a bare model config). Only the plain ViT CLIP architecture is
 * accepted; config options that change the computation are refused by name.
 *
 * <p>open_clip packs q, k and v into one {@code in_proj} matrix and stores the projections as
 * {@code x @ P} matrices ({@code [width, embed]}); they are split and transposed into the GGUF
 * layout. open_clip checkpoints carry no tokenizer: it is looked for next to the checkpoint
 * ({@code vocab.json} + {@code merges.txt}, or {@code bpe_simple_vocab_16e6.txt.gz}) unless given.
 */
final class OpenClipSource extends SourceSupport {
    static final String CONFIG = "open_clip_config.json";
    static final String WEIGHTS = "open_clip_model.safetensors";
    /** The pickled PyTorch weights older open_clip uploads have instead (read by {@link TorchCheckpoint}). */
    static final String TORCH_WEIGHTS = "open_clip_pytorch_model.bin";
    static final String CLIP_BPE = "bpe_simple_vocab_16e6.txt.gz";

    private static final String VISION = "visual.";

    private final Path weights;
    private final Path configFile;
    private final ClipParameters parameters;
    private final Optional<ClipVocabulary> vocabulary;
    private final String vocabularySearch;
    /** The safetensors copy of a PyTorch checkpoint, deleted on close. */
    private Optional<Path> temporary = Optional.empty();

    private OpenClipSource(Path weights, Path configFile, Checkpoint checkpoint, Towers towers, Optional<Path> tokenizer) {
        super(checkpoint);
        this.weights = weights;
        this.configFile = configFile;
        JsonNode root = readJson(configFile);
        JsonNode modelConfig = root.has("model_cfg") ? root.get("model_cfg") : root;
        if (!modelConfig.has("vision_cfg") && !modelConfig.has("text_cfg")) {
            throw new ConversionException(configFile + ": no model_cfg with vision_cfg / text_cfg");
        }
        String textPrefix = modelConfig.path("custom_text").asBoolean(false) ? "text." : "";
        boolean hasText = checkpoint.has(textPrefix + "token_embedding.weight");
        boolean hasVision = checkpoint.has(VISION + "class_embedding");
        if (towers == Towers.TEXT_ONLY && !hasText || towers == Towers.BOTH && !hasText && !hasVision) {
            throw new ConversionException(checkpoint.description() + ": has no text tower (no " + textPrefix
                    + "token_embedding.weight)");
        }
        if (towers == Towers.VISION_ONLY && !hasVision) {
            throw new ConversionException(checkpoint.description() + ": has no vision tower (no " + VISION
                    + "class_embedding)");
        }
        boolean text = towers.text() && hasText;
        boolean vision = towers.vision() && hasVision;
        float eps = 1e-5f;

        Optional<TextParameters> textParameters = Optional.empty();
        if (text) {
            JsonNode textConfig = modelConfig.path("text_cfg");
            rejectUnsupported(textConfig, "text_cfg", Map.of("pool_type", "argmax", "proj_type", "linear"),
                    List.of("hf_model_name", "act_kwargs", "ls_init_value"),
                    List.of("embed_cls", "no_causal_mask", "final_ln_after_pool", "proj_bias", "qk_norm",
                            "scaled_cosine_attn", "scale_heads", "scale_attn_inner", "scale_attn", "scale_fc"));
            textParameters = Optional.of(planText(textPrefix, textConfig, modelConfig, epsilon(textConfig, eps)));
        }
        Optional<VisionParameters> visionParameters = Optional.empty();
        if (vision) {
            JsonNode visionConfig = modelConfig.path("vision_cfg");
            if (visionConfig.path("layers").isArray()) {
                throw new ConversionException(configFile + ": vision_cfg.layers is a list: a ResNet vision tower, not a ViT");
            }
            rejectUnsupported(visionConfig, "vision_cfg", Map.of("pool_type", "tok", "pos_embed_type", "learnable"),
                    List.of("timm_model_name", "act_kwargs", "ls_init_value"),
                    List.of("attentional_pool", "no_ln_pre", "final_ln_after_pool", "qk_norm", "scaled_cosine_attn",
                            "scale_heads", "scale_attn_inner", "scale_attn", "scale_fc"));
            visionParameters = Optional.of(planVision(visionConfig, modelConfig, root.path("preprocess_cfg"),
                    epsilon(visionConfig, eps)));
        }
        this.parameters = new ClipParameters(textParameters, visionParameters,
                !modelConfig.path("quick_gelu").asBoolean(false), logitScale());

        Set<String> otherTowers = new LinkedHashSet<>();
        if (!text) {
            for (String name : List.of("token_embedding", "positional_embedding", "transformer.", "ln_final", "text_projection")) {
                otherTowers.add(textPrefix + name);
            }
        }
        if (!vision) {
            otherTowers.add(VISION);
        }
        rejectUnknownTensors(otherTowers);

        Path directory = weights.toAbsolutePath().getParent();
        if (!text) {
            this.vocabulary = Optional.empty();
            this.vocabularySearch = "";
        } else if (tokenizer.isPresent()) {
            this.vocabulary = Optional.of(ClipVocabulary.load(tokenizer.get()));
            this.vocabularySearch = tokenizer.get().toString();
        } else if (ClipVocabulary.isHuggingFaceTokenizerDir(directory)) {
            this.vocabulary = Optional.of(ClipVocabulary.load(directory));
            this.vocabularySearch = directory.toString();
        } else if (Files.isRegularFile(directory.resolve(CLIP_BPE))) {
            this.vocabulary = Optional.of(ClipVocabulary.load(directory.resolve(CLIP_BPE)));
            this.vocabularySearch = directory.resolve(CLIP_BPE).toString();
        } else {
            this.vocabulary = Optional.empty();
            this.vocabularySearch = directory + " (neither " + ClipVocabulary.VOCAB_JSON + " + " + ClipVocabulary.MERGES_TXT
                    + " nor " + CLIP_BPE + " is there; open_clip checkpoints do not include the tokenizer: pass one, e.g. "
                    + "open_clip's own " + CLIP_BPE + " from its Python package)";
        }
    }

    /** True if {@code path} looks like an open_clip checkpoint (directory or weights file). */
    static boolean looksLike(Path path) {
        Path directory = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        return directory != null && Files.isRegularFile(directory.resolve(CONFIG));
    }

    /**
     * Opens a checkpoint from a directory, or from a weights file with the config next to it.
     *
     * @param config the config file, or empty to use {@code open_clip_config.json} beside the weights
     */
    static OpenClipSource open(Path path, Optional<Path> config, Towers towers, Optional<Path> tokenizer) {
        Path weights = weightsFile(path);
        Path configFile = config.orElseGet(() -> weights.toAbsolutePath().getParent().resolve(CONFIG));
        if (!Files.isRegularFile(configFile)) {
            throw new ConversionException(configFile + ": missing: an open_clip checkpoint needs its " + CONFIG
                    + " ({\"model_cfg\": {...}}) beside the weights");
        }
        Path readable = weights;
        Optional<Path> temporary = Optional.empty();
        if (weights.getFileName().toString().endsWith(".bin")) {
            // PyTorch's pickle format: rewritten once to safetensors, which the mapping below reads
            try {
                readable = Files.createTempFile("clearclip-openclip-", ".safetensors");
            } catch (IOException e) {
                throw new ConversionException(weights + ": cannot make a temporary file to read it: " + e.getMessage(), e);
            }
            temporary = Optional.of(readable);
            try {
                TorchCheckpoint.toSafetensors(weights, readable);
            } catch (RuntimeException e) {
                deleteQuietly(readable);
                throw e;
            }
        }
        Checkpoint checkpoint;
        try {
            checkpoint = Checkpoint.open(weights.toString(), List.of(readable), Map.of());
        } catch (RuntimeException e) {
            temporary.ifPresent(OpenClipSource::deleteQuietly);
            throw e;
        }
        try {
            OpenClipSource source = new OpenClipSource(weights, configFile, checkpoint, towers, tokenizer);
            source.temporary = temporary;
            return source;
        } catch (RuntimeException e) {
            checkpoint.close();
            temporary.ifPresent(OpenClipSource::deleteQuietly);
            throw e;
        }
    }

    @Override
    public void close() {
        super.close();
        temporary.ifPresent(OpenClipSource::deleteQuietly);
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // a temporary file; nothing more to do
        }
    }

    private static Path weightsFile(Path path) {
        if (Files.isRegularFile(path)) {
            return path;
        }
        if (!Files.isDirectory(path)) {
            throw new ConversionException(path + ": no such file or directory");
        }
        if (Files.isRegularFile(path.resolve(WEIGHTS))) {
            return path.resolve(WEIGHTS);
        }
        List<Path> candidates = safetensorsIn(path);
        if (candidates.isEmpty() && Files.isRegularFile(path.resolve(TORCH_WEIGHTS))) {
            return path.resolve(TORCH_WEIGHTS);
        }
        if (candidates.size() != 1) {
            throw new ConversionException(path + ": no " + WEIGHTS + (candidates.isEmpty()
                    ? ", no other .safetensors file and no " + TORCH_WEIGHTS
                    : ", and " + candidates.size() + " other .safetensors files: name the one to convert"));
        }
        return candidates.getFirst();
    }

    private TextParameters planText(String prefix, JsonNode config, JsonNode modelConfig, float eps) {
        String token = prefix + "token_embedding.weight";
        String position = prefix + "positional_embedding";
        String projection = prefix + "text_projection";
        int vocab = dim(token, 0);
        int width = dim(token, 1);
        int context = dim(position, 0);
        int blocks = countBlocks(prefix + "transformer.resblocks.", ".ln_1.weight");
        if (blocks == 0) {
            throw new ConversionException(checkpoint.description() + ": the text tower has no transformer blocks");
        }
        int ffn = dim(prefix + "transformer.resblocks.0.mlp.c_fc.weight", 0);
        int embed = dim(projection, 1);
        checkAgrees("text_cfg.width", config.get("width"), width);
        checkAgrees("text_cfg.vocab_size", config.get("vocab_size"), vocab);
        checkAgrees("text_cfg.context_length", config.get("context_length"), context);
        checkAgrees("text_cfg.layers", config.get("layers"), blocks);
        checkAgrees("embed_dim", modelConfig.get("embed_dim"), embed);
        // open_clip's CLIPTextCfg default
        int heads = config.path("heads").asInt(8);
        TowerParameters tower = towerParameters(configFile, "text", width, ffn, blocks, heads, eps, embed);

        add(ClipNames.TOKEN_EMBD, TensorClass.TOKEN_EMBEDDING, token, vocab, width);
        add(ClipNames.positionEmbd(true), TensorClass.POSITION_EMBEDDING, position, context, width);
        for (int i = 0; i < blocks; i++) {
            addBlock(true, i, prefix + "transformer.resblocks." + i + ".", width, ffn);
        }
        add(ClipNames.postLn(true, ClipNames.WEIGHT), TensorClass.NORM, prefix + "ln_final.weight", width);
        add(ClipNames.postLn(true, ClipNames.BIAS), TensorClass.NORM, prefix + "ln_final.bias", width);
        addTransposed(ClipNames.TEXT_PROJECTION, TensorClass.MATRIX, projection, width, embed);
        return new TextParameters(tower, context, vocab);
    }

    private VisionParameters planVision(JsonNode config, JsonNode modelConfig, JsonNode preprocessing, float eps) {
        String classEmbedding = VISION + "class_embedding";
        String patch = VISION + "conv1.weight";
        String position = VISION + "positional_embedding";
        String projection = VISION + "proj";
        int width = dim(classEmbedding, 0);
        int patchSize = dim(patch, 2);
        int positions = dim(position, 0);
        int grid = patchGrid(positions);
        int imageSize = imageSize(config.get("image_size"), grid * patchSize);
        checkImageSize(configFile.toString(), "vision_cfg.image_size", imageSize, grid, patchSize);
        int blocks = countBlocks(VISION + "transformer.resblocks.", ".ln_1.weight");
        if (blocks == 0) {
            throw new ConversionException(checkpoint.description() + ": the vision tower has no transformer blocks");
        }
        int ffn = dim(VISION + "transformer.resblocks.0.mlp.c_fc.weight", 0);
        int embed = dim(projection, 1);
        checkAgrees("vision_cfg.width", config.get("width"), width);
        checkAgrees("vision_cfg.patch_size", config.get("patch_size"), patchSize);
        checkAgrees("vision_cfg.layers", config.get("layers"), blocks);
        checkAgrees("embed_dim", modelConfig.get("embed_dim"), embed);
        // open_clip's CLIPVisionCfg default head width
        int headWidth = config.path("head_width").asInt(64);
        if (headWidth <= 0 || width % headWidth != 0) {
            throw new ConversionException(configFile + ": vision width " + width + " is not a multiple of head_width " + headWidth);
        }
        TowerParameters tower = towerParameters(configFile, "vision", width, ffn, blocks, width / headWidth, eps, embed);
        float[] mean = rgb(preprocessing.get("mean"), VisionParameters.OPENAI_MEAN, "preprocess_cfg.mean", configFile);
        float[] std = rgb(preprocessing.get("std"), VisionParameters.OPENAI_STD, "preprocess_cfg.std", configFile);

        add(ClipNames.CLASS_EMBD, TensorClass.CLASS_EMBEDDING, classEmbedding, width);
        add(ClipNames.PATCH_EMBD, TensorClass.PATCH_EMBEDDING, patch, width, 3, patchSize, patchSize);
        add(ClipNames.positionEmbd(false), TensorClass.POSITION_EMBEDDING, position, positions, width);
        add(ClipNames.preLn(ClipNames.WEIGHT), TensorClass.NORM, VISION + "ln_pre.weight", width);
        add(ClipNames.preLn(ClipNames.BIAS), TensorClass.NORM, VISION + "ln_pre.bias", width);
        for (int i = 0; i < blocks; i++) {
            addBlock(false, i, VISION + "transformer.resblocks." + i + ".", width, ffn);
        }
        add(ClipNames.postLn(false, ClipNames.WEIGHT), TensorClass.NORM, VISION + "ln_post.weight", width);
        add(ClipNames.postLn(false, ClipNames.BIAS), TensorClass.NORM, VISION + "ln_post.bias", width);
        addTransposed(ClipNames.VISUAL_PROJECTION, TensorClass.MATRIX, projection, width, embed);
        return new VisionParameters(tower, imageSize, patchSize, mean, std);
    }

    private void addBlock(boolean text, int index, String source, int width, int ffn) {
        // open_clip packs q, k and v into one in_proj: slices 0, 1, 2 of 3, in ATTN_PARTS order
        for (int p = 0; p < 3; p++) {
            String stem = ClipNames.attn(ClipNames.ATTN_PARTS.get(p));
            addSlice(block(text, index, stem, WEIGHT), TensorClass.MATRIX, source + "attn.in_proj_weight", p, 3, width, width);
            addSlice(block(text, index, stem, BIAS), TensorClass.BIAS, source + "attn.in_proj_bias", p, 3, width);
        }
        add(block(text, index, ClipNames.attn("out"), WEIGHT), TensorClass.MATRIX, source + "attn.out_proj.weight", width, width);
        add(block(text, index, ClipNames.attn("out"), BIAS), TensorClass.BIAS, source + "attn.out_proj.bias", width);
        add(block(text, index, ClipNames.LN1, WEIGHT), TensorClass.NORM, source + "ln_1.weight", width);
        add(block(text, index, ClipNames.LN1, BIAS), TensorClass.NORM, source + "ln_1.bias", width);
        add(block(text, index, ClipNames.FFN_UP, WEIGHT), TensorClass.MATRIX, source + "mlp.c_fc.weight", ffn, width);
        add(block(text, index, ClipNames.FFN_UP, BIAS), TensorClass.BIAS, source + "mlp.c_fc.bias", ffn);
        add(block(text, index, ClipNames.FFN_DOWN, WEIGHT), TensorClass.MATRIX, source + "mlp.c_proj.weight", width, ffn);
        add(block(text, index, ClipNames.FFN_DOWN, BIAS), TensorClass.BIAS, source + "mlp.c_proj.bias", width);
        add(block(text, index, ClipNames.LN2, WEIGHT), TensorClass.NORM, source + "ln_2.weight", width);
        add(block(text, index, ClipNames.LN2, BIAS), TensorClass.NORM, source + "ln_2.bias", width);
    }

    /** Refuses config options that change what the network computes. */
    private void rejectUnsupported(JsonNode config, String section, Map<String, String> requiredValues,
                                   List<String> mustBeNull, List<String> mustBeFalse) {
        List<String> problems = new ArrayList<>();
        requiredValues.forEach((key, value) -> {
            JsonNode node = config.get(key);
            if (node != null && !node.isNull() && !node.asText().equals(value)) {
                problems.add(key + " = " + node + " (only \"" + value + "\" is supported)");
            }
        });
        for (String key : mustBeNull) {
            JsonNode node = config.get(key);
            if (node != null && !node.isNull()) {
                problems.add(key + " = " + node);
            }
        }
        for (String key : mustBeFalse) {
            if (config.path(key).asBoolean(false)) {
                problems.add(key + " = true");
            }
        }
        JsonNode norm = config.get("norm_kwargs");
        if (norm != null && norm.isObject()) {
            norm.fieldNames().forEachRemaining(key -> {
                if (!key.equals("eps")) {
                    problems.add("norm_kwargs." + key);
                }
            });
        }
        if (!problems.isEmpty()) {
            throw new ConversionException(configFile + ": " + section + " uses options the engine does not implement: "
                    + String.join(", ", problems));
        }
    }

    private float epsilon(JsonNode config, float fallback) {
        JsonNode eps = config.path("norm_kwargs").get("eps");
        return eps != null && eps.isNumber() ? (float) eps.asDouble() : fallback;
    }

    private int imageSize(JsonNode node, int fallback) {
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (node.isArray()) {
            if (node.size() != 2 || node.get(0).asInt() != node.get(1).asInt()) {
                throw new ConversionException(configFile + ": vision_cfg.image_size " + node + " is not square");
            }
            return node.get(0).asInt();
        }
        return node.asInt();
    }

    private static List<Path> safetensorsIn(Path directory) {
        try (Stream<Path> files = Files.list(directory)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        } catch (IOException e) {
            throw new ConversionException(directory + ": cannot list: " + e.getMessage(), e);
        }
    }

    @Override
    public String defaultName() {
        Path file = weights.toAbsolutePath().normalize();
        Path named = file.getFileName().toString().equals(WEIGHTS) && file.getParent() != null ? file.getParent() : file;
        return named.getFileName().toString();
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
