/* Internal declarations shared by the engine's translation units. */
#ifndef CLEARCLIP_INTERNAL_H
#define CLEARCLIP_INTERNAL_H

#include "clearclip.h"
#include "tokenizer.h"

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CC_VERSION comes from CMakeLists.txt, which reads it from the top-level pom.xml (one source). */
#ifndef CC_VERSION
#error "CC_VERSION is defined by native/CMakeLists.txt; build the engine through CMake"
#endif

/* CLIP's fixed special tokens, used when a file carries no tokenizer ids. */
#define CC_DEFAULT_BOS 49406
#define CC_DEFAULT_EOS 49407

/* Room for the largest graph we build (ViT-H has 32 blocks of ~45 nodes). */
#define CC_GRAPH_SIZE 8192
/* Room in a graph's context for the work shares of its custom operations (cc_work_share_new):
 * one per tensor the context has room for, so that they never run short (a ViT-H graph has about
 * 400). The context's memory is only touched where used. */
#define CC_GRAPH_WORK_SHARES CC_GRAPH_SIZE

/* Vision sequences are padded to a multiple of this many tokens (padding masked out of the
 * attention) so that the attention products' inner dimension suits ggml's fast CPU GEMM
 * (llamafile sgemm needs it divisible by its SIMD width). */
#define CC_SEQ_PAD 32

/* Largest image side (and short side, crop, stride, PAMR dilation) the public calls accept:
 * beyond it the attention matrices alone would not fit in memory anyway. */
#define CC_MAX_SIDE 16384

/* ---- errors (errors.c) --------------------------------------------------- */

#if defined(__GNUC__)
#  define CC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define CC_PRINTF(a, b)
#endif

/* Records the thread's last error message and returns status, so callers can write
 * `return cc_error(CLEARCLIP_ERR_MODEL, "...", ...);`. */
clearclip_status cc_error(clearclip_status status, const char * fmt, ...) CC_PRINTF(2, 3);
void             cc_clear_error(void);

/* ---- log (log.c) --------------------------------------------------------- */

/* Sends one line (newline added) to the clearclip_log_set callback; nothing when none is set. */
void cc_log(clearclip_log_level level, const char * fmt, ...) CC_PRINTF(2, 3);

/* ---- backends (backend.c) ----------------------------------------------- */

/* clearclip_backend_load(NULL) unless a CPU backend is registered already; every entry point that
 * needs a device (model loading's repack probe, context creation) calls it first. */
clearclip_status cc_backend_ensure(void);
/* Loads the GPU backend modules beside the CPU variant in use, once (cc_backend_ensure loads the
 * CPU variant alone); called before a device other than the CPU is looked for. */
void cc_backend_ensure_devices(void);
/* Why the GPU backend module libggml-<kind>.so ("cuda", "vulkan") found in a directory the
 * backends were loaded from gives no backend: it did not load (its path and the loader's message)
 * or it loaded and its backend did not start; "" when there is no such module or its backend is
 * registered. */
void cc_backend_module_error(const char * kind, char * buf, size_t size);
/* The device the backend "auto" (or NULL) names, into *out: the first GPU ggml offers (the GPU
 * modules loaded first) where cc_auto_gpu says to look for one, else the CPU, whose GPU modules
 * then stay unloaded. NULL when no device answers (the caller's "not available" error).
 * CLEARCLIP_ERR_INVALID_ARGUMENT for a bad CLEARCLIP_AUTO_GPU. Writes the reason of the choice to
 * why (may be NULL). */
clearclip_status cc_auto_device(ggml_backend_dev_t * out, char * why, size_t size);
/* Whether the CPU backend in use was built for an instruction-set feature (cpu_features.c), by ggml's name for it
 * ("AVX2", "AVX512", "AVX512_VNNI"; true when the backend lists no features). The engine's own
 * kernels never use a wider instruction set than the ggml variant in use, so that forcing a
 * variant (a folder with only libggml-cpu-haswell.so) forces the engine's kernels with it. */
bool             cc_cpu_backend_feature(const char * name);

/* ---- what "auto" looks at (auto_gpu.c) ----------------------------------- */

