package dev.clearclip.cli.commands;

import dev.clearclip.cli.ConversionProgress;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.OutputTypes;
import dev.clearclip.cli.UsageException;
import dev.clearclip.gguf.GgmlType;
import dev.clearclip.gguf.quantize.GgufQuantizer;
import dev.clearclip.gguf.quantize.SizeReport;
import dev.clearclip.gguf.ProgressListener;
import dev.clearclip.gguf.TensorProgress;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Re-encode a GGUF model in another type: the 2-D weight matrices and the token and patch "
                + "embeddings take the type (f16 where their rows are not a whole number of its blocks); norms, "
                + "biases, the class and position embeddings and other 1-D tensors stay f32.",
                "OUT must be another file than IN."})
public final class QuantizeCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "IN", description = "Input GGUF model.")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "Output file.")
    Path output;

    @Option(names = "--type", required = true, paramLabel = "T", converter = OutputTypes.class,
            completionCandidates = OutputTypes.class, description = "${COMPLETION-CANDIDATES}.")
    GgmlType t;

    @Override
    public Integer call() throws IOException {
        // the quantizer reads IN while it writes OUT: the same file would be destroyed half-way
        if (Files.exists(output) && Files.exists(input) && Files.isSameFile(input, output)) {
            throw new UsageException("-o " + output + " is the input file; write to another file (and move it over "
                    + "the input afterwards if that is what you want)");
        }
        PrintWriter err = spec.commandLine().getErr();
        GroupedNotes notes = new GroupedNotes(ConversionProgress.listener(err, "quantizing", main.verbose()), err, main.verbose());
        SizeReport report = GgufQuantizer.quantize(input, output, t, notes);
        notes.flush();
        spec.commandLine().getOut().println(report.format());
        spec.commandLine().getOut().println("wrote " + output + " (" + t + ")");
        return Main.EXIT_OK;
    }

    /**
     * The quantizer notes each tensor (re-encoding a quantized file notes every matrix): print each kind of
     * note once with its count after the progress bar, the tensor names only with --verbose.
     */
    static final class GroupedNotes implements ProgressListener {
        private final ProgressListener inner;
        private final PrintWriter err;
        private final boolean verbose;
        private final Map<String, List<String>> byMessage = new LinkedHashMap<>();

        GroupedNotes(ProgressListener inner, PrintWriter err, boolean verbose) {
            this.inner = inner;
            this.err = err;
            this.verbose = verbose;
        }

        @Override
        public void tensorWritten(TensorProgress p) {
            inner.tensorWritten(p);
        }

        @Override
        public void note(String message) {
            // "NAME is re-encoded from q8_0: ..." / "NAME stays f16: ...": grouped by what follows the name
            int space = message.indexOf(' ');
            String name = space > 0 ? message.substring(0, space) : "";
            String rest = space > 0 ? message.substring(space + 1) : message;
            byMessage.computeIfAbsent(rest, k -> new ArrayList<>()).add(name);
        }

        void flush() {
            byMessage.forEach((rest, names) -> {
                if (names.size() == 1) {
                    err.println("note: " + names.get(0) + " " + rest);
                } else {
                    err.println("note: " + names.size() + " tensors " + rest.replaceFirst("^is ", "are ")
                            + (verbose ? " (" + String.join(", ", names) + ")" : ""));
                }
            });
            err.flush();
        }
    }
}
