package dev.clearclip.gguf.convert;

import java.util.Objects;
import java.util.Optional;

/**
 * Everything a CLIP GGUF says about the model besides its tensors and tokenizer: the towers it
 * holds, the MLP activation ({@code useGelu}: exact GELU, else quick_gelu) and the learned logit
 * scale (already exponentiated), if the checkpoint has one.
 */
public record ClipParameters(Optional<TextParameters> text, Optional<VisionParameters> vision, boolean useGelu,
                             Optional<Float> logitScale) {

    public ClipParameters {
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(vision, "vision");
        Objects.requireNonNull(logitScale, "logitScale");
        if (text.isEmpty() && vision.isEmpty()) {
            throw new IllegalArgumentException("a CLIP model needs at least one tower");
        }
        if (text.isPresent() && vision.isPresent()
                && text.get().tower().projectionDim() != vision.get().tower().projectionDim()) {
            throw new IllegalArgumentException("text and vision project to different dimensions: "
                    + text.get().tower().projectionDim() + " and " + vision.get().tower().projectionDim());
        }
    }
}
