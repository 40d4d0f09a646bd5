package dev.clearclip.gguf.convert;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.clearclip.gguf.Shapes;
import dev.clearclip.gguf.quantize.TensorClass;
import dev.clearclip.gguf.safetensors.SafetensorsTensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Mapping helpers shared by the checkpoint layouts: each adds a {@link PlannedTensor} after
 * checking the source tensor's shape. PyTorch shapes are given outermost first; GGUF shapes are
 * their reverse, so a PyTorch {@code Linear} weight {@code [out, in]} becomes ggml {@code [in, out]}
 * with the same bytes.
 */
abstract class SourceSupport implements CheckpointSource {
    static final ObjectMapper JSON = new ObjectMapper();

    final Checkpoint checkpoint;
    private final List<PlannedTensor> plan = new ArrayList<>();

    SourceSupport(Checkpoint checkpoint) {
        this.checkpoint = checkpoint;
    }

    @Override
    public List<PlannedTensor> tensors() {
        return List.copyOf(plan);
    }

    @Override
    public void close() {
        checkpoint.close();
    }

    /** A tensor converted as is: GGUF shape = reversed PyTorch shape. */
    void add(String ggufName, TensorClass tensorClass, String source, long... torchShape) {
        checkpoint.expect(source, torchShape);
        plan.add(new PlannedTensor(ggufName, Shapes.reversed(torchShape), tensorClass, dtype(source),
                checkpoint.byteSize(source), () -> checkpoint.floats(source)));
    }

    /**
     * A matrix stored as {@code x @ M} ({@code [in, out]}, open_clip's projections) that becomes a
     * {@code Linear} weight ({@code [out, in]}, GGUF {@code [in, out]}).
     */
    void addTransposed(String ggufName, TensorClass tensorClass, String source, long in, long out) {
        checkpoint.expect(source, in, out);
        plan.add(new PlannedTensor(ggufName, new long[] {in, out}, tensorClass, dtype(source),
                checkpoint.byteSize(source), () -> transpose(checkpoint.floats(source), (int) in, (int) out)));
    }

    /**
     * Part {@code part} of {@code parts} equal slices along the outermost axis, e.g. q, k or v of
     * a packed {@code in_proj_weight [3W, W]} or {@code in_proj_bias [3W]}.
     */
    void addSlice(String ggufName, TensorClass tensorClass, String source, int part, int parts, long... torchShape) {
        long[] sliceShape = torchShape.clone();
        long[] packedShape = torchShape.clone();
        packedShape[0] = torchShape[0] * parts;
        checkpoint.expect(source, packedShape);
        long sliceSize = Shapes.elementCount(sliceShape);
        plan.add(new PlannedTensor(ggufName, Shapes.reversed(sliceShape), tensorClass, dtype(source),
                checkpoint.byteSize(source) / parts, () -> {
                    float[] all = checkpoint.floats(source);
                    float[] slice = new float[(int) sliceSize];
                    System.arraycopy(all, (int) (part * sliceSize), slice, 0, slice.length);
                    return slice;
                }));
    }

    String dtype(String source) {
        return checkpoint.info(source).dtype().name().toLowerCase(Locale.ROOT);
    }

    /** Number of consecutive blocks {@code prefix + i + suffix} present, from 0. */
    int countBlocks(String prefix, String suffix) {
        int n = 0;
        while (checkpoint.has(prefix + n + suffix)) {
            n++;
        }
        return n;
    }

    /** {@code shape[axis]} of a tensor, as an int. */
    int dim(String source, int axis) {
        SafetensorsTensor info = checkpoint.info(source);
        if (axis >= info.rank()) {
            throw new ConversionException(checkpoint.description() + ": tensor '" + source + "' has shape "
                    + Arrays.toString(info.shape()) + ", expected at least " + (axis + 1) + " dimensions");
        }
        return Math.toIntExact(info.shape()[axis]);
    }

    /** The single value of a scalar (or 1-element) tensor. */
    float scalar(String source) {
        SafetensorsTensor info = checkpoint.info(source);
        if (info.elementCount() != 1) {
            throw new ConversionException(checkpoint.description() + ": tensor '" + source + "' should be a scalar, has shape "
                    + Arrays.toString(info.shape()));
        }
        checkpoint.ignore(source);
        return checkpoint.floats(source)[0];
    }

