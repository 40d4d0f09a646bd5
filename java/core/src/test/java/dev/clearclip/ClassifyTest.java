package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.clearclip.gguf.testing.Npy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Zero-shot classification follows the synonym rule segmentation uses (softmax over all names,
 * then the best name per class), checked against a computation written out here from the model's
 * own image and class embeddings.
 */
class ClassifyTest {

    @TempDir
    static Path dir;

    static ClipModel model;
    static RgbImage picture;

    @BeforeAll
    static void load() {
        model = ClipModel.load(TestFixtures.hfTinyGguf(dir), ModelOptions.builder().threads(1).build());
        picture = TestFixtures.pictureOf(Npy.read(TestFixtures.hfTiny().resolve("golden").resolve("inputs/224x224.npy")));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** The rule, spelled out: p(class) = max over its names n of exp(s cos_n) / sum over all names m of exp(s cos_m). */
    private static double[] expected(ClassSet classes) {
        float[] image = model.encodeImage(picture);
        float[][] names = model.classEmbeddings(classes).nameEmbeddings();
        double[] logits = new double[names.length];
        for (int n = 0; n < names.length; n++) {
            double cos = 0;
            for (int j = 0; j < image.length; j++) {
                cos += (double) names[n][j] * image[j];
            }
            logits[n] = ClipModel.CLASSIFY_LOGIT_SCALE * cos;
        }
        double denominator = 0;
        for (double l : logits) {
            denominator += Math.exp(l);
        }
        double[] out = new double[classes.size()];
        int[] nameClass = classes.nameClasses();
        for (int n = 0; n < logits.length; n++) {
            out[nameClass[n]] = Math.max(out[nameClass[n]], Math.exp(logits[n]) / denominator);
        }
        return out;
    }

    @Test
    void synonymsTakeTheSoftmaxOverNamesThenTheBestName() {
        ClassSet classes = ClassSet.parse("a cat,a kitten;a dog;the sky,clouds,a blue sky");
        double[] expected = expected(classes);
        List<Classification> got = model.classify(picture, classes, classes.size());
        assertThat(got).hasSize(classes.size());
        for (Classification c : got) {
            assertThat(c.probability()).as(c.name()).isCloseTo(expected[c.classIndex()], within(1e-6));
        }
        // most probable first
        for (int i = 1; i < got.size(); i++) {
            assertThat(got.get(i).probability()).isLessThanOrEqualTo(got.get(i - 1).probability());
        }
    }

    @Test
    void aClassWithSynonymsScoresAsItsBestNameAmongAllNames() {
        ClassSet synonyms = ClassSet.parse("a cat,a kitten;a dog;the sky,clouds,a blue sky");
        ClassSet flat = ClassSet.ofNames(synonyms.allNames());
        Map<String, Classification> byName = model.classify(picture, flat, flat.size()).stream()
                .collect(Collectors.toMap(Classification::name, c -> c));
        for (Classification c : model.classify(picture, synonyms, synonyms.size())) {
            List<Classification> names = new ArrayList<>();
            for (String n : synonyms.classes().get(c.classIndex()).names()) {
                names.add(byName.get(n));
            }
            Classification best = names.stream().max((a, b) -> Double.compare(a.probability(), b.probability())).orElseThrow();
            assertThat(c.probability()).as(c.name()).isCloseTo(best.probability(), within(1e-9));
            assertThat(c.similarity()).as(c.name()).isCloseTo(best.similarity(), within(1e-9));
        }
    }

    @Test
    void withoutSynonymsItIsTheSoftmaxOverClasses() {
        ClassSet classes = ClassSet.parse("a cat;a dog;the sky");
        List<Classification> got = model.classify(picture, classes, 3);
        assertThat(got.stream().mapToDouble(Classification::probability).sum()).isCloseTo(1.0, within(1e-9));
        double[] expected = expected(classes);
        for (Classification c : got) {
            assertThat(c.probability()).isCloseTo(expected[c.classIndex()], within(1e-6));
        }
    }
}
