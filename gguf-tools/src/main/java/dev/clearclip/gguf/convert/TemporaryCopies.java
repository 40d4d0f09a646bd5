package dev.clearclip.gguf.convert;

import dev.clearclip.gguf.torch.TorchCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Safetensors copies of pickled PyTorch weights ({@code pytorch_model.bin} and its shards), made in
 * one temporary directory and deleted with it on {@link #close}. A copy keeps the name of the file
 * it was made from, so a shard index's weight map still names it.
 */
final class TemporaryCopies implements AutoCloseable {
    private Path directory;

    /** The safetensors copy of {@code pickled}, written now. */
    Path safetensorsOf(Path pickled) {
        try {
            if (directory == null) {
                directory = Files.createTempDirectory("clearclip-torch-");
            }
        } catch (IOException e) {
            throw new ConversionException(pickled + ": cannot make a temporary directory to read it: " + e.getMessage(), e);
        }
        Path copy = directory.resolve(pickled.getFileName().toString());
        TorchCheckpoint.toSafetensors(pickled, copy);
        return copy;
    }

    @Override
    public void close() {
        if (directory == null) {
            return;
        }
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // temporary files; nothing more to do
        }
        directory = null;
    }
}
