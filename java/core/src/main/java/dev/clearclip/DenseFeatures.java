package dev.clearclip;

/**
 * Dense, projected, L2-normalised patch features.
 *
 * @param data {@code gridWidth * gridHeight * dim} floats, row-major: patch (row, col) starts at
 *             {@code ((row * gridWidth) + col) * dim}
 */
public record DenseFeatures(int gridWidth, int gridHeight, int dim, float[] data) {

    public DenseFeatures {
        if ((long) gridWidth * gridHeight * dim != data.length) {
            throw new IllegalArgumentException("data has " + data.length + " floats, expected "
                    + gridWidth + " x " + gridHeight + " x " + dim);
        }
    }

    /** Feature vector of one patch (a copy). */
    public float[] patch(int row, int col) {
        float[] out = new float[dim];
        System.arraycopy(data, (row * gridWidth + col) * dim, out, 0, dim);
        return out;
    }
}
