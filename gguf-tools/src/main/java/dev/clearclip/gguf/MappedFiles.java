package dev.clearclip.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Maps a model file read-only for {@link GgufFile} and
 * {@link dev.clearclip.gguf.safetensors.SafetensorsFile}, which both parse a whole mapping in
 * their constructor and own the arena afterwards. Public only because the safetensors reader
 * lives in another package.
 */
public final class MappedFiles {
    private MappedFiles() {
    }

    /** Parses a mapped file; the result owns {@code arena} and closes it when it is closed. */
    @FunctionalInterface
    public interface Parser<T> {
        T parse(Arena arena, MemorySegment mapping);
    }

    /**
     * Maps {@code path} into a new shared arena and hands it to {@code parser}. A shared arena so
     * that the parsed file can be read from any thread. If mapping or parsing fails the arena is
     * closed here, since no one else holds it yet.
     *
     * @throws ModelFileException if the file cannot be read
     */
    public static <T> T open(Path path, Parser<T> parser) {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return parser.parse(arena, mapping);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new ModelFileException(path + ": no such file");
        } catch (IOException e) {
            arena.close();
            throw new ModelFileException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }
}
