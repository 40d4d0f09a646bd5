package dev.clearclip.cli.commands;

import dev.clearclip.BlockMode;
import dev.clearclip.ClipModel;
import dev.clearclip.CommandLineValues;
import dev.clearclip.DenseFeatures;
import dev.clearclip.Images;
import dev.clearclip.cli.EngineOptions;
import dev.clearclip.cli.Main;
import dev.clearclip.cli.ModelCommand;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "features", mixinStandardHelpOptions = true,
        description = "Write the dense, L2-normalised patch features of a picture at its own size (zero-padded "
                + "to the patch size, not resized) as a float32 .npy of shape [grid_h*grid_w, dim], row-major.")
public final class FeaturesCommand extends ModelCommand {

    @Mixin
    EngineOptions engine;

    @Option(names = "--image", required = true, paramLabel = "PATH", description = "The picture.")
    Path image;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT.npy", description = "Output .npy file.")
    Path output;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "clearclip", converter = CommandLineValues.Modes.class,
            completionCandidates = CommandLineValues.Modes.class,
            description = "Final block: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    BlockMode blockMode;

    @Override
    public Integer call() throws Exception {
        try (ClipModel m = openModel()) {
            DenseFeatures f = m.denseFeatures(Images.read(image, Integer.MAX_VALUE, main.maxImagePixels()), blockMode);
            Npy.writeFloat32(output, f.data(), f.gridHeight() * f.gridWidth(), f.dim());
            spec.commandLine().getOut().printf("wrote %s: [%d, %d] (grid %d x %d patches, mode %s)%n", output,
                    f.gridHeight() * f.gridWidth(), f.dim(), f.gridWidth(), f.gridHeight(), blockMode.id());
        }
        return Main.EXIT_OK;
    }
}
