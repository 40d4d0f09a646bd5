package dev.clearclip.spark;

import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.apache.spark.SparkEnv;
import org.apache.spark.SparkFiles;

/**
 * One {@link ClipModel} per JVM and model: an executor's concurrent tasks share it (its context pool runs
 * them in parallel), so a model is read once per executor, not once per task or partition. Loaded lazily
 * by the first task that needs it and kept for the JVM's life: executors are reused across stages and
 * jobs, and closing a model while a task of another job still uses it would fail that task. In local mode
 * the driver and the tasks share one JVM and hence one model.
 */
final class ExecutorModels {

    private static final ConcurrentMap<Key, ClipModel> MODELS = new ConcurrentHashMap<>();

    private record Key(Path file, int threads, int contexts) {
    }

    private ExecutorModels() {
    }

    /**
     * The model for {@code spec} with {@code threads} engine threads per call and as many native contexts
     * as the executor runs tasks at once. Concurrent first callers wait for one load.
     */
    static ClipModel get(String model, int threads) {
        Path file = resolve(model);
        int contexts = Math.max(1, executorCores() / threads);
        return MODELS.computeIfAbsent(new Key(file, threads, contexts), k -> ClipModel.load(k.file(),
                ModelOptions.builder().threads(k.threads()).contexts(k.contexts()).build()));
    }

    /**
     * The model file on this node: the path as given when it exists (shared or local path), else the file of
     * that name shipped with {@code --files} (SparkFiles).
     */
    static Path resolve(String model) {
        String local = model.startsWith("file:") ? Path.of(java.net.URI.create(model)).toString() : model;
        Path path = Path.of(local);
        if (Files.isRegularFile(path)) {
            return path.toAbsolutePath();
        }
        Path fileName = path.getFileName();
        if (fileName != null && SparkEnv.get() != null) {
            Path shipped = Path.of(SparkFiles.get(fileName.toString()));
            if (Files.isRegularFile(shipped)) {
                return shipped;
            }
        }
        throw new IllegalArgumentException("model " + model + " not found on this node: give a path every node sees,"
                + " or ship the file with --files (spark-submit) and give its name");
    }

    /** Tasks this executor runs at once: spark.executor.cores when set, else the JVM's processors. */
    private static int executorCores() {
        int cores = ModelOptions.availableCores();
        SparkEnv env = SparkEnv.get();
        if (env != null && env.conf().contains("spark.executor.cores")) {
            cores = env.conf().getInt("spark.executor.cores", cores);
        }
        return cores;
    }
}
