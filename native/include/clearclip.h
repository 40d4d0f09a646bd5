/*
 * clearclip.h - the one public header of the clearclip engine.
 *
 * A small C engine on ggml that runs CLIP ViT models stored as GGUF and the
 * ClearCLIP final-block variants used for open-vocabulary segmentation.
 *
 * Conventions (ggml / llama.cpp style):
 *   - opaque handles, created by *_init / *_load and released by *_free;
 *   - *_default_params() returns a params struct to adjust before use;
 *   - every fallible call returns a clearclip_status; on failure a precise,
 *     human-readable message is available from clearclip_last_error(), which
 *     is thread-local (each thread sees its own last error);
 *   - no global mutable state: a model is immutable after loading and may be
 *     shared by several contexts on several threads; a context owns the
 *     compute graphs and buffers and must be used by one thread at a time.
 *     The one exception is the log callback (clearclip_log_set), which is
 *     process-wide by nature because ggml's own logger is.
 *
 * Image input of the vision functions is float32, planar (CHW, 3 x height x
 * width), already normalised with the model's mean/std (see
 * clearclip_image_normalize); segmentation takes 8-bit RGB (clearclip_image).
 */
#ifndef CLEARCLIP_H
#define CLEARCLIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && !defined(__MINGW32__)
#  ifdef CLEARCLIP_BUILD
#    define CLEARCLIP_API __declspec(dllexport)
#  else
#    define CLEARCLIP_API __declspec(dllimport)
#  endif
#else
#  define CLEARCLIP_API __attribute__((visibility("default")))
#endif

typedef enum clearclip_status {
    CLEARCLIP_OK                   = 0,
    CLEARCLIP_ERR_INVALID_ARGUMENT = 1, /* null pointer, bad size, bad option  */
    CLEARCLIP_ERR_IO               = 2, /* file missing or unreadable          */
    CLEARCLIP_ERR_FORMAT           = 3, /* not GGUF, corrupt or truncated      */
    CLEARCLIP_ERR_MODEL            = 4, /* missing/bad key or tensor, wrong architecture */
    CLEARCLIP_ERR_UNSUPPORTED      = 5, /* tensor type, mode or backend not supported */
    CLEARCLIP_ERR_NO_TOWER         = 6, /* the file has no text (or no vision) tower */
    CLEARCLIP_ERR_BACKEND          = 7, /* backend could not be initialised or failed */
    CLEARCLIP_ERR_OUT_OF_MEMORY    = 8,
    CLEARCLIP_ERR_ABORTED          = 9, /* the context's abort callback returned true */
} clearclip_status;

/* Final block of the vision tower used for dense (per-patch) features. */
typedef enum clearclip_block_mode {
    CLEARCLIP_MODE_CLEARCLIP = 0, /* softmax(q q^T), no residual, no FFN (default) */
    CLEARCLIP_MODE_VANILLA   = 1, /* stock CLIP block: q k^T, residual, FFN        */
    CLEARCLIP_MODE_MASKCLIP  = 2, /* identity attention: value path only, no residual, no FFN */
    CLEARCLIP_MODE_SCLIP     = 3, /* softmax(q q^T) + softmax(k k^T), no residual, no FFN */
    CLEARCLIP_MODE_NACLIP    = 4, /* softmax(k k^T / sqrt(d) + Gaussian neighbourhood bias over the
                                     patch grid, none on the CLS row and column), no residual, no
                                     FFN (NACLIP, Hajimiri et al., WACV 2025) */
    CLEARCLIP_MODE_COUNT     = 5, /* number of modes, not a mode */
} clearclip_block_mode;

/* Standard deviation, in patches, of NACLIP's Gaussian neighbourhood bias (the paper's). */
#define CLEARCLIP_NACLIP_DEFAULT_STD 5.0f
/* Most dilations one PAMR refinement takes. */
#define CLEARCLIP_PAMR_MAX_DILATIONS 4

typedef struct clearclip_model   clearclip_model;
typedef struct clearclip_context clearclip_context;
typedef struct clearclip_classes clearclip_classes;

/* ---- library ------------------------------------------------------------ */

/*
 * Version of the binary interface: the layouts of the structs, the values of the enums and the
 * signatures of the functions of this header. Bumped whenever any of them changes. Bindings made
 * from this header (the Java ones are generated at build time of the bindings, not of the engine)
 * compare it with clearclip_abi_version() of the library they load and refuse a library of
 * another ABI, which they would otherwise call with wrong struct layouts.
 */
