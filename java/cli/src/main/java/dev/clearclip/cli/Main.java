package dev.clearclip.cli;

import dev.clearclip.Images;
import dev.clearclip.cli.bench.BenchCommand;
import dev.clearclip.cli.bench.BenchProcess;
import dev.clearclip.cli.commands.ClassifyCommand;
import dev.clearclip.cli.commands.ConvertCommand;
import dev.clearclip.cli.commands.EmbedCommand;
import dev.clearclip.cli.commands.FeaturesCommand;
import dev.clearclip.cli.commands.InfoCommand;
import dev.clearclip.cli.commands.QuantizeCommand;
import dev.clearclip.cli.commands.SegmentCommand;
import dev.clearclip.cli.commands.TokenizeCommand;
import dev.clearclip.cli.eval.EvalCommand;
import dev.clearclip.cli.pull.PullCommand;
import dev.clearclip.cli.serve.ServeCommand;
import java.io.PrintWriter;
import java.util.function.LongSupplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * {@code clearclip}: convert and inspect CLIP models, embed text and pictures, and segment pictures
 * with ClearCLIP. Exit codes: 0 success, 1 runtime error (the message names the file and the problem),
 * 2 usage error.
 */
@Command(name = "clearclip",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Open-vocabulary semantic segmentation with ClearCLIP (CLIP models in GGUF).",
        subcommands = {
                ConvertCommand.class,
                QuantizeCommand.class,
                InfoCommand.class,
                TokenizeCommand.class,
                EmbedCommand.class,
                FeaturesCommand.class,
                SegmentCommand.class,
                ClassifyCommand.class,
                EvalCommand.class,
                BenchCommand.class,
                PullCommand.class,
                ServeCommand.class,
                CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {

    public static final int EXIT_OK = 0;
    public static final int EXIT_RUNTIME = 1;
    public static final int EXIT_USAGE = 2;

    // Given before the command name they apply to any command that runs a model; after it they are
    // accepted only by the commands where they act (EngineOptions), so other commands' help omits them.
    @Option(names = "--threads", paramLabel = "N",
            description = "CPU threads per inference call (default: all cores); for embed, features, segment, "
                    + "classify, eval, bench and serve.")
    int threads;

    @Option(names = "--backend", paramLabel = "NAME",
            description = "Compute backend: cpu, vulkan, cuda, metal or auto (default: auto, the first GPU "
                    + "device, else the CPU; where /dev has no GPU device node, the CPU without loading GPU drivers unless "
                    + "CLEARCLIP_AUTO_GPU=1; a second device is e.g. vulkan1); for the same commands. A Vulkan "
                    + "device needs its driver; Mesa's software device (lavapipe) needs GGML_VK_VISIBLE_DEVICES=0.")
    String backend = "auto";

    @Option(names = "--max-image-pixels", scope = ScopeType.INHERIT, paramLabel = "N",
            description = "Refuse pictures whose header claims more than N pixels (width x height), before "
                    + "decoding them (default: system property " + Images.MAX_PIXELS_PROPERTY + ", else "
                    + Images.DEFAULT_MAX_PIXELS + ").")
    Long maxImagePixels;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Show details, the engine's and ggml's messages and, on errors, stack traces.")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** CPU threads per inference call; 0: all cores. */
    public int threads() {
        return threads;
    }

    /** The backend's name, as given (auto, cpu, vulkan1, ...). */
    public String backend() {
        return backend;
    }

    /** --verbose: details, the engine's messages, stack traces. */
    public boolean verbose() {
        return verbose;
    }

    /** The pixel limit for pictures: --max-image-pixels, else the library's default. */
    public long maxImagePixels() {
        return maxImagePixels(Images::defaultMaxPixels);
    }

    /** --max-image-pixels, else {@code otherwise}'s limit (serve's depends on the heap). */
    public long maxImagePixels(LongSupplier otherwise) {
        if (maxImagePixels == null) {
            return otherwise.getAsLong();
        }
        if (maxImagePixels < 1) {
            throw new UsageException("--max-image-pixels must be at least 1, got " + maxImagePixels);
        }
        return maxImagePixels;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
    }

    public static void main(String[] args) {
        // Under a non-UTF-8 locale (e.g. LANG unset) the JVM has already mangled non-ASCII arguments.
        args = Utf8Arguments.recover(args);
        int code = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        // last, so that the figure covers all of the work: bench measuring this process asked for it
        BenchProcess.writePeakRssIfAsked();
        System.exit(code);
    }

    /** Runs the tool with the given output streams and returns the exit code (used by the tests). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        Main main = new Main();
        CommandLine cli = new CommandLine(main);
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler(new ErrorHandler(main));
        // once the options are parsed (--verbose may follow the command name), before any command runs
        cli.setExecutionStrategy(parsed -> {
            NativeLogs.configure(main.verbose, err);
            return new CommandLine.RunLast().execute(parsed);
        });
        int code = cli.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** clearclip's version, then the engine's and ggml's (with the CPU features it uses). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String engine;
            try {
                // "clearclip 0.1.0; ggml 0.20.2 (...); CPU: AVX2 ...": the engine's version, ggml's and its CPU features
                engine = dev.clearclip.ClipModel.systemInfo();
            } catch (RuntimeException | LinkageError e) {
                String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                return new String[] {"clearclip " + dev.clearclip.ClipModel.libraryVersion(), "engine: not loadable here (" + why + ")"};
            }
            return new String[] {"clearclip " + dev.clearclip.ClipModel.libraryVersion(), "engine: " + engine};
        }
    }
}
