package dev.clearclip.cli;

import dev.clearclip.FileSupport;
import dev.clearclip.CacheDirs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Models that {@code pull} converted, under {@code ~/.cache/clearclip/models/}, and the default model
 * ({@code models/default}, a text file holding the path) that commands use when no {@code -m} is given.
 */
public final class ModelStore {

    private final Path dir;

    ModelStore(Path dir) {
        this.dir = dir;
    }

    public static ModelStore standard() {
        return new ModelStore(CacheDirs.root().resolve("models"));
    }

    public Path dir() {
        return dir;
    }

    public Path downloads() {
        return CacheDirs.root().resolve("downloads");
    }

    /** The recorded default model, if its file still exists. */
    Optional<Path> defaultModel() {
        Path record = dir.resolve("default");
        try {
            if (!Files.isRegularFile(record)) {
                return Optional.empty();
            }
            Path model = Path.of(Files.readString(record, StandardCharsets.UTF_8).strip());
            return Files.isRegularFile(model) ? Optional.of(model) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    public void setDefault(Path model) throws IOException {
        FileSupport.writeAtomically(dir.resolve("default"), model.toAbsolutePath().normalize() + "\n");
    }

    /** What to tell a person who has no model yet. */
    static String howToGetAModel() {
        return """
                no model given (-m MODEL.gguf) and no default model has been pulled yet.
                Get one with:
                  java -jar java/cli/target/clearclip.jar pull openai/clip-vit-base-patch16
                (downloads the checkpoint from the Hugging Face hub, converts it to GGUF and makes it the default),
                or convert a local checkpoint with:
                  java -jar java/cli/target/clearclip.jar convert CHECKPOINT_DIR -o model.gguf
                and pass -m model.gguf.""";
    }
}
