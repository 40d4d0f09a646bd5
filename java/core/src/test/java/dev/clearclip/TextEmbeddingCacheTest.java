package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextEmbeddingCacheTest {

    @TempDir
    Path tmp;

    private static final List<String> T = List.of("a photo of a {}.", "a {}.");

    @Test
    void storedRowsComeBackBitExact() {
        TextEmbeddingCache cache = new TextEmbeddingCache(tmp);
        String key = TextEmbeddingCache.key("h", List.of("cat", "dog"), T);
        float[][] rows = {{0.6f, -0.8f, Float.MIN_VALUE}, {1f, 0f, -0f}};
        assertThat(cache.load(key, 2, 3)).isEmpty();
        cache.store(key, rows);
        assertThat(cache.load(key, 2, 3)).hasValueSatisfying(r -> assertThat(r).isDeepEqualTo(rows));
        // a request of another shape is a miss, not garbage
        assertThat(cache.load(key, 2, 4)).isEmpty();
    }

    @Test
    void corruptEntriesAreIgnoredAndRewritten() throws IOException {
        TextEmbeddingCache cache = new TextEmbeddingCache(tmp);
        String key = TextEmbeddingCache.key("h", List.of("cat"), T);
        cache.store(key, new float[][] {{1f, 2f}});
        Path file = cache.entry(key);
        byte[] data = Files.readAllBytes(file);
        data[18] ^= 0x40; // flip a bit inside the floats
        Files.write(file, data);
        assertThat(cache.load(key, 1, 2)).isEmpty();
        Files.write(file, new byte[] {1, 2, 3});
        assertThat(cache.load(key, 1, 2)).isEmpty();
        cache.store(key, new float[][] {{3f, 4f}});
        assertThat(cache.load(key, 1, 2)).hasValueSatisfying(r -> assertThat(r[0]).containsExactly(3f, 4f));
    }

    @Test
    void aStoreOverTheCapEvictsTheEntriesUsedLongestAgo() throws IOException {
        // one entry of 1 row x 4 floats is 16 header + 16 floats + 4 CRC = 36 bytes; the cap holds three
        TextEmbeddingCache cache = new TextEmbeddingCache(tmp, 3 * 36);
        String[] keys = new String[5];
        for (int i = 0; i < 4; i++) {
            keys[i] = TextEmbeddingCache.key("h", List.of("name" + i), T);
            cache.store(keys[i], new float[][] {{i, 1f, 2f, 3f}});
            Files.setLastModifiedTime(cache.entry(keys[i]), FileTime.fromMillis(1_000_000L * (i + 1)));
            if (i == 2) {
                // entry 0 is used again: entry 1 is now the one used longest ago
                assertThat(cache.load(keys[0], 1, 4)).isPresent();
            }
        }
        assertThat(cache.load(keys[1], 1, 4)).as("evicted").isEmpty();
        assertThat(cache.load(keys[0], 1, 4)).as("renewed by its hit").isPresent();
        assertThat(cache.load(keys[3], 1, 4)).as("just stored").isPresent();
        long total;
        try (var files = Files.walk(tmp)) {
            total = files.filter(p -> p.toString().endsWith(".f32")).mapToLong(p -> p.toFile().length()).sum();
        }
        assertThat(total).isLessThanOrEqualTo(3 * 36);
        // an entry larger than the whole cap is not written
        String big = TextEmbeddingCache.key("h", List.of("big"), T);
        cache.store(big, new float[][] {new float[64]});
        assertThat(Files.exists(cache.entry(big))).isFalse();
    }

    @Test
    void keysDependOnModelNamesAndTemplates() {
        String base = TextEmbeddingCache.key("h", List.of("cat", "dog"), T);
        assertThat(TextEmbeddingCache.key("h", List.of("cat", "dog"), T)).isEqualTo(base);
        assertThat(TextEmbeddingCache.key("h2", List.of("cat", "dog"), T)).isNotEqualTo(base);
        assertThat(TextEmbeddingCache.key("h", List.of("dog", "cat"), T)).isNotEqualTo(base);
        assertThat(TextEmbeddingCache.key("h", List.of("catdog"), T)).isNotEqualTo(base);
        assertThat(TextEmbeddingCache.key("h", List.of("cat", "dog"), T.subList(0, 1))).isNotEqualTo(base);
    }

    @Test
    void modelHashIsTheContentSha256AndIsRememberedByPathSizeAndTime() throws IOException {
        Path model = tmp.resolve("model.gguf");
        Files.writeString(model, "abc", StandardCharsets.US_ASCII);
        FileTime time = FileTime.fromMillis(1_700_000_000_000L);
        Files.setLastModifiedTime(model, time);
        Path store = tmp.resolve("hashes");
        // SHA-256("abc") from FIPS 180-2
        String abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assertThat(ModelFileHash.of(model, Optional.of(store))).isEqualTo(abc);
        // same path, size and time: the remembered hash is used without reading the content
        Files.writeString(model, "xyz", StandardCharsets.US_ASCII);
        Files.setLastModifiedTime(model, time);
        assertThat(ModelFileHash.of(model, Optional.of(store))).isEqualTo(abc);
        // a new modification time means new content is hashed
        Files.setLastModifiedTime(model, FileTime.fromMillis(1_700_000_001_000L));
        assertThat(ModelFileHash.of(model, Optional.of(store)))
                .isEqualTo("3608bca1e44ea6c4d268eb6db02260269892c0b42b86bbf1e77a6fa16c3c9282");
    }
}
