/* Contexts: backend selection, per-backend weights, the graph cache (typed keys) and the
 * callbacks (abort; the tensor callback with the graphs' named intermediates). */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE   /* sched_getaffinity, CPU_COUNT */
#endif
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#  include <windows.h>
#  define strcasecmp  _stricmp
#  define strncasecmp _strnicmp
#else
#  include <pthread.h>
#  include <strings.h>
#  include <unistd.h>
#  if defined(__linux__)
#    include <sched.h>
#  endif
#endif

/* The default thread count: the CPUs this process may run on. ggml's threads spin at every
 * operation's barrier, so more threads than that (a process started under `taskset`, or pinned by
 * its service manager, where the machine's count was taken) ran a 448 window 2-30 times slower:
 * 3 threads on 2 CPUs 0.66 s against 0.32 s (f32), 8 threads 1.6 s. */
static int cc_cpu_count(void) {
#if defined(_WIN32)
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return (int) si.dwNumberOfProcessors;
#else
#  if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#  endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int) n : 1;
#endif
}

static bool cc_prefix_icase(const char * prefix, const char * s) {
    return s && strncasecmp(prefix, s, strlen(prefix)) == 0;
}

/* "cuda" selects the first CUDA device ("CUDA0"), "cuda1" the second, "vulkan" the first Vulkan
 * device ("Vulkan0"); names match device or registry names case-insensitively. Metal registers
 * as "MTL". "auto" (or NULL) is the first GPU, else the CPU; contexts ask cc_auto_device for it,
 * which decides first whether to look for a GPU at all. */
ggml_backend_dev_t cc_find_device(const char * name) {
    size_t n = ggml_backend_dev_count();
    if (name == NULL || strcasecmp(name, "auto") == 0) {
        for (size_t i = 0; i < n; i++) {
            ggml_backend_dev_t d = ggml_backend_dev_get(i);
            enum ggml_backend_dev_type t = ggml_backend_dev_type(d);
            if (t == GGML_BACKEND_DEVICE_TYPE_GPU || t == GGML_BACKEND_DEVICE_TYPE_IGPU) return d;
        }
        return ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    }
    if (strcasecmp(name, "cpu") == 0) {
        return ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    }
    const char * alias = strcasecmp(name, "metal") == 0 ? "mtl" : name;
    for (size_t i = 0; i < n; i++) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        if (strcasecmp(alias, ggml_backend_dev_name(d)) == 0) return d;
    }
    for (size_t i = 0; i < n; i++) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        if (cc_prefix_icase(alias, ggml_backend_dev_name(d)) ||
            cc_prefix_icase(alias, ggml_backend_reg_name(ggml_backend_dev_backend_reg(d)))) {
            return d;
        }
    }
    return NULL;
}

/* Why no device answers to a GPU backend's name, and what gives one, into buf. ggml's Vulkan
 * backend leaves out devices that are CPUs (Mesa's lavapipe, llvmpipe) unless
 * GGML_VK_VISIBLE_DEVICES names them; ggml's loader skips a backend module that fails to load
 * (a CUDA build without the CUDA runtime on the library path) without a word, so the loader's
 * own message is fetched for it. */
static void cc_missing_device_hint(const char * requested, char * buf, size_t size) {
    /* kind: the module's libggml-<kind>.so, and what a backend name starts with */
    static const struct { const char * kind, * needs; } modules[] = {
        { "cuda", "it needs an NVIDIA driver and the CUDA 13 runtime and cuBLAS "
                  "(libcudart.so.13, libcublas.so.13) on the library path (docs/gpu.md)" },
        { "vulkan", "it needs the Vulkan loader libvulkan.so.1 (Debian: libvulkan1) and "
                    "a Vulkan driver (vulkaninfo --summary lists them)" },
    };
    for (size_t i = 0; requested && i < sizeof(modules) / sizeof(modules[0]); i++) {
        if (!cc_prefix_icase(modules[i].kind, requested)) continue;
        char why[1400];
        cc_backend_module_error(modules[i].kind, why, sizeof(why));
        if (why[0]) {
            snprintf(buf, size, "%s; %s", why, modules[i].needs);
            return;
        }
    }
    ggml_backend_reg_t vk = ggml_backend_reg_by_name("Vulkan");
    if (vk && ggml_backend_reg_dev_count(vk) == 0) {
        snprintf(buf, size, "%s",
                 "ggml's Vulkan backend is loaded but found no usable device: a GPU needs its Vulkan "
                 "driver (vulkaninfo --summary lists the devices), and a software device such as "
                 "Mesa's lavapipe is only offered with GGML_VK_VISIBLE_DEVICES=0");
    } else if (!vk) {
        snprintf(buf, size, "%s",
                 "GPU backends come from the ggml build: Vulkan (libggml-vulkan.so from a ggml built "
                 "with GGML_VULKAN=ON, beside libggml or libclearclip, and the system's libvulkan.so.1), "
                 "CUDA (GGML_CUDA=ON) or Metal (GGML_METAL=ON)");
    } else {
        snprintf(buf, size, "%s", "name a device of that list (e.g. cpu, vulkan, vulkan1, cuda) or auto");
    }
}