#define CLEARCLIP_ABI_VERSION 2
/* CLEARCLIP_ABI_VERSION of the header this library was built from. */
CLEARCLIP_API int32_t clearclip_abi_version(void);

/* Message of the last failed call on this thread ("" if none). */
CLEARCLIP_API const char * clearclip_last_error(void);
/* Short constant name of a status code, e.g. "CLEARCLIP_ERR_FORMAT". */
CLEARCLIP_API const char * clearclip_status_name(clearclip_status status);
/* Version of this engine, e.g. "0.1.0". */
CLEARCLIP_API const char * clearclip_version(void);
/* Human-readable description of the ggml build in use (version, CPU features). */
CLEARCLIP_API const char * clearclip_system_info(void);

/* ---- backends (CPU variants) -------------------------------------------- */

/*
 * A ggml built with GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS (the packaged one on x86-64) keeps its
 * CPU backend in one library per CPU generation, libggml-cpu-<variant> (haswell, skylakex, zen4,
 * sapphirerapids, ...), loaded at run time: ggml scores every variant against this CPU and loads
 * the best. clearclip_backend_load(dir) loads the best CPU variant found in dir; with NULL it looks
 * in the directory of the ggml library in use, then in that of libclearclip. The other backend
 * modules there (libggml-vulkan.so, libggml-cuda.so, ...) are loaded when a context first asks
 * for a GPU (or clearclip_system_info lists the devices): a process that only uses the CPU never
 * starts the machine's GPU drivers. "auto" asks for one only where the system may have a GPU: on
 * Linux, where /dev holds a GPU device node (dri/renderD*, nvidia<N>, kfd, dxg, kgsl-3d*, mali<N>);
 * the environment variable CLEARCLIP_AUTO_GPU=1 makes it look anyway, 0 never ("probe", the
 * default, looks at /dev). The first call that registers
 * a CPU backend wins: later calls return CLEARCLIP_OK and change nothing. Model loading and
 * context creation call it with NULL when nothing is registered yet, so calling it is needed only
 * to name another directory. With a ggml whose CPU backend is linked in it does nothing.
 * Thread-safe. Fails with CLEARCLIP_ERR_BACKEND, naming the directories searched, when no CPU
 * backend can be loaded.
 */
CLEARCLIP_API clearclip_status clearclip_backend_load(const char * dir);

typedef struct clearclip_backend_info {
    char variant[64];   /* CPU variant in use ("haswell", "zen4", ...), "builtin" when ggml's
                           CPU backend is linked in (no GGML_BACKEND_DL)                  */
    char features[512]; /* what that variant was compiled for, as ggml reports it, space
                           separated ("SSE3 SSSE3 AVX AVX2 F16C FMA BMI2 ... LLAMAFILE")   */
    char library[512];  /* file of the CPU backend (truncated)                            */
    char cpu[128];      /* the CPU device's description (model name)                      */
} clearclip_backend_info;

/* Loads the backends like clearclip_backend_load(NULL) if needed, then describes the CPU one. */
CLEARCLIP_API clearclip_status clearclip_backend_get_info(clearclip_backend_info * out);

/* ---- logging ------------------------------------------------------------ */

/* Values equal ggml's enum ggml_log_level for the same levels. */
typedef enum clearclip_log_level {
    CLEARCLIP_LOG_DEBUG = 1,
    CLEARCLIP_LOG_INFO  = 2,
    CLEARCLIP_LOG_WARN  = 3,
    CLEARCLIP_LOG_ERROR = 4,
} clearclip_log_level;

/* One message; text usually ends with a newline and is valid only during the call. May be
 * called on any thread, including ggml's worker threads, and concurrently. */
typedef void (*clearclip_log_callback)(clearclip_log_level level, const char * text,
                                       void * user_data);

/*
 * Routes the engine's messages and ggml's to callback (NULL: back to the default).
 *
 * The callback is process-wide state: ggml has one logger per process, so this is the
 * library's only global setting. Until clearclip_log_set is first called with a callback the
 * engine does not touch ggml's logger: the engine's own messages are dropped and ggml prints
 * its messages with its default logger (to stderr) or whatever logger the application gave
 * ggml_log_set. A non-NULL callback installs the engine as ggml's logger (ggml_log_set), so
 * every ggml user in the process then reports through it; NULL restores ggml's default
 * logger and drops the engine's messages again. Safe to call from any thread.
 */
