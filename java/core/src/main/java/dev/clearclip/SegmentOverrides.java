package dev.clearclip;

/**
 * Changes to a base {@link SegmentOptions} (a preset's, or the defaults) as a user gives them on a
 * command line or in a form: a null field (false for {@code background}) keeps the base value; the
 * method's settings come first and the single settings override them. {@code clearclip segment}, the
 * Spark job and {@code clearclip serve} all build their options through this one rule, from the one
 * declaration of the settings in {@link SegmentSettings}, so the same settings mean the same in all.
 *
 * @param method a method, or null
 * @param mode a final block, or null (else it wins over the method's)
 * @param pamrDilations PAMR dilations, or null (copied)
 * @param threshold {@link SegmentOptions.Builder#probThreshold(float)}, or null
 * @param background true adds a background class at index 0
 */
public record SegmentOverrides(Method method, BlockMode mode, Float naclipStd, Integer pamrSteps, int[] pamrDilations,
        Integer shortSide, Integer crop, Integer stride, Float logitScale, Float threshold, boolean background) {

    public SegmentOverrides {
        pamrDilations = pamrDilations == null ? null : pamrDilations.clone();
    }

    @Override
    public int[] pamrDilations() {
        return pamrDilations == null ? null : pamrDilations.clone();
    }

    /**
     * The base options with these changes.
     *
     * @throws IllegalArgumentException for a value the options refuse
     */
    public SegmentOptions applyTo(SegmentOptions base) {
        SegmentOptions.Builder b = base.toBuilder();
        if (method != null) {
            b = method.apply(b);
        }
        if (naclipStd != null) {
            b.naclipStd(naclipStd);
        }
        if (pamrSteps != null) {
            b.pamrSteps(pamrSteps);
        }
        if (pamrDilations != null) {
            b.pamrDilations(pamrDilations);
        }
        if (mode != null) {
            b.mode(mode);
        }
        if (shortSide != null) {
            b.shortSide(shortSide);
        }
        if (crop != null) {
            b.crop(crop);
        }
        if (stride != null) {
            b.stride(stride);
        }
        if (logitScale != null) {
            b.logitScale(logitScale);
        }
        if (threshold != null) {
            b.probThreshold(threshold);
        }
        if (background) {
            b.background(true);
        }
        return b.build();
    }
}
