package dev.clearclip.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code --threads} and {@code --backend} after the command name, on the commands that run inference
 * (embed, features, segment, classify, eval, bench, serve) and only there: other commands' help does
 * not offer options that would do nothing. The values go to {@link Main}, where the commands read them
 * (and where they land when given before the command name).
 */
public final class EngineOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec mixee;

    private Main main() {
        return (Main) mixee.root().userObject();
    }

    @Option(names = "--threads", paramLabel = "N", description = "CPU threads per inference call (default: all cores).")
    void threads(Integer n) {
        if (n != null) { // null: picocli resetting an option not given
            main().threads = n;
        }
    }

    @Option(names = "--backend", paramLabel = "NAME", description = "Compute backend: cpu, vulkan, cuda, metal or auto (default: auto, the "
            + "first GPU device, else the CPU; where /dev has no GPU device node, the CPU without loading GPU drivers "
            + "unless CLEARCLIP_AUTO_GPU=1). A Vulkan device needs its driver; Mesa's software device (lavapipe) "
            + "needs GGML_VK_VISIBLE_DEVICES=0.")
    void backend(String name) {
        if (name != null) {
            main().backend = name;
        }
    }
}
