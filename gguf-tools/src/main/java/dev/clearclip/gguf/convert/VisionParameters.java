package dev.clearclip.gguf.convert;

import java.util.Arrays;
import java.util.Objects;

/**
 * The vision tower: its transformer, native image side and patch size, and the RGB mean and
 * standard deviation the pixels (0..1) are normalised with.
 */
public record VisionParameters(TowerParameters tower, int imageSize, int patchSize, float[] imageMean,
                               float[] imageStd) {
    /** OpenAI CLIP's normalisation, used when a checkpoint does not say otherwise. */
    public static final float[] OPENAI_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] OPENAI_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    public VisionParameters {
        Objects.requireNonNull(tower, "tower");
        if (patchSize <= 0 || imageSize <= 0 || imageSize % patchSize != 0) {
            throw new IllegalArgumentException("image size " + imageSize + " must be a positive multiple of the patch size " + patchSize);
        }
        if (imageMean.length != 3 || imageStd.length != 3) {
            throw new IllegalArgumentException("image mean and std need 3 values (RGB)");
        }
        imageMean = imageMean.clone();
        imageStd = imageStd.clone();
    }

    /** Patches per side at the native image size. */
    public int gridSize() {
        return imageSize / patchSize;
    }

    @Override
    public float[] imageMean() {
        return imageMean.clone();
    }

    @Override
    public float[] imageStd() {
        return imageStd.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VisionParameters other && tower.equals(other.tower) && imageSize == other.imageSize
                && patchSize == other.patchSize && Arrays.equals(imageMean, other.imageMean)
                && Arrays.equals(imageStd, other.imageStd);
    }

    @Override
    public int hashCode() {
        return Objects.hash(tower, imageSize, patchSize, Arrays.hashCode(imageMean), Arrays.hashCode(imageStd));
    }

    @Override
    public String toString() {
        return "VisionParameters[tower=" + tower + ", imageSize=" + imageSize + ", patchSize=" + patchSize
                + ", imageMean=" + Arrays.toString(imageMean) + ", imageStd=" + Arrays.toString(imageStd) + "]";
    }
}
