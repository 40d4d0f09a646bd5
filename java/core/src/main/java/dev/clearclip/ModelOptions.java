package dev.clearclip;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * How a model is loaded and run.
 *
 * @param threads       CPU threads per inference call; 0 means all cores
 * @param contexts      how many inference calls may run at once on the shared model (each needs its own
 *                      native context with its own buffers; they are created lazily, up to this number)
 * @param backend       "cpu", "cuda", "metal" or "auto" (the first GPU ggml offers, else the CPU)
 * @param mmap          map the model file instead of reading it into memory
 * @param textCacheDir  where class-name embeddings are cached; empty disables the on-disk cache
 */
public record ModelOptions(int threads, int contexts, String backend, boolean mmap, Optional<Path> textCacheDir) {

    public ModelOptions {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0 (0 = all cores), got " + threads);
        }
        if (contexts < 1) {
            throw new IllegalArgumentException("contexts must be >= 1, got " + contexts);
        }
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(textCacheDir, "textCacheDir");
    }

    /** The default text-embedding cache: {@code $XDG_CACHE_HOME/clearclip/text} or {@code ~/.cache/clearclip/text}. */
    public static Path defaultTextCacheDir() {
        return CacheDirs.root().resolve("text");
    }

    public static ModelOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.threads = threads;
        b.contexts = contexts;
        b.backend = backend;
        b.mmap = mmap;
        b.textCacheDir = textCacheDir;
        return b;
    }

    public static final class Builder {
        private int threads = 0;
        private int contexts = Math.max(1, Runtime.getRuntime().availableProcessors());
        private String backend = "auto";
        private boolean mmap = true;
        private Optional<Path> textCacheDir = Optional.of(defaultTextCacheDir());

        private Builder() {
        }

        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        public Builder contexts(int contexts) {
            this.contexts = contexts;
            return this;
        }

        public Builder backend(String backend) {
            this.backend = backend;
            return this;
        }

        public Builder mmap(boolean mmap) {
            this.mmap = mmap;
            return this;
        }

        public Builder textCacheDir(Path dir) {
            this.textCacheDir = Optional.of(dir);
            return this;
        }

        public Builder noTextCache() {
            this.textCacheDir = Optional.empty();
            return this;
        }

        public ModelOptions build() {
            return new ModelOptions(threads, contexts, backend, mmap, textCacheDir);
        }
    }
}
