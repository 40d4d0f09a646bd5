package dev.clearclip.cli.commands;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageInputsTest {

    @TempDir
    Path tmp;

    @Test
    void foldersGlobsAndFiles() throws IOException {
        Files.createDirectories(tmp.resolve("a/b"));
        for (String f : List.of("a/1.jpg", "a/2.PNG", "a/notes.txt", "a/b/3.webp", "c.bmp")) {
            Files.writeString(tmp.resolve(f), "x");
        }
        assertThat(ImageInputs.expand(List.of(tmp.resolve("a").toString())))
                .containsExactly(tmp.resolve("a/1.jpg"), tmp.resolve("a/2.PNG"), tmp.resolve("a/b/3.webp"));
        assertThat(ImageInputs.expand(List.of(tmp + "/a/*.jpg"))).containsExactly(tmp.resolve("a/1.jpg"));
        assertThat(ImageInputs.expand(List.of(tmp + "/a/**.webp"))).containsExactly(tmp.resolve("a/b/3.webp"));
        // duplicates collapse, order of first mention is kept
        assertThat(ImageInputs.expand(List.of(tmp.resolve("c.bmp").toString(), tmp + "/*.bmp")))
                .containsExactly(tmp.resolve("c.bmp"));
    }

    @Test
    void emptyMatchesAreErrors() throws IOException {
        assertThatThrownBy(() -> ImageInputs.expand(List.of(tmp + "/*.jpg"))).hasMessageContaining("no file matches");
        Files.createDirectories(tmp.resolve("empty"));
        assertThatThrownBy(() -> ImageInputs.expand(List.of(tmp.resolve("empty").toString())))
                .hasMessageContaining("folder has no pictures");
    }
}
