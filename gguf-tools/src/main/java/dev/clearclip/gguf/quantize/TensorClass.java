package dev.clearclip.gguf.quantize;

import dev.clearclip.gguf.ClipNames;
import dev.clearclip.gguf.GgmlType;
import java.util.Locale;

/**
 * What a tensor of a CLIP GGUF is, as far as its storage type is concerned. Derived from the
 * tensor name (models/README.md naming, {@link ClipNames}) and its number of dimensions.
 */
public enum TensorClass {
    /** 2-D weights of attention, feed-forward and the projections. */
    MATRIX,
    /** {@code t.token_embd.weight}. */
    TOKEN_EMBEDDING,
    /** {@code v.patch_embd.weight}. */
    PATCH_EMBEDDING,
    /** {@code t.position_embd.weight}, {@code v.position_embd.weight}. */
    POSITION_EMBEDDING,
    /** {@code v.class_embd}. */
    CLASS_EMBEDDING,
    /** Layer-norm weights and biases. */
    NORM,
    /** Biases of the linear layers. */
    BIAS,
    /** Anything else; kept in f32. */
    OTHER;

    /** Classifies a tensor by its GGUF name and shape (ggml order). */
    public static TensorClass of(String name, long[] ne) {
        if (name.equals(ClipNames.TOKEN_EMBD)) {
            return TOKEN_EMBEDDING;
        }
        if (name.equals(ClipNames.PATCH_EMBD)) {
            return PATCH_EMBEDDING;
        }
        if (name.contains(ClipNames.POSITION_EMBD)) {
            return POSITION_EMBEDDING;
        }
        if (name.equals(ClipNames.CLASS_EMBD)) {
            return CLASS_EMBEDDING;
        }
        String[] parts = name.split("\\.");
        for (String part : parts) {
            if (part.equals(ClipNames.LN1) || part.equals(ClipNames.LN2) || part.endsWith("_ln") || part.startsWith("ln_")
                    || part.contains("norm")) {
                return NORM;
            }
        }
        if (name.endsWith(".bias")) {
            return BIAS;
        }
        if (name.endsWith(".weight") && ne.length == 2) {
            return MATRIX;
        }
        return OTHER;
    }

    /**
     * The type a tensor of this class is stored in when a file is made of {@code target}:
     * everything in f32 for f32; matrices and the token/patch embeddings in f16 for f16; for a
     * quantized target, those in the target type when their rows are a whole number of blocks and
     * in f16 otherwise. 1-D tensors, norms, class and position embeddings always stay f32.
     */
    public GgmlType storageType(long[] ne, GgmlType target) {
        if (!target.isOutputType()) {
            throw new IllegalArgumentException("not an output type: " + target);
        }
        boolean compressible = this == MATRIX || this == TOKEN_EMBEDDING || this == PATCH_EMBEDDING;
        if (target == GgmlType.F32 || !compressible || ne.length < 2) {
            return GgmlType.F32;
        }
        if (target == GgmlType.F16 || ne[0] % target.blockSize() != 0) {
            return GgmlType.F16;
        }
        return target;
    }

    /** "token embedding" */
    public String displayName() {
        return name().toLowerCase(Locale.ROOT).replace('_', ' ');
    }
}
