package dev.clearclip.cli;

import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.quantize.GgufQuantizer;
import dev.clearclip.gguf.quantize.SizeReport;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Re-encode the matrices of a GGUF model in another type (norms and embeddings stay f32).")
final class QuantizeCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IN", description = "Input GGUF model.")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "Output file.")
    Path output;

    @Option(names = "--type", required = true, paramLabel = "T",
            description = "f32, f16, q8_0, q5_1, q5_0, q4_1 or q4_0.")
    String type;

    @Override
    public Integer call() {
        GgmlType t = ConvertCommand.parseType(type);
        SizeReport report = GgufQuantizer.quantize(input, output,
                t, ConvertCommand.listener(spec.commandLine().getErr(), "quantizing", main.verbose));
        spec.commandLine().getOut().println(report.format());
        spec.commandLine().getOut().println("wrote " + output + " (" + t + ")");
        return Main.EXIT_OK;
    }
}
