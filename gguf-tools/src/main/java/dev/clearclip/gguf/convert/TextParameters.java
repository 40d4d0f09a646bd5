package dev.clearclip.gguf.convert;

import java.util.Objects;

/** The text tower: its transformer, the context length (77 for CLIP) and the vocabulary size. */
public record TextParameters(TowerParameters tower, int contextLength, int vocabSize) {
    public TextParameters {
        Objects.requireNonNull(tower, "tower");
        if (contextLength <= 0 || vocabSize <= 0) {
            throw new IllegalArgumentException("context length and vocabulary size must be positive");
        }
    }
}
