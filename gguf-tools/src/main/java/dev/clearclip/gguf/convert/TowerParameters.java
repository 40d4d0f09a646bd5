package dev.clearclip.gguf.convert;

/**
 * Hyper-parameters shared by both CLIP towers: width, feed-forward (MLP hidden) size, number of
 * blocks, attention heads, layer-norm epsilon, and the dimension of the joint embedding space the
 * tower projects into.
 */
public record TowerParameters(int width, int feedForward, int blockCount, int headCount, float layerNormEpsilon,
                              int projectionDim) {

    public TowerParameters {
        if (width <= 0 || feedForward <= 0 || blockCount <= 0 || headCount <= 0 || projectionDim <= 0) {
            throw new IllegalArgumentException("tower sizes must be positive: " + this);
        }
        if (width % headCount != 0) {
            throw new IllegalArgumentException("width " + width + " is not divisible by " + headCount + " heads");
        }
        if (!(layerNormEpsilon > 0)) {
            throw new IllegalArgumentException("layer-norm epsilon must be positive, got " + layerNormEpsilon);
        }
    }
}
