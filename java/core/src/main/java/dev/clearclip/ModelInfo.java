package dev.clearclip;

/**
 * Hyper-parameters of a loaded model. Sizes of an absent tower are 0.
 *
 * @param name           {@code general.name} of the file
 * @param fileType       llama.cpp file type ({@code general.file_type}): 0 f32, 1 f16, 2 q4_0, 3 q4_1, 7 q8_0, 8 q5_0, 9 q5_1
 * @param useGelu        exact GELU in the MLPs; false means quick_gelu (OpenAI weights)
 * @param projectionDim  size of the joint embedding space
 */
public record ModelInfo(
        String name,
        int fileType,
        boolean hasText,
        boolean hasVision,
        boolean useGelu,
        int projectionDim,
        int textWidth,
        int textLayers,
        int textHeads,
        int textFfn,
        int contextLength,
        int vocabSize,
        int visionWidth,
        int visionLayers,
        int visionHeads,
        int visionFfn,
        int imageSize,
        int patchSize,
        float[] imageMean,
        float[] imageStd) {

    public ModelInfo {
        imageMean = imageMean.clone();
        imageStd = imageStd.clone();
    }

    @Override
    public float[] imageMean() {
        return imageMean.clone();
    }

    @Override
    public float[] imageStd() {
        return imageStd.clone();
    }

    /** Name of the file type, e.g. {@code q8_0}. */
    public String fileTypeName() {
        return switch (fileType) {
            case 0 -> "f32";
            case 1 -> "f16";
            case 2 -> "q4_0";
            case 3 -> "q4_1";
            case 7 -> "q8_0";
            case 8 -> "q5_0";
            case 9 -> "q5_1";
            default -> "type " + fileType;
        };
    }
}