CLEARCLIP_API void clearclip_log_set(clearclip_log_callback callback, void * user_data);

/* ---- model -------------------------------------------------------------- */

typedef struct clearclip_model_params {
    bool use_mmap;     /* map the file instead of reading it (default true)        */
    bool load_text;    /* load the text tower if present (default true)            */
    bool load_vision;  /* load the vision tower if present (default true)          */
} clearclip_model_params;

CLEARCLIP_API clearclip_model_params clearclip_model_default_params(void);

/* Loads and validates a CLIP GGUF. On success *out owns the model. */
CLEARCLIP_API clearclip_status clearclip_model_load(const char * path,
                                                    clearclip_model_params params,
                                                    clearclip_model ** out);
/* Frees a model; NULL is ignored. All contexts of the model must be freed first. */
CLEARCLIP_API void clearclip_model_free(clearclip_model * model);

typedef struct clearclip_model_info {
    bool    has_text;
    bool    has_vision;
    bool    use_gelu;            /* false: quick_gelu                         */
    int32_t file_type;           /* general.file_type (llama.cpp ftype)       */
    int32_t projection_dim;      /* dimension of the joint embedding space    */
    /* text tower (0 when absent) */
    int32_t text_width;
    int32_t text_layers;
    int32_t text_heads;
    int32_t text_ffn;
    int32_t context_length;
    int32_t vocab_size;
    /* vision tower (0 when absent) */
    int32_t vision_width;
    int32_t vision_layers;
    int32_t vision_heads;
    int32_t vision_ffn;
    int32_t image_size;
    int32_t patch_size;
    float   image_mean[3];
    float   image_std[3];
    char    name[128];           /* general.name, truncated                   */
} clearclip_model_info;

CLEARCLIP_API clearclip_status clearclip_model_get_info(const clearclip_model * model,
                                                        clearclip_model_info * out);

/* ---- tokenizer ---------------------------------------------------------- */

/*
 * CLIP byte-level BPE: text -> <|startoftext|> tokens... <|endoftext|>.
 * Writes at most max_tokens ids; if the text is longer the sequence is
 * truncated so that it still ends with <|endoftext|>. *n_tokens receives the
 * number written. The ids are not padded. max_tokens must be >= 2.
 */
CLEARCLIP_API clearclip_status clearclip_tokenize(const clearclip_model * model,
                                                  const char * text_utf8,
                                                  int32_t * tokens,
                                                  int32_t max_tokens,
                                                  int32_t * n_tokens);

/* ---- context ------------------------------------------------------------ */

typedef struct clearclip_context_params {
    int32_t      n_threads; /* CPU threads; <= 0 means all the cores the process
                               may run on (its CPU affinity; default)            */
    const char * backend;   /* "cpu", "vulkan", "cuda", "metal" ("vulkan1": the
                               second such device), "auto" or NULL (= "auto": the
                               first GPU ggml offers, else CPU; the CPU without
                               loading the GPU modules where there is no GPU
                               device node, see clearclip_backend_load)          */
} clearclip_context_params;

CLEARCLIP_API clearclip_context_params clearclip_context_default_params(void);

/* A context on a device other than the CPU computes from the model's weights in that device's
 * memory, uploaded when the first context on the device is created and shared by all contexts
 * on it (freed with the last); operations the device lacks run on the CPU (ggml's scheduler).
 * CLEARCLIP_ERR_BACKEND when no device answers to params.backend (the message lists the devices
 * and what gives one); CLEARCLIP_ERR_INVALID_ARGUMENT for "auto" when CLEARCLIP_AUTO_GPU holds a
 * value other than 1, 0, probe or empty. */
CLEARCLIP_API clearclip_status clearclip_context_init(clearclip_model * model,
                                                      clearclip_context_params params,
                                                      clearclip_context ** out);
/* Frees a context; NULL is ignored. */
CLEARCLIP_API void clearclip_context_free(clearclip_context * ctx);
/* Name of the backend the context runs on, e.g. "CPU", "Vulkan0". */
CLEARCLIP_API const char * clearclip_context_backend_name(const clearclip_context * ctx);

/* Returns true to stop the running call. Called on the calling thread between windows and
 * batches and, on the CPU backend, by ggml between graph nodes (from the thread that
 * started the computation); it must be cheap and must not call into the context. */
