package dev.clearclip.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Maps a model file read-only for {@link GgufFile} and
 * {@link dev.clearclip.gguf.safetensors.SafetensorsFile}, which both parse a whole mapping in
 * their constructor and own the arena afterwards. Public only because the safetensors reader
 * lives in another package.
 */
public final class MappedFiles {
    /**
     * Largest model file accepted: 1 TiB. Far beyond any CLIP checkpoint, and a bound on what a
     * corrupt size field or a sparse file can make a reader map.
     */
    public static final long MAX_FILE_SIZE = 1L << 40;

    private MappedFiles() {
    }

    /**
     * Refuses anything but a regular file of at most {@link #MAX_FILE_SIZE} bytes, looking only at
     * its attributes (symbolic links followed): opening a FIFO for reading blocks until a writer
     * comes, and a device such as {@code /dev/zero} has no end, so they are turned away unopened.
     *
     * @return the file's size
     * @throws ModelFileException naming the file and what it is
     */
    public static long requireRegularFile(Path path) {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new ModelFileException(path + ": no such file");
        } catch (IOException e) {
            throw new ModelFileException(path + ": cannot read: " + e.getMessage(), e);
        }
        if (attributes.isDirectory()) {
            throw new ModelFileException(path + ": is a directory, not a model file");
        }
        if (!attributes.isRegularFile()) {
            throw new ModelFileException(path + ": not a regular file (a FIFO, socket or device), not a model file");
        }
        if (attributes.size() > MAX_FILE_SIZE) {
            throw new ModelFileException(path + ": " + attributes.size() + " bytes, more than the "
                    + MAX_FILE_SIZE + " bytes a model file may have");
        }
        return attributes.size();
    }

    /** Parses a mapped file; the result owns {@code arena} and closes it when it is closed. */
    @FunctionalInterface
    public interface Parser<T> {
        T parse(Arena arena, MemorySegment mapping);
    }

    /**
     * Maps {@code path} (a regular file: {@link #requireRegularFile}) into a new shared arena and hands it to {@code parser}. A shared arena so
     * that the parsed file can be read from any thread. If mapping or parsing fails the arena is
     * closed here, since no one else holds it yet.
     *
     * @throws ModelFileException if the file cannot be read
     */
    public static <T> T open(Path path, Parser<T> parser) {
        requireRegularFile(path);
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            if (channel.size() > MAX_FILE_SIZE) { // grew since it was looked at
                throw new ModelFileException(path + ": " + channel.size() + " bytes, more than the "
                        + MAX_FILE_SIZE + " bytes a model file may have");
            }
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
