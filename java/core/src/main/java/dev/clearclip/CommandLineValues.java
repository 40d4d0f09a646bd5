package dev.clearclip;

import java.util.Arrays;
import java.util.Iterator;
import java.util.function.Function;
import picocli.CommandLine;

/**
 * The value lists of the library's enum-like command-line options, for picocli: each nested class both converts
 * a name (through the enum's own {@code parse}, so any case and the same error text as the library's) and lists
 * the names as completion candidates ({@code ${COMPLETION-CANDIDATES}} in a description, shell completion).
 * Used by {@link SegmentSettings}, {@link ClassSource} and the commands of {@code clearclip} and the Spark job;
 * loading them needs picocli, which the library itself does not.
 */
public final class CommandLineValues {

    private CommandLineValues() {
    }

    /**
     * A converter and candidate list from an enum's values, command-line names and parser: a refused name is a
     * {@link CommandLine.TypeConversionException}, which picocli reports as "Invalid value for option
     * '--x': ..." with the usage and exit code 2.
     */
    public abstract static class Names<E> implements CommandLine.ITypeConverter<E>, Iterable<String> {
        private final E[] values;
        private final Function<E, String> name;
        private final Function<String, E> parser;

        protected Names(E[] values, Function<E, String> name, Function<String, E> parser) {
            this.values = values;
            this.name = name;
            this.parser = parser;
        }

        @Override
        public E convert(String text) {
            try {
                return parser.apply(text);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }

        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(values).map(name).iterator();
        }
    }

    /** {@link Method} names: clearclip, naclip, sclip, maskclip. */
    public static final class Methods extends Names<Method> {
        public Methods() {
            super(Method.values(), Method::id, Method::parse);
        }
    }

    /** {@link BlockMode} names: clearclip, vanilla, maskclip, sclip, naclip. */
    public static final class Modes extends Names<BlockMode> {
        public Modes() {
            super(BlockMode.values(), BlockMode::id, BlockMode::parse);
        }
    }

    /** {@link Preset} names: voc21, ..., coco-object, ... ('_' accepted for '-'). */
    public static final class Presets extends Names<Preset> {
        public Presets() {
            super(Preset.values(), Preset::id, Preset::parse);
        }
    }

    /** {@link dev.clearclip.eval.Benchmark} names, the presets'. */
    public static final class Benchmarks extends Names<dev.clearclip.eval.Benchmark> {
        public Benchmarks() {
            super(dev.clearclip.eval.Benchmark.values(), dev.clearclip.eval.Benchmark::id,
                    dev.clearclip.eval.Benchmark::parse);
        }
    }
}
