package dev.clearclip.gguf.convert;

/** Which towers of a CLIP checkpoint go into the GGUF. */
public enum Towers {
    BOTH, TEXT_ONLY, VISION_ONLY;

    public boolean text() {
        return this != VISION_ONLY;
    }

    public boolean vision() {
        return this != TEXT_ONLY;
    }
}