static void cc_device_list(char * buf, size_t size) {
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ggml_backend_dev_count() && pos < size; i++) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        int k = snprintf(buf + pos, size - pos, "%s%s", i ? ", " : "", ggml_backend_dev_name(d));
        if (k < 0) break;
        pos += (size_t) k;
    }
}

/* Whether the backend runs f32 flash attention of the vision tower's head size: the CPU backend
 * does; GPU backends may want f16 K/V. */
static bool cc_backend_flash_attn(ggml_backend_t backend, const cc_hparams * hp) {
    struct ggml_init_params ip = { .mem_size = 4 * ggml_tensor_overhead(), .mem_buffer = NULL,
                                   .no_alloc = true };
    struct ggml_context * c = ggml_init(ip);
    if (!c) return false;
    int64_t hd = hp->vision.width / hp->vision.heads;
    struct ggml_tensor * q = ggml_new_tensor_3d(c, GGML_TYPE_F32, hd, 197, hp->vision.heads);
    struct ggml_tensor * fa = ggml_flash_attn_ext(c, q, q, q, NULL, 1.0f, 0.0f, 0.0f);
    ggml_flash_attn_ext_set_prec(fa, GGML_PREC_F32);
    bool ok = ggml_backend_supports_op(backend, fa);
    ggml_free(c);
    return ok;
}

/* Whether the model's matrices are quantized (its first layer's query projection in a type of
 * fewer than 16 bits per value, as a file's matrices all are or none): such files get the fused
 * attention's BF16 kernel in the vision tower where the CPU has it (cc_fused_attention_kernel_for). */
static bool cc_quantized_matrices(const clearclip_model * model) {
    const cc_weights * w = &model->weights;
    const cc_layer * l = model->hp.has_vision ? w->v_layers : model->hp.has_text ? w->t_layers : NULL;
    if (!l || !l->q_w) return false;
    const enum ggml_type t = l->q_w->type;
    return t != GGML_TYPE_F32 && t != GGML_TYPE_F16 && t != GGML_TYPE_BF16;
}

/* Handed to the backend (ggml checks it between graph nodes): asks the context's current
 * callback, so clearclip_context_set_abort_callback never has to reach into the backend. */
static bool cc_backend_abort(void * data) {
    const clearclip_context * ctx = data;
    return ctx->abort_cb && ctx->abort_cb(ctx->abort_ud);
}

bool cc_should_abort(clearclip_context * ctx) {
    if (ctx->abort_cb && ctx->abort_cb(ctx->abort_ud)) {
        cc_error(CLEARCLIP_ERR_ABORTED, "aborted by the caller");
        return true;
    }
    return false;
}

void clearclip_context_set_abort_callback(clearclip_context * ctx,
                                          clearclip_abort_callback callback, void * user_data) {
    if (!ctx) return;
    ctx->abort_cb = callback;
    ctx->abort_ud = callback ? user_data : NULL;
}

/* The cached graphs stay: the key's dump flag keeps graphs with and without kept intermediates
 * apart, so setting or clearing the callback changes which of them the next call uses. */
void clearclip_context_set_tensor_callback(clearclip_context * ctx,
                                           clearclip_tensor_callback callback, void * user_data) {
    if (!ctx) return;
    ctx->tensor_cb = callback;
    ctx->tensor_ud = callback ? user_data : NULL;
}

/* A context on a device other than the CPU: the model's weights on that device, and a scheduler
 * over the device and the CPU backend, which runs what the device cannot. */
