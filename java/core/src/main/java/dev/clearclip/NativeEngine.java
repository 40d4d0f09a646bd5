package dev.clearclip;

import static dev.clearclip.bindings.ffi.ClearClipNative.*;

import dev.clearclip.bindings.ffi.clearclip_abort_callback;
import dev.clearclip.bindings.ffi.clearclip_backend_info;
import dev.clearclip.bindings.ffi.clearclip_context_params;
import dev.clearclip.bindings.ffi.clearclip_image;
import dev.clearclip.bindings.ffi.clearclip_log_callback;
import dev.clearclip.bindings.ffi.clearclip_model_info;
import dev.clearclip.bindings.ffi.clearclip_model_params;
import dev.clearclip.bindings.ffi.clearclip_progress_callback;
import dev.clearclip.bindings.ffi.clearclip_segment_params;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ObjIntConsumer;

/**
 * Every call into the generated bindings goes through here, so the rest of the library sees no FFM
 * types beyond opaque handles, and a change of the generated names touches one file. Each method
 * validates sizes before the native call and turns a failed status into an exception carrying the
 * engine's message (clearclip_last_error is thread-local, so it is read on the calling thread).
 */
final class NativeEngine {

    private NativeEngine() {
    }

    /** Where the engine's and ggml's messages go (see {@link #routeLogs()}). */
    static final String LOGGER_NAME = "dev.clearclip.native";

    /**
     * The upcall stubs C calls back into. They live in the global arena, so they stay valid for as
     * long as C may hold them (the log callback stays installed for the life of the process), and they
     * are static methods that find their per-call state by an id passed as user data. A holder class,
     * so that they are made on first use, after the native library has loaded. No exception may leave
     * an upcall (the JVM would crash): each catches everything.
     */
    private static final class Upcalls {
        static final System.Logger LOG = System.getLogger(LOGGER_NAME);
        static final MemorySegment ABORT = clearclip_abort_callback.allocate(NativeEngine::abortRequested, Arena.global());
        static final MemorySegment PROGRESS = clearclip_progress_callback.allocate(NativeEngine::windowDone, Arena.global());
        static final MemorySegment LOGGER = clearclip_log_callback.allocate(NativeEngine::log, Arena.global());

        static {
            // ggml's logger is process-wide: from here on, ggml's messages in this process (not only
            // ours) go to System.Logger instead of stderr.
            clearclip_log_set(LOGGER, MemorySegment.NULL);
        }
    }

    /** Routes the engine's and ggml's messages to System.Logger {@value #LOGGER_NAME}; idempotent. */
    static void routeLogs() {
        Objects.requireNonNull(Upcalls.LOGGER);
    }

    private static void log(int level, MemorySegment text, MemorySegment userData) {
        try {
            System.Logger.Level l = level == CLEARCLIP_LOG_ERROR() ? System.Logger.Level.ERROR
                    : level == CLEARCLIP_LOG_WARN() ? System.Logger.Level.WARNING
                    : level == CLEARCLIP_LOG_INFO() ? System.Logger.Level.INFO
                    : System.Logger.Level.DEBUG;
            if (!Upcalls.LOG.isLoggable(l)) {
                return;
            }
            String s = text.reinterpret(Long.MAX_VALUE).getString(0).stripTrailing();
            if (!s.isEmpty()) {
                Upcalls.LOG.log(l, s);
            }
        } catch (Throwable t) {
            // nothing may escape an upcall; a lost log line is the lesser harm
        }
    }

    private static final AtomicLong CALL_IDS = new AtomicLong();
    private static final Map<Long, Call> CALLS = new ConcurrentHashMap<>();

    /**
     * One native call that can be stopped: while it is open the context's abort callback asks it
     * whether to stop (the calling thread interrupted, the deadline passed, or the progress listener
     * failed), and the progress callback reaches its listener.
     */
    private static final class Call implements AutoCloseable {
        final long id = CALL_IDS.incrementAndGet();
        final MemorySegment ctx;
        final Thread thread = Thread.currentThread();
        final long deadline; // System.nanoTime(); only when hasDeadline
        final boolean hasDeadline;
        final Duration timeout;
        final SegmentProgressListener listener;
        volatile Throwable listenerFailure;