#define CC_AUTO_GPU_ENV "CLEARCLIP_AUTO_GPU"
/* Whether "auto" looks for a GPU (loads the GPU backend modules) into *gpu. setting is the value
 * of CLEARCLIP_AUTO_GPU: "1" yes, "0" no; NULL, "" or "probe": on Linux, whether dev_dir ("/dev")
 * holds a GPU device node (dri/renderD*, nvidia<N>, kfd, dxg, kgsl-3d*, mali<N>), elsewhere yes.
 * The reason goes to why. Any other setting: false, with what the variable takes in why. */
bool cc_auto_gpu(const char * setting, const char * dev_dir, bool * gpu, char * why, size_t size);

/* ---- device guard (device_guard.cpp) ------------------------------------ */

/* ggml calls that may reach a GPU backend, with any C++ exception it throws (a lost device, out
 * of device memory) caught and its text written to what: a status (GGML_STATUS_FAILED or
 * GGML_STATUS_ALLOC_FAILED), false, or NULL instead. The sanitizer build has no C++ and calls
 * ggml directly (no device tests run there). */
#if defined(CC_HAVE_DEVICE_GUARD)
enum ggml_status cc_guarded_sched_compute(ggml_backend_sched_t sched, struct ggml_cgraph * gf,
                                          char * what, size_t size);
bool cc_guarded_tensor_set(struct ggml_tensor * t, const void * data, size_t offset, size_t n,
                           char * what, size_t size);
ggml_backend_t cc_guarded_dev_init(ggml_backend_dev_t dev, char * what, size_t size);
#else
static inline enum ggml_status cc_guarded_sched_compute(ggml_backend_sched_t sched,
                                                        struct ggml_cgraph * gf, char * what,
                                                        size_t size) {
    (void) what;
    (void) size;
    return ggml_backend_sched_graph_compute(sched, gf);
}
static inline bool cc_guarded_tensor_set(struct ggml_tensor * t, const void * data, size_t offset,
                                         size_t n, char * what, size_t size) {
    (void) what;
    (void) size;
    ggml_backend_tensor_set(t, data, offset, n);
    return true;
}
static inline ggml_backend_t cc_guarded_dev_init(ggml_backend_dev_t dev, char * what, size_t size) {
    (void) what;
    (void) size;
    return ggml_backend_dev_init(dev, NULL);
}
#endif

/* ---- GGUF structure (gguf_check.c) --------------------------------------- */

/* Limits of what the loader accepts (models/README.md, "What a loader accepts"): far above any
 * CLIP file (ViT-bigG has ~1,300 tensors, a tokenizer ~50,000 strings), low enough that a
 * hostile count cannot make ggml's reader allocate or loop for long. */
#define CC_GGUF_MAX_KV           4096
#define CC_GGUF_MAX_TENSORS      8192
#define CC_GGUF_MAX_KEY          1024          /* bytes of a key name */
#define CC_GGUF_MAX_TENSOR_NAME  63            /* bytes; GGML_MAX_NAME - 1 */
#define CC_GGUF_MAX_STRING       (1u << 20)    /* bytes of one string value */
#define CC_GGUF_MAX_ARRAY        (1u << 21)    /* elements of one array value */
#define CC_GGUF_MAX_ALIGNMENT    (1u << 16)

/* Walks the GGUF header of the open regular file fd (file_size bytes; read with pread, the fd's
 * offset is not moved) and checks it completely: magic, version, counts, key names and types,
 * string lengths, array counts, tensor names, dimensions, types, sizes, offsets and the
 * alignment. On success *data_offset is where the tensor data starts. Errors are
 * CLEARCLIP_ERR_FORMAT naming the key or tensor and the byte offset (CLEARCLIP_ERR_IO when
 * reading fails). */
clearclip_status cc_gguf_check(int fd, const char * path, uint64_t file_size,
                               uint64_t * data_offset);

/* ---- model (model.c) ----------------------------------------------------- */

