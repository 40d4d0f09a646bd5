package dev.clearclip;

import java.util.Locale;

/** Final block of the vision tower used for dense (per-patch) features. */
public enum BlockMode {
    /** softmax(q q^T) attention, no residual, no feed-forward network (ClearCLIP, the default). */
    CLEARCLIP(0),
    /** Stock CLIP block: q k^T attention, residual and feed-forward network. */
    VANILLA(1),
    /** Identity attention: the value path only, no residual, no feed-forward network. */
    MASKCLIP(2),
    /** softmax(q q^T) + softmax(k k^T), no residual, no feed-forward network. */
    SCLIP(3),
    /**
     * softmax(k k^T / sqrt(d) + Gaussian neighbourhood bias over the patch grid), no residual, no
     * feed-forward network (NACLIP, Hajimiri, Ben Ayed, Dolz, WACV 2025).
     */
    NACLIP(4);

    /** NACLIP's default standard deviation of the Gaussian bias, in patches. */
    public static final float NACLIP_DEFAULT_STD = 5f;

    private final int nativeId;

    BlockMode(int nativeId) {
        this.nativeId = nativeId;
    }

    /** Value of the engine's clearclip_block_mode enum. */
    int nativeId() {
        return nativeId;
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