        Call(MemorySegment ctx, Duration timeout, SegmentProgressListener listener) {
            this.ctx = ctx;
            this.timeout = timeout;
            this.hasDeadline = timeout != null;
            this.deadline = hasDeadline ? System.nanoTime() + saturatedNanos(timeout) : 0;
            this.listener = listener;
            CALLS.put(id, this);
            clearclip_context_set_abort_callback(ctx, Upcalls.ABORT, MemorySegment.ofAddress(id));
        }

        MemorySegment userData() {
            return MemorySegment.ofAddress(id);
        }

        boolean shouldStop() {
            return thread.isInterrupted() || listenerFailure != null
                    || (hasDeadline && System.nanoTime() - deadline >= 0);
        }

        /** Turns a failed status into the exception that says why. */
        void check(int status, String what) {
            if (status == CLEARCLIP_OK()) {
                return;
            }
            if (status == CLEARCLIP_ERR_ABORTED()) {
                Throwable failure = listenerFailure;
                if (failure instanceof RuntimeException e) {
                    throw e;
                }
                if (failure instanceof Error e) {
                    throw e;
                }
                if (failure != null) {
                    throw new InferenceException(ClearClipException.Status.ABORTED,
                            what + ": the progress listener failed: " + failure);
                }
                if (thread.isInterrupted()) {
                    throw new AbortedException(AbortedException.Reason.INTERRUPTED,
                            what + ": interrupted (stopped by Thread.interrupt)");
                }
                if (hasDeadline) {
                    throw new AbortedException(AbortedException.Reason.TIMEOUT,
                            what + ": timeout of " + timeout.toMillis() + " ms exceeded");
                }
            }
            NativeEngine.check(status, what);
        }

        @Override
        public void close() {
            clearclip_context_set_abort_callback(ctx, MemorySegment.NULL, MemorySegment.NULL);
            CALLS.remove(id);
        }

        private static long saturatedNanos(Duration d) {
            try {
                return d.toNanos();
            } catch (ArithmeticException e) {
                return Long.MAX_VALUE / 2;
            }
        }
    }

    private static boolean abortRequested(MemorySegment userData) {
        try {
            Call call = CALLS.get(userData.address());
            return call != null && call.shouldStop();
        } catch (Throwable t) {
            return false;
        }
    }

    private static void windowDone(int done, int total, MemorySegment userData) {
        try {
            Call call = CALLS.get(userData.address());
            if (call != null && call.listener != null && call.listenerFailure == null) {
                try {
                    call.listener.windowDone(done, total);
                } catch (Throwable t) {
                    call.listenerFailure = t; // stops the call; rethrown by check()
                }
            }
        } catch (Throwable t) {
            // nothing may escape an upcall
        }
    }

    static String version() {
        return clearclip_version().reinterpret(Long.MAX_VALUE).getString(0);
    }

    static String systemInfo() {
        routeLogs(); // it loads the backends, and ggml announces the variant it loads
        return clearclip_system_info().reinterpret(Long.MAX_VALUE).getString(0);
    }

    /**
     * Loads ggml's backend libraries (the CPU variant best for this CPU) unless that happened
     * already; a failure is a {@link ClearClipException} with status BACKEND naming where the
     * engine looked.
     */
    static void loadBackends() {
        routeLogs(); // ggml reports the variant it loads; that line goes to the logger too
        int status = clearclip_backend_load(MemorySegment.NULL);
        if (status != CLEARCLIP_OK()) {
            throw new ClearClipException(ClearClipException.Status.fromNative(status),
                    describe(status, "loading the ggml CPU backend"));
        }
    }

