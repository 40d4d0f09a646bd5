package dev.clearclip;

import java.util.List;

/**
 * Text embeddings of a class set: one L2-normalised vector per name (prompt-template ensemble),
 * in the order of {@link ClassSet#allNames()}.
 */
public record ClassEmbeddings(ClassSet classes, List<String> templates, float[][] nameEmbeddings) {

    public ClassEmbeddings {
        templates = List.copyOf(templates);
        if (nameEmbeddings.length != classes.allNames().size()) {
            throw new IllegalArgumentException(nameEmbeddings.length + " embeddings for "
                    + classes.allNames().size() + " names");
        }
    }

    public int dim() {
        return nameEmbeddings.length == 0 ? 0 : nameEmbeddings[0].length;
    }

    /** All name embeddings in one row-major array. */
    float[] flat() {
        int dim = dim();
        float[] out = new float[nameEmbeddings.length * dim];
        for (int i = 0; i < nameEmbeddings.length; i++) {
            System.arraycopy(nameEmbeddings[i], 0, out, i * dim, dim);
        }
        return out;
    }
}
