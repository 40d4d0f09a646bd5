package dev.clearclip.gguf.convert;

/** Metadata keys of a CLIP GGUF (models/README.md). */
public final class ClipKeys {
    public static final String ARCHITECTURE = "general.architecture";
    public static final String NAME = "general.name";
    public static final String FILE_TYPE = "general.file_type";
    public static final String HAS_TEXT = "clip.has_text_encoder";
    public static final String HAS_VISION = "clip.has_vision_encoder";
    public static final String USE_GELU = "clip.use_gelu";
    public static final String LOGIT_SCALE = "clip.logit_scale";

    public static final String TEXT_CONTEXT_LENGTH = "clip.text.context_length";
    public static final String VISION_IMAGE_SIZE = "clip.vision.image_size";
    public static final String VISION_PATCH_SIZE = "clip.vision.patch_size";
    public static final String VISION_IMAGE_MEAN = "clip.vision.image_mean";
    public static final String VISION_IMAGE_STD = "clip.vision.image_std";

    public static final String TOKENIZER_MODEL = "tokenizer.ggml.model";
    public static final String TOKENIZER_TOKENS = "tokenizer.ggml.tokens";
    public static final String TOKENIZER_MERGES = "tokenizer.ggml.merges";
    public static final String TOKENIZER_BOS = "tokenizer.ggml.bos_token_id";
    public static final String TOKENIZER_EOS = "tokenizer.ggml.eos_token_id";

    public static final String ARCHITECTURE_CLIP = "clip";
    public static final String TOKENIZER_MODEL_CLIP = "clip";

    private ClipKeys() {
    }

    /** {@code clip.text.<suffix>} or {@code clip.vision.<suffix>}. */
    public static String tower(boolean text, String suffix) {
        return (text ? "clip.text." : "clip.vision.") + suffix;
    }

    public static String embeddingLength(boolean text) {
        return tower(text, "embedding_length");
    }

    public static String feedForwardLength(boolean text) {
        return tower(text, "feed_forward_length");
    }

    public static String blockCount(boolean text) {
        return tower(text, "block_count");
    }

    public static String projectionDim(boolean text) {
        return tower(text, "projection_dim");
    }

    public static String headCount(boolean text) {
        return tower(text, "attention.head_count");
    }

    public static String layerNormEpsilon(boolean text) {
        return tower(text, "attention.layer_norm_epsilon");
    }
}
