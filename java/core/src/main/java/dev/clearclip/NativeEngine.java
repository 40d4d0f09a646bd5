package dev.clearclip;

import static dev.clearclip.bindings.ffi.ClearClipNative.*;

import dev.clearclip.bindings.ffi.clearclip_context_params;
import dev.clearclip.bindings.ffi.clearclip_model_info;
import dev.clearclip.bindings.ffi.clearclip_model_params;
import dev.clearclip.bindings.ffi.clearclip_segment_params;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;

/**
 * Every call into the generated bindings goes through here, so the rest of the library sees no FFM
 * types beyond opaque handles, and a change of the generated names touches one file. Each method
 * validates sizes before the native call and turns a failed status into an exception carrying the
 * engine's message (clearclip_last_error is thread-local, so it is read on the calling thread).
 */
final class NativeEngine {

    private NativeEngine() {
    }

    static String version() {
        return clearclip_version().reinterpret(Long.MAX_VALUE).getString(0);
    }

    static String systemInfo() {
        return clearclip_system_info().reinterpret(Long.MAX_VALUE).getString(0);
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

    static MemorySegment loadModel(Path path, boolean mmap) {
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
            return out.get(ValueLayout.ADDRESS, 0);
        }
    }

    static void freeModel(MemorySegment model) {
        clearclip_model_free(model);
    }

    static ModelInfo modelInfo(MemorySegment model) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = clearclip_model_info.allocate(arena);
            check(clearclip_model_get_info(model, s), "reading model information");
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

    static int[] tokenize(MemorySegment model, String text, int maxTokens) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment tokens = arena.allocate(ValueLayout.JAVA_INT, maxTokens);
            MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
            check(clearclip_tokenize(model, arena.allocateFrom(text), tokens, maxTokens, count), "tokenizing");
            return tokens.asSlice(0, (long) count.get(ValueLayout.JAVA_INT, 0) * Integer.BYTES)
                    .toArray(ValueLayout.JAVA_INT);
        }
    }

    static MemorySegment initContext(MemorySegment model, int threads, String backend) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = clearclip_context_default_params(arena);
            clearclip_context_params.n_threads(params, threads);
            clearclip_context_params.backend(params, arena.allocateFrom(backend));
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(clearclip_context_init(model, params, out), "creating an inference context (backend " + backend + ")");
            return out.get(ValueLayout.ADDRESS, 0);
        }
    }

    static void freeContext(MemorySegment ctx) {
        clearclip_context_free(ctx);
    }

    static String backendName(MemorySegment ctx) {
        return clearclip_context_backend_name(ctx).reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** Embeddings of the texts, {@code texts.size() * dim} floats. */
    static float[] encodeText(MemorySegment ctx, List<String> texts, int dim) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment array = arena.allocate(ValueLayout.ADDRESS, texts.size());
            for (int i = 0; i < texts.size(); i++) {
                array.setAtIndex(ValueLayout.ADDRESS, i, arena.allocateFrom(texts.get(i)));
            }
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, (long) texts.size() * dim);
            check(clearclip_encode_text(ctx, array, texts.size(), out), "encoding text");
            return out.toArray(ValueLayout.JAVA_FLOAT);
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

    static float[] encodeImage(MemorySegment ctx, MemorySegment model, RgbImage image, int dim) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pixels = normalize(arena, model, image);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, dim);
            check(clearclip_encode_image(ctx, pixels, image.width(), image.height(), out), "encoding image");
            return out.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /** Patch grid {width, height} of the dense features of an image of this size. */
    static int[] denseGrid(MemorySegment model, int width, int height) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment gw = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment gh = arena.allocate(ValueLayout.JAVA_INT);
            check(clearclip_dense_grid(model, width, height, gw, gh), "computing the patch grid");
            return new int[] {gw.get(ValueLayout.JAVA_INT, 0), gh.get(ValueLayout.JAVA_INT, 0)};
        }
    }

    static float[] denseFeatures(MemorySegment ctx, MemorySegment model, RgbImage image, BlockMode mode, long floats) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pixels = normalize(arena, model, image);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_FLOAT, floats);
            check(clearclip_dense_features(ctx, pixels, image.width(), image.height(), mode.nativeId(), out),
                    "computing dense features");
            return out.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    /**
     * Runs the segmentation pipeline. {@code probs} is null or has one plane of {@code w * h} floats per
     * class to receive the class probabilities.
     */
    static void segment(MemorySegment ctx, RgbImage image, float[] nameEmbeddings, int nNames, int[] nameClass,
                        int nClasses, SegmentOptions options, int backgroundClass, int[] labels, float[][] probs) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment rgb = arena.allocate(image.rgb().length);
            MemorySegment.copy(image.rgb(), 0, rgb, ValueLayout.JAVA_BYTE, 0, image.rgb().length);
            MemorySegment emb = arena.allocateFrom(ValueLayout.JAVA_FLOAT, nameEmbeddings);
            MemorySegment classes = arena.allocateFrom(ValueLayout.JAVA_INT, nameClass);
            MemorySegment params = clearclip_segment_default_params(arena);
            clearclip_segment_params.short_side(params, options.shortSide());
            clearclip_segment_params.crop(params, options.crop());
            clearclip_segment_params.stride(params, options.stride());
            clearclip_segment_params.mode(params, options.mode().nativeId());
            clearclip_segment_params.logit_scale(params, options.logitScale());
            clearclip_segment_params.prob_threshold(params, options.probThreshold());
            clearclip_segment_params.background_class(params, backgroundClass);
            MemorySegment outLabels = arena.allocate(ValueLayout.JAVA_INT, labels.length);
            MemorySegment outProbs = probs == null ? MemorySegment.NULL
                    : arena.allocate(ValueLayout.JAVA_FLOAT, (long) nClasses * labels.length);
            check(clearclip_segment(ctx, rgb, image.width(), image.height(), image.width() * 3, emb, nNames,
                    classes, nClasses, params, outLabels, outProbs), "segmenting");
            MemorySegment.copy(outLabels, ValueLayout.JAVA_INT, 0, labels, 0, labels.length);
            if (probs != null) {
                for (int c = 0; c < nClasses; c++) {
                    MemorySegment.copy(outProbs, ValueLayout.JAVA_FLOAT, (long) c * labels.length * Float.BYTES,
                            probs[c], 0, labels.length);
                }
            }
        }
    }
}
