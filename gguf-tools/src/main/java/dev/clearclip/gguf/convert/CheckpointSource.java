package dev.clearclip.gguf.convert;

import dev.clearclip.gguf.tokenizer.ClipVocabulary;
import java.util.List;
import java.util.Optional;

/** A checkpoint read in one of the supported layouts, mapped to the GGUF model format. */
interface CheckpointSource extends AutoCloseable {

    /** Default for {@code general.name}. */
    String defaultName();

    ClipParameters parameters();

    /** The GGUF tensors of the selected towers, in file order. */
    List<PlannedTensor> tensors();

    /** The tokenizer found for the checkpoint, if any. */
    Optional<ClipVocabulary> vocabulary();

    /** Where the tokenizer was looked for, for the error message when there is none. */
    String vocabularySearchDescription();

    /** What the source mended or assumed, for a person to read (none by default). */
    default List<String> notes() {
        return List.of();
    }

    @Override
    void close();
}
