package dev.clearclip.gguf;

import dev.clearclip.gguf.convert.ClipConverter;
import dev.clearclip.gguf.convert.ConversionResult;
import dev.clearclip.gguf.convert.Towers;
import dev.clearclip.gguf.inspect.GgufInspector;
import dev.clearclip.gguf.quantize.GgufQuantizer;
import dev.clearclip.gguf.quantize.SizeReport;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * A small command-line entry point for the Makefile and tests (the user-facing CLI is
 * {@code java/cli}):
 *
 * <pre>
 * convert  SOURCE -o OUT.gguf [--format hf|openclip] [--type TYPE] [--tokenizer PATH]
 *          [--openclip-config FILE] [--text-only | --vision-only] [--name NAME] [--quiet]
 * quantize IN.gguf OUT.gguf --type TYPE [--quiet]
 * inspect  FILE.gguf [--json] [--full-arrays]
 * </pre>
 *
 * Exit status: 0 success, 1 failure (message on stderr), 2 bad usage.
 */
public final class GgufToolsMain {
    static final String USAGE = """
            usage:
              convert  SOURCE -o OUT.gguf [--format hf|openclip] [--type TYPE] [--tokenizer PATH]
                       [--openclip-config FILE] [--text-only | --vision-only] [--name NAME] [--quiet]
              quantize IN.gguf OUT.gguf --type TYPE [--quiet]
              inspect  FILE.gguf [--json] [--full-arrays]
            TYPE: f32, f16, q8_0, q5_1, q5_0, q4_1, q4_0
            SOURCE: a Hugging Face CLIP directory, an open_clip directory / .safetensors / .bin file,
                    or a CLIP GGUF (e.g. monatis/clip.cpp's) to rewrite in our layout (without --format)
            --tokenizer: a directory with vocab.json + merges.txt, or CLIP's bpe_simple_vocab_16e6.txt.gz
            """;

    private final PrintStream out;
    private final PrintStream err;

    GgufToolsMain(PrintStream out, PrintStream err) {
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        System.exit(new GgufToolsMain(System.out, System.err).run(args));
    }

    /** Runs one command; returns the exit status. */
    int run(String... args) {
        Deque<String> rest = new ArrayDeque<>(List.of(args));
        if (rest.isEmpty() || rest.peek().equals("-h") || rest.peek().equals("--help")) {
            (rest.isEmpty() ? err : out).print(USAGE);
            return rest.isEmpty() ? 2 : 0;
        }
        String command = rest.pop();
        try {
            return switch (command) {
                case "convert" -> convert(rest);
                case "quantize" -> quantize(rest);
                case "inspect" -> inspect(rest);
                default -> throw new UsageException("unknown command '" + command + "'");
            };
        } catch (UsageException e) {
            err.println("error: " + e.getMessage());
            err.print(USAGE);
            return 2;
        } catch (ModelFileException | IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            return 1;
        }
    }

    private int convert(Deque<String> args) {
        List<String> positional = new ArrayList<>();
        Path output = null;
        String format = null;
        GgmlType type = GgmlType.F32;
        Path tokenizer = null;
        Path config = null;
        Towers towers = Towers.BOTH;
        String name = null;
        boolean quiet = false;
        while (!args.isEmpty()) {
            String arg = args.pop();
            switch (arg) {
                case "-o", "--output" -> output = Path.of(value(arg, args));
                case "--format" -> format = value(arg, args);
                case "--type" -> type = GgmlType.parseOutputType(value(arg, args));
                case "--tokenizer" -> tokenizer = Path.of(value(arg, args));
                case "--openclip-config" -> config = Path.of(value(arg, args));
                case "--text-only" -> towers = exclusive(towers, Towers.TEXT_ONLY);
                case "--vision-only" -> towers = exclusive(towers, Towers.VISION_ONLY);
                case "--name" -> name = value(arg, args);
                case "--quiet" -> quiet = true;
                default -> positional.add(option(arg));
            }
        }
        if (positional.size() != 1 || output == null) {
            throw new UsageException("convert needs one SOURCE and -o OUT.gguf");
        }
        Path source = Path.of(positional.getFirst());
        ClipConverter converter;
        if (format == null) {
            converter = config != null ? ClipConverter.fromOpenClip(source, config) : ClipConverter.detect(source);
        } else {
            converter = switch (format) {
                case "hf" -> ClipConverter.fromHuggingFace(source);
                case "openclip" -> config != null ? ClipConverter.fromOpenClip(source, config) : ClipConverter.fromOpenClip(source);
                default -> throw new UsageException("--format is hf or openclip, got '" + format + "'");
            };
        }
        converter = converter.outputType(type).towers(towers);
        if (tokenizer != null) {
            converter = converter.tokenizer(tokenizer);
        }
        if (name != null) {
            converter = converter.name(name);
        }
        ConversionResult result = converter.write(output, listener(quiet));
        out.println("wrote " + result.output() + " (" + result.tensors().size() + " tensors)");
        out.print(result.sizes().format());
        return 0;
    }

    private int quantize(Deque<String> args) {
        List<String> positional = new ArrayList<>();
        GgmlType type = null;
        boolean quiet = false;
        while (!args.isEmpty()) {
            String arg = args.pop();
            switch (arg) {
                case "--type" -> type = GgmlType.parseOutputType(value(arg, args));
                case "--quiet" -> quiet = true;
                default -> positional.add(option(arg));
            }
        }
        if (positional.size() != 2 || type == null) {
            throw new UsageException("quantize needs IN.gguf OUT.gguf --type TYPE");
        }
        Path output = Path.of(positional.get(1));
        SizeReport sizes = GgufQuantizer.quantize(Path.of(positional.get(0)), output, type, listener(quiet));
        out.println("wrote " + output);
        out.print(sizes.format());
        return 0;
    }

    private int inspect(Deque<String> args) {
        List<String> positional = new ArrayList<>();
        boolean json = false;
        boolean full = false;
        while (!args.isEmpty()) {
            String arg = args.pop();
            switch (arg) {
                case "--json" -> json = true;
                case "--full-arrays" -> full = true;
                default -> positional.add(option(arg));
            }
        }
        if (positional.size() != 1) {
            throw new UsageException("inspect needs one FILE.gguf");
        }
        // a developer tool for any GGUF file, nested arrays included (clearclip info keeps the engine's rules)
        try (GgufFile file = GgufFile.openAllowingNestedArrays(Path.of(positional.getFirst()))) {
            out.print(json ? GgufInspector.json(file, full) + "\n" : GgufInspector.text(file, full));
        }
        return 0;
    }

    private ProgressListener listener(boolean quiet) {
        return quiet ? ProgressListener.NONE : new ProgressListener() {
            @Override
            public void tensorWritten(TensorProgress progress) {
                err.println(progress.describe());
            }

            @Override
            public void note(String message) {
                err.println("note: " + message);
            }
        };
    }

    private static Towers exclusive(Towers current, Towers wanted) {
        if (current != Towers.BOTH && current != wanted) {
            throw new UsageException("--text-only and --vision-only exclude each other");
        }
        return wanted;
    }

    private static String value(String option, Deque<String> args) {
        if (args.isEmpty()) {
            throw new UsageException(option + " needs a value");
        }
        return args.pop();
    }

    private static String option(String arg) {
        if (arg.startsWith("-")) {
            throw new UsageException("unknown option '" + arg + "'");
        }
        return arg;
    }

    private static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
