package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassSetTest {

    @TempDir
    Path tmp;

    @Test
    void parsesSemicolonsAndCommas() {
        ClassSet set = ClassSet.parse(" cat , kitten ;dog;; sky  blue ,");
        assertThat(set.size()).isEqualTo(3);
        assertThat(set.classNames()).containsExactly("cat", "dog", "sky blue");
        assertThat(set.classes().get(0).names()).containsExactly("cat", "kitten");
        assertThat(set.allNames()).containsExactly("cat", "kitten", "dog", "sky blue");
        assertThat(set.nameClasses()).containsExactly(0, 0, 1, 2);
    }

    @Test
    void emptyInputIsRejected() {
        assertThatThrownBy(() -> ClassSet.parse(" ; , ;")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no classes given");
        assertThatThrownBy(() -> ClassSet.parseLines(List.of("# only a comment", "   ")))
                .hasMessage("no classes given");
    }

    @Test
    void classFileSkipsCommentsAndBlankLines() throws IOException {
        Path file = tmp.resolve("classes.txt");
        Files.writeString(file, "\uFEFF# my classes\nroad\n\n  person, pedestrian ,rider\r\n# car next\ncar\n");
        ClassSet set = ClassSet.read(file);
        assertThat(set.classNames()).containsExactly("road", "person", "car");
        assertThat(set.classes().get(1).names()).containsExactly("person", "pedestrian", "rider");
    }

    @Test
    void emptyClassFileNamesTheFile() throws IOException {
        Path file = tmp.resolve("empty.txt");
        Files.writeString(file, "# nothing\n");
        assertThatThrownBy(() -> ClassSet.read(file)).hasMessage(file + ": no classes given");
    }

    @Test
    void aNameMayNotBelongToTwoClasses() {
        assertThatThrownBy(() -> ClassSet.parse("cat,pet;dog,Pet"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'Pet'");
        // repeated within one class it is simply kept once
        assertThat(ClassSet.parse("cat,cat").allNames()).containsExactly("cat");
    }

    @Test
    void backgroundIsPrependedOnce() {
        ClassSet set = ClassSet.parse("cat;dog").withBackground();
        assertThat(set.classNames()).containsExactly("background", "cat", "dog");
        assertThat(set.withBackground()).isSameAs(set);
        assertThat(ClassSet.parse("Background;cat").hasBackground()).isTrue();
    }

    @Test
    void toStringRoundTrips() {
        ClassSet set = ClassSet.parse("a,b;c");
        assertThat(ClassSet.parse(set.toString())).isEqualTo(set);
    }
}