typedef struct cc_layer {
    struct ggml_tensor * ln1_w, * ln1_b, * ln2_w, * ln2_b;
    struct ggml_tensor * q_w, * q_b, * k_w, * k_b, * v_w, * v_b, * o_w, * o_b;
    struct ggml_tensor * fc1_w, * fc1_b, * fc2_w, * fc2_b; /* fc1: W -> F, fc2: F -> W */
} cc_layer;

typedef struct cc_tower_hparams {
    int32_t width, layers, heads, ffn, proj_dim;
    float   eps;
} cc_tower_hparams;

typedef struct cc_hparams {
    bool             has_text, has_vision, use_gelu;
    int32_t          file_type;
    cc_tower_hparams text, vision;
    int32_t          context_length, vocab_size;
    int32_t          image_size, patch_size;
    float            image_mean[3], image_std[3];
    char             name[128];
} cc_hparams;

/* One set of weight tensors bound to a backend buffer. The model owns the host copy
 * (mmap or CPU buffer); a context on another device owns a copy in device memory. */
typedef struct cc_weights {
    struct ggml_context * ctx;
    ggml_backend_buffer_t buffer;
    /* Matrices also held in a layout of ggml's CPU backend that multiplies faster ("CPU_REPACK",
     * see cc_repack_weights); the fields below then point to these copies, while the tensors of
     * ctx keep the file's layout for copies to other devices. */
    struct ggml_context * repack_ctx;
    ggml_backend_buffer_t repack_buffer;
    /* Matrices packed for the engine's own products where the CPU runs them: q8_0 and q4_0 for
     * the int8 product (q8_gemm.c), f32 for the f32 one (f32_gemm.c). The field keeps the file's
     * tensor (for ggml's product where the activations do not suit the engine's), and its `extra`
     * points to the packed tensor of this context. Only these host weights carry it: ggml's CPU
     * backend reads `extra` only for tensors in its own extra buffer types, and other devices get
     * copies without it. */
    struct ggml_context * packed_ctx;
    ggml_backend_buffer_t packed_buffer;

    struct ggml_tensor * t_token_embd, * t_pos_embd, * t_post_ln_w, * t_post_ln_b, * t_proj;
    cc_layer *           t_layers;

    struct ggml_tensor * v_class_embd, * v_patch_embd, * v_pos_embd;
    struct ggml_tensor * v_pre_ln_w, * v_pre_ln_b, * v_post_ln_w, * v_post_ln_b, * v_proj;
    cc_layer *           v_layers;
} cc_weights;

/* The model's weights in the memory of one device (a buffer type that is not host memory),
 * shared by every context on that device: uploaded when the first such context is created,
 * freed when the last one is. */
typedef struct cc_device_weights {
    ggml_backend_buffer_type_t buft;  /* NULL: free slot */
    int32_t                    refs;  /* contexts using w */
    cc_weights                 w;
} cc_device_weights;

/* Devices one model can be on at once (a machine's GPUs); a context on one more is refused. */
#define CC_MAX_DEVICES 8

struct clearclip_model {
    char *           path;
    cc_hparams       hp;
    cc_weights       weights; /* host-accessible weights (mmap or CPU buffer) */
    cc_device_weights device_weights[CC_MAX_DEVICES]; /* guarded by a lock in model_weights.c */
    void *           mapping; /* mmap base, NULL when read into memory */
    size_t           mapping_size;
    cc_tokenizer * tokenizer; /* NULL when the file carries no vocabulary */
    int32_t          bos_id, eos_id;
};

void             cc_weights_free(cc_weights * w);

/* The model's weights in buft's memory for a context on a non-host device: the copy other
 * contexts on that device use, or a new one (tensors named like the model's, data uploaded).
 * Each successful acquire is paired with one cc_device_weights_release. Thread-safe. */
clearclip_status cc_device_weights_acquire(clearclip_model * model,
                                           ggml_backend_buffer_type_t buft,
                                           const cc_weights ** out);
void             cc_device_weights_release(clearclip_model * model, const cc_weights * w);

/* CLEARCLIP_OK if the model has its vision (text) tower loaded, else CLEARCLIP_ERR_NO_TOWER
 * with the message every entry point gives. */