    static CpuBackend cpuBackend() {
        routeLogs();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = clearclip_backend_info.allocate(arena);
            int status = clearclip_backend_get_info(s);
            if (status != CLEARCLIP_OK()) {
                throw new ClearClipException(ClearClipException.Status.fromNative(status),
                        describe(status, "loading the ggml CPU backend"));
            }
            String features = clearclip_backend_info.features(s).getString(0).strip();
            return new CpuBackend(
                    clearclip_backend_info.variant(s).getString(0),
                    features.isEmpty() ? List.of() : List.of(features.split(" +")),
                    clearclip_backend_info.library(s).getString(0),
                    clearclip_backend_info.cpu(s).getString(0));
        }
    }

    private static String lastError() {
        return clearclip_last_error().reinterpret(Long.MAX_VALUE).getString(0);
    }

    private static String describe(int status, String what) {
        String message = lastError();
        if (message.isEmpty()) {
            message = clearclip_status_name(status).reinterpret(Long.MAX_VALUE).getString(0);
        }
        return what + ": " + message;
    }

    private static void check(int status, String what) {
        if (status != CLEARCLIP_OK()) {
            throw new InferenceException(ClearClipException.Status.fromNative(status), describe(status, what));
        }
    }

    /** A loaded model. Only this class sees the address, so no FFM type leaves it. */
    record ModelHandle(MemorySegment address) {}

    /** An inference context of a model; see {@link ModelHandle}. */
    record ContextHandle(MemorySegment address) {}

    static ModelHandle loadModel(Path path, boolean mmap) {
        routeLogs(); // before the first ggml call, so that ggml's messages about this file are routed too
        // before the first load: the q4_0/q8_0 repack of the weights asks the CPU device
        loadBackends();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = clearclip_model_default_params(arena);
            clearclip_model_params.use_mmap(params, mmap);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            int status = clearclip_model_load(arena.allocateFrom(path.toString()), params, out);
            if (status != CLEARCLIP_OK()) {
                String message = lastError();
                if (message.isEmpty()) {
                    message = clearclip_status_name(status).reinterpret(Long.MAX_VALUE).getString(0);
                }
                String text = message.contains(path.toString()) ? message : path + ": " + message;
                throw new ModelLoadException(ClearClipException.Status.fromNative(status), text);
            }
            return new ModelHandle(out.get(ValueLayout.ADDRESS, 0));
        }
    }

    static void freeModel(ModelHandle model) {
        clearclip_model_free(model.address());
    }

    static ModelInfo modelInfo(ModelHandle model) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = clearclip_model_info.allocate(arena);
            check(clearclip_model_get_info(model.address(), s), "reading model information");
            float[] mean = clearclip_model_info.image_mean(s).toArray(ValueLayout.JAVA_FLOAT);
            float[] std = clearclip_model_info.image_std(s).toArray(ValueLayout.JAVA_FLOAT);
            return new ModelInfo(
                    clearclip_model_info.name(s).getString(0),
                    clearclip_model_info.file_type(s),
                    clearclip_model_info.has_text(s),
                    clearclip_model_info.has_vision(s),
                    clearclip_model_info.use_gelu(s),
                    clearclip_model_info.projection_dim(s),
                    clearclip_model_info.text_width(s),
                    clearclip_model_info.text_layers(s),
                    clearclip_model_info.text_heads(s),
                    clearclip_model_info.text_ffn(s),
                    clearclip_model_info.context_length(s),
                    clearclip_model_info.vocab_size(s),
                    clearclip_model_info.vision_width(s),
                    clearclip_model_info.vision_layers(s),
                    clearclip_model_info.vision_heads(s),
                    clearclip_model_info.vision_ffn(s),
                    clearclip_model_info.image_size(s),
                    clearclip_model_info.patch_size(s),
                    mean,
                    std);
        }
    }

    static int[] tokenize(ModelHandle model, String text, int maxTokens) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tokens = arena.allocate(ValueLayout.JAVA_INT, maxTokens);
            MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
            check(clearclip_tokenize(model.address(), arena.allocateFrom(text), tokens, maxTokens, count), "tokenizing");
            return tokens.asSlice(0, (long) count.get(ValueLayout.JAVA_INT, 0) * Integer.BYTES)
                    .toArray(ValueLayout.JAVA_INT);
        }
    }

    static ContextHandle initContext(ModelHandle model, int threads, String backend) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = clearclip_context_default_params(arena);
            clearclip_context_params.n_threads(params, threads);
            clearclip_context_params.backend(params, arena.allocateFrom(backend));
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(clearclip_context_init(model.address(), params, out), "creating an inference context (backend " + backend + ")");
            return new ContextHandle(out.get(ValueLayout.ADDRESS, 0));
        }
    }

    static void freeContext(ContextHandle ctx) {
        clearclip_context_free(ctx.address());
    }

    static String backendName(ContextHandle ctx) {
        return clearclip_context_backend_name(ctx.address()).reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** Embeddings of the texts, {@code texts.size() * dim} floats. */
    /**
     * Encodes the texts and hands each L2-normalised embedding to {@code rows} in order, with its
     * index, in one array that is reused for the next row (copy it to keep it). Row by row out of
     * native memory: one flat array first, as this did before, held every embedding twice on the
     * heap (3.4 MB each for 21 x 80 prompts), enough to push them into the old generation and grow
     * the heap of a small CLI run by 6 MB.
     */
    static void encodeText(ContextHandle ctx, List<String> texts, int dim, ObjIntConsumer<float[]> rows) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment array = arena.allocate(ValueLayout.ADDRESS, texts.size());
            for (int i = 0; i < texts.size(); i++) {
                array.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(texts.get(i)));
            }
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, (long) texts.size() * dim);
            try (Call call = new Call(ctx.address(), null, null)) {
                call.check(clearclip_encode_text(ctx.address(), array, texts.size(), out), "encoding text");
            }
            float[] row = new float[dim];
            for (int i = 0; i < texts.size(); i++) {
                MemorySegment.copy(out, ValueLayout.JAVA_FLOAT, (long) i * dim * Float.BYTES, row, 0, dim);
                rows.accept(row, i);
            }
        }
    }

    private static MemorySegment normalize(Arena arena, MemorySegment model, RgbImage image) {
        MemorySegment rgb = arena.allocate(image.rgb().length);
        MemorySegment.copy(image.rgb(), 0, rgb, ValueLayout.JAVA_BYTE, 0, image.rgb().length);
        MemorySegment pixels = arena.allocate(ValueLayout.JAVA_FLOAT, 3L * image.width() * image.height());
        check(clearclip_image_normalize(model, rgb, image.width(), image.height(), image.width() * 3, pixels),
                "normalising image");
        return pixels;
    }

    static float[] encodeImage(ContextHandle ctx, ModelHandle model, RgbImage image, int dim) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pixels = normalize(arena, model.address(), image);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, dim);
            try (Call call = new Call(ctx.address(), null, null)) {
                call.check(clearclip_encode_image(ctx.address(), pixels, image.width(), image.height(), out), "encoding image");
            }
            return out.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** Patch grid {width, height} of the dense features of an image of this size. */
    static int[] denseGrid(ModelHandle model, int width, int height) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment gw = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment gh = arena.allocate(ValueLayout.JAVA_INT);
            check(clearclip_dense_grid(model.address(), width, height, gw, gh), "computing the patch grid");
            return new int[] {gw.get(ValueLayout.JAVA_INT, 0), gh.get(ValueLayout.JAVA_INT, 0)};
        }
    }

    static float[] denseFeatures(ContextHandle ctx, ModelHandle model, RgbImage image, BlockMode mode, long floats) {
        return denseFeatures(ctx, model, image, mode, BlockMode.NACLIP_DEFAULT_STD, floats);
    }

    static float[] denseFeatures(ContextHandle ctx, ModelHandle model, RgbImage image, BlockMode mode,
                                 float naclipStd, long floats) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pixels = normalize(arena, model.address(), image);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, floats);
            try (Call call = new Call(ctx.address(), null, null)) {
                call.check(clearclip_dense_features_ex(ctx.address(), pixels, image.width(), image.height(), mode.nativeId(),
                        naclipStd, out),
                        "computing dense features");
            }
            return out.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /**
     * Runs the segmentation pipeline. {@code probs} is null or has one plane of {@code w * h} floats per
     * class to receive the class probabilities. An interrupt of the calling thread, the options' timeout or
     * a failing listener stops it within one window.
     */
    static void segment(ContextHandle ctx, RgbImage image, float[] nameEmbeddings, int nNames, int[] nameClass,
                        int nClasses, SegmentOptions options, int backgroundClass, int[] labels, float[][] probs,
                        SegmentProgressListener listener) {
        try (Arena arena = Arena.ofConfined(); Call call = new Call(ctx.address(), options.timeout(), listener)) {
            MemorySegment rgb = arena.allocate(image.rgb().length);
            MemorySegment.copy(image.rgb(), 0, rgb, ValueLayout.JAVA_BYTE, 0, image.rgb().length);
            MemorySegment img = clearclip_image.allocate(arena);
            clearclip_image.rgb(img, rgb);
            clearclip_image.width(img, image.width());
            clearclip_image.height(img, image.height());
            clearclip_image.row_stride(img, image.width() * 3);
            MemorySegment params = clearclip_segment_default_params(arena);
            clearclip_segment_params.short_side(params, options.shortSide());
            clearclip_segment_params.crop(params, options.crop());
            clearclip_segment_params.stride(params, options.stride());
            clearclip_segment_params.mode(params, options.mode().nativeId());
            clearclip_segment_params.logit_scale(params, options.logitScale());
            clearclip_segment_params.prob_threshold(params, options.probThreshold());
            clearclip_segment_params.background_class(params, backgroundClass);
            clearclip_segment_params.naclip_std(params, options.naclipStd());
            clearclip_segment_params.pamr_steps(params, options.pamrSteps());
            int[] dilations = options.pamrDilations();
            clearclip_segment_params.n_pamr_dilations(params, dilations.length);
            MemorySegment.copy(dilations, 0, clearclip_segment_params.pamr_dilations(params), ValueLayout.JAVA_INT, 0,
                    dilations.length);
            if (listener != null) {
                clearclip_segment_params.progress(params, Upcalls.PROGRESS);
                clearclip_segment_params.progress_user_data(params, call.userData());
            }
            MemorySegment outLabels = arena.allocate(ValueLayout.JAVA_INT, labels.length);
            MemorySegment outProbs = probs == null ? MemorySegment.NULL
                    : arena.allocate(ValueLayout.JAVA_FLOAT, (long) nClasses * labels.length);
            MemorySegment classes = classSet(arena, nameEmbeddings, nNames, nameClass, nClasses);
            try {
                call.check(clearclip_segment(ctx.address(), img, classes, params, outLabels, outProbs), "segmenting");
            } finally {
                clearclip_classes_free(classes);
            }
            MemorySegment.copy(outLabels, ValueLayout.JAVA_INT, 0, labels, 0, labels.length);
            if (probs != null) {
                for (int c = 0; c < nClasses; c++) {
                    MemorySegment.copy(outProbs, ValueLayout.JAVA_FLOAT, (long) c * labels.length * Float.BYTES,
                            probs[c], 0, labels.length);
                }
            }
        }
    }

    /**
     * The engine's class set for {@code nNames} embeddings of {@code nameEmbeddings.length / nNames} floats
     * each and their classes; the caller frees it with clearclip_classes_free.
     */
    private static MemorySegment classSet(Arena arena, float[] nameEmbeddings, int nNames, int[] nameClass,
                                          int nClasses) {
        int dim = nNames > 0 ? nameEmbeddings.length / nNames : 0;
        MemorySegment emb = arena.allocateFrom(ValueLayout.JAVA_FLOAT, nameEmbeddings);
        MemorySegment map = arena.allocateFrom(ValueLayout.JAVA_INT, nameClass);
        MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
        check(clearclip_classes_init(emb, nNames, dim, map, nClasses, out), "preparing the classes");
        return out.get(ValueLayout.ADDRESS, 0);
    }

    /**
     * PAMR refinement of {@code logits} (channels x height x width, in place) with the affinities of a
     * normalised planar image (3 x height x width); see clearclip_pamr.
     */
    static void pamr(float[] image, int width, int height, float[] logits, int channels, int steps,
                     int[] dilations) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment img = arena.allocateFrom(ValueLayout.JAVA_FLOAT, image);
            MemorySegment lg = arena.allocateFrom(ValueLayout.JAVA_FLOAT, logits);
            MemorySegment dil = arena.allocateFrom(ValueLayout.JAVA_INT, dilations);
            check(clearclip_pamr(img, width, height, lg, channels, steps, dil, dilations.length), "refining with PAMR");
            MemorySegment.copy(lg, ValueLayout.JAVA_FLOAT, 0, logits, 0, logits.length);
        }
    }
}
