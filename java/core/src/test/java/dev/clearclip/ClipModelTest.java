package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.clearclip.gguf.testing.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The library on the tiny reference model (hf-tiny of build/fixtures), against the PyTorch goldens the
 * fixture generator wrote: this checks the whole path Java -> FFM -> engine, not the engine alone.
 */
class ClipModelTest {

    @TempDir
    static Path dir;

    static Path modelFile;
    static ClipModel model;

    @BeforeAll
    static void load() {
        modelFile = TestFixtures.hfTinyGguf(dir);
        model = ClipModel.load(modelFile, ModelOptions.builder().threads(1).contexts(2)
                .textCacheDir(dir.resolve("text-cache")).build());
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static Path golden(String name) {
        return TestFixtures.hfTiny().resolve("golden").resolve(name);
    }

    @Test
    void infoMatchesTheCheckpointConfig() throws IOException {
        Path config = TestFixtures.hfTiny().resolve("config.json");
        ModelInfo info = model.info();
        assertThat(info.hasText()).isTrue();
        assertThat(info.hasVision()).isTrue();
        assertThat(info.projectionDim()).isEqualTo(TestFixtures.jsonInt(config, "projection_dim"));
        assertThat(info.imageSize()).isEqualTo(TestFixtures.jsonInt(config, "image_size"));
        assertThat(info.patchSize()).isEqualTo(TestFixtures.jsonInt(config, "patch_size"));
        assertThat(info.imageMean()).containsExactly(new float[] {0.48145466f, 0.4578275f, 0.40821073f}, within(1e-6f));
        assertThat(info.fileTypeName()).isEqualTo("f32");
        assertThat(info.name()).isNotBlank();
    }

    @Test
    void tokenizerMatchesOpenClip() {
        // the tokenizer check value, from open_clip's SimpleTokenizer (gguf-tools/reference asserts it too)
        assertThat(model.tokenize("a photo of a fox")).containsExactly(49406, 320, 1125, 539, 320, 3240, 49407);
    }

    @Test
    void sharedModelGivesTheSameResultsOnManyThreads() throws Exception {
        RgbImage picture = TestFixtures.pictureOf(Npy.read(golden("inputs/450x333.npy")));
        List<String> texts = List.of("a photo of a cat", "a dog", "the sky at night");
        float[] refImage = model.encodeImage(picture);
        float[] refDense = model.denseFeatures(picture, BlockMode.CLEARCLIP).data();
        float[][] refText = model.encodeText(texts);

        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int kind = t % 3;
                results.add(pool.submit(() -> switch (kind) {
                    case 0 -> Arrays.equals(model.encodeImage(picture), refImage);
                    case 1 -> Arrays.equals(model.denseFeatures(picture, BlockMode.CLEARCLIP).data(), refDense);
                    default -> Arrays.deepEquals(model.encodeText(texts), refText);
                }));
            }
            for (Future<Boolean> r : results) {
                assertThat(r.get()).isTrue();
            }
        } finally {
            pool.shutdown();
        }
        // never more native contexts than allowed
        assertThat(model.contextsCreated()).isBetween(1, 2);
    }

    @Test
    void classEmbeddingsAreTheTemplateEnsembleAndAreCached() throws IOException {
        Path cacheDir = dir.resolve("cache-test");
        try (ClipModel m = ClipModel.load(modelFile, ModelOptions.builder().threads(1).contexts(1)
                .textCacheDir(cacheDir).build())) {
            ClassSet classes = ClassSet.parse("cat,kitten;dog");
            List<String> templates = PromptTemplates.imagenet80();
            ClassEmbeddings first = m.classEmbeddings(classes);
            // independent recomputation: encode each name's 80 prompts, normalise, average, renormalise
            for (int n = 0; n < 3; n++) {
                String name = classes.allNames().get(n);
                float[][] rows = m.encodeText(templates.stream().map(t -> t.replace("{}", name)).toList());
                double[] mean = new double[rows[0].length];
                for (float[] r : rows) {
                    double norm = 0;
                    for (float v : r) {
                        norm += v * v;
                    }
                    for (int j = 0; j < r.length; j++) {
                        mean[j] += r[j] / Math.sqrt(norm);
                    }
                }
                double norm = Math.sqrt(Arrays.stream(mean).map(v -> v * v).sum());
                for (int j = 0; j < mean.length; j++) {
                    assertThat((double) first.nameEmbeddings()[n][j]).isCloseTo(mean[j] / norm, within(1e-6));
                }
            }
            List<Path> entries;
            try (var s = Files.walk(cacheDir)) {
                entries = s.filter(p -> p.toString().endsWith(".f32")).toList();
            }
            assertThat(entries).hasSize(1);

            // a hit returns what is stored: replace the entry by a recognisable one
            TextEmbeddingCache cache = new TextEmbeddingCache(cacheDir);
            float[][] marker = new float[3][m.info().projectionDim()];
            marker[0][0] = 1f;
            marker[1][1] = 1f;
            marker[2][2] = 1f;
            Path entry = entries.get(0);
            String key = entry.getFileName().toString().replace(".f32", "");
            cache.store(key, marker);
            assertThat(m.classEmbeddings(classes).nameEmbeddings()).isDeepEqualTo(marker);

            // a corrupt entry is ignored, recomputed and rewritten
            Files.write(entry, new byte[] {9, 9, 9});
            assertThat(m.classEmbeddings(classes).nameEmbeddings()).isDeepEqualTo(first.nameEmbeddings());
            assertThat(cache.load(key, 3, m.info().projectionDim())).isPresent();

            // other names: another entry
            m.classEmbeddings(ClassSet.parse("bird"));
            try (var s = Files.walk(cacheDir)) {
                assertThat(s.filter(p -> p.toString().endsWith(".f32")).count()).isEqualTo(2);
            }
        }
    }

    @Test
    void segmentationIsConsistentWithItsProbabilities() throws IOException {
        RgbImage picture = TestFixtures.pictureOf(Npy.read(golden("inputs/450x333.npy")));
        ClassSet classes = ClassSet.parse("cat;dog,puppy;sky");
        SegmentationResult r = model.segment(picture, classes,
                SegmentOptions.builder().keepProbabilities(true).build());
        assertThat(r.width()).isEqualTo(450);
        assertThat(r.height()).isEqualTo(333);
        assertThat(r.classNames()).containsExactly("cat", "dog", "sky");
        float[][] p = r.probabilities().orElseThrow();
        assertThat(p).hasNumberOfRows(3);
        for (int i = 0; i < r.labels().length; i += 97) {
            int best = 0;
            for (int c = 1; c < 3; c++) {
                if (p[c][i] > p[best][i]) {
                    best = c;
                }
            }
            assertThat(r.labels()[i]).isEqualTo(best);
            for (int c = 0; c < 3; c++) {
                assertThat(p[c][i]).isBetween(0f, 1f);
            }
        }
        assertThat(Arrays.stream(r.fractions()).sum()).isCloseTo(1.0, within(1e-9));

        // a threshold above every probability sends every pixel to the added background class
        SegmentationResult all = model.segment(picture, classes, SegmentOptions.builder().probThreshold(1f).build());
        assertThat(all.classNames()).containsExactly("background", "cat", "dog", "sky");
        assertThat(all.fractions()[0]).isEqualTo(1.0);
    }

    @Test
    void badFilesAreExceptionsNotCrashes() throws IOException {
        Path missing = dir.resolve("missing.gguf");
        assertThatThrownBy(() -> ClipModel.load(missing)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(missing.toString());
        Path text = dir.resolve("text.gguf");
        Files.writeString(text, "certainly not a GGUF file");
        assertThatThrownBy(() -> ClipModel.load(text)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(text.toString());
        Path cut = dir.resolve("cut.gguf");
        byte[] full = Files.readAllBytes(modelFile);
        Files.write(cut, Arrays.copyOf(full, full.length / 3));
        assertThatThrownBy(() -> ClipModel.load(cut)).isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(cut.toString());
    }

    @Test
    void closeIsIdempotentAndLaterCallsFail() {
        ClipModel m = ClipModel.load(modelFile, ModelOptions.builder().noTextCache().build());
        m.encodeText("warm up a context");
        m.close();
        m.close();
        assertThatThrownBy(() -> m.encodeText("x")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        assertThatThrownBy(() -> m.tokenize("x")).isInstanceOf(IllegalStateException.class);
    }
}
