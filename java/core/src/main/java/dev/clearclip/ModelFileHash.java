package dev.clearclip;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * SHA-256 of a model file's content. Hashing a large model takes seconds, so the result is remembered
 * per (absolute path, size, modification time), in memory and, when a directory is given, on disk.
 */
final class ModelFileHash {

    private static final Map<String, String> MEMORY = new ConcurrentHashMap<>();

    private ModelFileHash() {
    }

    static String of(Path file, Optional<Path> storeDir) {
        try {
            Path abs = file.toAbsolutePath().normalize();
            String identity = abs + "\n" + Files.size(abs) + "\n" + Files.getLastModifiedTime(abs).toMillis();
            String known = MEMORY.get(identity);
            if (known != null) {
                return known;
            }
            Path stored = storeDir.map(d -> d.resolve(FileSupport.sha256Hex(identity.getBytes(StandardCharsets.UTF_8)) + ".sha256"))
                    .orElse(null);
            if (stored != null && Files.isRegularFile(stored)) {
                String text = Files.readString(stored, StandardCharsets.UTF_8).trim();
                if (text.matches("[0-9a-f]{64}")) {
                    MEMORY.put(identity, text);
                    return text;
                }
            }
            String hash = hashContent(abs);
            MEMORY.put(identity, hash);
            if (stored != null) {
                writeQuietly(stored, hash);
            }
            return hash;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot hash model file " + file + ": " + e.getMessage(), e);
        }
    }

    private static String hashContent(Path file) throws IOException {
        return FileSupport.sha256Hex(file);
    }

    /** Writes a cache entry atomically; a cache that cannot be written only costs time later. */
    static void writeQuietly(Path target, String text) {
        writeQuietly(target, text.getBytes(StandardCharsets.UTF_8));
    }

    static void writeQuietly(Path target, byte[] data) {
        try {
            FileSupport.writeAtomically(target, data);
        } catch (IOException e) {
            // deliberately ignored: see the method comment
        }
    }
}
