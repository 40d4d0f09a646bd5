package dev.clearclip;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.function.ObjIntConsumer;

/**
 * A CLIP model loaded from a GGUF file, ready for text and image encoding and ClearCLIP segmentation.
 *
 * <p><b>Concurrency.</b> One instance may be shared by any number of threads, and every call gives the
 * same result whichever thread makes it and however many run at once. The native model is immutable;
 * each call borrows a native inference context (created lazily, at most {@link #maxContexts()} of them,
 * each running {@link #threadsPerContext()} CPU threads) and returns it afterwards, so up to that many
 * calls run in parallel and the rest wait their turn. By default the pool never runs more threads than
 * there are cores; {@link ModelOptions} says how to size it for latency or throughput.
 *
 * <p><b>Closing.</b> {@link #close()} waits until the calls already running have finished, then frees
 * everything; it is idempotent. Calls made after it, and calls that were still waiting for the model
 * when it closed, throw {@link IllegalStateException} ("model ... is closed"); none ever touches freed
 * native memory. Calling {@code close()} from inside a call on the same model (e.g. from a callback)
 * throws {@link IllegalStateException} instead of waiting for itself forever.
 *
 * <p><b>Synonyms.</b> {@link #segment} and {@link #classify} combine the names of one class by the
 * same rule, the ClearCLIP reference's: a softmax over all names' logits, then the best probability
 * among each class's names (so with synonyms the class probabilities need not sum to 1).
 *
 * <p>This class owns the native model and its lifetime; the context pool ({@code ContextPool}) and
 * the prompt-ensemble and zero-shot maths ({@code ZeroShot}) live in classes of their own.
 */
public final class ClipModel implements AutoCloseable {

    /** CLIP's trained logit scale (its upper clamp), used for zero-shot classification. */
    public static final float CLASSIFY_LOGIT_SCALE = 100f;

    private final Path path;
    private final ModelOptions options;
    private final NativeEngine.ModelHandle model;
    private final ModelInfo info;

    /** Calls hold the read lock; close takes the write lock, so it never frees memory a call is using. */
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private volatile boolean closed;

    /** Sized once at load time from the options and the cores then available. */
    private final ContextPool<NativeEngine.ContextHandle> pool;
    private final ZeroShot zeroShot;

    private ClipModel(Path path, ModelOptions options, NativeEngine.ModelHandle model, ModelInfo info) {
        this.path = path;
        this.options = options;
        this.model = model;
        this.info = info;
        Optional<TextEmbeddingCache> textCache = options.textCacheDir().map(d -> new TextEmbeddingCache(d, options.textCacheMaxBytes()));
        ModelOptions.PoolSize size = ModelOptions.pool(options.threads(), options.contexts(), ModelOptions.availableCores());
        this.pool = new ContextPool<>(size,
                () -> NativeEngine.initContext(model, size.threadsPerContext(), options.backend()), NativeEngine::freeContext);
        this.zeroShot = new ZeroShot(this::encodeText, info.projectionDim(), textCache,
                () -> ModelFileHash.of(path, Optional.of(textCache.orElseThrow().dir().resolve("model-hashes"))));
    }

    /** Loads a model with the default options. */
    public static ClipModel load(Path path) {
        return load(path, ModelOptions.defaults());
    }