static inline clearclip_status cc_need_vision(const clearclip_model * model) {
    if (!model->hp.has_vision) {
        return cc_error(CLEARCLIP_ERR_NO_TOWER, "%s: the model has no vision tower (loaded)",
                        model->path);
    }
    return CLEARCLIP_OK;
}

static inline clearclip_status cc_need_text(const clearclip_model * model) {
    if (!model->hp.has_text) {
        return cc_error(CLEARCLIP_ERR_NO_TOWER, "%s: the model has no text tower (loaded)",
                        model->path);
    }
    return CLEARCLIP_OK;
}

/* Whether mode is one of clearclip_block_mode's values (a new mode extends this range). */
static inline bool cc_mode_known(clearclip_block_mode mode) {
    return (int) mode >= 0 && (int) mode < CLEARCLIP_MODE_COUNT;
}

/* Reads the f32 value of a (f32 or f16) host tensor into dst (ggml_nelements floats). */
void cc_tensor_to_f32_host(const struct ggml_tensor * t, float * dst);

/* ---- class sets (classes.c) ---------------------------------------------- */

struct clearclip_classes {
    int32_t   n_names, n_classes, dim;
    float *   embeddings; /* n_names x dim, finite */
    int32_t * name_class; /* n_names entries in 0..n_classes-1 (identity when none was given) */
};

/* ---- context (context.c) ------------------------------------------------- */

/* How the attention is computed. The vision tower uses the first its backend offers of FUSED
 * (x86 CPU with AVX2+FMA), FLASH (ggml_flash_attn_ext in f32) and PLAIN; the text tower FUSED
 * where it is available (its masks included), else PLAIN. FUSED and FLASH need no sequence
 * padding and no score matrices in memory. */
enum cc_attn_impl { CC_ATTN_PLAIN, CC_ATTN_FLASH, CC_ATTN_FUSED };

/* The fused CPU attention's per-task kernels (see cc_fused_attention_available below). */
typedef enum cc_attn_kernel {
    CC_ATTN_KERNEL_NONE   = 0,
    CC_ATTN_KERNEL_AVX2   = 1,
    CC_ATTN_KERNEL_AVX512 = 2,
    CC_ATTN_KERNEL_BF16   = 3,   /* AVX-512 BF16: the products' operands rounded to bf16 */
} cc_attn_kernel;

enum cc_graph_kind {
    CC_GRAPH_TEXT,   /* text embeddings of packed prompts (graph_text.c) */
    CC_GRAPH_IMAGE,  /* the global image embedding (graph_vision.c) */
    CC_GRAPH_DENSE,  /* dense patch features of one final-block mode (graph_vision.c) */
};

/* What a graph is built for: the cache returns a graph whose key equals the one asked for
 * (cc_graph_key_equal), so every field that changes the graph is in it, and only those. */
typedef struct cc_graph_key {
    enum cc_graph_kind kind;
    /* The named intermediates are kept and handed to the context's tensor callback (set by
     * cc_get_graph from the context); without it the allocator reuses their memory. */
    bool               dump;
    union {
        struct cc_text_key {       /* CC_GRAPH_TEXT */
            int32_t n_seq;         /* packed sequences */
            int32_t n_tokens;      /* tokens per sequence */
            int32_t prompts;       /* prompts per sequence at most (cc_encode_ids) */
        } text;
        struct cc_vision_key {     /* CC_GRAPH_IMAGE, CC_GRAPH_DENSE */
            int32_t              gw, gh;     /* patch grid */
            clearclip_block_mode mode;       /* DENSE: the final block */
            float                naclip_std; /* DENSE with CLEARCLIP_MODE_NACLIP: its Gaussian's std */
        } vision;
    };
} cc_graph_key;

bool cc_graph_key_equal(const cc_graph_key * a, const cc_graph_key * b);

/* A graph built for one key. Its tensors get their memory from the context's one compute buffer
 * when it runs (see cc_get_graph). */