typedef bool (*clearclip_abort_callback)(void * user_data);

/*
 * Sets (or, with NULL, clears) the context's abort callback. When it returns true the
 * running encode/segment call stops within one graph node (CPU backend) or one window /
 * text batch (any backend) and returns CLEARCLIP_ERR_ABORTED with the message "aborted by
 * the caller"; its outputs are then undefined, and the context stays usable.
 */
CLEARCLIP_API void clearclip_context_set_abort_callback(clearclip_context * ctx,
                                                        clearclip_abort_callback callback,
                                                        void * user_data);

/* One named intermediate of a graph that has just been computed: its name, its shape in ggml's
 * order (ne[0] varies fastest; n_dims of the 4 entries of ne are meaningful, the others are 1)
 * and its values as float32, ne[0] * ne[1] * ne[2] * ne[3] of them. name, ne and data are valid
 * during the call only. */
typedef void (*clearclip_tensor_callback)(const char * name, int32_t n_dims, const int64_t * ne,
                                          const float * data, void * user_data);

/*
 * Sets (or, with NULL, clears) the context's tensor callback, a debugging aid to compare the
 * engine with a reference tensor by tensor (as clip.cpp's and llama.cpp's eval callbacks). After
 * each graph the context computes (a text batch, an image, a segmentation window) it is called
 * on the calling thread once per named intermediate, in the order the graph computes them, the
 * graph's output last (named "out"). The vision graphs name "v.patch_embd" [W, n],
 * "v.pre_ln" and "v.blk.N" for the blocks before the last ([W, rows]: the CLS token, the n
 * patches row-major, and with the plain attention padding rows), "v.last.attn" (the final
 * block's attention) and "v.last"; the text graph "t.blk.N" ([W, tokens, sequences]). Names and
 * shapes are for debugging and may change between versions.
 * Without a callback this costs nothing; with one the graphs are built anew with their
 * intermediates kept in memory (more memory) and copied to the host after each run (slower),
 * the results being the same.
 */
CLEARCLIP_API void clearclip_context_set_tensor_callback(clearclip_context * ctx,
                                                         clearclip_tensor_callback callback,
                                                         void * user_data);

/* ---- text tower --------------------------------------------------------- */

/*
 * Encodes n_texts prompts into projected, L2-normalised embeddings:
 * out must hold n_texts * projection_dim floats.
 */
CLEARCLIP_API clearclip_status clearclip_encode_text(clearclip_context * ctx,
                                                     const char * const * texts,
                                                     int32_t n_texts,
                                                     float * out);

/*
 * Same from token ids: tokens holds n_texts rows of row_length ids each,
 * every row starting with <|startoftext|> and containing <|endoftext|>
 * (padding after it is ignored). Pooling is at the first <|endoftext|>.
 */
CLEARCLIP_API clearclip_status clearclip_encode_tokens(clearclip_context * ctx,
                                                       const int32_t * tokens,
                                                       int32_t n_texts,
                                                       int32_t row_length,
                                                       float * out);

/* ---- vision tower ------------------------------------------------------- */

/*
 * Converts interleaved 8-bit RGB (row stride in bytes) to the planar float
 * layout the vision functions take: (value / 255 - mean) / std per channel,
 * with the model's mean and std. out must hold 3 * width * height floats.
 */
CLEARCLIP_API clearclip_status clearclip_image_normalize(const clearclip_model * model,
                                                         const uint8_t * rgb,
                                                         int32_t width,
                                                         int32_t height,
                                                         int32_t row_stride,
                                                         float * out);

/*
 * Global image embedding (CLS token through the stock final block, post-LN,
 * projection, L2-normalised). width and height must be multiples of the patch
 * size; position embeddings are interpolated when they differ from the
 * model's image size. out must hold projection_dim floats.
 */
CLEARCLIP_API clearclip_status clearclip_encode_image(clearclip_context * ctx,
                                                      const float * pixels,
                                                      int32_t width,
                                                      int32_t height,
                                                      float * out);

/* Patch grid that clearclip_dense_features produces for an image size. */
CLEARCLIP_API clearclip_status clearclip_dense_grid(const clearclip_model * model,
                                                    int32_t width,
                                                    int32_t height,
                                                    int32_t * grid_width,
                                                    int32_t * grid_height);

