package dev.clearclip.bindings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Resolution rules of NativeLibrary that need no real library. */
class NativeLibraryTest {

    @Test
    void platformNamesFollowTheResourceLayout() {
        assertThat(NativeLibrary.platform("Linux", "amd64")).isEqualTo("linux-x86_64");
        assertThat(NativeLibrary.platform("Linux", "aarch64")).isEqualTo("linux-aarch64");
        assertThat(NativeLibrary.platform("Mac OS X", "aarch64")).isEqualTo("macos-aarch64");
        assertThat(NativeLibrary.platform("Windows 11", "amd64")).isEqualTo("windows-x86_64");
    }

    @Test
    void indexListsNamesInOrderIgnoringBlankLines() {
        assertThat(NativeLibrary.parseIndex("libggml-base.so.0\n\nlibggml.so.0\r\nlibclearclip.so\n"))
                .containsExactly("libggml-base.so.0", "libggml.so.0", "libclearclip.so");
    }

    @Test
    void missingOverrideLocationIsReportedWithItsSource(@TempDir Path tmp) {
        Path missing = tmp.resolve("nowhere");
        assertThatThrownBy(() -> NativeLibrary.librariesInDirectory(missing, "test source=" + missing))
                .isInstanceOf(NativeLibraryException.class)
                .hasMessageContaining("test source=" + missing)
                .hasMessageContaining("no such file or directory");
    }

    @Test
    void directoryWithoutEngineIsRejected(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("libggml.so"), "");
        assertThatThrownBy(() -> NativeLibrary.librariesInDirectory(tmp, "src"))
                .isInstanceOf(NativeLibraryException.class)
                .hasMessageContaining("libclearclip.so not found in " + tmp);
    }

    @Test
    void directoryWithoutIndexLoadsGgmlBeforeTheEngine(@TempDir Path tmp) throws IOException {
        for (String name : new String[] {"libclearclip.so", "libggml.so", "libggml-cpu.so", "libggml-base.so"}) {
            Files.writeString(tmp.resolve(name), "");
        }
        assertThat(NativeLibrary.librariesInDirectory(tmp, "src"))
                .extracting(p -> p.getFileName().toString())
                .containsExactly("libggml-base.so", "libggml-cpu.so", "libggml.so", "libclearclip.so");
    }

    @Test
    void indexDecidesTheOrderAndMustNameExistingFiles(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("libggml-base.so.0"), "");
        Files.writeString(tmp.resolve("libclearclip.so"), "");
        Files.writeString(tmp.resolve(NativeLibrary.INDEX_NAME), "libggml-base.so.0\nlibclearclip.so\n");
        assertThat(NativeLibrary.librariesInDirectory(tmp.resolve("libclearclip.so"), "src"))
                .extracting(p -> p.getFileName().toString())
                .containsExactly("libggml-base.so.0", "libclearclip.so");

        Files.writeString(tmp.resolve(NativeLibrary.INDEX_NAME), "libggml.so.0\nlibclearclip.so\n");
        assertThatThrownBy(() -> NativeLibrary.librariesInDirectory(tmp, "src"))
                .isInstanceOf(NativeLibraryException.class)
                .hasMessageContaining("lists libggml.so.0");
    }
}
