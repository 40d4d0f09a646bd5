package dev.clearclip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Class embeddings from a prompt ensemble, with a stand-in for the text tower. */
class ZeroShotTest {

    /** A stand-in text tower that hands its rows over in one reused array, as the engine's does. */
    static ZeroShot zeroShot(Function<List<String>, float[][]> encodeText, int dim) {
        ZeroShot.TextEncoder encoder = (texts, sink) -> {
            float[][] rows = encodeText.apply(texts);
            float[] reused = new float[dim];
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(rows[i], 0, reused, 0, dim);
                sink.accept(reused, i);
            }
            // a sum that kept the array instead of adding it up would now see the poison
            Arrays.fill(reused, Float.NaN);
        };
        return new ZeroShot(encoder, dim, Optional.empty(), () -> {
            throw new AssertionError("no cache, so no model hash");
        });
    }

    @Test
    void ensembleAveragesNormalisedRowsAndRenormalises() {
        Map<String, float[]> rows = Map.of("a cat", new float[] {3f, 4f}, "the cat", new float[] {0f, 2f});
        ZeroShot z = zeroShot(prompts -> prompts.stream().map(rows::get).toArray(float[][]::new), 2);
        float[] e = z.classEmbeddings(ClassSet.parse("cat"), List.of("a {}", "the {}")).nameEmbeddings()[0];
        // normalised: (0.6, 0.8) and (0, 1); mean (0.3, 0.9); renormalised (1, 3)/sqrt(10)
        assertThat(e[0]).isCloseTo((float) (1 / Math.sqrt(10)), within(1e-7f));
        assertThat(e[1]).isCloseTo((float) (3 / Math.sqrt(10)), within(1e-7f));
    }

    @Test
    void promptsOfSeveralEngineCallsAreSummedIntoTheirOwnNames() {
        int dim = 5;
        List<String> names = List.of("cat", "dog", "bird");
        List<String> templates = new ArrayList<>();
        for (int t = 0; t < 700; t++) {
            templates.add("picture " + t + " of a {}");
        }
        // a fixed pseudo-random row per prompt, never normalised, so that the ensemble must do it
        Function<String, float[]> row = prompt -> {
            Random rnd = new Random(prompt.hashCode());
            float[] v = new float[dim];
            for (int j = 0; j < dim; j++) {
                v[j] = (float) rnd.nextGaussian();
            }
            return v;
        };
        List<Integer> calls = new ArrayList<>();
        ZeroShot z = zeroShot(prompts -> {
            calls.add(prompts.size());
            return prompts.stream().map(row).toArray(float[][]::new);
        }, dim);
        float[][] got = z.classEmbeddings(ClassSet.parse(String.join(";", names)), templates).nameEmbeddings();

        assertThat(calls).containsExactly(ZeroShot.TEXT_BATCH, names.size() * templates.size() - ZeroShot.TEXT_BATCH);
        for (int n = 0; n < names.size(); n++) {
            // the definition, one name at a time: mean of the normalised rows of its prompts, normalised
            double[] sum = new double[dim];
            for (String t : templates) {
                float[] v = row.apply(PromptTemplates.fill(t, names.get(n)));
                double norm = 0;
                for (float x : v) {
                    norm += (double) x * x;
                }
                for (int j = 0; j < dim; j++) {
                    sum[j] += v[j] / Math.sqrt(norm);
                }
            }
            double norm = 0;
            for (double x : sum) {
                norm += x * x;
            }
            float[] expected = new float[dim];
            for (int j = 0; j < dim; j++) {
                expected[j] = (float) (sum[j] / Math.sqrt(norm));
            }
            assertThat(got[n]).as(names.get(n)).containsExactly(expected);
        }
    }
}