static clearclip_status cc_device_context_init(clearclip_context * ctx) {
    clearclip_status st = cc_device_weights_acquire(
        ctx->model, ggml_backend_get_default_buffer_type(ctx->backend), &ctx->w);
    if (st) return st;
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    ctx->cpu_backend = cpu ? ggml_backend_dev_init(cpu, NULL) : NULL;
    if (!ctx->cpu_backend) {
        return cc_error(CLEARCLIP_ERR_BACKEND, "cannot initialise the CPU backend beside %s",
                        ctx->backend_name);
    }
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(cpu);
    ggml_backend_set_n_threads_t set_threads = (ggml_backend_set_n_threads_t)
        ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
    if (set_threads) set_threads(ctx->cpu_backend, ctx->n_threads);
    ggml_backend_set_abort_callback_t set_cpu_abort = (ggml_backend_set_abort_callback_t)
        ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_abort_callback");
    if (set_cpu_abort) set_cpu_abort(ctx->cpu_backend, cc_backend_abort, ctx);
    ggml_backend_t backends[2] = { ctx->backend, ctx->cpu_backend };
    ctx->sched = ggml_backend_sched_new(backends, NULL, 2, CC_GRAPH_SIZE, false, false);
    if (!ctx->sched) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    return CLEARCLIP_OK;
}

clearclip_context_params clearclip_context_default_params(void) {
    clearclip_context_params p = { .n_threads = 0, .backend = NULL };
    return p;
}

clearclip_status clearclip_context_init(clearclip_model * model, clearclip_context_params params,
                                        clearclip_context ** out) {
    cc_clear_error();
    if (!out) return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "out must not be NULL");
    *out = NULL;
    if (!model) return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "model must not be NULL");

    /* a GGML_BACKEND_DL build registers no device until its backend libraries are loaded */
    clearclip_status loaded = cc_backend_ensure();
    if (loaded) return loaded;
    ggml_backend_dev_t dev = NULL;
    if (!params.backend || strcasecmp(params.backend, "auto") == 0) {
        /* the GPU modules only where a GPU may be (auto_gpu.c) */
        char reason[512];
        clearclip_status st = cc_auto_device(&dev, reason, sizeof(reason));
        if (st) return st;
        if (dev && ggml_backend_dev_type(dev) == GGML_BACKEND_DEVICE_TYPE_CPU) {
            cc_log(CLEARCLIP_LOG_DEBUG, "clearclip: backend auto is the CPU: %s", reason);
        }
    } else {
        /* a CPU context never loads a GPU module; any other name is a GPU's */
        if (strcasecmp(params.backend, "cpu") != 0) cc_backend_ensure_devices();
        dev = cc_find_device(params.backend);
    }
    if (!dev) {
        char list[512], hint[2048];
        cc_device_list(list, sizeof(list));
        cc_missing_device_hint(params.backend, hint, sizeof(hint));
        return cc_error(CLEARCLIP_ERR_BACKEND, "backend '%s' is not available (available devices: %s); %s",
                        params.backend ? params.backend : "auto", list[0] ? list : "none", hint);
    }
    clearclip_context * ctx = calloc(1, sizeof(*ctx));
    if (!ctx) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    ctx->model   = model;
    char why[256] = "";
    ctx->backend = cc_guarded_dev_init(dev, why, sizeof(why));
    if (!ctx->backend) {
        free(ctx);
        return cc_error(CLEARCLIP_ERR_BACKEND, "cannot initialise backend device %s (%s)%s%s",
                        ggml_backend_dev_name(dev), ggml_backend_dev_description(dev),
                        why[0] ? ": " : "", why);
    }
    snprintf(ctx->backend_name, sizeof(ctx->backend_name), "%s", ggml_backend_name(ctx->backend));
    ctx->n_threads = params.n_threads > 0 ? params.n_threads : cc_cpu_count();
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
    ggml_backend_set_n_threads_t set_threads =
        (ggml_backend_set_n_threads_t) ggml_backend_reg_get_proc_address(reg,
                                                                         "ggml_backend_set_n_threads");
    if (set_threads) {
        set_threads(ctx->backend, ctx->n_threads);
    }
    /* Backends that can stop a graph midway (CPU, Metal) export this; others are stopped
     * between graphs by cc_compute. */
    ggml_backend_set_abort_callback_t set_abort =
        (ggml_backend_set_abort_callback_t) ggml_backend_reg_get_proc_address(
            reg, "ggml_backend_set_abort_callback");
    if (set_abort) {
        set_abort(ctx->backend, cc_backend_abort, ctx);
    }
    ctx->backend_is_cpu = ggml_backend_dev_type(dev) == GGML_BACKEND_DEVICE_TYPE_CPU;
    ctx->vision_attn_kernel = cc_fused_attention_kernel_for(cc_quantized_matrices(model));
    if (model->hp.has_vision) {
        const int hd = model->hp.vision.width / model->hp.vision.heads;
        ctx->vision_attn = ctx->backend_is_cpu && cc_fused_attention_available(hd) ? CC_ATTN_FUSED
                           : cc_backend_flash_attn(ctx->backend, &model->hp)      ? CC_ATTN_FLASH
                                                                                  : CC_ATTN_PLAIN;
    }
    if (model->hp.has_text) {
        const int hd = model->hp.text.width / model->hp.text.heads;
        ctx->text_attn = ctx->backend_is_cpu && cc_fused_attention_available(hd) ? CC_ATTN_FUSED
                                                                                : CC_ATTN_PLAIN;
    }

    /* The CPU backend computes straight from the model's host weights (the file mapping); any
     * other device computes from the model's copy in its memory, one per device however many
     * contexts use it. */
    if (ctx->backend_is_cpu) {
        ctx->w = &model->weights;
    } else {
        clearclip_status st = cc_device_context_init(ctx);
        if (st) {
            clearclip_context_free(ctx);
            return st;
        }
    }
    static const char * const attn_kernels[] = { "", " (avx2)", " (avx512)", " (avx512-bf16)" };
    static const char * const q8_kernels[] = { "ggml's", "the engine's (avx512-vnni)", "the engine's (avx-vnni)",
                                               "the engine's (avx2)" };
    const cc_attn_kernel ak = ctx->vision_attn == CC_ATTN_FUSED ? ctx->vision_attn_kernel : CC_ATTN_KERNEL_NONE;
    cc_log(CLEARCLIP_LOG_DEBUG, "clearclip: context on %s (%s), %d threads, vision attention %s%s, q8_0/q4_0 products %s",
           ctx->backend_name, ggml_backend_dev_description(dev), ctx->n_threads,
           ctx->vision_attn == CC_ATTN_FUSED   ? "fused"
           : ctx->vision_attn == CC_ATTN_FLASH ? "flash"
                                               : "plain",
           attn_kernels[ak], q8_kernels[ctx->backend_is_cpu ? cc_q8_best_kernel() : CC_Q8_KERNEL_NONE]);
    *out = ctx;
    return CLEARCLIP_OK;
}

