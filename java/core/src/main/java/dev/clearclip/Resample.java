package dev.clearclip;

/** Pixel resampling of {@link RgbImage}s done on the Java side (the engine does the segmentation resizes). */
final class Resample {

    /** Fixed-point precision of Pillow's 8-bit resampler, reproduced so results match it exactly. */
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private Resample() {
    }

    /** Cubic convolution kernel with a = -0.5 (Pillow's BICUBIC), support 2. */
    private static double cubic(double x) {
        final double a = -0.5;
        x = Math.abs(x);
        if (x < 1) {
            return ((a + 2) * x - (a + 3)) * x * x + 1;
        }
        if (x < 2) {
            return (((x - 5) * x + 8) * x - 4) * a;
        }
        return 0;
    }

    /** Per-output-pixel source ranges and fixed-point weights of one axis (Pillow's precompute_coeffs). */
    private record Coeffs(int[] start, int[] count, int[][] weights) {
    }

    private static Coeffs coeffs(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = 2.0 * filterScale;
        int[] start = new int[outSize];
        int[] count = new int[outSize];
        int[][] weights = new int[outSize][];
        double[] k = new double[(int) Math.ceil(support) * 2 + 1];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = (int) (center - support + 0.5);
            if (xmin < 0) {
                xmin = 0;
            }
            int xmax = (int) (center + support + 0.5);
            if (xmax > inSize) {
                xmax = inSize;
            }
            xmax -= xmin;
            double ww = 0;
            for (int x = 0; x < xmax; x++) {
                double w = cubic((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            int[] fixed = new int[xmax];
            for (int x = 0; x < xmax; x++) {
                double w = ww != 0 ? k[x] / ww : k[x];
                fixed[x] = w < 0 ? (int) (-0.5 + w * (1 << PRECISION_BITS)) : (int) (0.5 + w * (1 << PRECISION_BITS));
            }
            start[xx] = xmin;
            count[xx] = xmax;
            weights[xx] = fixed;
        }
        return new Coeffs(start, count, weights);
    }

    private static byte clip8(long acc) {
        long v = acc >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : v > 255 ? 255 : v);
    }

    /** Antialiased bicubic resize with Pillow's arithmetic: horizontal pass, then vertical, 8 bits in between. */
    static RgbImage bicubic(RgbImage src, int outW, int outH) {
        RgbImage horizontal = src;
        if (outW != src.width()) {
            Coeffs c = coeffs(src.width(), outW);
            int h = src.height();
            int inW = src.width();
            byte[] in = src.rgb();
            byte[] out = new byte[outW * h * 3];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < outW; x++) {
                    int[] k = c.weights[x];
                    for (int ch = 0; ch < 3; ch++) {
                        long acc = 1L << (PRECISION_BITS - 1);
                        int base = (y * inW + c.start[x]) * 3 + ch;
                        for (int i = 0; i < c.count[x]; i++) {
                            acc += (long) (in[base + i * 3] & 0xff) * k[i];
                        }
                        out[(y * outW + x) * 3 + ch] = clip8(acc);
                    }
                }
            }
            horizontal = new RgbImage(outW, h, out);
        }
        if (outH == horizontal.height()) {
            return horizontal;
        }
        Coeffs c = coeffs(horizontal.height(), outH);
        int w = horizontal.width();
        byte[] in = horizontal.rgb();
        byte[] out = new byte[w * outH * 3];
        for (int y = 0; y < outH; y++) {
            int[] k = c.weights[y];
            for (int x = 0; x < w; x++) {
                for (int ch = 0; ch < 3; ch++) {
                    long acc = 1L << (PRECISION_BITS - 1);
                    for (int i = 0; i < c.count[y]; i++) {
                        acc += (long) (in[((c.start[y] + i) * w + x) * 3 + ch] & 0xff) * k[i];
                    }
                    out[(y * w + x) * 3 + ch] = clip8(acc);
                }
            }
        }
        return new RgbImage(w, outH, out);
    }

    /** Downscale by averaging the source area each output pixel covers (fractional edges weighted). */
    static RgbImage areaAverage(RgbImage src, int outW, int outH) {
        int inW = src.width();
        int inH = src.height();
        double sx = (double) inW / outW;
        double sy = (double) inH / outH;
        byte[] in = src.rgb();
        byte[] out = new byte[outW * outH * 3];
        double[] acc = new double[3];
        for (int y = 0; y < outH; y++) {
            double y0 = y * sy;
            double y1 = Math.min(inH, (y + 1) * sy);
            for (int x = 0; x < outW; x++) {
                double x0 = x * sx;
                double x1 = Math.min(inW, (x + 1) * sx);
                acc[0] = acc[1] = acc[2] = 0;
                double area = 0;
                for (int iy = (int) y0; iy < y1; iy++) {
                    double wy = Math.min(y1, iy + 1) - Math.max(y0, iy);
                    for (int ix = (int) x0; ix < x1; ix++) {
                        double wgt = wy * (Math.min(x1, ix + 1) - Math.max(x0, ix));
                        int o = (iy * inW + ix) * 3;
                        acc[0] += wgt * (in[o] & 0xff);
                        acc[1] += wgt * (in[o + 1] & 0xff);
                        acc[2] += wgt * (in[o + 2] & 0xff);
                        area += wgt;
                    }
                }
                int o = (y * outW + x) * 3;
                for (int ch = 0; ch < 3; ch++) {
                    out[o + ch] = (byte) Math.min(255, Math.round(acc[ch] / area));
                }
            }
        }
        return new RgbImage(outW, outH, out);
    }

    static RgbImage crop(RgbImage src, int left, int top, int w, int h) {
        if (left < 0 || top < 0 || left + w > src.width() || top + h > src.height()) {
            throw new IllegalArgumentException("crop " + w + "x" + h + "+" + left + "+" + top
                    + " outside a " + src.width() + "x" + src.height() + " image");
        }
        if (left == 0 && top == 0 && w == src.width() && h == src.height()) {
            return src;
        }
        byte[] out = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            System.arraycopy(src.rgb(), ((top + y) * src.width() + left) * 3, out, y * w * 3, w * 3);
        }
        return new RgbImage(w, h, out);
    }
}
