package dev.clearclip;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * On-disk cache of class-name embeddings. Entries are keyed by the SHA-256 of (model file content hash,
 * names, templates, embedding recipe) and hold float32 rows with a CRC, so a truncated or corrupt entry
 * is detected, ignored and rewritten.
 */
final class TextEmbeddingCache {

    /** How embeddings are made from templates; part of the key so a change of recipe never reuses old entries. */
    static final String RECIPE = "template-ensemble:normalise-each,mean,renormalise";

    private static final int MAGIC = 0x43435445; // "CCTE"
    private static final int VERSION = 1;
    private static final int HEADER = 16;

    private final Path dir;

    TextEmbeddingCache(Path dir) {
        this.dir = dir;
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
        ModelFileHash.writeQuietly(entry(key), b.array());
    }
}
