package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PromptTemplatesTest {

    @Test
    void theEightyImagenetTemplatesInReferenceOrder() {
        var t = PromptTemplates.imagenet80();
        assertThat(t).hasSize(80).doesNotHaveDuplicates();
        assertThat(t.get(0)).isEqualTo("a bad photo of a {}.");
        assertThat(t.get(1)).isEqualTo("a photo of many {}.");
        assertThat(t.get(79)).isEqualTo("a tattoo of the {}.");
        assertThat(PromptTemplates.fill(t.get(0), "fox")).isEqualTo("a bad photo of a fox.");
    }

    @Test
    void jsonStringArrayParsing() {
        assertThat(PromptTemplates.parseStringArray(" [ \"a\\\"b\" , \"\\u00e9\\n\" ] "))
                .containsExactly("a\"b", "é\n");
        assertThat(PromptTemplates.parseStringArray("[]")).isEmpty();
        assertThatThrownBy(() -> PromptTemplates.parseStringArray("[\"a\" \"b\"]"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
