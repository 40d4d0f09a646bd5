package dev.clearclip.gguf.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clearclip.gguf.testing.Fixtures;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Merges rebuilt from the vocabulary alone against the real ones: the fixture's vocab.json and
 * merges.txt were written in Python from open_clip's tokenizer (the merges were never derived
 * from the vocabulary there).
 */
class MergeRebuilderTest {
    static ClipVocabulary real;

    @BeforeAll
    static void load() {
        real = ClipVocabulary.load(Fixtures.model("hf-tiny"));
    }

    @Test
    void rebuildsEveryClipMergeInOrder() {
        List<String> rebuilt = MergeRebuilder.rebuild(real.tokens());
        assertThat(rebuilt).hasSize(ClipVocabulary.CLIP_MERGE_COUNT).isEqualTo(real.merges());
        assertThat(ClipVocabulary.fromOrderedTokens(real.tokens())).isEqualTo(real);
    }

    @Test
    void refusesVocabularyOutOfMergeOrder() {
        List<String> tokens = new ArrayList<>(real.tokens());
        // "th" (merge 1) moved after "the</w>" (merge 6), which is made from it
        Collections.swap(tokens, 513, 518);
        assertThatThrownBy(() -> MergeRebuilder.rebuild(tokens))
                .isInstanceOf(MergeRebuilder.NotOrderedException.class)
                .hasMessageContaining("token 513 'the</w>'")
                .hasMessageContaining("not in CLIP's merge order");
    }

    @Test
    void refusesVocabularyWithoutClipsByteTokens() {
        List<String> tokens = new ArrayList<>(real.tokens());
        Collections.swap(tokens, 0, 1);
        assertThatThrownBy(() -> MergeRebuilder.rebuild(tokens))
                .isInstanceOf(MergeRebuilder.NotOrderedException.class)
                .hasMessage("token 0 is '\"' where CLIP's vocabulary has the byte symbol '!'");
        List<String> noSpecials = new ArrayList<>(real.tokens().subList(0, real.tokens().size() - 1));
        noSpecials.add("<|endoftext|>x");
        assertThatThrownBy(() -> MergeRebuilder.rebuild(noSpecials))
                .hasMessageContaining("token 49407 is '<|endoftext|>x' where CLIP's vocabulary has the end-of-text token");
        assertThatThrownBy(() -> MergeRebuilder.rebuild(real.tokens().subList(0, 300)))
                .hasMessageContaining("has 300 tokens");
    }
}
