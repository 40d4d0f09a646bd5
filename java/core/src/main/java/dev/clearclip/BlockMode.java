package dev.clearclip;

import dev.clearclip.bindings.ffi.ClearClipNative;
import java.util.Locale;

/** Final block of the vision tower used for dense (per-patch) features. */
public enum BlockMode {
    /** softmax(q q^T) attention, no residual, no feed-forward network (ClearCLIP, the default). */
    CLEARCLIP,
    /** Stock CLIP block: q k^T attention, residual and feed-forward network. */
    VANILLA,
    /** Identity attention: the value path only, no residual, no feed-forward network. */
    MASKCLIP,
    /** softmax(q q^T) + softmax(k k^T), no residual, no feed-forward network. */
    SCLIP,
    /**
     * softmax(k k^T / sqrt(d) + Gaussian neighbourhood bias over the patch grid), no residual, no
     * feed-forward network (NACLIP, Hajimiri, Ben Ayed, Dolz, WACV 2025).
     */
    NACLIP;

    /** NACLIP's default standard deviation of the Gaussian bias, in patches. */
    public static final float NACLIP_DEFAULT_STD = 5f;

    /**
     * Value of the engine's clearclip_block_mode enum, read from the generated bindings rather than
     * re-typed (pinned by {@code NativeConstantsTest}). Looked up on call: touching
     * {@code ClearClipNative} loads the native library, which parsing a mode name must not do.
     */
    int nativeId() {
        return switch (this) {
            case CLEARCLIP -> ClearClipNative.CLEARCLIP_MODE_CLEARCLIP();
            case VANILLA -> ClearClipNative.CLEARCLIP_MODE_VANILLA();
            case MASKCLIP -> ClearClipNative.CLEARCLIP_MODE_MASKCLIP();
            case SCLIP -> ClearClipNative.CLEARCLIP_MODE_SCLIP();
            case NACLIP -> ClearClipNative.CLEARCLIP_MODE_NACLIP();
        };
    }

    /** Lower-case name as used on the command line, e.g. {@code clearclip}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a mode name case-insensitively ({@code clearclip}, {@code vanilla}, {@code maskclip}, {@code sclip}, {@code naclip}). */
    public static BlockMode parse(String text) {
        for (BlockMode mode : values()) {
            if (mode.id().equalsIgnoreCase(text.trim())) {
                return mode;
            }
        }
        throw new IllegalArgumentException("unknown block mode '" + text
                + "' (expected one of clearclip, vanilla, maskclip, sclip, naclip)");
    }
}
