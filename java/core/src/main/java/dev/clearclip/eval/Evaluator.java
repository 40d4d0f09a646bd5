package dev.clearclip.eval;

import dev.clearclip.ReadAhead;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Runs a predictor over pictures of a dataset and adds each result to an {@link EvalState}, skipping
 * pictures the state already holds. With a state file, the state is saved every {@code saveEvery}
 * and when the run ends, also when it ends with an error, so a later run can resume from it.
 */
public final class Evaluator {

    /** Told after each picture; {@code done} counts the pictures of this run, out of {@code toDo}. */
    @FunctionalInterface
    public interface Listener {
        void pictureDone(String id, int done, int toDo);
    }

    private final SegmentationDataset dataset;
    private final SegmentationPredictor predictor;
    private Optional<Path> stateFile = Optional.empty();
    private Duration saveEvery = Duration.ofSeconds(30);
    private Listener listener = (id, done, toDo) -> { };

    public Evaluator(SegmentationDataset dataset, SegmentationPredictor predictor) {
        this.dataset = Objects.requireNonNull(dataset, "dataset");
        this.predictor = Objects.requireNonNull(predictor, "predictor");
    }

    /** Saves the state to {@code file} at most every {@code every} while running, and at the end. */
    public Evaluator saveStateTo(Path file, Duration every) {
        this.stateFile = Optional.of(file);
        this.saveEvery = Objects.requireNonNull(every, "every");
        return this;
    }

    public Evaluator listener(Listener listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
        return this;
    }

    /** The given ids that the state does not hold yet, in order. */
    public static List<String> remaining(List<String> ids, EvalState state) {
        return ids.stream().filter(id -> !state.isDone(id)).toList();
    }

    /**
     * Evaluates the pictures of {@code ids} that {@code state} does not hold yet and adds them to it.
     *
     * @return the same state
     * @throws IllegalArgumentException when the state's matrix does not have the dataset's class count
     */
    public EvalState run(List<String> ids, EvalState state) {
        if (state.matrix().classes() != dataset.classCount()) {
            throw new IllegalArgumentException("the state counts " + state.matrix().classes() + " classes, "
                    + dataset.name() + " has " + dataset.classCount());
        }
        List<String> toDo = remaining(ids, state);
        long lastSave = System.nanoTime();
        int done = 0;
        // the next picture and its label map are read while the predictor works on this one
        try (ReadAhead<String, SegmentationDataset.Sample> samples = new ReadAhead<>(toDo, dataset::read)) {
            for (String id : toDo) {
                SegmentationDataset.Sample sample = samples.next();
                long t0 = System.nanoTime();
                int[] prediction = predictor.predict(sample.image());
                double seconds = (System.nanoTime() - t0) / 1e9;
                if (prediction.length != sample.labels().labels().length) {
                    throw new IllegalStateException(id + ": the prediction has " + prediction.length
                            + " pixels, the " + sample.labels().width() + "x" + sample.labels().height() + " label map "
                            + sample.labels().labels().length);
                }
                try {
                    state.record(id, sample.labels().labels(), prediction, seconds);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(id + ": " + e.getMessage(), e);
                }
                done++;
                listener.pictureDone(id, done, toDo.size());
                if (stateFile.isPresent() && System.nanoTime() - lastSave >= saveEvery.toNanos()) {
                    state.save(stateFile.get());
                    lastSave = System.nanoTime();
                }
            }
        } catch (RuntimeException | Error e) {
            // keep what was finished before the failure
            if (stateFile.isPresent()) {
                try {
                    state.save(stateFile.get());
                } catch (RuntimeException saveFailure) {
                    e.addSuppressed(saveFailure);
                }
            }
            throw e;
        }
        stateFile.ifPresent(state::save);
        return state;
    }
}
