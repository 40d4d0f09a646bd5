package dev.clearclip;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * How a model is loaded and run.
 *
 * <p><b>Threads and contexts.</b> A {@link ClipModel} runs each call on a native inference context
 * borrowed from a pool; up to {@link #maxContexts()} calls run at once and each uses
 * {@link #threadsPerContext()} CPU threads. ggml's CPU threads spin at their barriers, so more busy
 * threads than cores slows everything down by far more than the overlap ({@code clearclip bench
 * --shared-model} measures it; figures in the project's {@code bench/README.md}).
 * Unless both numbers are given, they are therefore chosen so that contexts x threads does not exceed
 * the cores ({@link Runtime#availableProcessors()}, which honours CPU affinity, container limits and
 * {@code -XX:ActiveProcessorCount}):
 * <ul>
 *   <li>neither given (the default): 1 context with all cores, the best latency for one caller;
 *       concurrent callers take turns;</li>
 *   <li>only {@code contexts} given: each context gets {@code max(1, cores / contexts)} threads, e.g.
 *       {@code contexts(availableCores())} (one thread each) for the best throughput of many concurrent
 *       callers, as a multi-threaded context also waits for its threads whenever other processes hold
 *       the cores;</li>
 *   <li>only {@code threads} given: {@code max(1, cores / threads)} contexts;</li>
 *   <li>both given: used as given, even when their product exceeds the cores.</li>
 * </ul>
 *
 * @param threads        CPU threads per inference context; 0 (default) chooses them, see above
 * @param contexts       most native contexts (each with its own buffers, created lazily), i.e. calls
 *                       that run at once on the shared model; 0 (default) chooses them, see above
 * @param backend        "cpu", "vulkan", "cuda", "metal" (a second device of a kind: "vulkan1", ...) or
 *                       "auto" (the first GPU ggml offers, else the CPU; on Linux without a GPU device
 *                       node in /dev the CPU without loading GPU modules, unless CLEARCLIP_AUTO_GPU=1);
 *                       see docs/gpu.md
 * @param mmap           map the model file instead of reading it into memory
 * @param textCacheDir   where class-name embeddings are cached; empty disables the on-disk cache
 * @param textCacheMaxBytes most bytes the on-disk text cache may hold: past it, the entries used longest
 *                       ago are deleted (default {@value #DEFAULT_TEXT_CACHE_MAX_BYTES}); bounds what
 *                       clients of a server can make it write
 * @param maxImagePixels pictures whose header claims more pixels are refused before decoding by the
 *                       methods that take a file ({@link Images#read(Path, int, long)}); default
 *                       {@link Images#defaultMaxPixels()}
 */
public record ModelOptions(int threads, int contexts, String backend, boolean mmap, Optional<Path> textCacheDir,
                           long maxImagePixels, long textCacheMaxBytes) {

    /** Default cap of the on-disk text cache: 256 MiB (a 21-class preset at ViT-B/16 takes about 45 kB). */
    public static final long DEFAULT_TEXT_CACHE_MAX_BYTES = 256L << 20;

    public ModelOptions {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0 (0 = chosen from the cores), got " + threads);
        }
        if (contexts < 0) {
            throw new IllegalArgumentException("contexts must be >= 0 (0 = chosen from the cores), got " + contexts);
        }
        if (maxImagePixels < 1) {
            throw new IllegalArgumentException("maxImagePixels must be >= 1, got " + maxImagePixels);
        }
        if (textCacheMaxBytes < 1) {
            throw new IllegalArgumentException("textCacheMaxBytes must be >= 1, got " + textCacheMaxBytes);
        }
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(textCacheDir, "textCacheDir");
    }

    /** The default text-embedding cache: {@code $XDG_CACHE_HOME/clearclip/text} or {@code ~/.cache/clearclip/text}. */
    public static Path defaultTextCacheDir() {
        return CacheDirs.root().resolve("text");
    }

    /** Cores available to this JVM, the budget the automatic pool sizing divides. */
    public static int availableCores() {
        return Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    /** Threads each native context uses: {@link #threads()} if set, else chosen as the class comment says. */
    public int threadsPerContext() {
        return pool(threads, contexts, availableCores()).threadsPerContext();
    }

    /** Most native contexts, i.e. calls running at once: {@link #contexts()} if set, else chosen. */
    public int maxContexts() {
        return pool(threads, contexts, availableCores()).contexts();
    }

    /** A context pool's size: at most {@code contexts} calls at once, each on {@code threadsPerContext} threads. */
    record PoolSize(int contexts, int threadsPerContext) {
    }

    /**
     * The pool size for the given settings (0 = choose) on a machine with {@code cores} cores. Only when
     * both are given may their product exceed the cores.
     */
    static PoolSize pool(int threads, int contexts, int cores) {
        if (threads > 0 && contexts > 0) {
            return new PoolSize(contexts, threads);
        }
        if (contexts > 0) {
            return new PoolSize(contexts, Math.max(1, cores / contexts));
        }
        if (threads > 0) {
            return new PoolSize(Math.max(1, cores / threads), threads);
        }
        return new PoolSize(1, cores);
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
        b.maxImagePixels = maxImagePixels;
        b.textCacheMaxBytes = textCacheMaxBytes;
        return b;
    }

    public static final class Builder {
        private int threads = 0;
        private int contexts = 0;
        private String backend = "auto";
        private boolean mmap = true;
        private Optional<Path> textCacheDir = Optional.of(defaultTextCacheDir());
        private long maxImagePixels = ImageLimits.defaultMaxPixels();
        private long textCacheMaxBytes = DEFAULT_TEXT_CACHE_MAX_BYTES;

        private Builder() {
        }

        /** CPU threads per context; 0 = chosen so that contexts x threads fits the cores. */
        public Builder threads(int threads) {
            this.threads = threads;
            return this;
        }

        /** Most contexts (concurrent calls); 0 = chosen so that contexts x threads fits the cores. */
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

        /** Largest picture (width x height as its header claims) read from a file; see {@link Images#read(Path, int, long)}. */
        public Builder maxImagePixels(long maxImagePixels) {
            this.maxImagePixels = maxImagePixels;
            return this;
        }

        /** Most bytes the on-disk text cache may hold; the entries used longest ago are deleted beyond. */
        public Builder textCacheMaxBytes(long bytes) {
            this.textCacheMaxBytes = bytes;
            return this;
        }

        public ModelOptions build() {
            return new ModelOptions(threads, contexts, backend, mmap, textCacheDir, maxImagePixels, textCacheMaxBytes);
        }
    }
}
