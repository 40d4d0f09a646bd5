package dev.clearclip;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of the ClearCLIP segmentation pipeline. Defaults are the reference's: short side 448,
 * 448 windows with stride 224, ClearCLIP final block, logit scale 50, no threshold, no background.
 *
 * @param shortSide         the image is resized so its short side has this many pixels (0 keeps the size)
 * @param crop              sliding-window side in pixels
 * @param stride            sliding-window stride in pixels
 * @param mode              final block of the vision tower
 * @param logitScale        multiplies cosine similarities before the softmax
 * @param probThreshold     pixels whose best class probability is below this become background (0 = off);
 *                          a threshold above 0 implies {@code background}
 * @param background        put a {@code background} class at index 0 if the class set has none
 * @param keepProbabilities return the per-class probability maps with the labels
 * @param timeout           null, or the longest the sliding windows of one picture may run: past it
 *                          {@code segment} stops within one window and throws {@link AbortedException}
 * @param naclipStd         standard deviation, in patches, of the {@link BlockMode#NACLIP} block's
 *                          Gaussian bias (default 5; other modes ignore it)
 * @param pamrSteps         iterations of PAMR refinement of the logits (0 = off, the default)
 * @param pamrDilations     PAMR's neighbourhood dilations in pixels (1 to 4 values; default 8, 16)
 */
public record SegmentOptions(
        int shortSide,
        int crop,
        int stride,
        BlockMode mode,
        float logitScale,
        float probThreshold,
        boolean background,
        boolean keepProbabilities,
        Duration timeout,
        float naclipStd,
        int pamrSteps,
        int[] pamrDilations) {

    /** At most this many PAMR dilations (the engine's CLEARCLIP_PAMR_MAX_DILATIONS). */
    public static final int MAX_PAMR_DILATIONS = 4;

    public SegmentOptions {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(pamrDilations, "pamrDilations");
        pamrDilations = pamrDilations.clone();
        if (!(naclipStd > 0) || !Float.isFinite(naclipStd)) {
            throw new IllegalArgumentException("naclipStd must be a positive number, got " + naclipStd);
        }
        if (pamrSteps < 0 || pamrSteps > 1000) {
            throw new IllegalArgumentException("pamrSteps must be within 0..1000, got " + pamrSteps);
        }
        if (pamrDilations.length < 1 || pamrDilations.length > MAX_PAMR_DILATIONS) {
            throw new IllegalArgumentException("PAMR takes 1 to " + MAX_PAMR_DILATIONS + " dilations, got "
                    + pamrDilations.length);
        }
        for (int d : pamrDilations) {
            if (d < 1) {
                throw new IllegalArgumentException("PAMR dilations must be >= 1, got " + d);
            }
        }
        if (shortSide < 0) {
            throw new IllegalArgumentException("shortSide must be >= 0, got " + shortSide);
        }
        if (crop < 1 || stride < 1) {
            throw new IllegalArgumentException("crop and stride must be >= 1, got crop " + crop + ", stride " + stride);
        }
        if (crop > Images.ENGINE_MAX_SIDE || stride > Images.ENGINE_MAX_SIDE) {
            throw new IllegalArgumentException("crop and stride must be at most " + Images.ENGINE_MAX_SIDE
                    + " (the engine's largest side), got crop " + crop + ", stride " + stride);
        }
        if (stride > crop) {
            throw new IllegalArgumentException("stride " + stride + " larger than crop " + crop + " would leave pixels uncovered");
        }
        if (!(logitScale > 0) || !Float.isFinite(logitScale)) {
            throw new IllegalArgumentException("logitScale must be a positive number, got " + logitScale);
        }
        if (!(probThreshold >= 0 && probThreshold <= 1)) {
            throw new IllegalArgumentException("probThreshold must be within [0, 1], got " + probThreshold);
        }
        if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
    }

    public static SegmentOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The PAMR dilations (a copy). */
    @Override
    public int[] pamrDilations() {
        return pamrDilations.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SegmentOptions s && shortSide == s.shortSide && crop == s.crop && stride == s.stride
                && mode == s.mode && Float.compare(logitScale, s.logitScale) == 0
                && Float.compare(probThreshold, s.probThreshold) == 0 && background == s.background
                && keepProbabilities == s.keepProbabilities && Objects.equals(timeout, s.timeout)
                && Float.compare(naclipStd, s.naclipStd) == 0 && pamrSteps == s.pamrSteps
                && java.util.Arrays.equals(pamrDilations, s.pamrDilations);
    }

    @Override
    public int hashCode() {
        return Objects.hash(shortSide, crop, stride, mode, logitScale, probThreshold, background, keepProbabilities,
                timeout, naclipStd, pamrSteps, java.util.Arrays.hashCode(pamrDilations));
    }

    @Override
    public String toString() {
        return "SegmentOptions[shortSide=" + shortSide + ", crop=" + crop + ", stride=" + stride + ", mode=" + mode
                + ", logitScale=" + logitScale + ", probThreshold=" + probThreshold + ", background=" + background
                + ", keepProbabilities=" + keepProbabilities + ", timeout=" + timeout + ", naclipStd=" + naclipStd
                + ", pamrSteps=" + pamrSteps + ", pamrDilations=" + java.util.Arrays.toString(pamrDilations) + "]";
    }

    /** Whether a background class is needed at index 0. */
    public boolean usesBackground() {
        return background || probThreshold > 0;
    }

    /**
     * These options for a picture of {@code width x height}: when resizing its short side to
     * {@link #shortSide()} would make the long side exceed the engine's {@value Images#ENGINE_MAX_SIDE}
     * pixels (a 3x1000 strip at 448 would be 448x149333), the short side is lowered so that the long side
     * is exactly that limit; otherwise these options. The label map keeps the picture's size either way.
     */
    public SegmentOptions fittedTo(int width, int height) {
        int shortIn = Math.min(width, height);
        int longIn = Math.max(width, height);
        if (shortSide() <= 0 || shortIn < 1 || (double) longIn * shortSide() / shortIn + 0.5 < Images.ENGINE_MAX_SIDE + 1) {
            return this;
        }
        int fitted = (int) ((long) Images.ENGINE_MAX_SIDE * shortIn / longIn);
        return toBuilder().shortSide(Math.max(1, fitted)).build();
    }

    /**
     * Sliding windows a segmentation of a {@code width x height} picture computes with these options (after
     * {@link #fittedTo}): the engine's count, per axis {@code max(size - crop + stride - 1, 0) / stride + 1}
     * of the picture resized to the short side. The cost of a call grows with it, which lets a server refuse
     * settings that would hold a context for minutes before computing anything.
     */
    public long windowCount(int width, int height) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("picture size must be positive, got " + width + "x" + height);
        }
        SegmentOptions o = fittedTo(width, height);
        long rw = width;
        long rh = height;
        if (o.shortSide() > 0) {
            // rounded as the engine rounds (mmcv's int(x * scale + 0.5))
            double s = (double) o.shortSide() / Math.min(width, height);
            rw = Math.max(1, (long) (width * s + 0.5));
            rh = Math.max(1, (long) (height * s + 0.5));
        }
        return axisWindows(rw, o.crop(), o.stride()) * axisWindows(rh, o.crop(), o.stride());
    }

    private static long axisWindows(long size, int crop, int stride) {
        long d = size - crop + stride - 1;
        return (d > 0 ? d : 0) / stride + 1;
    }

    public Builder toBuilder() {
        return new Builder().shortSide(shortSide).crop(crop).stride(stride).mode(mode).logitScale(logitScale)
                .probThreshold(probThreshold).background(background).keepProbabilities(keepProbabilities)
                .timeout(timeout).naclipStd(naclipStd).pamrSteps(pamrSteps).pamrDilations(pamrDilations);
    }

    public static final class Builder {
        private int shortSide = 448;
        private int crop = 448;
        private int stride = 224;
        private BlockMode mode = BlockMode.CLEARCLIP;
        private float logitScale = 50f;
        private float probThreshold = 0f;
        private boolean background = false;
        private boolean keepProbabilities = false;
        private Duration timeout;
        private float naclipStd = BlockMode.NACLIP_DEFAULT_STD;
        private int pamrSteps = 0;
        private int[] pamrDilations = {8, 16};

        private Builder() {
        }

        public Builder naclipStd(float v) {
            naclipStd = v;
            return this;
        }

        /** PAMR iterations on the merged logits (0 = off). */
        public Builder pamrSteps(int v) {
            pamrSteps = v;
            return this;
        }

        public Builder pamrDilations(int... v) {
            pamrDilations = Objects.requireNonNull(v, "pamrDilations").clone();
            return this;
        }

        public Builder shortSide(int v) {
            shortSide = v;
            return this;
        }

        public Builder crop(int v) {
            crop = v;
            return this;
        }

        public Builder stride(int v) {
            stride = v;
            return this;
        }

        public Builder mode(BlockMode v) {
            mode = v;
            return this;
        }

        public Builder logitScale(float v) {
            logitScale = v;
            return this;
        }

        public Builder probThreshold(float v) {
            probThreshold = v;
            return this;
        }

        public Builder background(boolean v) {
            background = v;
            return this;
        }

        public Builder keepProbabilities(boolean v) {
            keepProbabilities = v;
            return this;
        }

        /** Longest the windows of one picture may run (null: no limit). */
        public Builder timeout(Duration v) {
            timeout = v;
            return this;
        }

        public SegmentOptions build() {
            return new SegmentOptions(shortSide, crop, stride, mode, logitScale, probThreshold, background,
                    keepProbabilities, timeout, naclipStd, pamrSteps, pamrDilations);
        }
    }
}
