package dev.clearclip;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The segmentation settings as a user gives them, declared once for every front end: the flags of
 * {@code clearclip segment} and of the Spark job (this class is their picocli {@code @Mixin}) and the form fields
 * of {@code clearclip serve} ({@link #fromForm}: the flag's name without the dashes and with '_' for '-', e.g.
 * {@code pamr_steps}; {@code prob_threshold} is also read as {@code threshold}). All of them build their
 * {@link SegmentOptions} through {@link SegmentOverrides}' one rule, so a setting has one name, one default and one
 * meaning everywhere.
 *
 * <p>{@code --max-side} is not a {@link SegmentOptions} setting but how a picture is read: one with a longer
 * side is computed at that long side (downscaled while decoded) and its label map scaled back up to the picture's
 * size, with the same default ({@value Images#DEFAULT_MAX_SIDE}) in the CLI, the Spark job and the server. The
 * segmentation itself works at {@code --short-side} (448), so the bound changes only the resolution of the final
 * upsampling and argmax, and bounds the windows when {@code --short-side 0} keeps the picture's size.
 *
 * <p>Library users need no picocli for this class: only picocli reads its annotations.
 */
public final class SegmentSettings {

    /** Default of {@code --max-side}. */
    public static final int DEFAULT_MAX_SIDE = Images.DEFAULT_MAX_SIDE;

    // --method and --mode, which eval takes alone
    @Mixin
    MethodChoice methodChoice = new MethodChoice();

    @Option(names = "--naclip-std", paramLabel = "PATCHES",
            description = "Std of the naclip block's Gaussian neighbourhood bias (default 5).")
    Float naclipStd;

    @Option(names = "--pamr-steps", paramLabel = "N",
            description = "PAMR refinement iterations on the logits (default 0 = off; naclip method 10).")
    Integer pamrSteps;

    @Option(names = "--pamr-dilations", paramLabel = "D", split = ",",
            description = "PAMR neighbourhood dilations in pixels, 1 to 4 (default 8,16).")
    int[] pamrDilations;

    @Option(names = "--short-side", paramLabel = "PX",
            description = "Resize the short side to this before the windows (default 448; 0 keeps the size).")
    Integer shortSide;

    @Option(names = "--crop", paramLabel = "PX", description = "Sliding-window side (default 448; Cityscapes preset 224).")
    Integer crop;

    @Option(names = "--stride", paramLabel = "PX", description = "Sliding-window stride (default 224).")
    Integer stride;

    @Option(names = "--logit-scale", paramLabel = "S", description = "Logit scale (default 50).")
    Float logitScale;

    @Option(names = "--threshold", paramLabel = "P",
            description = "Pixels whose best probability is below P become 'background' (added at index 0 if absent).")
    Float threshold;

    @Option(names = "--background", description = "Add a 'background' class at index 0.")
    boolean background;

    @Option(names = "--max-side", paramLabel = "PX", defaultValue = "" + DEFAULT_MAX_SIDE,
            description = "Pictures with a longer side are computed at this long side and their label map scaled "
                    + "up to the picture's size (default: ${DEFAULT-VALUE}; at most " + Images.ENGINE_MAX_SIDE
                    + ", the engine's limit).")
    int maxSide = DEFAULT_MAX_SIDE;

    /** No setting given: every default. */
    public SegmentSettings() {
    }

    /** The changes to a base {@link SegmentOptions} these settings make. */
    public SegmentOverrides overrides() {
        MethodChoice m = methodChoice != null ? methodChoice : new MethodChoice();
        return new SegmentOverrides(m.method, m.mode, naclipStd, pamrSteps, pamrDilations, shortSide, crop, stride,
                logitScale, threshold, background);
    }

    /**
     * The preset's options (the defaults without one) with these settings.
     *
     * @throws IllegalArgumentException for a value the options refuse, or a {@code --max-side} out of
     *                                  1..{@value Images#ENGINE_MAX_SIDE}
     */
    public SegmentOptions options(Preset preset) {
        checkMaxSide("--max-side", maxSide);
        return overrides().applyTo(preset != null ? preset.options() : SegmentOptions.defaults());
    }

    /** The --method, or null: the preset's or defaults' block and settings. */
    public Method method() {
        return methodChoice != null ? methodChoice.method : null;
    }

    /** The long side pictures are computed at most (1..{@value Images#ENGINE_MAX_SIDE}). */
    public int maxSide() {
        return maxSide;
    }

    private static void checkMaxSide(String name, int v) {
        if (v < 1 || v > Images.ENGINE_MAX_SIDE) {
            throw new IllegalArgumentException(name + " must be within 1.." + Images.ENGINE_MAX_SIDE + ", got " + v);
        }
    }

    /**
     * Names of the form fields {@link #fromForm} reads: each flag's without the dashes, '_' for '-'. The server
     * documents them; a test checks them against the flags.
     */
    public static final List<String> FORM_FIELDS = List.of("method", "mode", "naclip_std", "pamr_steps",
            "pamr_dilations", "short_side", "crop", "stride", "logit_scale", "threshold", "background", "max_side");

    /** Older name of the {@code threshold} field, still read. */
    public static final String PROB_THRESHOLD_FIELD = "prob_threshold";

    /**
     * The settings given as form fields: {@code field} returns a field's value, or null when absent or blank.
     * Values are read as the flags read them (names in any case, {@code pamr_dilations} comma-separated,
     * {@code background} true/false, also 1/0, on/off, yes/no).
     *
     * @throws IllegalArgumentException naming the field, for a value that is not of the field's type, an unknown
     *                                  name, or both {@code threshold} and {@code prob_threshold}
     */
    public static SegmentSettings fromForm(Function<String, String> field) {
        SegmentSettings s = new SegmentSettings();
        String m = field.apply("method");
        s.methodChoice.method = m == null ? null : named("method", m, Method::parse);
        String mode = field.apply("mode");
        s.methodChoice.mode = mode == null ? null : named("mode", mode, BlockMode::parse);
        s.naclipStd = number(field, "naclip_std");
        s.pamrSteps = whole(field, "pamr_steps");
        String d = field.apply("pamr_dilations");
        if (d != null) {
            List<Integer> list = new ArrayList<>();
            for (String part : d.split(",", -1)) {
                list.add(wholeValue("pamr_dilations", part.strip(), d));
            }
            s.pamrDilations = list.stream().mapToInt(Integer::intValue).toArray();
        }
        s.shortSide = whole(field, "short_side");
        s.crop = whole(field, "crop");
        s.stride = whole(field, "stride");
        s.logitScale = number(field, "logit_scale");
        Float threshold = number(field, "threshold");
        Float old = number(field, PROB_THRESHOLD_FIELD);
        if (threshold != null && old != null) {
            throw new IllegalArgumentException("give 'threshold' or its older name 'prob_threshold', not both");
        }
        s.threshold = threshold != null ? threshold : old;
        String bg = field.apply("background");
        if (bg != null) {
            Boolean v = BOOLEANS.get(bg.strip().toLowerCase(Locale.ROOT));
            if (v == null) {
                throw new IllegalArgumentException("'background' must be true or false, got '" + shorten(bg) + "'");
            }
            s.background = v;
        }
        Integer maxSide = whole(field, "max_side");
        if (maxSide != null) {
            checkMaxSide("'max_side'", maxSide);
            s.maxSide = maxSide;
        }
        return s;
    }

    private static final Map<String, Boolean> BOOLEANS = Map.of("true", true, "1", true, "on", true, "yes", true,
            "false", false, "0", false, "off", false, "no", false);

    private static <E> E named(String name, String value, Function<String, E> parse) {
        try {
            return parse.apply(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + name + "': " + e.getMessage(), e);
        }
    }

    private static Integer whole(Function<String, String> field, String name) {
        String v = field.apply(name);
        return v == null ? null : wholeValue(name, v, v);
    }

    private static int wholeValue(String name, String v, String whole) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + name + "' must be " + (name.equals("pamr_dilations")
                    ? "whole numbers separated by ','" : "a whole number") + ", got '" + shorten(whole) + "'");
        }
    }

    private static Float number(Function<String, String> field, String name) {
        String v = field.apply(name);
        if (v == null) {
            return null;
        }
        try {
            return Float.parseFloat(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + name + "' must be a number, got '" + shorten(v) + "'");
        }
    }

    private static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
