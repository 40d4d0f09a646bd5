package dev.clearclip.cli;

import dev.clearclip.ClipModel;
import dev.clearclip.ModelOptions;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** A command that runs a model: {@code -m MODEL}, else the default model that {@code pull} recorded. */
public abstract class ModelCommand implements Callable<Integer> {

    @ParentCommand
    protected Main main;

    @Spec
    protected CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL.gguf",
            description = "Model file (default: the model recorded by 'clearclip pull').")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    TextCacheChoice textCacheChoice;

    /** --no-text-cache or --text-cache DIR: picocli refuses both. */
    static final class TextCacheChoice {
        @Option(names = "--no-text-cache",
                description = "Do not read or write the on-disk cache of class-name embeddings.")
        boolean noTextCache;

        @Option(names = "--text-cache", paramLabel = "DIR",
                description = "Folder of the class-name embedding cache (default: $XDG_CACHE_HOME/clearclip/text, "
                        + "else ~/.cache/clearclip/text).")
        Path textCache;
    }

    /** Applies --no-text-cache / --text-cache to {@code b}. */
    protected ModelOptions.Builder textCache(ModelOptions.Builder b) {
        if (textCacheChoice == null) {
            return b;
        }
        if (textCacheChoice.noTextCache) {
            b.noTextCache();
        } else if (textCacheChoice.textCache != null) {
            b.textCacheDir(textCacheChoice.textCache);
        }
        return b;
    }

    protected Path modelPath() {
        if (model != null) {
            return model;
        }
        return ModelStore.standard().defaultModel()
                .orElseThrow(() -> new IllegalStateException(ModelStore.howToGetAModel()));
    }

    protected ClipModel openModel() {
        return openModel(1);
    }

    protected ClipModel openModel(int contexts) {
        ModelOptions options = textCache(ModelOptions.builder()
                .threads(main.threads())
                .backend(main.backend())
                .contexts(contexts)
                .maxImagePixels(main.maxImagePixels())).build();
        ClipModel m = ClipModel.load(modelPath(), options);
        if (main.verbose()) {
            spec.commandLine().getErr().println("model " + m.path() + ": " + m.info().name() + " ("
                    + m.info().fileTypeName() + "), backend " + m.backendName() + ", CPU variant "
                    + ClipModel.cpuBackend().describe());
        }
        return m;
    }
}
