package dev.clearclip.gguf.convert;

import dev.clearclip.gguf.ClipNames;
import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.GgufMetadata;
import dev.clearclip.gguf.GgufTensorInfo;
import dev.clearclip.gguf.GgufTensorSpec;
import dev.clearclip.gguf.GgufWriter;
import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.TensorProgress;
import dev.clearclip.gguf.quantize.SizeReport;
import dev.clearclip.gguf.quantize.TensorClass;
import dev.clearclip.gguf.quantize.TensorEncoder;
import dev.clearclip.gguf.tokenizer.ClipVocabulary;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Converts a CLIP checkpoint (Hugging Face transformers directory or open_clip safetensors) into
 * one GGUF file in the clearclip model format (models/README.md): hyper-parameters, tensors in
 * the requested type, and the BPE tokenizer. Immutable: each option returns a new converter.
 *
 * <pre>{@code
 * ConversionResult result = ClipConverter.fromHuggingFace(Path.of("clip-vit-base-patch16"))
 *         .outputType(GgmlType.Q8_0)
 *         .write(Path.of("clip-vit-b16-q8_0.gguf"), listener);
 * }</pre>
 *
 * Tensors are read, converted and written one at a time, so memory stays at about the size of
 * the largest tensor (the token embedding) whatever the model size. For quantized output types
 * the matrices go through ggml's quantization in the native engine; f32 and f16 need no native
 * code.
 */
public final class ClipConverter {
    /** Layout of the checkpoint to convert. */
    public enum SourceFormat {
        HUGGING_FACE, OPEN_CLIP,
        /** A CLIP GGUF: ours, or monatis/clip.cpp's layout (the CLIP GGUFs on the Hugging Face hub). */
        GGUF
    }

    private final SourceFormat format;
    private final Path source;
    private final Optional<Path> openClipConfig;
    private final Optional<Path> tokenizer;
    private final GgmlType outputType;
    private final Towers towers;
    private final Optional<String> name;

    private ClipConverter(SourceFormat format, Path source, Optional<Path> openClipConfig, Optional<Path> tokenizer,
                          GgmlType outputType, Towers towers, Optional<String> name) {
        this.format = format;
        this.source = source;
        this.openClipConfig = openClipConfig;
        this.tokenizer = tokenizer;
        this.outputType = outputType;
        this.towers = towers;
        this.name = name;
    }

    /** A transformers CLIP directory ({@code config.json}, {@code model.safetensors} or shards). */
    public static ClipConverter fromHuggingFace(Path directory) {
        return new ClipConverter(SourceFormat.HUGGING_FACE, directory, Optional.empty(), Optional.empty(),
                GgmlType.F32, Towers.BOTH, Optional.empty());
    }

    /**
     * An open_clip checkpoint: a directory holding {@code open_clip_model.safetensors} (or a single
     * other {@code .safetensors}) and {@code open_clip_config.json}, or the weights file itself with
     * the config beside it.
     */
    public static ClipConverter fromOpenClip(Path directoryOrWeights) {
        return new ClipConverter(SourceFormat.OPEN_CLIP, directoryOrWeights, Optional.empty(), Optional.empty(),
                GgmlType.F32, Towers.BOTH, Optional.empty());
    }

    /** An open_clip weights file with its config file named explicitly. */
    public static ClipConverter fromOpenClip(Path weights, Path config) {
        return new ClipConverter(SourceFormat.OPEN_CLIP, weights, Optional.of(config), Optional.empty(),
                GgmlType.F32, Towers.BOTH, Optional.empty());
    }

    /**
     * A CLIP GGUF file, rewritten into our layout: monatis/clip.cpp's files (whose
     * {@code projection_dim} keys are wrong and whose tokenizer has no merges) or our own. The
     * output type defaults to the type of the file's matrices (f32 if that is not a type we write).
     */
    public static ClipConverter fromGguf(Path file) {
        GgmlType type = Files.isRegularFile(file) ? GgufSource.mainType(file) : GgmlType.F32;
        return new ClipConverter(SourceFormat.GGUF, file, Optional.empty(), Optional.empty(),
                type, Towers.BOTH, Optional.empty());
    }

