package dev.clearclip.gguf.convert;

import dev.clearclip.gguf.safetensors.SafetensorsFile;
import dev.clearclip.gguf.safetensors.SafetensorsTensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The tensors of a checkpoint spread over one or more safetensors files (Hugging Face shards),
 * addressed by name. Remembers which tensors were used, so that a converter can refuse
 * checkpoints with tensors it does not understand instead of silently dropping them.
 */
final class Checkpoint implements AutoCloseable {
    private final String description;
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName;
    private final Set<String> used = Collections.synchronizedSet(new HashSet<>());

    private Checkpoint(String description, List<SafetensorsFile> files, Map<String, SafetensorsFile> byName) {
        this.description = description;
        this.files = files;
        this.byName = byName;
    }

    /**
     * Opens the files; with several, every tensor must live in exactly one of them, and if
     * {@code expectedLocation} is given (a shard index's weight map) where it says.
     */
    static Checkpoint open(String description, List<Path> paths, Map<String, String> expectedLocation) {
        List<SafetensorsFile> files = new ArrayList<>();
        try {
            Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
            for (Path path : paths) {
                SafetensorsFile file = SafetensorsFile.open(path);
                files.add(file);
                for (String name : file.tensors().keySet()) {
                    SafetensorsFile previous = byName.putIfAbsent(name, file);
                    if (previous != null) {
                        throw new ConversionException(description + ": tensor '" + name + "' is in both "
                                + previous.path().getFileName() + " and " + path.getFileName());
                    }
                }
            }
            expectedLocation.forEach((name, fileName) -> {
                SafetensorsFile file = byName.get(name);
                if (file == null) {
                    throw new ConversionException(description + ": the shard index lists tensor '" + name
                            + "' in " + fileName + ", but no shard holds it");
                }
                if (!file.path().getFileName().toString().equals(fileName)) {
                    throw new ConversionException(description + ": the shard index lists tensor '" + name + "' in "
                            + fileName + ", but it is in " + file.path().getFileName());
                }
            });
            return new Checkpoint(description, List.copyOf(files), Collections.unmodifiableMap(byName));
        } catch (RuntimeException e) {
            files.forEach(SafetensorsFile::close);
            throw e;
        }
    }

    String description() {
        return description;
    }

    boolean has(String name) {
        return byName.containsKey(name);
    }

    Set<String> names() {
        return byName.keySet();
    }

    /** PyTorch-order shape. */
    long[] shape(String name) {
        return info(name).shape();
    }

    SafetensorsTensor info(String name) {
        SafetensorsFile file = byName.get(name);
        if (file == null) {
            throw new ConversionException(description + ": missing tensor '" + name + "'");
        }
        return file.tensor(name);
    }

    /** Checks a tensor's PyTorch shape and marks it used. */
    void expect(String name, long... shape) {
        long[] actual = shape(name);
        if (!Arrays.equals(actual, shape)) {
            throw new ConversionException(description + ": tensor '" + name + "' has shape " + Arrays.toString(actual)
                    + ", expected " + Arrays.toString(shape));
        }
        used.add(name);
    }

    /** Marks a tensor as deliberately not converted. */
    void ignore(String name) {
        used.add(name);
    }

    float[] floats(String name) {
        SafetensorsTensor tensor = info(name);
        if (!tensor.dtype().isFloat()) {
            throw new ConversionException(description + ": tensor '" + name + "' has dtype " + tensor.dtype()
                    + ", expected a floating-point type");
        }
        return byName.get(name).readFloats(name);
    }

    /** Bytes the tensor takes in the checkpoint. */
    long byteSize(String name) {
        return info(name).byteSize();
    }

    /** Names never {@linkplain #expect expected} nor {@linkplain #ignore ignored}, sorted. */
    Set<String> unused() {
        Set<String> unused = new TreeSet<>(byName.keySet());
        unused.removeAll(used);
        return unused;
    }

    @Override
    public void close() {
        files.forEach(SafetensorsFile::close);
    }
}
