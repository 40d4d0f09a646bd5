package dev.clearclip.cli.pull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The cache huggingface_hub keeps ({@code $HF_HUB_CACHE}, default {@code $HF_HOME/hub}):
 * {@code models--<org>--<name>/refs/<revision>} holds a commit, {@code snapshots/<commit>/} its files.
 * With {@code HF_HUB_OFFLINE=1}, {@code pull} converts from there instead of asking the hub.
 */
final class HubCache {
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    private HubCache() {
    }

    static Path root(Function<String, String> env) {
        String cache = env.apply("HF_HUB_CACHE");
        if (cache == null || cache.isBlank()) {
            cache = env.apply("HUGGINGFACE_HUB_CACHE");
        }
        return cache != null && !cache.isBlank() ? Path.of(cache.strip()) : HubSettings.hfHome(env).resolve("hub");
    }

    /** The cached snapshot of {@code repo} at {@code revision}, if there is one. */
    static Optional<Path> snapshot(Function<String, String> env, String repo, String revision) {
        Path model = root(env).resolve("models--" + repo.replace("/", "--"));
        String commit = revision;
        if (!COMMIT.matcher(revision).matches()) {
            Path ref = model.resolve("refs").resolve(revision).normalize();
            if (!ref.startsWith(model.resolve("refs")) || !Files.isRegularFile(ref)) {
                return Optional.empty();
            }
            try {
                commit = Files.readString(ref).strip();
            } catch (IOException e) {
                return Optional.empty();
            }
            if (!COMMIT.matcher(commit).matches()) {
                return Optional.empty();
            }
        }
        Path snapshot = model.resolve("snapshots").resolve(commit);
        return Files.isDirectory(snapshot) ? Optional.of(snapshot) : Optional.empty();
    }
}