    /**
     * Recognises the layout: a file starting with the GGUF magic is a GGUF; {@code open_clip_config.json} means open_clip; {@code config.json}
     * with {@code model.safetensors} (or its shard index) means Hugging Face.
     *
     * @throws ConversionException if neither is recognised
     */
    public static ClipConverter detect(Path path) {
        if (GgufSource.looksLike(path)) {
            return fromGguf(path);
        }
        if (Files.isDirectory(path) && HuggingFaceSource.looksLike(path)) {
            return fromHuggingFace(path);
        }
        if (OpenClipSource.looksLike(path)) {
            return fromOpenClip(path);
        }
        throw new ConversionException(path + ": not a recognised CLIP checkpoint: expected a Hugging Face directory ("
                + HuggingFaceSource.CONFIG + " + " + HuggingFaceSource.SINGLE_FILE + ") or an open_clip checkpoint ("
                + OpenClipSource.CONFIG + " + " + OpenClipSource.WEIGHTS + ") or a CLIP GGUF file");
    }

    /**
     * Where the tokenizer comes from instead of the checkpoint's directory: a directory with
     * {@code vocab.json} and {@code merges.txt}, or CLIP's {@code bpe_simple_vocab_16e6.txt.gz}.
     */
    public ClipConverter tokenizer(Path tokenizerSource) {
        return new ClipConverter(format, source, openClipConfig, Optional.of(tokenizerSource), outputType, towers, name);
    }

    /** Type of the matrices: f32 (default), f16, q8_0, q5_1, q5_0, q4_1 or q4_0. */
    public ClipConverter outputType(GgmlType type) {
        if (!type.isOutputType()) {
            throw new IllegalArgumentException("unsupported output type " + type + "; use one of " + GgmlType.outputTypes());
        }
        return new ClipConverter(format, source, openClipConfig, tokenizer, type, towers, name);
    }

    /** Which towers to convert (default both). */
    public ClipConverter towers(Towers selection) {
        return new ClipConverter(format, source, openClipConfig, tokenizer, outputType, Objects.requireNonNull(selection), name);
    }

    /** {@code general.name} (default: the checkpoint's directory or file name). */
    public ClipConverter name(String modelName) {
        return new ClipConverter(format, source, openClipConfig, tokenizer, outputType, towers, Optional.of(modelName));
    }

    public SourceFormat format() {
        return format;
    }

    public Path source() {
        return source;
    }

    public GgmlType outputType() {
        return outputType;
    }

    public Towers towers() {
        return towers;
    }

