package dev.clearclip.gguf.quantize;

import dev.clearclip.gguf.ClipNames;
import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.GgufMetadata;
import dev.clearclip.gguf.GgufTensorInfo;
import dev.clearclip.gguf.GgufTensorSpec;
import dev.clearclip.gguf.GgufWriter;
import dev.clearclip.gguf.ModelFileException;
import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.TensorCodec;
import dev.clearclip.gguf.TensorProgress;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Rewrites a CLIP GGUF with its matrices in another type (see {@link TensorClass#storageType}).
 * Tensors already in their target type are copied byte for byte; the others are decoded to f32
 * (f16 and bf16 exactly, quantized ones approximately) and encoded again. All metadata is kept,
 * except {@code general.file_type}, which is set to the target's llama.cpp file type.
 */
public final class GgufQuantizer {
    private GgufQuantizer() {
    }

    /**
     * Quantizes {@code input} into {@code output} (which may be the same path: the result is
     * moved into place only when complete).
     *
     * @param type one of {@link GgmlType#outputTypes()}
     * @return the sizes per tensor class before and after
     */
    public static SizeReport quantize(Path input, Path output, GgmlType type, ProgressListener listener) {
        Objects.requireNonNull(listener, "listener");
        if (!type.isOutputType()) {
            throw new IllegalArgumentException("cannot quantize to " + type + "; output types are " + GgmlType.outputTypes());
        }
        try (GgufFile in = GgufFile.open(input)) {
            List<GgufTensorSpec> specs = new ArrayList<>();
            List<TensorClass> classes = new ArrayList<>();
            for (GgufTensorInfo info : in.tensors()) {
                TensorClass tensorClass = TensorClass.of(info.name(), info.ne());
                GgmlType target = tensorClass.storageType(info.ne(), type);
                if (target != info.type() && !info.type().isDecodable()) {
                    throw new ModelFileException(input + ": tensor '" + info.name() + "' is stored as " + info.type()
                            + ", which cannot be converted (decodable: f32, f16, bf16, q8_0, q5_1, q5_0, q4_1, q4_0)");
                }
                if (target.isQuantized() && target != type) {
                    throw new AssertionError("storage policy chose " + target + " for target " + type);
                }
                if (target == GgmlType.F16 && type.isQuantized() && tensorClass != TensorClass.PATCH_EMBEDDING) {
                    listener.note(info.name() + " stays f16: its rows of " + info.ne()[0]
                            + " values are not a multiple of the " + type + " block size " + type.blockSize());
                }
                if (info.type().isQuantized() && target != info.type()) {
                    listener.note(info.name() + " is re-encoded from " + info.type() + ": the result carries both roundings");
                }
                specs.add(new GgufTensorSpec(info.name(), target, info.ne()));
                classes.add(tensorClass);
            }
            GgufMetadata metadata = in.metadata().toBuilder()
                    .putU32(ClipNames.FILE_TYPE, type.llamaFileType())
                    .build();
            SizeReport.Builder sizes = new SizeReport.Builder();
            long total = specs.stream().mapToLong(GgufTensorSpec::byteSize).sum();
            long soFar = 0;
            try (GgufWriter writer = GgufWriter.create(output, metadata, specs)) {
                for (int i = 0; i < specs.size(); i++) {
                    GgufTensorInfo source = in.tensors().get(i);
                    GgufTensorSpec spec = specs.get(i);
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment bytes = spec.type() == source.type()
                                ? in.tensorData(source)
                                : TensorEncoder.encode(TensorCodec.decode(source.type(), in.tensorData(source),
                                        source.elementCount()), spec, arena);
                        writer.writeTensor(spec.name(), bytes);
                    }
                    soFar += spec.byteSize();
                    sizes.add(classes.get(i), source.byteSize(), spec.byteSize(), spec.type());
                    listener.tensorWritten(new TensorProgress(i, specs.size(), spec, source.type().ggmlName(), soFar, total));
                }
            }
            return sizes.build();
        }
    }
}