typedef struct cc_graph {
    cc_graph_key         key;
    uint64_t             last_use;
    struct ggml_context * ctx;
    struct ggml_cgraph * gf;
    struct ggml_tensor * in_pixels, * in_pos, * in_mask, * in_ids, * in_positions, * in_eot;
    struct ggml_tensor * in_pool_mask; /* text: attention mask of the pooled (EOT) rows */
    struct ggml_tensor * out;
    float *              pos_host;    /* interpolated position embeddings for in_pos */
    float *              mask_host;   /* additive attention mask hiding padding tokens */
    struct ggml_tensor * in_bias;     /* NACLIP: additive bias of the last block's attention */
    float *              bias_host;   /* its values (Gaussian bias, padding hidden), built once */
    /* key.dump: the named intermediates in the order they were built (cc_named), for the
     * tensor callback; NULL otherwise */
    struct ggml_tensor ** named;
    int32_t              n_named;
} cc_graph;

#define CC_GRAPH_CACHE 8

struct clearclip_context {
    clearclip_model * model;
    ggml_backend_t    backend;
    bool              backend_is_cpu;
    /* Any other device: the graphs run through a scheduler over that device and the CPU, so an
     * operation the device lacks runs on the CPU instead of failing (NULL on the CPU). */
    ggml_backend_t    cpu_backend;
    ggml_backend_sched_t sched;
    const cc_weights * w;             /* the weights this context computes with: the model's
                                         host weights on the CPU, the device's shared copy else */
    int32_t           n_threads;
    enum cc_attn_impl vision_attn;    /* see cc_attn_opts */
    enum cc_attn_impl text_attn;
    /* the vision tower's fused-attention kernel (cc_fused_attention_kernel_for); the text tower's
     * sequences are short and keep cc_fused_attention_best_kernel, which bf16 did not beat there */
    cc_attn_kernel    vision_attn_kernel;
    cc_graph          graphs[CC_GRAPH_CACHE];
    /* One compute buffer for all cached graphs, sized for the largest: the graph that runs is
     * (re)placed into it, so memory is that of the largest graph, not the sum of all. */
    ggml_gallocr_t    galloc;
    cc_graph *        placed;         /* the graph whose tensors currently point into it */
    uint64_t          use_counter;
    char              backend_name[64];
    float *           scratch;        /* reused host buffer (padded pixels, token rows) */
    size_t            scratch_size;   /* in floats */
    clearclip_abort_callback abort_cb; /* clearclip_context_set_abort_callback */
    void *            abort_ud;
    clearclip_tensor_callback tensor_cb; /* clearclip_context_set_tensor_callback */
    void *            tensor_ud;
};

/* The device a backend name selects (see clearclip_context_params.backend), or NULL. */
ggml_backend_dev_t cc_find_device(const char * name);

/* Whether the caller's abort callback asks to stop; records the ERR_ABORTED message if so. */
bool cc_should_abort(clearclip_context * ctx);

/* Returns the context's scratch buffer grown to at least n_floats, or NULL. */
float * cc_scratch(clearclip_context * ctx, size_t n_floats);

/* Finds the cached graph for the key, building it (evicting the least recently used) as
 * needed, and places its tensors in the compute buffer; the caller then sets its inputs. */
clearclip_status cc_get_graph(clearclip_context * ctx, cc_graph_key key, cc_graph ** out);
clearclip_status cc_compute(clearclip_context * ctx, cc_graph * g);

/* ---- graphs (graph_text.c, graph_vision.c) ------------------------------ */

/* Build g's graph in g->ctx; CLEARCLIP_OK, or an error with its message set. */
clearclip_status cc_build_text_graph(clearclip_context * ctx, cc_graph * g);
clearclip_status cc_build_vision_graph(clearclip_context * ctx, cc_graph * g);

/* Names an intermediate of g's graph ("v.blk.3"); in a graph built for the tensor callback
 * (key.dump) also keeps its memory to the end of the run and lists it in g->named. Returns the
 * tensor to go on with (t, or in that graph a contiguous copy of a strided t). */
struct ggml_tensor * cc_named(cc_graph * g, struct ggml_tensor * t, const char * fmt, ...)
    CC_PRINTF(3, 4);

/* Shared transformer pieces (graph_common.c). */
struct ggml_tensor * cc_f32(struct ggml_context * ctx, struct ggml_tensor * t);
struct ggml_tensor * cc_layer_norm(struct ggml_context * ctx, struct ggml_tensor * x,
                                   struct ggml_tensor * w, struct ggml_tensor * b, float eps);
