package dev.clearclip.eval;

import dev.clearclip.FileSupport;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.SequencedSet;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Progress of an evaluation: the confusion matrix so far, which pictures it holds, and the run's
 * fingerprint (model, dataset, settings) that a resumed run must match. Saved as a Java properties
 * file, replaced atomically so an interruption never leaves a half-written state.
 */
public final class EvalState {

    private static final String FORMAT = "clearclip-eval-state/1";
    private static final String FINGERPRINT_PREFIX = "fingerprint.";

    private final SortedMap<String, String> fingerprint;
    private final ConfusionMatrix matrix;
    private final SequencedSet<String> done;
    private double predictSeconds;

    private EvalState(Map<String, String> fingerprint, ConfusionMatrix matrix, SequencedSet<String> done,
                      double predictSeconds) {
        this.fingerprint = Collections.unmodifiableSortedMap(new TreeMap<>(fingerprint));
        this.matrix = matrix;
        this.done = done;
        this.predictSeconds = predictSeconds;
    }

    /**
     * A state with nothing evaluated yet.
     *
     * @param fingerprint what must stay the same for the results to add up, e.g. model hash, dataset,
     *                    pipeline settings; compared as strings on resume
     */
    public static EvalState start(Map<String, String> fingerprint, int classCount) {
        return new EvalState(fingerprint, new ConfusionMatrix(classCount), new LinkedHashSet<>(), 0);
    }

    public Map<String, String> fingerprint() {
        return fingerprint;
    }

    /** The accumulated matrix (live: the evaluator adds to it). */
    public ConfusionMatrix matrix() {
        return matrix;
    }

    /** Ids of the evaluated pictures, in evaluation order. */
    public List<String> done() {
        return List.copyOf(done);
    }

    public boolean isDone(String id) {
        return done.contains(id);
    }

    public int doneCount() {
        return done.size();
    }

    /** Time spent in the predictor over all runs that contributed to this state. */
    public double predictSeconds() {
        return predictSeconds;
    }

    /** Adds one picture's result; a picture already counted is refused, it would count twice. */
    void record(String id, int[] groundTruth, int[] prediction, double seconds) {
        if (done.contains(id)) {
            throw new IllegalStateException("picture " + id + " is already counted");
        }
        matrix.add(groundTruth, prediction);
        done.add(id);
        predictSeconds += seconds;
    }

    /**
     * How this state's fingerprint differs from the given one, one readable line per key
     * (empty when they are the same).
     */
    public List<String> differences(Map<String, String> expected) {
        List<String> out = new ArrayList<>();
        SortedMap<String, String> all = new TreeMap<>(expected);
        fingerprint.forEach(all::putIfAbsent);
        for (String key : all.keySet()) {
            String saved = fingerprint.get(key);
            String now = expected.get(key);
            if (!Objects.equals(saved, now)) {
                out.add(key + ": " + show(saved) + " in the saved state, " + show(now) + " now");
            }
        }
        return out;
    }

    private static String show(String v) {
        return v == null ? "(none)" : "'" + v + "'";
    }

    /** Writes the state to {@code file}, replacing it atomically. */
    public void save(Path file) {
        Properties p = new Properties();
        p.setProperty("format", FORMAT);
        fingerprint.forEach((k, v) -> p.setProperty(FINGERPRINT_PREFIX + k, v));
        p.setProperty("classes", Integer.toString(matrix.classes()));
        p.setProperty("predict_seconds", Double.toString(predictSeconds));
        p.setProperty("done.count", Integer.toString(done.size()));
        p.setProperty("done", String.join("\n", done));
        long[] counts = matrix.counts();
        int n = matrix.classes();
        for (int row = 0; row < n; row++) {
            StringBuilder sb = new StringBuilder();
            for (int col = 0; col < n; col++) {
                sb.append(col == 0 ? "" : " ").append(counts[row * n + col]);
            }
            p.setProperty("matrix." + row, sb.toString());
        }
        try {
            FileSupport.writeAtomically(file, tmp -> {
                try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                    p.store(w, "clearclip eval state: confusion matrix rows = ground truth, columns = prediction");
                }
            });
        } catch (IOException e) {
            throw new EvalStateException("cannot save the evaluation state to " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Reads a state written by {@link #save(Path)}.
     *
     * @throws EvalStateException when the file is missing, unreadable or not a complete state
     */
    public static EvalState load(Path file) {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (NoSuchFileException e) {
            throw new EvalStateException(file + ": no such evaluation state", e);
        } catch (IOException | IllegalArgumentException e) {
            throw new EvalStateException(file + ": cannot read the evaluation state: " + e.getMessage(), e);
        }
        if (!FORMAT.equals(p.getProperty("format"))) {
            throw new EvalStateException(file + ": not a clearclip evaluation state (format " + FORMAT + " expected)");
        }
        try {
            Map<String, String> fingerprint = new TreeMap<>();
            for (String key : p.stringPropertyNames()) {
                if (key.startsWith(FINGERPRINT_PREFIX)) {
                    fingerprint.put(key.substring(FINGERPRINT_PREFIX.length()), p.getProperty(key));
                }
            }
            int n = Integer.parseInt(required(p, "classes"));
            long[] counts = new long[n * n];
            for (int row = 0; row < n; row++) {
                String[] cells = required(p, "matrix." + row).trim().split(" ");
                if (cells.length != n) {
                    throw new IllegalArgumentException("matrix row " + row + " has " + cells.length
                            + " entries, not " + n);
                }
                for (int col = 0; col < n; col++) {
                    counts[row * n + col] = Long.parseLong(cells[col]);
                }
            }
            SequencedSet<String> done = new LinkedHashSet<>();
            String ids = required(p, "done");
            if (!ids.isEmpty()) {
                done.addAll(List.of(ids.split("\n", -1)));
            }
            int expectedCount = Integer.parseInt(required(p, "done.count"));
            if (done.size() != expectedCount) {
                throw new IllegalArgumentException(done.size() + " picture ids for done.count " + expectedCount);
            }
            double seconds = Double.parseDouble(required(p, "predict_seconds"));
            return new EvalState(fingerprint, ConfusionMatrix.of(n, counts), done, seconds);
        } catch (IllegalArgumentException e) {
            throw new EvalStateException(file + ": damaged evaluation state: " + e.getMessage(), e);
        }
    }

    private static String required(Properties p, String key) {
        String v = p.getProperty(key);
        if (v == null) {
            throw new IllegalArgumentException("'" + key + "' is missing");
        }
        return v;
    }
}
