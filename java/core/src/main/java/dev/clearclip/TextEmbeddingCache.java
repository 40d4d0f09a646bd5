package dev.clearclip;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * On-disk cache of class-name embeddings. Entries are keyed by the SHA-256 of (model file content hash,
 * names, templates, embedding recipe) and hold float32 rows with a CRC, so a truncated or corrupt entry
 * is detected, ignored and rewritten.
 *
 * <p>The entries together hold at most {@code maxBytes}: a store that goes past it deletes the entries
 * used longest ago (a hit renews an entry's modification time) until a tenth of the cap is free, so a
 * server whose clients send ever new class names writes a bounded amount. An entry larger than the cap
 * is not stored. Other processes sharing the folder are counted at the next scan, not at once.
 */
final class TextEmbeddingCache {

    /** How embeddings are made from templates; part of the key so a change of recipe never reuses old entries. */
    static final String RECIPE = "template-ensemble:normalise-each,mean,renormalise";

    private static final int MAGIC = 0x43435445; // "CCTE"
    private static final int VERSION = 1;
    private static final int HEADER = 16;

    private final Path dir;
    private final long maxBytes;
    /** Bytes of the entries as this process last counted them; -1 until the first store scans the folder. */
    private long bytes = -1;

    TextEmbeddingCache(Path dir) {
        this(dir, ModelOptions.DEFAULT_TEXT_CACHE_MAX_BYTES);
    }

    TextEmbeddingCache(Path dir, long maxBytes) {
        if (maxBytes < 1) {
            throw new IllegalArgumentException("maxBytes must be >= 1, got " + maxBytes);
        }
        this.dir = dir;
        this.maxBytes = maxBytes;
    }

    long maxBytes() {
        return maxBytes;
    }

    Path dir() {
        return dir;
    }

    static String key(String modelHash, List<String> names, List<String> templates) {
        MessageDigest md = FileSupport.sha256();
        update(md, "clearclip-text-v1");
        update(md, modelHash);
        update(md, RECIPE);
        update(md, Integer.toString(templates.size()));
        for (String t : templates) {
            update(md, t);
        }
        update(md, Integer.toString(names.size()));
        for (String n : names) {
            update(md, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Length-prefixed so that no two different lists hash the same bytes. */
    private static void update(MessageDigest md, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        md.update(ByteBuffer.allocate(4).putInt(b.length).array());
        md.update(b);
    }

    Path entry(String key) {
        return dir.resolve(key.substring(0, 2)).resolve(key + ".f32");
    }

    /** The cached rows, or empty when absent, of another shape, or corrupt. */
    Optional<float[][]> load(String key, int rows, int dim) {
        Path file = entry(key);
        byte[] data;
        try {
            if (!Files.isRegularFile(file) || Files.size(file) != HEADER + 4L * rows * dim + 4) {
                return Optional.empty();
            }
            data = Files.readAllBytes(file);
        } catch (IOException e) {
            return Optional.empty();
        }
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(0) != MAGIC || b.getInt(4) != VERSION || b.getInt(8) != rows || b.getInt(12) != dim) {
            return Optional.empty();
        }
        CRC32C crc = new CRC32C();
        crc.update(data, 0, data.length - 4);
        if ((int) crc.getValue() != b.getInt(data.length - 4)) {
            return Optional.empty();
        }
        try {
            // the least recently used entries go first when the cache is over its cap
            Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis()));
        } catch (IOException ignored) {
            // a read-only cache still serves hits
        }
        float[][] out = new float[rows][dim];
        b.position(HEADER);
        for (float[] row : out) {
            for (int j = 0; j < dim; j++) {
                row[j] = b.getFloat();
            }
        }
        return Optional.of(out);
    }

    void store(String key, float[][] rows) {
        int dim = rows.length == 0 ? 0 : rows[0].length;
        ByteBuffer b = ByteBuffer.allocate(HEADER + 4 * rows.length * dim + 4).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putInt(VERSION).putInt(rows.length).putInt(dim);
        for (float[] row : rows) {
            for (float v : row) {
                b.putFloat(v);
            }
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        long size = b.capacity();
        if (size > maxBytes) {
            return;
        }
        synchronized (this) {
            if (bytes < 0) {
                bytes = scan().stream().mapToLong(Entry::size).sum();
            }
            if (bytes + size > maxBytes) {
                evict(maxBytes - maxBytes / 10 - size);
            }
            long replaced;
            try {
                replaced = Files.isRegularFile(entry(key)) ? Files.size(entry(key)) : 0;
            } catch (IOException e) {
                replaced = 0;
            }
            ModelFileHash.writeQuietly(entry(key), b.array());
            bytes += size - replaced;
        }
    }

    private record Entry(Path file, long size, long modified) {
    }

    /** The entry files ({@code xx/KEY.f32}); the model-hash notes beside them are not entries. */
    private List<Entry> scan() {
        List<Entry> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> files = Files.walk(dir, 2)) {
            files.filter(p -> p.getFileName().toString().endsWith(".f32") && p.getParent() != null
                            && p.getParent().getFileName().toString().length() == 2)
                    .forEach(p -> {
                        try {
                            out.add(new Entry(p, Files.size(p), Files.getLastModifiedTime(p).toMillis()));
                        } catch (IOException gone) {
                            // deleted meanwhile (another process evicting)
                        }
                    });
        } catch (IOException | java.io.UncheckedIOException e) {
            // unreadable folder: nothing to count, nothing to evict
        }
        return out;
    }

    /** Deletes the entries used longest ago until at most {@code target} bytes remain. */
    private void evict(long target) {
        List<Entry> entries = scan();
        entries.sort(Comparator.comparingLong(Entry::modified));
        long total = entries.stream().mapToLong(Entry::size).sum();
        for (Entry e : entries) {
            if (total <= Math.max(0, target)) {
                break;
            }
            try {
                Files.deleteIfExists(e.file());
                total -= e.size();
            } catch (IOException ignored) {
                // still counted; the next store tries again
            }
        }
        bytes = total;
    }
}
