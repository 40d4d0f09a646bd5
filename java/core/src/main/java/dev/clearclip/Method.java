package dev.clearclip;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Training-free segmentation methods that change only CLIP's last block, each with its reference
 * pipeline settings: block mode, sliding window, logit scale and refinement. Combined with a
 * {@link Preset} (class list, background threshold, short side) by {@link #options(Preset)}.
 *
 * <ul>
 *   <li>{@code clearclip}: ClearCLIP (Lan et al., ECCV 2024): the preset's windows (448/224;
 *       Cityscapes 224/224), logit scale 50, no refinement.</li>
 *   <li>{@code naclip}: NACLIP (Hajimiri, Ben Ayed, Dolz, WACV 2025): 224 windows with stride 112,
 *       logit scale 40, Gaussian bias std 5, PAMR with 10 steps at dilations 8 and 16.</li>
 *   <li>{@code sclip}, {@code maskclip}: SCLIP (Wang et al., ECCV 2024) and MaskCLIP (Zhou et al.,
 *       ECCV 2022) blocks in ClearCLIP's pipeline, the setting of ClearCLIP's comparison table.</li>
 * </ul>
 */
public enum Method {
    CLEARCLIP("clearclip", BlockMode.CLEARCLIP),
    NACLIP("naclip", BlockMode.NACLIP),
    SCLIP("sclip", BlockMode.SCLIP),
    MASKCLIP("maskclip", BlockMode.MASKCLIP);

    private final String id;
    private final BlockMode mode;

    Method(String id, BlockMode mode) {
        this.id = id;
        this.mode = mode;
    }

    /** Command-line name, e.g. {@code naclip}. */
    public String id() {
        return id;
    }

    public BlockMode blockMode() {
        return mode;
    }

    public static Method parse(String text) {
        String key = text.trim().toLowerCase(Locale.ROOT);
        for (Method m : values()) {
            if (m.id.equals(key)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown method '" + text + "' (expected one of "
                + Arrays.stream(values()).map(Method::id).collect(Collectors.joining(", ")) + ")");
    }

    /** This method's settings on top of a benchmark preset's (null: the library defaults' classes-free settings). */
    public SegmentOptions options(Preset preset) {
        SegmentOptions.Builder b = preset != null ? preset.options().toBuilder() : SegmentOptions.builder();
        return apply(b).build();
    }

    /** Sets the block mode, windows, logit scale and refinement of this method on {@code b}. */
    public SegmentOptions.Builder apply(SegmentOptions.Builder b) {
        b.mode(mode);
        if (this == NACLIP) {
            return b.crop(224).stride(112).logitScale(40f).naclipStd(BlockMode.NACLIP_DEFAULT_STD).pamrSteps(10)
                    .pamrDilations(8, 16);
        }
        return b.logitScale(50f).pamrSteps(0);
    }
}
