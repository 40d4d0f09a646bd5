package dev.clearclip.cli;

import dev.clearclip.CommandLineValues;
import dev.clearclip.gguf.GgmlType;

/** The matrix types convert, quantize and pull write (--type): f32, f16, q8_0, ..., in any case. */
public final class OutputTypes extends CommandLineValues.Names<GgmlType> {
    public OutputTypes() {
        super(GgmlType.outputTypes().toArray(GgmlType[]::new), GgmlType::ggmlName, GgmlType::parseOutputType);
    }
}