static void cc_graph_free(clearclip_context * ctx, cc_graph * g) {
    if (ctx->placed == g) ctx->placed = NULL;
    if (g->ctx) ggml_free(g->ctx);
    free(g->pos_host);
    free(g->mask_host);
    free(g->bias_host);
    free(g->named);
    memset(g, 0, sizeof(*g));
}

void clearclip_context_free(clearclip_context * ctx) {
    if (!ctx) return;
    for (int i = 0; i < CC_GRAPH_CACHE; i++) cc_graph_free(ctx, &ctx->graphs[i]);
    if (ctx->galloc) ggml_gallocr_free(ctx->galloc);
    if (ctx->sched) ggml_backend_sched_free(ctx->sched);
    if (!ctx->backend_is_cpu && ctx->w) cc_device_weights_release(ctx->model, ctx->w);
    free(ctx->scratch);
    if (ctx->cpu_backend) ggml_backend_free(ctx->cpu_backend);
    if (ctx->backend) ggml_backend_free(ctx->backend);
    free(ctx);
}

const char * clearclip_context_backend_name(const clearclip_context * ctx) {
    return ctx ? ctx->backend_name : "";
}

float * cc_scratch(clearclip_context * ctx, size_t n_floats) {
    if (n_floats > ctx->scratch_size) {
        float * p = realloc(ctx->scratch, n_floats * sizeof(float));
        if (!p) return NULL;
        ctx->scratch      = p;
        ctx->scratch_size = n_floats;
    }
    return ctx->scratch;
}

