package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileSupportTest {

    @TempDir
    Path dir;

    /** Against coreutils' sha256sum, on a file larger than one read buffer. */
    @Test
    void sha256OfAFileIsWhatSha256sumSays() throws Exception {
        byte[] data = new byte[(3 << 20) + 12345];
        new Random(7).nextBytes(data);
        Path file = dir.resolve("data.bin");
        Files.write(file, data);
        Process p = new ProcessBuilder("sha256sum", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        assertThat(p.waitFor()).as(out).isZero();
        String expected = out.substring(0, 64);
        assertThat(FileSupport.sha256Hex(file)).isEqualTo(expected);
        assertThat(FileSupport.sha256Hex(data)).isEqualTo(expected);
    }

    @Test
    void writeAtomicallyReplacesTheFileAndLeavesNoTemporary() throws IOException {
        Path target = dir.resolve("sub/dir/state.txt");
        FileSupport.writeAtomically(target, "first");
        FileSupport.writeAtomically(target, "second");
        assertThat(Files.readString(target)).isEqualTo("second");
        try (var files = Files.list(target.getParent())) {
            assertThat(files).containsExactly(target);
        }
    }

    @Test
    void aFailedWriteKeepsTheOldContentAndRemovesTheTemporary() throws IOException {
        Path target = dir.resolve("state.txt");
        FileSupport.writeAtomically(target, "old");
        assertThatThrownBy(() -> FileSupport.writeAtomically(target, tmp -> {
            Files.writeString(tmp, "half");
            throw new IOException("disk full");
        })).isInstanceOf(IOException.class).hasMessage("disk full");
        assertThat(Files.readString(target)).isEqualTo("old");
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(target);
        }
    }

    @Test
    void deleteTreeRemovesAFolderWithEverythingBelowItAndIgnoresOneThatIsNotThere() throws IOException {
        Path root = dir.resolve("tree");
        Files.createDirectories(root.resolve("a/b/c"));
        Files.writeString(root.resolve("top.txt"), "x");
        Files.writeString(root.resolve("a/b/c/deep.txt"), "y");
        Files.writeString(dir.resolve("beside.txt"), "kept");
        FileSupport.deleteTree(root);
        assertThat(root).doesNotExist();
        assertThat(dir.resolve("beside.txt")).hasContent("kept");
        FileSupport.deleteTree(root);
        assertThat(root).doesNotExist();
    }
}
