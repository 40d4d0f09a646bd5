package dev.clearclip.cli.commands;

import dev.clearclip.ClipModel;
import dev.clearclip.CpuBackend;
import dev.clearclip.cli.Main;
import dev.clearclip.gguf.GgufFile;
import dev.clearclip.gguf.inspect.GgufInspector;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "info", mixinStandardHelpOptions = true,
        description = {"Describe a GGUF model: header, metadata keys and tensors.",
                "The text form ends with the engine that would run it: version and the ggml CPU"
                        + " variant chosen for this CPU, with its features."})
public final class InfoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "GGUF model file.")
    Path model;

    @Option(names = "--json", description = "Print JSON instead of text.")
    boolean json;

    @Option(names = "--full", description = "Print long arrays (the vocabulary) in full.")
    boolean full;

    @Override
    public Integer call() {
        try (GgufFile file = GgufFile.open(model)) {
            String text = json ? GgufInspector.json(file, full) : GgufInspector.text(file, full);
            spec.commandLine().getOut().println(text.stripTrailing());
        }
        if (!json) {
            spec.commandLine().getOut().println(engineLine());
        }
        return Main.EXIT_OK;
    }

    /** The file is described by Java alone; the engine is asked only here, and may be missing. */
    static String engineLine() {
        try {
            CpuBackend cpu = ClipModel.cpuBackend();
            // "...; devices: CPU (...), Vulkan0 (...); auto: Vulkan0": the devices and the one --backend auto takes
            String info = ClipModel.systemInfo();
            int devices = info.indexOf("devices:");
            return "engine: clearclip " + ClipModel.engineVersion() + ", CPU variant " + cpu.describe()
                    + " on " + cpu.cpu() + (devices >= 0 ? "; " + info.substring(devices) : "");
        } catch (RuntimeException | LinkageError e) {
            return "engine: not available (" + e.getMessage() + ")";
        }
    }
}
