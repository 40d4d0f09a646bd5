package dev.clearclip.gguf;

import java.util.ArrayList;
import java.util.List;

/**
 * The one Java table of a CLIP GGUF's metadata keys and tensor names, as models/README.md
 * describes them. The converters write with it, the quantizer classifies tensors with it, and
 * {@code ClipNamesTest} checks it against the README's tables (the C engine's loader keeps its own
 * table in native/). Tensor names are built from a tower prefix ({@code t.} / {@code v.}), an
 * optional block ({@code blk.N.}), a stem and a parameter ({@code weight} / {@code bias}).
 */
public final class ClipNames {
    private ClipNames() {
    }

    // ---- keys ---------------------------------------------------------------------------------

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

    /** Value of {@link #ARCHITECTURE}. */
    public static final String ARCHITECTURE_CLIP = "clip";
    /** Value of {@link #TOKENIZER_MODEL}. */
    public static final String TOKENIZER_MODEL_CLIP = "clip";

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

    /** Every key a converter may write for a file with these towers (the tokenizer goes with the text tower). */
    public static List<String> keys(boolean text, boolean vision) {
        List<String> keys = new ArrayList<>(List.of(ARCHITECTURE, NAME, FILE_TYPE, HAS_TEXT, HAS_VISION, USE_GELU, LOGIT_SCALE));
        for (boolean t : new boolean[] {true, false}) {
            if (t ? !text : !vision) {
                continue;
            }
            if (t) {
                keys.add(TEXT_CONTEXT_LENGTH);
            } else {
                keys.addAll(List.of(VISION_IMAGE_SIZE, VISION_PATCH_SIZE, VISION_IMAGE_MEAN, VISION_IMAGE_STD));
            }
            keys.addAll(List.of(embeddingLength(t), feedForwardLength(t), blockCount(t), projectionDim(t), headCount(t),
                    layerNormEpsilon(t)));
        }
        if (text) {
            keys.addAll(List.of(TOKENIZER_MODEL, TOKENIZER_TOKENS, TOKENIZER_MERGES, TOKENIZER_BOS, TOKENIZER_EOS));
        }
        return keys;
    }

    // ---- tensors ------------------------------------------------------------------------------

    public static final String WEIGHT = "weight";
    public static final String BIAS = "bias";

    public static final String TOKEN_EMBD = "t.token_embd.weight";
    public static final String CLASS_EMBD = "v.class_embd";
    public static final String PATCH_EMBD = "v.patch_embd.weight";
    /** Stem of both towers' position embeddings. */
    public static final String POSITION_EMBD = "position_embd";
    public static final String TEXT_PROJECTION = "text_projection.weight";
    public static final String VISUAL_PROJECTION = "visual_projection.weight";

    /** Block stems: layer norms before attention and before the MLP, the MLP's fc1 and fc2. */
    public static final String LN1 = "ln1";
    public static final String LN2 = "ln2";
    public static final String FFN_UP = "ffn_up";
    public static final String FFN_DOWN = "ffn_down";
    /** The parts of {@link #attn(String)}: query, key, value and output projections. */
    public static final List<String> ATTN_PARTS = List.of("q", "k", "v", "out");

    /** {@code t.} or {@code v.}. */
    public static String tensorPrefix(boolean text) {
        return text ? "t." : "v.";
    }

    public static String positionEmbd(boolean text) {
        return tensorPrefix(text) + POSITION_EMBD + "." + WEIGHT;
    }

    /** The vision tower's layer norm before the first block ({@code v.pre_ln.weight}). */
    public static String preLn(String param) {
        return "v.pre_ln." + param;
    }

    /** A tower's final layer norm ({@code t.post_ln.bias}). */
    public static String postLn(boolean text, String param) {
        return tensorPrefix(text) + "post_ln." + param;
    }

    public static String projection(boolean text) {
        return text ? TEXT_PROJECTION : VISUAL_PROJECTION;
    }

    /** Stem of an attention projection, {@code attn_q} for part {@code q}. */
    public static String attn(String part) {
        return "attn_" + part;
    }

    /** A block tensor, e.g. {@code block(false, 3, attn("q"), WEIGHT)} is {@code v.blk.3.attn_q.weight}. */
    public static String block(boolean text, int index, String stem, String param) {
        return tensorPrefix(text) + "blk." + index + "." + stem + "." + param;
    }

    /** Every tensor of a file with these numbers of blocks per tower (0: no such tower), in the converters' order. */
    public static List<String> tensorNames(int textBlocks, int visionBlocks) {
        List<String> names = new ArrayList<>();
        if (textBlocks > 0) {
            names.add(TOKEN_EMBD);
            names.add(positionEmbd(true));
            blocks(names, true, textBlocks);
            names.add(postLn(true, WEIGHT));
            names.add(postLn(true, BIAS));
            names.add(TEXT_PROJECTION);
        }
        if (visionBlocks > 0) {
            names.add(CLASS_EMBD);
            names.add(PATCH_EMBD);
            names.add(positionEmbd(false));
            names.add(preLn(WEIGHT));
            names.add(preLn(BIAS));
            blocks(names, false, visionBlocks);
            names.add(postLn(false, WEIGHT));
            names.add(postLn(false, BIAS));
            names.add(VISUAL_PROJECTION);
        }
        return names;
    }

    private static void blocks(List<String> names, boolean text, int count) {
        for (int i = 0; i < count; i++) {
            for (String part : ATTN_PARTS) {
                names.add(block(text, i, attn(part), WEIGHT));
                names.add(block(text, i, attn(part), BIAS));
            }
            for (String stem : List.of(LN1, FFN_UP, FFN_DOWN, LN2)) {
                names.add(block(text, i, stem, WEIGHT));
                names.add(block(text, i, stem, BIAS));
            }
        }
    }
}
