package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clearclip.gguf.testing.Fixtures;
import dev.clearclip.gguf.testing.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reference fixtures of gguf-tools/reference/make_fixtures.py (system property clearclip.fixtures). */
final class TestFixtures {

    private TestFixtures() {
    }

    static Path hfTiny() {
        return Fixtures.model("hf-tiny");
    }

    /** hf-tiny converted (f32) into dir by the project's converter. */
    static Path hfTinyGguf(Path dir) {
        return Fixtures.hfTinyGguf(dir);
    }

    /** Asserts that the model gives open_clip's token ids for every text of the tokenizer corpus. */
    static void assertTokenizerMatchesOpenClip(ClipModel model) throws IOException {
        JsonNode corpus = new ObjectMapper().readTree(Fixtures.file("tokenizer/corpus.json").toFile());
        assertThat(corpus.size()).isGreaterThan(20);
        for (JsonNode item : corpus) {
            String text = item.get("text").asText();
            int[] expected = new int[item.get("ids").size()];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = item.get("ids").get(i).asInt();
            }
            assertThat(model.tokenize(text)).as("ids of \"%s\"", text).containsExactly(expected);
        }
    }

    /**
     * The 8-bit picture behind a golden input: the fixtures normalise uint8 RGB with CLIP's mean and std,
     * so undoing that and rounding gives the exact bytes back.
     */
    static RgbImage pictureOf(Npy chw) {
        float[] mean = {0.48145466f, 0.4578275f, 0.40821073f};
        float[] std = {0.26862954f, 0.26130258f, 0.27577711f};
        int h = (int) chw.shape()[1];
        int w = (int) chw.shape()[2];
        byte[] rgb = new byte[w * h * 3];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < w * h; i++) {
                double v = (chw.data()[c * w * h + i] * std[c] + mean[c]) * 255.0;
                rgb[i * 3 + c] = (byte) Math.max(0, Math.min(255, Math.round(v)));
            }
        }
        return new RgbImage(w, h, rgb);
    }

    /** Integer value of a key in a JSON file (enough for the fixtures' config.json). */
    static int jsonInt(Path file, String key) throws IOException {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\"\\s*:\\s*(\\d+)").matcher(Files.readString(file));
        if (!m.find()) {
            throw new IOException(file + ": no key " + key);
        }
        return Integer.parseInt(m.group(1));
    }
}