struct ggml_tensor * cc_linear(struct ggml_context * ctx, struct ggml_tensor * x,
                               struct ggml_tensor * w, struct ggml_tensor * b);
/* act(x w^T + b) + residual (residual NULL for none), the activation and the sum done inside the
 * engine's f32 product where that takes them. */
typedef enum cc_act { CC_ACT_NONE, CC_ACT_QUICK_GELU } cc_act;
struct ggml_tensor * cc_linear_ex(struct ggml_context * ctx, struct ggml_tensor * x, struct ggml_tensor * w,
                                  struct ggml_tensor * b, cc_act act, struct ggml_tensor * residual);
typedef struct cc_attn_opts {
    int                  heads;
    float                scale;     /* head_dim^-0.5 */
    enum cc_attn_impl    impl;
    struct ggml_tensor * scratch;   /* FUSED: working memory, see cc_fused_attention_scratch */
    cc_attn_kernel       kernel;    /* FUSED: the per-task kernel */
    /* PLAIN and FUSED: additive [n_k, n_q, 1, 1|B] mask, or NULL (the text tower's causal
     * mask is one of these, built with the graph's inputs) */
    struct ggml_tensor * mask;
} cc_attn_opts;

/* Attention of q, k, v: [W, n, B] (heads not yet split; k may be q). scores = k^T q * scale
 * (+ mask) per head. Returns [W, n_q, B] (heads merged). */
struct ggml_tensor * cc_attention(struct ggml_context * ctx, struct ggml_tensor * q,
                                  struct ggml_tensor * k, struct ggml_tensor * v,
                                  const cc_attn_opts * o);
struct ggml_tensor * cc_attention_sclip(struct ggml_context * ctx, struct ggml_tensor * q,
                                        struct ggml_tensor * k, struct ggml_tensor * v,
                                        const cc_attn_opts * o);
/* softmax(k^T q * scale + bias) v per head, always through the score matrix (any backend);
 * bias [n_k, n_q] is shared by the heads. */
struct ggml_tensor * cc_attention_biased(struct ggml_context * ctx, struct ggml_tensor * q,
                                         struct ggml_tensor * k, struct ggml_tensor * v,
                                         struct ggml_tensor * bias, const cc_attn_opts * o);
/* NACLIP's bias for n_rows tokens (CLS, the gw x gh patches row-major, then padding): 0 on the
 * CLS row and column, exp(-dist^2 / (2 std^2)) between patches, -inf in padding columns.
 * out: n_rows x n_rows, row = query. */
void cc_naclip_bias(int32_t gw, int32_t gh, int32_t n_rows, float std, float * out);
/* residual + the layer's MLP of x. */
struct ggml_tensor * cc_mlp_residual(struct ggml_context * ctx, struct ggml_tensor * x, const cc_layer * l,
                                     bool use_gelu, struct ggml_tensor * residual);
/* Stock pre-LN CLIP block. */
struct ggml_tensor * cc_block(struct ggml_context * ctx, struct ggml_tensor * x, const cc_layer * l,
                              float eps, bool use_gelu, const cc_attn_opts * attn);

/* Fused CPU attention (attention.c): whether this CPU runs it for the head size; the working
 * memory that every such operation of a graph shares (they run one after the other), for up to
 * n_keys keys and n_threads threads; and the operation for q [W, n_q, B], k, v [W, n_k, B] with
 * an optional additive mask [n_k, n_q, 1, 1|B] (NULL: none), heads merged in the result
 * [W, n_q, B]. */
bool                 cc_fused_attention_available(int head_dim);
/* Its per-task kernels (attention_avx2.c, attention_avx512.c), one of which a context picks
 * (cc_fused_attention_kernel_for) and passes in cc_attn_opts; cc_fused_attention_with takes it by
 * name (NULL when the CPU does not run it), and the tests compare every kernel with a plain C
 * reference. */