static clearclip_status cc_build_graph(clearclip_context * ctx, cc_graph * g) {
    struct ggml_init_params ip = {
        .mem_size   = ggml_tensor_overhead() * CC_GRAPH_SIZE +
                      ggml_graph_overhead_custom(CC_GRAPH_SIZE, false) + cc_work_share_room() * CC_GRAPH_WORK_SHARES,
        .mem_buffer = NULL,
        .no_alloc   = true,
    };
    g->ctx = ggml_init(ip);
    if (!g->ctx) {
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    g->gf = ggml_new_graph_custom(g->ctx, CC_GRAPH_SIZE, false);
    if (g->key.dump && !(g->named = malloc(CC_GRAPH_SIZE * sizeof(*g->named)))) {
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    clearclip_status st = g->key.kind == CC_GRAPH_TEXT ? cc_build_text_graph(ctx, g) : cc_build_vision_graph(ctx, g);
    if (st) return st;
    /* with a scheduler, what the device lacks runs on the CPU */
    for (int i = 0; !ctx->sched && i < ggml_graph_n_nodes(g->gf); i++) {
        struct ggml_tensor * node = ggml_graph_node(g->gf, i);
        if (!ggml_backend_supports_op(ctx->backend, node)) {
            return cc_error(CLEARCLIP_ERR_BACKEND,
                            "backend %s does not support operation %s (%s, %s)", ctx->backend_name,
                            ggml_op_desc(node), ggml_get_name(node),
                            ggml_type_name(node->src[0] ? node->src[0]->type : node->type));
        }
    }
    return CLEARCLIP_OK;
}

/* cc_place_graph on a device context: the scheduler assigns each node to the device or, where
 * the device lacks the operation, to the CPU, and places the tensors in its buffers (grown as a
 * larger graph needs). */
static clearclip_status cc_place_graph_sched(clearclip_context * ctx, cc_graph * g) {
    for (struct ggml_tensor * t = ggml_get_first_tensor(g->ctx); t;
         t = ggml_get_next_tensor(g->ctx, t)) {
        t->data   = NULL;
        t->buffer = NULL;
    }
    ctx->placed = NULL;
    ggml_backend_sched_reset(ctx->sched);
    if (!ggml_backend_sched_alloc_graph(ctx->sched, g->gf)) {
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY,
                        "cannot allocate the compute buffers on %s for this input size",
                        ctx->backend_name);
    }
    int n_cpu = 0;
    for (int i = 0; i < ggml_graph_n_nodes(g->gf); i++) {
        struct ggml_tensor * node = ggml_graph_node(g->gf, i);
        if (ggml_backend_sched_get_tensor_backend(ctx->sched, node) == ctx->cpu_backend) n_cpu++;
    }
    cc_log(CLEARCLIP_LOG_DEBUG, "clearclip: graph of %d nodes on %s: %d split(s), %d node(s) on the CPU",
           ggml_graph_n_nodes(g->gf), ctx->backend_name, ggml_backend_sched_get_n_splits(ctx->sched),
           n_cpu);
    ctx->placed = g;
    return CLEARCLIP_OK;
}

/* Points the graph's tensors into the shared compute buffer, growing it if this graph needs more
 * than any before. Addresses from an earlier placement are dropped first: the allocator only
 * places tensors without memory, and another graph may have used (or regrown) the buffer since. */
static clearclip_status cc_place_graph(clearclip_context * ctx, cc_graph * g) {
    if (ctx->placed == g) return CLEARCLIP_OK;
    if (ctx->sched) return cc_place_graph_sched(ctx, g);
    if (!ctx->galloc) {
        ctx->galloc = ggml_gallocr_new(ggml_backend_get_default_buffer_type(ctx->backend));
        if (!ctx->galloc) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (struct ggml_tensor * t = ggml_get_first_tensor(g->ctx); t;
         t = ggml_get_next_tensor(g->ctx, t)) {
        t->data   = NULL;
        t->buffer = NULL;
    }
    ctx->placed = NULL;
    if (!ggml_gallocr_reserve(ctx->galloc, g->gf) || !ggml_gallocr_alloc_graph(ctx->galloc, g->gf)) {
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY,
                        "cannot allocate the compute buffer on %s for this input size",
                        ctx->backend_name);
    }
    ctx->placed = g;
    return CLEARCLIP_OK;
}

bool cc_graph_key_equal(const cc_graph_key * a, const cc_graph_key * b) {
    if (a->kind != b->kind || a->dump != b->dump) return false;
    switch (a->kind) {
        case CC_GRAPH_TEXT:
            return a->text.n_seq == b->text.n_seq && a->text.n_tokens == b->text.n_tokens &&
                   a->text.prompts == b->text.prompts;
        case CC_GRAPH_IMAGE:
            return a->vision.gw == b->vision.gw && a->vision.gh == b->vision.gh;
        case CC_GRAPH_DENSE:
            return a->vision.gw == b->vision.gw && a->vision.gh == b->vision.gh &&
                   a->vision.mode == b->vision.mode &&
                   (a->vision.mode != CLEARCLIP_MODE_NACLIP ||
                    a->vision.naclip_std == b->vision.naclip_std);
    }
    return false;
}

clearclip_status cc_get_graph(clearclip_context * ctx, cc_graph_key key, cc_graph ** out) {
    key.dump = ctx->tensor_cb != NULL;
    cc_graph * slot = NULL;
    for (int i = 0; i < CC_GRAPH_CACHE; i++) {
        cc_graph * g = &ctx->graphs[i];
        if (g->ctx && cc_graph_key_equal(&g->key, &key)) {
            if (ctx->sched && ctx->placed != g) {
                /* The scheduler's graphs are placed once: a graph that another one has
                 * displaced is built anew (ggml's scheduler gives wrong results when the
                 * tensors of an earlier placement are placed again), the cache then saving
                 * only the slot. */
                slot = g;
                break;
            }
            g->last_use = ++ctx->use_counter;
            *out = g;
            return cc_place_graph(ctx, g);
        }
        if (!slot || (slot->ctx && (!g->ctx || g->last_use < slot->last_use))) {
            slot = g;
        }
    }
    cc_graph_free(ctx, slot);
    slot->key = key;
    clearclip_status st = cc_build_graph(ctx, slot);
    if (!st) st = cc_place_graph(ctx, slot);
    if (st) {
        cc_graph_free(ctx, slot);
        return st;
    }
    slot->last_use = ++ctx->use_counter;
    *out = slot;
    return CLEARCLIP_OK;
}

struct ggml_tensor * cc_named(cc_graph * g, struct ggml_tensor * t, const char * fmt, ...) {
    char name[GGML_MAX_NAME];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    if (g->key.dump) {
        /* handed over as rows of floats, so a strided view is copied (the values stay the same) */
        if (!ggml_is_contiguous(t)) t = ggml_cont(g->ctx, t);
        /* The allocator lets later nodes reuse a tensor's memory after its last reader; outputs
         * keep theirs, and a view lives in its source's. */
        for (struct ggml_tensor * s = t; s; s = s->view_src) ggml_set_output(s);
        if (g->n_named < CC_GRAPH_SIZE) g->named[g->n_named++] = t;
    }
    ggml_set_name(t, name);
    return t;
}

/* Hands the named intermediates of a graph that has just run to the tensor callback. */
static clearclip_status cc_dump_named(clearclip_context * ctx, const cc_graph * g) {
    float * values = NULL;
    size_t  cap    = 0;
    for (int32_t i = 0; i < g->n_named; i++) {
        struct ggml_tensor * t = g->named[i];
        if (t->type != GGML_TYPE_F32) continue; /* every named intermediate is an f32 activation */
        const size_t bytes = ggml_nbytes(t);
        if (bytes > cap) {
            float * grown = realloc(values, bytes);
            if (!grown) {
                free(values);
                return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory for tensor '%s'",
                                ggml_get_name(t));
            }
            values = grown;
            cap    = bytes;
        }
        ggml_backend_tensor_get(t, values, 0, bytes);
        ctx->tensor_cb(ggml_get_name(t), ggml_n_dims(t), t->ne, values, ctx->tensor_ud);
    }
    free(values);
    return CLEARCLIP_OK;
}

