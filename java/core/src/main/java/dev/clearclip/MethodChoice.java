package dev.clearclip;

import picocli.CommandLine.Option;

/**
 * {@code --method} and {@code --mode}, declared once: part of {@link SegmentSettings} (segment, the Spark job, the
 * server's {@code method} and {@code mode} fields) and, alone, the picocli mixin of {@code clearclip eval}, whose
 * other settings are the benchmark's.
 */
public final class MethodChoice {

    @Option(names = "--method", paramLabel = "METHOD", converter = CommandLineValues.Methods.class,
            completionCandidates = CommandLineValues.Methods.class,
            description = "${COMPLETION-CANDIDATES} (default clearclip): block mode and that method's reference "
                    + "windows, logit scale and refinement (settings given with it override them).")
    Method method;

    @Option(names = "--mode", paramLabel = "MODE", converter = CommandLineValues.Modes.class,
            completionCandidates = CommandLineValues.Modes.class,
            description = "Final block: ${COMPLETION-CANDIDATES} (default: the method's, clearclip).")
    BlockMode mode;

    /** The --method, or null. */
    public Method method() {
        return method;
    }

    /** The --mode, or null: the method's block. */
    public BlockMode mode() {
        return mode;
    }
}