    /**
     * Reads the checkpoint and writes the GGUF. The output appears only once complete.
     *
     * @throws dev.clearclip.gguf.ModelFileException (mostly {@link ConversionException}) with a
     *     message naming the file and the problem
     */
    public ConversionResult write(Path output, ProgressListener listener) {
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(listener, "listener");
        if (sameFile(source, output)) {
            throw new ConversionException(output + ": is the file being converted; write to another name (the "
                    + "input would be replaced before you could check the result)");
        }
        try (CheckpointSource checkpoint = openSource()) {
            checkpoint.notes().forEach(listener::note);
            ClipParameters parameters = checkpoint.parameters();
            Optional<ClipVocabulary> vocabulary = checkpoint.vocabulary();
            if (parameters.text().isPresent()) {
                if (vocabulary.isEmpty()) {
                    throw new ConversionException(source + ": no tokenizer for the text tower; looked for "
                            + checkpoint.vocabularySearchDescription() + ". Give one with --tokenizer (a directory with vocab.json and "
                            + "merges.txt, or CLIP's bpe_simple_vocab_16e6.txt.gz)");
                }
                int vocabSize = parameters.text().get().vocabSize();
                if (vocabulary.get().tokens().size() != vocabSize) {
                    throw new ConversionException(source + ": the tokenizer has " + vocabulary.get().tokens().size()
                            + " tokens but the token embedding has " + vocabSize + " rows");
                }
            }
            GgufMetadata metadata = metadata(parameters, vocabulary, name.orElseGet(checkpoint::defaultName));
            List<PlannedTensor> planned = checkpoint.tensors();
            List<GgufTensorSpec> specs = new ArrayList<>(planned.size());
            for (PlannedTensor tensor : planned) {
                GgmlType type = tensor.tensorClass().storageType(tensor.ne(), outputType);
                if (type == GgmlType.F16 && outputType.isQuantized() && tensor.tensorClass() != TensorClass.PATCH_EMBEDDING) {
                    listener.note(tensor.name() + " stays f16: its rows of " + tensor.ne()[0]
                            + " values are not a multiple of the " + outputType + " block size " + outputType.blockSize());
                }
                specs.add(new GgufTensorSpec(tensor.name(), type, tensor.ne()));
            }
            long total = specs.stream().mapToLong(GgufTensorSpec::byteSize).sum();
            long soFar = 0;
            SizeReport.Builder sizes = new SizeReport.Builder();
            List<GgufTensorInfo> infos;
            try (GgufWriter writer = GgufWriter.create(output, metadata, specs)) {
                infos = writer.tensorInfos();
                for (int i = 0; i < specs.size(); i++) {
                    PlannedTensor tensor = planned.get(i);
                    GgufTensorSpec spec = specs.get(i);
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment bytes = TensorEncoder.encode(tensor.values().get(), spec, arena);
                        writer.writeTensor(spec.name(), bytes);
                    }
                    soFar += spec.byteSize();
                    sizes.add(tensor.tensorClass(), tensor.sourceBytes(), spec.byteSize(), spec.type());
                    listener.tensorWritten(new TensorProgress(i, specs.size(), spec, tensor.sourceType(), soFar, total));
                }
            }
            return new ConversionResult(output, parameters, metadata, infos, sizes.build());
        }
    }

    private CheckpointSource openSource() {
        return switch (format) {
            case HUGGING_FACE -> HuggingFaceSource.open(source, towers, tokenizer);
            case OPEN_CLIP -> OpenClipSource.open(source, openClipConfig, towers, tokenizer);
            case GGUF -> GgufSource.open(source, towers, tokenizer);
        };
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.exists(a) && Files.exists(b) ? Files.isSameFile(a, b)
                    : a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private GgufMetadata metadata(ClipParameters parameters, Optional<ClipVocabulary> vocabulary, String modelName) {
        GgufMetadata.Builder kv = GgufMetadata.builder()
                .putString(ClipNames.ARCHITECTURE, ClipNames.ARCHITECTURE_CLIP)
                .putString(ClipNames.NAME, modelName)
                .putU32(ClipNames.FILE_TYPE, outputType.llamaFileType())
                .putBool(ClipNames.HAS_TEXT, parameters.text().isPresent())
                .putBool(ClipNames.HAS_VISION, parameters.vision().isPresent())
                .putBool(ClipNames.USE_GELU, parameters.useGelu());
        parameters.logitScale().ifPresent(scale -> kv.putF32(ClipNames.LOGIT_SCALE, scale));
        parameters.text().ifPresent(text -> {
            kv.putU32(ClipNames.TEXT_CONTEXT_LENGTH, text.contextLength());
            putTower(kv, true, text.tower());
        });
        parameters.vision().ifPresent(vision -> {
            kv.putU32(ClipNames.VISION_IMAGE_SIZE, vision.imageSize());
            kv.putU32(ClipNames.VISION_PATCH_SIZE, vision.patchSize());
            putTower(kv, false, vision.tower());
            kv.putF32Array(ClipNames.VISION_IMAGE_MEAN, vision.imageMean());
            kv.putF32Array(ClipNames.VISION_IMAGE_STD, vision.imageStd());
        });
        if (parameters.text().isPresent()) {
            ClipVocabulary vocab = vocabulary.orElseThrow();
            kv.putString(ClipNames.TOKENIZER_MODEL, ClipNames.TOKENIZER_MODEL_CLIP)
                    .putStringArray(ClipNames.TOKENIZER_TOKENS, vocab.tokens())
                    .putStringArray(ClipNames.TOKENIZER_MERGES, vocab.merges())
                    .putU32(ClipNames.TOKENIZER_BOS, vocab.startOfTextId())
                    .putU32(ClipNames.TOKENIZER_EOS, vocab.endOfTextId());
        }
        return kv.build();
    }

    private static void putTower(GgufMetadata.Builder kv, boolean text, TowerParameters tower) {
        kv.putU32(ClipNames.embeddingLength(text), tower.width())
                .putU32(ClipNames.feedForwardLength(text), tower.feedForward())
                .putU32(ClipNames.blockCount(text), tower.blockCount())
                .putU32(ClipNames.projectionDim(text), tower.projectionDim())
                .putU32(ClipNames.headCount(text), tower.headCount())
                .putF32(ClipNames.layerNormEpsilon(text), tower.layerNormEpsilon());
    }
}
