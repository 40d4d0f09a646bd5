package dev.clearclip.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.clearclip.RgbImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvaluatorTest {

    private static final int CLASSES = 4;

    @TempDir
    Path tmp;

    /** Pictures in memory: random ground truth with ignored pixels, predictions encoded in the red channel. */
    static final class MemoryDataset implements SegmentationDataset {
        final Map<String, int[]> truth = new LinkedHashMap<>();
        final Map<String, int[]> predicted = new LinkedHashMap<>();
        final Map<String, int[]> size = new LinkedHashMap<>();

        MemoryDataset(int pictures, long seed) {
            Random rnd = new Random(seed);
            for (int k = 0; k < pictures; k++) {
                int w = 3 + rnd.nextInt(5);
                int h = 2 + rnd.nextInt(4);
                int[] gt = new int[w * h];
                int[] pred = new int[w * h];
                for (int i = 0; i < gt.length; i++) {
                    // class 3 never appears in the ground truth, only in predictions
                    gt[i] = rnd.nextInt(8) == 0 ? LabelMap.IGNORE : rnd.nextInt(CLASSES - 1);
                    pred[i] = rnd.nextInt(3) == 0 ? rnd.nextInt(CLASSES) : (gt[i] == LabelMap.IGNORE ? 0 : gt[i]);
                }
                String id = "pic" + k;
                truth.put(id, gt);
                predicted.put(id, pred);
                size.put(id, new int[] {w, h});
            }
        }

        @Override
        public String name() {
            return "memory";
        }

        @Override
        public int classCount() {
            return CLASSES;
        }

        @Override
        public List<String> ids() {
            return List.copyOf(truth.keySet());
        }

        @Override
        public Sample read(String id) {
            int w = size.get(id)[0];
            int h = size.get(id)[1];
            RgbImage image = EvalTestData.rgb(w, h, predicted.get(id));
            return new Sample(id, image, new LabelMap(w, h, truth.get(id).clone()));
        }
    }

    /** The expected matrix, counted directly. */
    private static long[] countDirectly(MemoryDataset data) {
        long[] counts = new long[CLASSES * CLASSES];
        for (String id : data.ids()) {
            int[] gt = data.truth.get(id);
            int[] pred = data.predicted.get(id);
            for (int i = 0; i < gt.length; i++) {
                if (gt[i] != LabelMap.IGNORE) {
                    counts[gt[i] * CLASSES + pred[i]]++;
                }
            }
        }
        return counts;
    }

    private static final Map<String, String> FINGERPRINT =
            Map.of("model", "m1", "dataset", "memory", "mode", "clearclip");

    @Test
    void uninterruptedRunCountsEveryPixelOnce() {
        MemoryDataset data = new MemoryDataset(6, 1);
        List<String> seen = new ArrayList<>();
        EvalState state = new Evaluator(data, EvalTestData.RED_PREDICTOR)
                .listener((id, done, toDo) -> seen.add(id + " " + done + "/" + toDo))
                .run(data.ids(), EvalState.start(FINGERPRINT, CLASSES));
        assertThat(state.matrix().counts()).containsExactly(countDirectly(data));
        assertThat(state.done()).isEqualTo(data.ids());
        assertThat(seen).containsExactly("pic0 1/6", "pic1 2/6", "pic2 3/6", "pic3 4/6", "pic4 5/6", "pic5 6/6");
        assertThat(state.matrix().metrics().iou()[3]).isZero(); // predicted, never in the ground truth
    }

    @Test
    void resumingAfterAFailureGivesTheMatrixOfAnUninterruptedRun() {
        MemoryDataset data = new MemoryDataset(7, 2);
        Path stateFile = tmp.resolve("results.json.state");
        long[] expected = countDirectly(data);

        AtomicInteger calls = new AtomicInteger();
        SegmentationPredictor failsOnTheFourth = image -> {
            if (calls.incrementAndGet() == 4) {
                throw new IllegalStateException("simulated crash");
            }
            return EvalTestData.RED_PREDICTOR.predict(image);
        };
        // saved on every picture and on the failure
        Evaluator first = new Evaluator(data, failsOnTheFourth).saveStateTo(stateFile, Duration.ZERO);
        assertThatThrownBy(() -> first.run(data.ids(), EvalState.start(FINGERPRINT, CLASSES)))
                .hasMessage("simulated crash");

        EvalState saved = EvalState.load(stateFile);
        assertThat(saved.done()).containsExactly("pic0", "pic1", "pic2");
        assertThat(saved.fingerprint()).isEqualTo(FINGERPRINT);
        assertThat(saved.differences(FINGERPRINT)).isEmpty();
        assertThat(Evaluator.remaining(data.ids(), saved)).containsExactly("pic3", "pic4", "pic5", "pic6");

        AtomicInteger resumedCalls = new AtomicInteger();
        SegmentationPredictor counting = image -> {
            resumedCalls.incrementAndGet();
            return EvalTestData.RED_PREDICTOR.predict(image);
        };
        EvalState resumed = new Evaluator(data, counting).saveStateTo(stateFile, Duration.ofHours(1))
                .run(data.ids(), saved);
        assertThat(resumedCalls).hasValue(4);
        assertThat(resumed.matrix().counts()).containsExactly(expected);
        assertThat(resumed.done()).isEqualTo(data.ids());
        // the final save happens whatever the interval
        assertThat(EvalState.load(stateFile).matrix()).isEqualTo(resumed.matrix());
        assertThat(EvalState.load(stateFile).done()).isEqualTo(data.ids());
    }

    @Test
    void aLimitedRunCanBeExtendedLater() {
        MemoryDataset data = new MemoryDataset(5, 3);
        EvalState state = new Evaluator(data, EvalTestData.RED_PREDICTOR)
                .run(data.ids().subList(0, 2), EvalState.start(FINGERPRINT, CLASSES));
        assertThat(state.doneCount()).isEqualTo(2);
        new Evaluator(data, EvalTestData.RED_PREDICTOR).run(data.ids(), state);
        assertThat(state.matrix().counts()).containsExactly(countDirectly(data));
    }

    @Test
    void stateRoundTripsAndReportsDifferentSettings() throws Exception {
        Map<String, String> fingerprint =
                Map.of("model", "sha 1", "dataset", "voc21", "root", "/data/with = and : and\ttab");
        EvalState state = EvalState.start(fingerprint, 3);
        state.record("a b", new int[] {0, 1, 2, LabelMap.IGNORE}, new int[] {0, 2, 2, 1}, 0.5);
        state.record("c=d", new int[] {1}, new int[] {1}, 0.25);
        Path file = tmp.resolve("s.state");
        state.save(file);

        EvalState back = EvalState.load(file);
        assertThat(back.fingerprint()).isEqualTo(fingerprint);
        assertThat(back.done()).containsExactly("a b", "c=d");
        assertThat(back.matrix()).isEqualTo(state.matrix());
        assertThat(back.predictSeconds()).isEqualTo(0.75);

        Map<String, String> other = new LinkedHashMap<>(fingerprint);
        other.put("model", "sha 2");
        other.put("mode", "vanilla");
        assertThat(back.differences(other)).containsExactly(
                "mode: (none) in the saved state, 'vanilla' now",
                "model: 'sha 1' in the saved state, 'sha 2' now");
        assertThatThrownBy(() -> back.record("a b", new int[] {0}, new int[] {0}, 0))
                .hasMessageContaining("already counted");
    }

    @Test
    void damagedOrForeignStatesAreRefused() throws Exception {
        Path file = tmp.resolve("x.state");
        assertThatThrownBy(() -> EvalState.load(file)).isInstanceOf(EvalStateException.class)
                .hasMessageContaining("no such evaluation state");
        Files.writeString(file, "hello=world\n");
        assertThatThrownBy(() -> EvalState.load(file)).isInstanceOf(EvalStateException.class)
                .hasMessageContaining("not a clearclip evaluation state");
        EvalState.start(Map.of(), 2).save(file);
        Files.writeString(file, Files.readString(file).replaceAll("matrix\\.1=.*", "matrix.1=0"));
        assertThatThrownBy(() -> EvalState.load(file)).isInstanceOf(EvalStateException.class)
                .hasMessageContaining("damaged").hasMessageContaining("matrix row 1");
    }

    @Test
    void predictionsOfTheWrongSizeOrClassesStopTheRun() {
        MemoryDataset data = new MemoryDataset(2, 4);
        assertThatThrownBy(() -> new Evaluator(data, image -> new int[1])
                .run(data.ids(), EvalState.start(Map.of(), CLASSES)))
                .hasMessageContaining("pic0: the prediction has 1 pixels");
        assertThatThrownBy(() -> new Evaluator(data, image -> new int[image.width() * image.height()])
                .run(data.ids(), EvalState.start(Map.of(), 5)))
                .hasMessageContaining("5 classes");
        EvalState state = EvalState.start(Map.of(), CLASSES);
        assertThatThrownBy(() -> new Evaluator(data, image -> {
            int[] out = new int[image.width() * image.height()];
            java.util.Arrays.fill(out, 9);
            return out;
        }).run(data.ids(), state)).hasMessageContaining("pic0: predicted label 9");
        assertThat(state.doneCount()).isZero();
        assertThat(state.matrix().counts()).containsOnly(0L);
    }
}