clearclip_status cc_compute(clearclip_context * ctx, cc_graph * g) {
    /* Every window and text batch is one graph: checking here stops between them on any
     * backend; the backend's own check (cc_backend_abort) stops within one. */
    if (cc_should_abort(ctx)) return CLEARCLIP_ERR_ABORTED;
    char why[256] = "";
    enum ggml_status s = ctx->sched ? cc_guarded_sched_compute(ctx->sched, g->gf, why, sizeof(why))
                                    : ggml_backend_graph_compute(ctx->backend, g->gf);
    if (s == GGML_STATUS_ABORTED) {
        return cc_error(CLEARCLIP_ERR_ABORTED, "aborted by the caller");
    }
    if (s != GGML_STATUS_SUCCESS) {
        if (why[0]) {
            /* the device failed (lost, out of memory): its graphs must be placed anew */
            ctx->placed = NULL;
        }
        return cc_error(s == GGML_STATUS_ALLOC_FAILED ? CLEARCLIP_ERR_OUT_OF_MEMORY
                                                      : CLEARCLIP_ERR_BACKEND,
                        "graph computation failed on %s (ggml status %d)%s%s", ctx->backend_name,
                        (int) s, why[0] ? ": " : "", why);
    }
    /* a graph built before the callback was cleared has nothing to hand to */
    return g->key.dump && ctx->tensor_cb ? cc_dump_named(ctx, g) : CLEARCLIP_OK;
}
