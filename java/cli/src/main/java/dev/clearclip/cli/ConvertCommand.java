package dev.clearclip.cli;

import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.TensorProgress;
import dev.clearclip.gguf.convert.ClipConverter;
import dev.clearclip.gguf.convert.ConversionResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert a CLIP checkpoint (Hugging Face directory or open_clip checkpoint) to GGUF.")
final class ConvertCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SRC",
            description = "Hugging Face CLIP directory (config.json + model.safetensors) or open_clip checkpoint.")
    Path source;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.gguf", description = "Output file.")
    Path output;

    @Option(names = "--type", paramLabel = "T", defaultValue = "f32",
            description = "Type of the matrices: f32, f16, q8_0, q5_1, q5_0, q4_1, q4_0 (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "Tokenizer if not beside the checkpoint: a directory with vocab.json and merges.txt, "
                    + "or bpe_simple_vocab_16e6.txt.gz.")
    Path tokenizer;

    @Option(names = "--name", paramLabel = "TEXT", description = "general.name of the model.")
    String name;

    @Override
    public Integer call() {
        GgmlType t = parseType(type);
        ClipConverter converter = ClipConverter.detect(source).outputType(t);
        if (tokenizer != null) {
            converter = converter.tokenizer(tokenizer);
        }
        if (name != null) {
            converter = converter.name(name);
        }
        PrintWriter err = spec.commandLine().getErr();
        ConversionResult result = converter.write(output, listener(err, "converting", main.verbose));
        spec.commandLine().getOut().println("wrote " + result.output() + " (" + t + ")");
        return Main.EXIT_OK;
    }

    static GgmlType parseType(String type) {
        try {
            return GgmlType.parseOutputType(type);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--type: " + e.getMessage());
        }
    }

    /** Progress bar over the bytes written; notes (e.g. tensors kept in f16) are printed. */
    static ProgressListener listener(PrintWriter err, String label, boolean verbose) {
        return new ProgressListener() {
            ProgressBar bar;

            @Override
            public void tensorWritten(TensorProgress p) {
                if (bar == null) {
                    bar = new ProgressBar(err, label, p.totalBytes(), true);
                }
                if (verbose) {
                    err.println(p.describe());
                }
                bar.update(p.bytesSoFar());
                if (p.index() + 1 == p.count()) {
                    bar.finish(p.bytesSoFar());
                }
            }

            @Override
            public void note(String message) {
                err.println("note: " + message);
            }
        };
    }
}