    /**
     * Loads and validates a CLIP GGUF file.
     *
     * @throws ModelLoadException naming the file and the problem (missing, not GGUF, wrong architecture, ...)
     */
    public static ClipModel load(Path path, ModelOptions options) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(options, "options");
        if (!Files.exists(path)) {
            throw new ModelLoadException(ClearClipException.Status.IO, path + ": no such file");
        }
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new ModelLoadException(ClearClipException.Status.IO, path + ": not a readable file");
        }
        NativeEngine.ModelHandle handle = NativeEngine.loadModel(path, options.mmap());
        ModelInfo info;
        try {
            info = NativeEngine.modelInfo(handle);
        } catch (RuntimeException e) {
            NativeEngine.freeModel(handle);
            throw e;
        }
        return new ClipModel(path, options, handle, info);
    }

    /**
     * Version of this library, the Maven project version (e.g. {@code 0.1.0-SNAPSHOT}), which is the
     * project's one version source: the engine's {@link #engineVersion()} is the same without the
     * {@code -SNAPSHOT} suffix. Read from a resource Maven writes at build time.
     */
    public static String libraryVersion() {
        return LibraryVersion.VALUE;
    }

    /** Loaded on first use only: a holder, so loading ClipModel does not read the resource. */
    private static final class LibraryVersion {
        static final String VALUE = read();

        private static String read() {
            try (var in = ClipModel.class.getResourceAsStream("version.properties")) {
                if (in == null) {
                    throw new IllegalStateException("dev/clearclip/version.properties is missing from the class path: build with Maven");
                }
                java.util.Properties p = new java.util.Properties();
                p.load(in);
                return p.getProperty("version");
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    /** Version of the native engine, e.g. {@code 0.1.0}. */
    public static String engineVersion() {
        return NativeEngine.version();
    }

    /** Description of the ggml build in use (version, CPU variant and its features). */
    public static String systemInfo() {
        return NativeEngine.systemInfo();
    }

    /**
     * The CPU backend in use: the ggml CPU variant chosen for this CPU and its features. Loads
     * the backends first if no model did yet.
     *
     * @throws ClearClipException (status BACKEND) when no CPU backend can be loaded
     */
    public static CpuBackend cpuBackend() {
        return NativeEngine.cpuBackend();
    }

    public Path path() {
        return path;
    }

    public ModelOptions options() {
        return options;
    }

    public ModelInfo info() {
        return info;
    }

    /** Most native contexts, i.e. calls that run at once (see {@link ModelOptions}). */
    public int maxContexts() {
        return pool.maxContexts();
    }

    /** CPU threads each native context runs (see {@link ModelOptions}). */
    public int threadsPerContext() {
        return pool.threadsPerContext();
    }

    /** Name of the backend inference runs on, e.g. {@code CPU}. */
    public String backendName() {
        return withContext(NativeEngine::backendName);
    }

    // ---- text -------------------------------------------------------------------------------

    /**
     * CLIP BPE token ids of a text, from start-of-text to end-of-text, truncated to the context length.
     *
     * @throws InvalidTextException if the text contains NUL or an unpaired surrogate (named with its index)
     */
    public int[] tokenize(String text) {
        Objects.requireNonNull(text, "text");
        Texts.requireEncodable(text, "text");
        requireText();
        return withModel(() -> NativeEngine.tokenize(model, text, Math.max(2, info.contextLength())));
    }

    /**
     * L2-normalised embeddings of the texts, one row per text.
     *
     * @throws InvalidTextException if a text contains NUL or an unpaired surrogate (named with its
     *                              position in the list and the index in the text)
     */
    public float[][] encodeText(List<String> texts) {
        float[][] out = new float[texts.size()][];
        encodeText(texts, (row, i) -> out[i] = row.clone());
        return out;
    }

    /**
     * Hands the L2-normalised embedding of each text to {@code rows} with its index, in order, in an
     * array reused for the next row: the prompt ensemble sums them without keeping them.
     */
    private void encodeText(List<String> texts, ObjIntConsumer<float[]> rows) {
        requireText();
        for (String t : texts) {
            Objects.requireNonNull(t, "texts must not contain null");
        }
        Texts.requireEncodable(texts, "text");
        int dim = info.projectionDim();
        for (int start = 0; start < texts.size(); start += ZeroShot.TEXT_BATCH) {
            int first = start;
            List<String> batch = texts.subList(start, Math.min(texts.size(), start + ZeroShot.TEXT_BATCH));
            withContext(ctx -> {
                NativeEngine.encodeText(ctx, batch, dim, (row, i) -> rows.accept(row, first + i));
                return null;
            });
        }
    }

    public float[] encodeText(String text) {
        Objects.requireNonNull(text, "text");
        Texts.requireEncodable(text, "text");
        return encodeText(List.of(text))[0];
    }

    /** Class embeddings from the 80 ImageNet prompt templates (cached on disk when enabled). */
    public ClassEmbeddings classEmbeddings(ClassSet classes) {
        return classEmbeddings(classes, PromptTemplates.imagenet80());
    }

    /**
     * Embeds every name of every class with a prompt ensemble: each template filled with the name is
     * encoded (L2-normalised), the embeddings are averaged and the mean is normalised again. Cached
     * on disk when {@link ModelOptions#textCacheDir()} is set.
     */
    public ClassEmbeddings classEmbeddings(ClassSet classes, List<String> templates) {
        requireText();
        return zeroShot.classEmbeddings(classes, templates);
    }

    // ---- vision -----------------------------------------------------------------------------

    /**
     * Global, L2-normalised embedding of a picture after standard CLIP preprocessing: bicubic resize of
     * the short side to the model's image size, then a centred square crop.
     */
    public float[] encodeImage(RgbImage image) {
        requireVision(); // before preprocessing, which needs the vision tower's image size
        return encodeImageAsIs(Images.clipPreprocess(image, info.imageSize()));
    }

    /**
     * Global embedding of a picture taken as it is (sides a multiple of the patch size); position
     * embeddings are interpolated when it is not the model's image size.
     */
    float[] encodeImageAsIs(RgbImage input) {
        requireVision();
        return withContext(ctx -> NativeEngine.encodeImage(ctx, model, input, info.projectionDim()));
    }

    public float[] encodeImage(Path file) {
        return encodeImage(Images.read(file, Images.DEFAULT_MAX_SIDE, options.maxImagePixels()));
    }

    /**
     * Dense, L2-normalised patch features of a picture at its own size: zero-padded (after normalisation)
     * to a multiple of the patch size, never resized.
     */
    public DenseFeatures denseFeatures(RgbImage image, BlockMode mode) {
        return denseFeatures(image, mode, BlockMode.NACLIP_DEFAULT_STD);
    }

    /** Same, with the standard deviation (patches, > 0) of the {@link BlockMode#NACLIP} Gaussian bias. */
    public DenseFeatures denseFeatures(RgbImage image, BlockMode mode, float naclipStd) {
        requireVision();
        if (!(naclipStd > 0) || !Float.isFinite(naclipStd)) {
            throw new IllegalArgumentException("naclipStd must be a positive number, got " + naclipStd);
        }
        Objects.requireNonNull(mode, "mode");
        int[] grid = withModel(() -> NativeEngine.denseGrid(model, image.width(), image.height()));
        long floats = (long) grid[0] * grid[1] * info.projectionDim();
        if (floats > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("image " + image.width() + "x" + image.height()
                    + " is too large for dense features (" + floats + " values)");
        }
        float[] data = withContext(ctx -> NativeEngine.denseFeatures(ctx, model, image, mode, naclipStd, floats));
        return new DenseFeatures(grid[0], grid[1], info.projectionDim(), data);
    }

    // ---- segmentation and classification ----------------------------------------------------

    /**
     * ClearCLIP open-vocabulary segmentation. When {@link SegmentOptions#usesBackground()} holds, a
     * {@code background} class is put at index 0 (if absent) and thresholded pixels get it.
     */
    public SegmentationResult segment(RgbImage image, ClassSet classes, SegmentOptions options) {
        requireText();
        requireVision();
        ClassSet effective = options.usesBackground() ? classes.withBackground() : classes;
        ClassEmbeddings embeddings = classEmbeddings(effective);
        return segment(image, embeddings, options);
    }

    /**
     * Segments a picture file. The label map has the picture's displayed size: pictures up to
     * {@value Images#ENGINE_MAX_SIDE} pixels per side are computed at that size (the engine upsamples the
     * window logits to it, as the reference does); longer ones are computed at that long side and the
     * labels scaled up to the picture's size ({@link SegmentationResult#scaledTo}).
     */
    public SegmentationResult segment(Path file, ClassSet classes, SegmentOptions options) {
        int[] size = Images.displayedSize(file);
        RgbImage image = Images.read(file, Images.ENGINE_MAX_SIDE, this.options.maxImagePixels());
        return segment(image, classes, options).scaledTo(size[0], size[1]);
    }

    /**
     * Names (of any class) whose prompts are longer than the model's context length with at least one of
     * {@code templates}: the engine cuts such prompts, so two long names that differ only past the cut
     * get the same embedding.
     */
    public List<String> overlongNames(ClassSet classes, List<String> templates) {
        requireText();
        int context = info.contextLength();
        // Words and punctuation are split before BPE, so a prompt has about the name's tokens plus the
        // template's; only names near the limit are checked prompt by prompt (2 tokens of margin).
        int templateMax = 0;
        for (String t : templates) {
            String empty = PromptTemplates.fill(t, "");
            templateMax = Math.max(templateMax, withModel(() -> NativeEngine.tokenize(model, empty, context + 1)).length);
        }
        List<String> out = new ArrayList<>();
        for (String name : classes.allNames()) {
            int alone = withModel(() -> NativeEngine.tokenize(model, name, context + 1)).length;
            if (alone - 2 + templateMax + 2 <= context) {
                continue;
            }
            for (String t : templates) {
                String prompt = PromptTemplates.fill(t, name);
                int n = withModel(() -> NativeEngine.tokenize(model, prompt, context + 1)).length;
                if (n > context) {
                    out.add(name);
                    break;
                }
            }
        }
        return out;
    }

    /** Segmentation with class embeddings computed beforehand (e.g. reused over many pictures). */
    public SegmentationResult segment(RgbImage image, ClassEmbeddings embeddings, SegmentOptions options) {
        return segment(image, embeddings, options, null);
    }

    /**
     * Segmentation that reports each finished sliding window to {@code progress} (null: none). Like every
     * call, it stops within one window when the calling thread is interrupted or the options' timeout
     * passes, throwing {@link AbortedException}; the model stays usable.
     */
    public SegmentationResult segment(RgbImage image, ClassEmbeddings embeddings, SegmentOptions requested,
                                      SegmentProgressListener progress) {
        requireVision();
        // the short side a strip would need can exceed the engine's limit: lower it, keep the map's size
        SegmentOptions options = requested.fittedTo(image.width(), image.height());
        ClassSet classes = embeddings.classes();
        if (options.probThreshold() > 0 && !classes.hasBackground()) {
            throw new IllegalArgumentException("a probability threshold needs a 'background' class at index 0");
        }
        if (embeddings.dim() != info.projectionDim()) {
            throw new IllegalArgumentException("class embeddings have " + embeddings.dim()
                    + " dimensions, the model " + info.projectionDim());
        }
        int pixels = image.width() * image.height();
        int nClasses = classes.size();
        float[][] probs = null;
        if (options.keepProbabilities()) {
            probs = new float[nClasses][pixels];
        }
        int[] labels = new int[pixels];
        float[] flat = embeddings.flat();
        int[] nameClass = classes.nameClasses();
        float[][] probsOut = probs;
        withContext(ctx -> {
            NativeEngine.segment(ctx, image, flat, nameClass.length, nameClass, nClasses, options, 0, labels, probsOut,
                    progress);
            return null;
        });
        return SegmentationResult.of(image.width(), image.height(), labels, classes.classNames(),
                Optional.ofNullable(probs));
    }

    /**
     * Zero-shot classification: the picture's global embedding against the classes' template-ensemble
     * embeddings. A name's logit is its cosine times {@value #CLASSIFY_LOGIT_SCALE}; the softmax runs
     * over all names and a class's probability is the best among its names (the rule segmentation
     * uses per pixel, see the class comment); its similarity is its best name's cosine. Returns the
     * {@code topK} most probable, most probable first.
     */
    public List<Classification> classify(RgbImage image, ClassSet classes, int topK) {
        if (topK < 1) {
            throw new IllegalArgumentException("topK must be >= 1, got " + topK);
        }
        ClassEmbeddings embeddings = classEmbeddings(classes);
        return ZeroShot.classify(encodeImage(image), embeddings, CLASSIFY_LOGIT_SCALE, topK);
    }

    // ---- lifecycle --------------------------------------------------------------------------

    private void requireText() {
        if (!info.hasText()) {
            throw new InferenceException(ClearClipException.Status.NO_TOWER, path + " has no text tower");
        }
    }

    private void requireVision() {
        if (!info.hasVision()) {
            throw new InferenceException(ClearClipException.Status.NO_TOWER, path + " has no vision tower");
        }
    }

    /** Runs a call that needs the native model but no context; package-private for the lifecycle tests. */
    <T> T withModel(java.util.function.Supplier<T> call) {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            return call.get();
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private <T> T withContext(Function<NativeEngine.ContextHandle, T> call) {
        lifecycle.readLock().lock();
        try {
            ensureOpen();
            NativeEngine.ContextHandle ctx = pool.borrow();
            try {
                return call.apply(ctx);
            } finally {
                pool.giveBack(ctx);
            }
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("model " + path + " is closed");
        }
    }

    /** Number of native contexts created so far (for tests and diagnostics). */
    int contextsCreated() {
        return pool.created();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (lifecycle.getReadHoldCount() > 0) {
            // The write lock cannot be taken while this thread holds the read lock: it would wait forever.
            throw new IllegalStateException("model " + path + " cannot be closed from inside one of its own calls");
        }
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            pool.freeAll();
            NativeEngine.freeModel(model);
        } finally {
            lifecycle.writeLock().unlock();
        }
    }
}
