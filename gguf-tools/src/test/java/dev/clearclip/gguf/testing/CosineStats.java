package dev.clearclip.gguf.testing;

/**
 * Row-wise cosine similarity between two row-major matrices of equal shape (e.g. engine features
 * against a golden), summarised as minimum and mean, plus the largest absolute difference.
 */
public record CosineStats(int rows, double min, double mean, double maxAbsDiff) {

    public static CosineStats of(float[] actual, float[] expected, int columns) {
        if (actual.length != expected.length) {
            throw new IllegalArgumentException("lengths differ: " + actual.length + " vs " + expected.length);
        }
        if (columns <= 0 || actual.length % columns != 0) {
            throw new IllegalArgumentException(actual.length + " values are not rows of " + columns);
        }
        int rows = actual.length / columns;
        double min = Double.POSITIVE_INFINITY;
        double sum = 0;
        double maxAbs = 0;
        for (int r = 0; r < rows; r++) {
            double dot = 0;
            double na = 0;
            double ne = 0;
            for (int c = 0; c < columns; c++) {
                double a = actual[r * columns + c];
                double e = expected[r * columns + c];
                dot += a * e;
                na += a * a;
                ne += e * e;
                maxAbs = Math.max(maxAbs, Math.abs(a - e));
            }
            double cosine = na == 0 || ne == 0 ? (na == ne ? 1 : 0) : dot / Math.sqrt(na * ne);
            min = Math.min(min, cosine);
            sum += cosine;
        }
        return new CosineStats(rows, rows == 0 ? 1 : min, rows == 0 ? 1 : sum / rows, maxAbs);
    }

    @Override
    public String toString() {
        return String.format("cosine over %d rows: min %.7f, mean %.7f; max |diff| %.3g", rows, min, mean, maxAbsDiff);
    }
}