cc_attn_kernel       cc_fused_attention_best_kernel(void);
/* The vision tower's kernel for a model: the BF16 one for files whose matrices are quantized
 * (q8_0, q4_0, ...: their products already round activations to 8 bits or fewer) where this CPU
 * and the ggml variant have AVX-512 BF16; otherwise cc_fused_attention_best_kernel. */
cc_attn_kernel       cc_fused_attention_kernel_for(bool quantized_matrices);
bool                 cc_fused_attention_kernel_runs(cc_attn_kernel kernel);
struct ggml_tensor * cc_fused_attention_scratch(struct ggml_context * ctx, int64_t n_keys,
                                                int64_t head_dim, int n_threads);
struct ggml_tensor * cc_fused_attention_with(struct ggml_context * ctx, struct ggml_tensor * q,
                                             struct ggml_tensor * k, struct ggml_tensor * v,
                                             struct ggml_tensor * mask, int heads,
                                             struct ggml_tensor * scratch, cc_attn_kernel kernel);

/* The engine's int8 product for q8_0 and q4_0 weights on x86 CPUs with AVX2 (q8_gemm.c): whether this
 * CPU and the ggml variant in use run it; the bytes of a [k, m] q8_0 or q4_0 matrix packed for it (0 for
 * other types); the packing (from the rows of such a tensor's data); and the product of packed weights
 * ([packed size] I8 tensor, m outputs) with f32 activations x [k, n] (2-D, rows contiguous), [m, n] f32
 * like ggml_mul_mat, or NULL when x does not suit it. */
bool                 cc_q8_gemm_available(void);
/* Its kernels: the best one the CPU and the ggml variant run is what cc_q8_mul_mat uses;
 * cc_q8_mul_mat_with takes one by name (NULL when the CPU does not run it), for the tests. */
typedef enum cc_q8_kernel {
    CC_Q8_KERNEL_NONE    = 0,
    CC_Q8_KERNEL_AVX512  = 1,   /* AVX-512 VNNI */
    CC_Q8_KERNEL_AVXVNNI = 2,   /* AVX2 + AVX-VNNI */
    CC_Q8_KERNEL_AVX2    = 3,   /* AVX2 + FMA + F16C, no VNNI */
} cc_q8_kernel;
cc_q8_kernel         cc_q8_best_kernel(void);
bool                 cc_q8_kernel_cpu_runs(cc_q8_kernel kernel);   /* the CPU alone */
size_t               cc_q8_packed_size(enum ggml_type type, int64_t k, int64_t m);
void                 cc_q8_pack(enum ggml_type type, const void * data, int64_t k, int64_t m, uint8_t * out);
struct ggml_tensor * cc_q8_mul_mat(struct ggml_context * ctx, struct ggml_tensor * packed, enum ggml_type type,
                                   int64_t m, struct ggml_tensor * x);
struct ggml_tensor * cc_q8_mul_mat_with(struct ggml_context * ctx, struct ggml_tensor * packed, enum ggml_type type,
                                        int64_t m, struct ggml_tensor * x, cc_q8_kernel kernel);

/* The engine's f32 product on x86 CPUs with AVX-512 (f32_gemm.c): whether this CPU and the ggml
 * variant in use run it; the bytes of a [k, m] f32 matrix packed for it; the packing (from the rows
 * of such a tensor's data); and the product of packed weights (m outputs) with f32 activations
 * x [k, n] (2-D, rows contiguous): quick_gelu(x w^T + bias) + residual, the f32 bias of m values
 * and the f32 residual rows [m, n] (rows contiguous) each optional, quick_gelu when asked; [m, n]
 * f32 like ggml_mul_mat, or NULL when x, the bias or the residual does not suit it. */
bool                 cc_f32_gemm_available(void);
/* LayerNorm of x's rows with f32 w and b on the host, in one pass on the same CPUs (and, for 2-D x,
 * straight into the packing of the products that read it); NULL where it does not apply. */
struct ggml_tensor * cc_f32_layer_norm(struct ggml_context * ctx, struct ggml_tensor * x, struct ggml_tensor * w,
                                       struct ggml_tensor * b, float eps);
/* type: the weights' type, GGML_TYPE_F32 or GGML_TYPE_F16 (packed as they are; 0 bytes for any
 * other type). */