/*
 * Dense, projected, L2-normalised patch features from the given final-block
 * mode. The image is zero-padded (after normalisation) to a multiple of the
 * patch size, the padding split evenly with the smaller half at left/top.
 * out must hold grid_width * grid_height * projection_dim floats, row-major
 * (patch index = row * grid_width + column).
 */
CLEARCLIP_API clearclip_status clearclip_dense_features(clearclip_context * ctx,
                                                        const float * pixels,
                                                        int32_t width,
                                                        int32_t height,
                                                        clearclip_block_mode mode,
                                                        float * out);

/* Same with the standard deviation (in patches, > 0) of the NACLIP mode's Gaussian bias;
 * other modes ignore it. clearclip_dense_features uses CLEARCLIP_NACLIP_DEFAULT_STD. The
 * bias is built once per grid shape and std and cached with the graph. */
CLEARCLIP_API clearclip_status clearclip_dense_features_ex(clearclip_context * ctx,
                                                           const float * pixels,
                                                           int32_t width,
                                                           int32_t height,
                                                           clearclip_block_mode mode,
                                                           float gaussian_std,
                                                           float * out);

/*
 * PAMR, pixel-adaptive mask refinement (Araslanov & Roth, CVPR 2020), in place.
 *
 * image: 3 x height x width planar floats (normalised); logits: n_channels x height x width.
 * Each pixel's 8 neighbours at each dilation d (offsets -d, 0, +d per axis, coordinates
 * clamped to the border) get the weight softmax over all 8 * n_dilations neighbours of
 * mean over colour channels c of -|I_c(p) - I_c(n)| / (1e-8 + 0.1 * sd_c(p)), where sd_c(p)
 * is the unbiased standard deviation of I_c over the 3x3 taps (centre included) of every
 * dilation (9 * n_dilations samples). Then, steps times, every logit becomes the weighted sum
 * of its neighbours' logits. dilations: n_dilations (1..CLEARCLIP_PAMR_MAX_DILATIONS) values
 * >= 1. steps 0 leaves logits unchanged.
 */
CLEARCLIP_API clearclip_status clearclip_pamr(const float * image,
                                              int32_t width,
                                              int32_t height,
                                              float * logits,
                                              int32_t n_channels,
                                              int32_t steps,
                                              const int32_t * dilations,
                                              int32_t n_dilations);

/* ---- segmentation ------------------------------------------------------- */

/* An 8-bit RGB picture as the caller holds it; the engine only reads it during the call. */
typedef struct clearclip_image {
    const uint8_t * rgb;        /* interleaved R, G, B bytes, row after row            */
    int32_t         width;      /* pixels, 1..16384                                    */
    int32_t         height;     /* pixels, 1..16384                                    */
    int32_t         row_stride; /* bytes from one row to the next, >= 3 * width        */
} clearclip_image;

/*
 * A class set: the classes of a segmentation, given by the embeddings of their names, made once
 * and used by any number of clearclip_segment calls (on any context and thread: it is read-only
 * after creation). The arrays are copied.
 *
 * name_embeddings: n_names x dim floats, all finite; L2-normalised (e.g. from
 *   clearclip_encode_text, averaged over prompt templates); dim must be the projection_dim of
 *   the model it is used with.
 * name_class: the class index (0..n_classes-1) of each name, so that synonyms share a class;
 *   NULL means name i is class i (then n_names == n_classes).
 * Refused with CLEARCLIP_ERR_INVALID_ARGUMENT: counts or dim not positive, a class index out of
 * range, a NaN or infinite value (the message names it).
 */
CLEARCLIP_API clearclip_status clearclip_classes_init(const float * name_embeddings,
                                                      int32_t n_names,
                                                      int32_t dim,
                                                      const int32_t * name_class,
                                                      int32_t n_classes,
                                                      clearclip_classes ** out);
/* Frees a class set; NULL is ignored. */
CLEARCLIP_API void clearclip_classes_free(clearclip_classes * classes);
/* Number of classes (planes of class_probs) and of names of a class set; 0 for NULL. */
CLEARCLIP_API int32_t clearclip_classes_n_classes(const clearclip_classes * classes);
CLEARCLIP_API int32_t clearclip_classes_n_names(const clearclip_classes * classes);

/* Segmentation progress: called on the calling thread after each sliding window with the
 * windows done so far and the window count (windows_done == n_windows after the last). */
