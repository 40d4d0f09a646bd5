package dev.clearclip.cli.commands;

import dev.clearclip.cli.ConversionProgress;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.OutputTypes;
import dev.clearclip.gguf.GgmlType;
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
        description = {"Convert a CLIP checkpoint (Hugging Face directory or open_clip checkpoint) to GGUF, or rewrite "
                + "a CLIP GGUF made by another converter (monatis/clip.cpp's, as published on the Hugging Face hub) "
                + "into clearclip's layout.",
                "A GGUF's own metadata is checked against its tensors; where they disagree the tensors are used "
                + "and a note says so. The output is never the input file."})
public final class ConvertCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SRC",
            description = "Hugging Face CLIP directory (config.json + model.safetensors or pytorch_model.bin), open_clip checkpoint, "
                    + "or CLIP GGUF file.")
    Path source;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.gguf", description = "Output file.")
    Path output;

    @Option(names = "--type", paramLabel = "T", converter = OutputTypes.class, completionCandidates = OutputTypes.class,
            description = "Type of the matrices: ${COMPLETION-CANDIDATES} (default: f32; for a GGUF input, the type of "
                    + "its matrices).")
    GgmlType type;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "Tokenizer if not beside the checkpoint: a directory with vocab.json and merges.txt, "
                    + "or bpe_simple_vocab_16e6.txt.gz.")
    Path tokenizer;

    @Option(names = "--name", paramLabel = "TEXT", description = "general.name of the model.")
    String name;

    @Override
    public Integer call() {
        GgmlType requested = type;
        ClipConverter converter = ClipConverter.detect(source);
        if (requested != null) {
            converter = converter.outputType(requested);
        }
        GgmlType t = converter.outputType();
        if (tokenizer != null) {
            converter = converter.tokenizer(tokenizer);
        }
        if (name != null) {
            converter = converter.name(name);
        }
        PrintWriter err = spec.commandLine().getErr();
        ConversionResult result = converter.write(output, ConversionProgress.listener(err, "converting", main.verbose()));
        spec.commandLine().getOut().println("wrote " + result.output() + " (" + t + ")");
        return Main.EXIT_OK;
    }
}
