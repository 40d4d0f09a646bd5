package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Texts at the boundary to C: a NUL would cut a text and an unpaired surrogate would become "?", both
 * silently; they are refused with the position instead, everywhere text goes to the engine.
 */
class TextsTest {

    @TempDir
    static Path dir;

    static ClipModel model;

    @BeforeAll
    static void load() {
        model = ClipModel.load(TestFixtures.hfTinyGguf(dir), ModelOptions.builder().contexts(1).threads(1)
                .noTextCache().build());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void nulInsideATextIsAnErrorNamingItsPosition() {
        // without the check "a\0b" tokenized exactly like "a"
        assertThatThrownBy(() -> model.tokenize("a\0b"))
                .isInstanceOfSatisfying(InvalidTextException.class, e -> {
                    assertThat(e.index()).isEqualTo(1);
                    assertThat(e.status()).isEqualTo(ClearClipException.Status.INVALID_ARGUMENT);
                })
                .hasMessageContaining("NUL").hasMessageContaining("index 1").hasMessageContaining("\"a\\u0000b\"");
        assertThatThrownBy(() -> model.encodeText("a photo\0 of a fox"))
                .isInstanceOf(InvalidTextException.class).hasMessageContaining("index 7");
    }

    @Test
    void loneSurrogatesAreAnErrorNamingTheirPosition() {
        assertThatThrownBy(() -> model.tokenize("x\uD83Dy"))
                .isInstanceOfSatisfying(InvalidTextException.class, e -> assertThat(e.index()).isEqualTo(1))
                .hasMessageContaining("unpaired surrogate U+D83D at index 1");
        assertThatThrownBy(() -> model.tokenize("ends with \uD83D"))
                .isInstanceOf(InvalidTextException.class).hasMessageContaining("index 10");
        assertThatThrownBy(() -> model.tokenize("\uDE8A starts"))
                .isInstanceOf(InvalidTextException.class).hasMessageContaining("U+DE8A at index 0");
        // reversed pair: two lone surrogates, the first one is reported
        assertThatThrownBy(() -> model.tokenize("\uDE8A\uD83D"))
                .isInstanceOf(InvalidTextException.class).hasMessageContaining("index 0");
    }

    @Test
    void aBadTextInAListIsNamedByItsPlaceInTheList() {
        assertThatThrownBy(() -> model.encodeText(List.of("fine", "also fine", "bro\uDC00ken")))
                .isInstanceOfSatisfying(InvalidTextException.class, e -> assertThat(e.index()).isEqualTo(3))
                .hasMessageContaining("text 2 ").hasMessageContaining("index 3");
    }

    @Test
    void classNamesAndTemplatesAreCheckedToo() {
        assertThatThrownBy(() -> ClassSet.parse("cat;do\0g"))
                .isInstanceOf(InvalidTextException.class).hasMessageContaining("class name").hasMessageContaining("index 2");
        assertThatThrownBy(() -> ClassSet.ofNames(List.of("cat", "\uD800")))
                .isInstanceOf(InvalidTextException.class).hasMessageContaining("class name");
        assertThatThrownBy(() -> model.classEmbeddings(ClassSet.parse("cat"), List.of("a photo of a {}.", "a \0 {}")))
                .isInstanceOf(InvalidTextException.class).hasMessageContaining("prompt template 1");
    }

    @Test
    void validTextWithPairedSurrogatesAndNonAsciiStillWorks() {
        // the emoji is a surrogate pair; the check must not flag it
        int[] fox = model.tokenize("a 🦊 in a café");
        assertThat(fox[0]).isEqualTo(49406);
        assertThat(fox[fox.length - 1]).isEqualTo(49407);
        assertThat(fox.length).isGreaterThan(6);
        assertThat(model.encodeText(List.of("🦊", "naïve"))).hasNumberOfRows(2);
    }
}