typedef void (*clearclip_progress_callback)(int32_t windows_done, int32_t n_windows,
                                            void * user_data);

typedef struct clearclip_segment_params {
    int32_t              short_side;       /* resize so the short side is this (default 448); 0 keeps the size */
    int32_t              crop;             /* sliding-window side in pixels (default 448)         */
    int32_t              stride;           /* sliding-window stride in pixels, <= crop (default 224) */
    clearclip_block_mode mode;             /* final block (default CLEARCLIP_MODE_CLEARCLIP)      */
    float                logit_scale;      /* multiplies cosine similarities (default 50)         */
    float                prob_threshold;   /* pixels whose best probability is below this get
                                              background_class (default 0: off)                   */
    int32_t              background_class; /* class index for thresholded pixels (default 0)      */
    clearclip_progress_callback progress;  /* NULL (default) or called after each window      */
    void *               progress_user_data; /* passed to progress                              */
    float                naclip_std;       /* NACLIP mode: Gaussian bias std in patches (default 5) */
    int32_t              pamr_steps;       /* PAMR refinement iterations; 0 (default) = off       */
    int32_t              n_pamr_dilations; /* used entries of pamr_dilations (default 2)          */
    int32_t              pamr_dilations[CLEARCLIP_PAMR_MAX_DILATIONS]; /* default 8, 16        */
} clearclip_segment_params;

CLEARCLIP_API clearclip_segment_params clearclip_segment_default_params(void);

/*
 * Open-vocabulary segmentation of one 8-bit RGB image into the classes of a class set, with the
 * reference ClearCLIP pipeline: short-side resize, sliding windows (each zero-padded to
 * the patch size after normalisation), dense features of the chosen final
 * block scored against the name embeddings (cosine), window logits upsampled
 * bilinearly and averaged over overlaps, resized to the input size, refined with PAMR
 * when pamr_steps > 0 (NACLIP's pipeline: the image for its affinities is the resized image
 * bilinearly resized back to the input size and normalised), scaled by logit_scale, softmax
 * over names, max over the names of each class, argmax. PAMR holds all names' logits at the
 * input size (n_names * width * height floats) plus 8 * n_pamr_dilations + 4 planes of
 * width * height floats, and runs on the calling thread. The upsampling, softmax and argmax run
 * on the context's n_threads (threads started for the call, bands of output rows shared out;
 * the result does not depend on the thread count).
 *
 * classes: from clearclip_classes_init, with the model's projection_dim.
 * labels: out, width * height class indices, row-major.
 * class_probs: NULL, or out n_classes * width * height probabilities
 *   (class-major planes), the max over each class's names.
 */
CLEARCLIP_API clearclip_status clearclip_segment(clearclip_context * ctx,
                                                 const clearclip_image * image,
                                                 const clearclip_classes * classes,
                                                 clearclip_segment_params params,
                                                 int32_t * labels,
                                                 float * class_probs);

/* ---- quantization (used by the model converter) ------------------------- */

/* ggml type ids accepted by clearclip_quantize (values of enum ggml_type). */
typedef enum clearclip_tensor_type {
    CLEARCLIP_TYPE_F32  = 0,
    CLEARCLIP_TYPE_F16  = 1,
    CLEARCLIP_TYPE_Q4_0 = 2,
    CLEARCLIP_TYPE_Q4_1 = 3,
    CLEARCLIP_TYPE_Q5_0 = 6,
    CLEARCLIP_TYPE_Q5_1 = 7,
    CLEARCLIP_TYPE_Q8_0 = 8,
} clearclip_tensor_type;

/* Bytes needed to store n_rows rows of n_per_row values in the given type. */
CLEARCLIP_API clearclip_status clearclip_quantized_size(clearclip_tensor_type type,
                                                        int64_t n_rows,
                                                        int64_t n_per_row,
                                                        size_t * n_bytes);

/*
 * Converts n_rows x n_per_row float32 values into the given type with ggml's
 * own quantization routines, so blocks are exactly what ggml expects.
 * n_per_row must be a multiple of the type's block size.
 */
CLEARCLIP_API clearclip_status clearclip_quantize(clearclip_tensor_type type,
                                                  const float * src,
                                                  int64_t n_rows,
                                                  int64_t n_per_row,
                                                  void * dst,
                                                  size_t dst_size);

#ifdef __cplusplus
}
#endif

#endif /* CLEARCLIP_H */
