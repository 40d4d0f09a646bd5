package dev.clearclip.gguf.convert;

import dev.clearclip.gguf.GgufMetadata;
import dev.clearclip.gguf.GgufTensorInfo;
import dev.clearclip.gguf.quantize.SizeReport;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/** What a conversion wrote: the file, its metadata and tensors, and the sizes per tensor class. */
public record ConversionResult(Path output, ClipParameters parameters, GgufMetadata metadata,
                               List<GgufTensorInfo> tensors, SizeReport sizes) {
    public ConversionResult {
        Objects.requireNonNull(output, "output");
        Objects.requireNonNull(parameters, "parameters");
        Objects.requireNonNull(metadata, "metadata");
        tensors = List.copyOf(tensors);
        Objects.requireNonNull(sizes, "sizes");
    }
}