size_t               cc_f32_packed_size(enum ggml_type type, int64_t k, int64_t m);
void                 cc_f32_pack(enum ggml_type type, const void * w, int64_t k, int64_t m, void * out);
struct ggml_tensor * cc_f32_mul_mat(struct ggml_context * ctx, struct ggml_tensor * packed, enum ggml_type type, int64_t m,
                                    struct ggml_tensor * x, struct ggml_tensor * bias, bool quick_gelu,
                                    struct ggml_tensor * residual);

/* ---- work shared between ggml's threads (work_share.c) -------------------- */

/* A custom operation's n chunks of work, split between its nth threads as ggml's static split
 * would, then stolen one by one from the back of a slower thread's share: a thread slowed by a
 * busy neighbour no longer holds the others at the operation's barrier. The share lives in the
 * graph's context and is the operation's userdata, carrying its parameters (cc_work_share_new:
 * NULL when the context has no room left, cc_work_share_room bytes each; the builders then leave
 * the operation to ggml, and a packing without one splits its work statically, as it does beyond
 * CC_WORK_SHARE_THREADS threads).
 * Each thread of the operation calls cc_work_begin once, then cc_work_next until it returns -1; a
 * thread that begins must drain it so, since the next run relies on finding every share empty. */
#define CC_WORK_SHARE_THREADS 64
typedef struct cc_work_share cc_work_share;
typedef struct cc_work {
    cc_work_share * share;
    int             ith, nth;
    int64_t         next, end;   /* the static split, without a share */
} cc_work;
size_t          cc_work_share_room(void);
cc_work_share * cc_work_share_new(struct ggml_context * ctx, intptr_t data);
intptr_t        cc_work_share_data(const cc_work_share * share);
void            cc_work_begin(cc_work * w, cc_work_share * share, int ith, int nth, int64_t n);
int64_t         cc_work_next(cc_work * w);

/* ---- host-side parallel loop (parallel.c) -------------------------------- */

/* Calls fn(arg, ith, n_threads) for ith = 0..n_threads-1, on n_threads - 1 new threads and the
 * caller, and returns when all have returned. Each call gets the same arg; they share work by ith.
 * Where threads cannot be started, their calls run on the caller. */
typedef void (*cc_parallel_fn)(void * arg, int ith, int nth);
void cc_parallel_run(int n_threads, cc_parallel_fn fn, void * arg);

/* ---- host-side image math (interp.c, image.c) ---------------------------- */

/* Position embeddings for a gh x gw grid: class row then the native g0 x g0 grid resampled
 * like PyTorch's bicubic interpolate (align_corners=False, A=-0.75) with scale factors
 * ((gh+0.1)/g0, (gw+0.1)/g0). src: [1 + g0*g0][width], dst: [1 + gh*gw][width]. */
void cc_interp_pos_embd(const float * src, int32_t width, int32_t g0, int32_t gh, int32_t gw,
                        float * dst);

/* Bilinear (align_corners=False, half-pixel centres) resize of interleaved uint8 RGB;
 * results rounded to nearest. False if out of memory. */
bool cc_resize_rgb_bilinear(const uint8_t * src, int32_t sw, int32_t sh, int32_t sstride,
                            uint8_t * dst, int32_t dw, int32_t dh);

/* Source sample positions of a PyTorch bilinear (align_corners=False) resize along one axis
 * from n_in to n_out samples: i0, i1 and the weight of i1. */
void cc_bilinear_coords(int32_t n_in, int32_t n_out, int32_t * i0, int32_t * i1, float * w1);

/* Normalises an RGB region into planar floats (no validation). */
void cc_normalize_rgb(const float mean[3], const float std[3], const uint8_t * rgb, int32_t width,
                      int32_t height, int32_t row_stride, float * out);

/* Dense features without argument validation (used by segment). */
clearclip_status cc_dense_features(clearclip_context * ctx, const float * pixels, int32_t width,
                                   int32_t height, clearclip_block_mode mode, float naclip_std,
                                   float * out,
                                   int32_t * gw_out, int32_t * gh_out);

#endif