    /**
     * Fails if the checkpoint has tensors of the selected towers that were neither converted nor
     * deliberately ignored: they mean an architecture variant the engine would get wrong.
     */
    void rejectUnknownTensors(Set<String> otherTowerPrefixes) {
        List<String> unknown = checkpoint.unused().stream()
                .filter(name -> otherTowerPrefixes.stream().noneMatch(name::startsWith))
                .toList();
        if (!unknown.isEmpty()) {
            throw new ConversionException(checkpoint.description() + ": " + unknown.size() + " tensor(s) that a plain CLIP ViT "
                    + "does not have, so this architecture variant is not supported: "
                    + unknown.stream().limit(8).collect(Collectors.joining(", ")) + (unknown.size() > 8 ? ", ..." : ""));
        }
    }

    /** A config value must agree with what the tensors say. */
    void checkAgrees(String what, JsonNode configValue, long fromTensors) {
        if (configValue != null && !configValue.isNull() && configValue.asLong() != fromTensors) {
            throw new ConversionException(checkpoint.description() + ": the config says " + what + " = " + configValue
                    + " but the tensors say " + fromTensors);
        }
    }

    /** {@code exp(logit_scale)}, if the checkpoint has it: CLIP stores the log of its similarity scale. */
    Optional<Float> logitScale() {
        return checkpoint.has("logit_scale")
                ? Optional.of((float) Math.exp(scalar("logit_scale")))
                : Optional.empty();
    }

    /**
     * The side of the patch grid that {@code positions} vision position embeddings cover: one per
     * patch of a square grid, plus one for the class token.
     */
    int patchGrid(int positions) {
        int grid = (int) Math.round(Math.sqrt(positions - 1));
        if (grid * grid + 1 != positions) {
            throw new ConversionException(checkpoint.description() + ": " + positions
                    + " vision position embeddings are not a square grid plus the class token");
        }
        return grid;
    }

    /**
     * The configured image size must be the grid the position embeddings were trained for: the
     * GGUF records one native image size, and a config that disagrees with the weights means a
     * config that does not belong to them.
     *
     * @param where what the message names as wrong (a file or the checkpoint)
     * @param key the config key, as the layout spells it
     */
    static void checkImageSize(String where, String key, int imageSize, int grid, int patchSize) {
        if (imageSize != grid * patchSize) {
            throw new ConversionException(where + ": " + key + " is " + imageSize
                    + " but the position embeddings are for a " + grid + "x" + grid + " grid of " + patchSize
                    + "-pixel patches (" + grid * patchSize + ")");
        }
    }

    /** A tower's parameters; values {@link TowerParameters} refuses are blamed on {@code configFile}. */
    static TowerParameters towerParameters(Path configFile, String tower, int width, int ffn, int blocks, int heads,
                                           float eps, int projection) {
        try {
            return new TowerParameters(width, ffn, blocks, heads, eps, projection);
        } catch (IllegalArgumentException e) {
            throw new ConversionException(configFile + ": bad " + tower + " tower: " + e.getMessage());
        }
    }

    static float[] transpose(float[] values, int rows, int cols) {
        float[] out = new float[values.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                out[c * rows + r] = values[r * cols + c];
            }
        }
        return out;
    }

    static JsonNode readJson(Path file) {
        try {
            JsonNode node = JSON.readTree(Files.readString(file));
            if (node == null || !node.isObject()) {
                throw new ConversionException(file + ": expected a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new ConversionException(file + ": not valid JSON: " + e.getOriginalMessage());
        } catch (NoSuchFileException e) {
            throw new ConversionException(file + ": no such file");
        } catch (IOException e) {
            throw new ConversionException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Reads an RGB triple (mean or std) from a JSON array, if present. */
    static float[] rgb(JsonNode node, float[] fallback, String what, Path file) {
        if (node == null || node.isNull()) {
            return fallback.clone();
        }
        if (!node.isArray() || node.size() != 3 || !node.get(0).isNumber() || !node.get(1).isNumber() || !node.get(2).isNumber()) {
            throw new ConversionException(file + ": " + what + " should be 3 numbers, got " + node);
        }
        return new float[] {(float) node.get(0).asDouble(), (float) node.get(1).asDouble(), (float) node.get(2).asDouble()};
    }
}
