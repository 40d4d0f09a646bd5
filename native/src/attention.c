/* Fused multi-head softmax attention for the CPU backend, as a ggml custom operation.
 *
 * For each head and block of query rows: scores against all keys (K transposed and packed once
 * per head), a two-pass softmax over whole rows (a block's rows stay in cache), then the
 * probability-weighted sum of the values. No score matrix of the whole sequence is ever in
 * memory. The per-task kernels are written for AVX2 + FMA (attention_avx2.c) and AVX-512F
 * (attention_avx512.c) and picked at run time from the CPU's features (the library itself is
 * built for baseline x86-64); where neither runs, ggml's own flash attention serves. On the
 * vision tower's sequences (hundreds of tokens, head size 64) the AVX2 kernel is about twice as
 * fast as ggml's CPU flash attention, whose tiles re-pack K and V for every block of queries
 * (ViT-B/16, 448 window, 2 threads: 0.14 s against 0.29 s for the 12 layers).
 *
 * Files whose matrices are quantized get the BF16 kernel (attention_avx512.c) in the vision tower
 * where the CPU and the ggml variant have AVX-512 BF16 (the text tower's short sequences gained
 * nothing from it: 21 x 80 prompts in 0.43-0.50 s either way): both products on bf16 operands with f32 sums, 1.7x the
 * AVX-512F kernel's speed (12 layers of a 448 window, 2 threads, Zen 5: 0.052-0.055 s against
 * 0.030-0.032 s). Their products already round every activation to 8 bits or fewer, and the
 * engine's outputs move by about 1e-4 in cosine (docs/methods.md); f32 and f16 files keep f32. */
#include "internal.h"
#include "attention_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef CC_FUSED_X86

typedef void (*cc_attn_task_fn)(const cc_attn_task * t);

static bool cc_cpu_has(cc_attn_kernel kernel) {
    switch (kernel) {
        case CC_ATTN_KERNEL_AVX2:   return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case CC_ATTN_KERNEL_AVX512: return __builtin_cpu_supports("avx512f");
        case CC_ATTN_KERNEL_BF16:   return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                           __builtin_cpu_supports("avx512bf16");
        default:                    return false;
    }
}

cc_attn_kernel cc_fused_attention_best_kernel(void) {
    /* the CPU's features, limited to those of the ggml variant in use (cc_cpu_backend_feature) */
    return cc_cpu_has(CC_ATTN_KERNEL_AVX512) && cc_cpu_backend_feature("AVX512") ? CC_ATTN_KERNEL_AVX512
           : cc_cpu_has(CC_ATTN_KERNEL_AVX2) && cc_cpu_backend_feature("AVX2")   ? CC_ATTN_KERNEL_AVX2
                                                                               : CC_ATTN_KERNEL_NONE;
}

cc_attn_kernel cc_fused_attention_kernel_for(bool quantized_matrices) {
    if (quantized_matrices && cc_cpu_has(CC_ATTN_KERNEL_BF16) && cc_cpu_backend_feature("AVX512_BF16")) {
        return CC_ATTN_KERNEL_BF16;
    }
    return cc_fused_attention_best_kernel();
}

bool cc_fused_attention_kernel_runs(cc_attn_kernel kernel) {
    return cc_cpu_has(kernel);
}

static int64_t cc_padded_keys(int64_t nk) {
    return (nk + CC_KEY_PAD - 1) / CC_KEY_PAD * CC_KEY_PAD;
}

/* What the operation's work share carries (cc_work_share_data): the head count and the kernel. */
#define CC_OP_HEADS_BITS 16

/* The custom operation: dst [W, n_q, B]; srcs q [W, n_q, B], k, v [W, n_k, B] (rows contiguous,
 * any row and batch stride), a scratch row per thread and optionally an additive mask
 * [n_k, n_q, 1, 1|B] shared by the heads. Tasks (sequence, head, block of CC_TASK_ROWS queries)
 * are shared between the threads from equal contiguous ranges (cc_work), so that each thread
 * packs K^T once per sequence and head it visits, and again only for a task it takes from
 * another. Its data: heads | kernel << 16. */
static void cc_attention_op(struct ggml_tensor * dst, int ith, int nth, void * userdata) {
    const struct ggml_tensor * q = dst->src[0], * k = dst->src[1], * v = dst->src[2];
    const struct ggml_tensor * scratch = dst->src[3], * mask = dst->src[4];
    const intptr_t data = cc_work_share_data(userdata);
    const int heads = (int) (data & ((1 << CC_OP_HEADS_BITS) - 1));
    const cc_attn_kernel kernel = (cc_attn_kernel) (data >> CC_OP_HEADS_BITS);
    const cc_attn_task_fn run = kernel == CC_ATTN_KERNEL_BF16     ? cc_attention_task_bf16
                                : kernel == CC_ATTN_KERNEL_AVX512 ? cc_attention_task_avx512
                                                                  : cc_attention_task_avx2;
    const int hd = (int) (q->ne[0] / heads);
    const int64_t nq = q->ne[1], nk = k->ne[1], nk_pad = cc_padded_keys(nk), batch = q->ne[2];
    const int64_t blocks = (nq + CC_TASK_ROWS - 1) / CC_TASK_ROWS;
    const int64_t tasks = batch * heads * blocks;
    /* (the operation runs on as many threads as the scratch has rows; a thread that does not take
     * part must not begin the work's share) */
    if (ith >= scratch->ne[1] || cc_attention_scratch_floats(nk_pad, hd) > scratch->ne[0]) return;
    const float scale = 1.0f / sqrtf((float) hd);
    const size_t qs = q->nb[1] / sizeof(float), ks = k->nb[1] / sizeof(float);
    const size_t vs = v->nb[1] / sizeof(float), os = dst->nb[1] / sizeof(float);
    const size_t ms = mask ? mask->nb[1] / sizeof(float) : 0;
    /* a mask [n_k, n_q, 1, B] has one plane per sequence, [n_k, n_q, 1, 1] one for all */
    const size_t mb = mask && mask->ne[3] > 1 ? mask->nb[3] : 0;
    /* K^T, or K and V as the BF16 kernel's pairs; then the scores, then the queries as pairs */
    float * kt = (float *) ((char *) scratch->data + (size_t) ith * scratch->nb[1]);
    float * s  = kt + (size_t) hd * nk_pad;
    uint32_t * kp = (uint32_t *) kt, * vp = kp + (size_t) hd / 2 * nk_pad;
    uint32_t * q_pairs = (uint32_t *) (s + (size_t) CC_TASK_ROWS * nk_pad);
    int64_t packed = -1;
    cc_work w;
    cc_work_begin(&w, userdata, ith, nth, tasks);
    for (int64_t t; (t = cc_work_next(&w)) >= 0;) {
        const int64_t bh = t / blocks, b = bh / heads;
        const int h = (int) (bh % heads);
        const int64_t i0 = (t % blocks) * CC_TASK_ROWS;
        const int rows = (int) (nq - i0 < CC_TASK_ROWS ? nq - i0 : CC_TASK_ROWS);
        if (bh != packed) {
            const float * kh = (const float *) ((const char *) k->data + b * k->nb[2]) + (size_t) h * hd;
            const float * vh = (const float *) ((const char *) v->data + b * v->nb[2]) + (size_t) h * hd;
            if (kernel == CC_ATTN_KERNEL_BF16) {
                cc_attention_pack_bf16(kh, ks, vh, vs, nk, nk_pad, hd, kp, vp);
            } else if (kernel == CC_ATTN_KERNEL_AVX512) {
                cc_attention_pack_kt_avx512(kh, ks, nk, nk_pad, hd, kt);
            } else {
                for (int64_t j = 0; j < nk; j++) {
                    for (int d = 0; d < hd; d++) kt[(size_t) d * nk_pad + j] = kh[(size_t) j * ks + d];
                }
                for (int d = 0; d < hd; d++) {
                    for (int64_t j = nk; j < nk_pad; j++) kt[(size_t) d * nk_pad + j] = 0.0f;
                }
            }
            packed = bh;
        }
        const float * qb = (const float *) ((const char *) q->data + b * q->nb[2]);
        const float * vb = (const float *) ((const char *) v->data + b * v->nb[2]);
        float * ob = (float *) ((char *) dst->data + b * dst->nb[2]);
        const float * mrows = mask ? (const float *) ((const char *) mask->data + b * mb) + (size_t) i0 * ms
                                   : NULL;
        const cc_attn_task task = {
            .q = qb + (size_t) i0 * qs + (size_t) h * hd, .q_stride = qs, .kt = kt, .nk = nk,
            .nk_pad = nk_pad, .v = vb + (size_t) h * hd, .v_stride = vs, .hd = hd, .rows = rows,
            .scale = scale, .mask = mrows, .mask_stride = ms, .s = s,
            .out = ob + (size_t) i0 * os + (size_t) h * hd, .out_stride = os,
            .kt_bf16 = kp, .v_bf16 = vp, .qb = q_pairs,
        };
        run(&task);
    }
}

bool cc_fused_attention_available(int head_dim) {
    return head_dim % 16 == 0 && cc_fused_attention_best_kernel() != CC_ATTN_KERNEL_NONE;
}

struct ggml_tensor * cc_fused_attention_scratch(struct ggml_context * ctx, int64_t n_keys,
                                                int64_t head_dim, int n_threads) {
    /* per thread: K^T of one head (or K and V as bf16 pairs), the scores and queries of one task's rows */
    return ggml_new_tensor_2d(ctx, GGML_TYPE_F32, cc_attention_scratch_floats(cc_padded_keys(n_keys), head_dim),
                              n_threads);
}

struct ggml_tensor * cc_fused_attention_with(struct ggml_context * ctx, struct ggml_tensor * q,
                                             struct ggml_tensor * k, struct ggml_tensor * v,
                                             struct ggml_tensor * mask, int heads,
                                             struct ggml_tensor * scratch, cc_attn_kernel kernel) {
    if (heads <= 0 || heads >= (1 << CC_OP_HEADS_BITS) || q->ne[0] % heads != 0 ||
        (q->ne[0] / heads) % 16 != 0 || !cc_cpu_has(kernel)) {
        return NULL;
    }
    struct ggml_tensor * args[5] = { q, k, v, scratch, mask };
    cc_work_share * share = cc_work_share_new(ctx, (intptr_t) heads | ((intptr_t) kernel << CC_OP_HEADS_BITS));
    if (!share) return NULL;
    return ggml_custom_4d(ctx, GGML_TYPE_F32, q->ne[0], q->ne[1], q->ne[2], 1, args, mask ? 5 : 4,
                          cc_attention_op, (int) scratch->ne[1], share);
}

#else

cc_attn_kernel cc_fused_attention_best_kernel(void) {
    return CC_ATTN_KERNEL_NONE;
}

cc_attn_kernel cc_fused_attention_kernel_for(bool quantized_matrices) {
    (void) quantized_matrices;
    return CC_ATTN_KERNEL_NONE;
}

bool cc_fused_attention_kernel_runs(cc_attn_kernel kernel) {
    (void) kernel;
    return false;
}

bool cc_fused_attention_available(int head_dim) {
    (void) head_dim;
    return false;
}

struct ggml_tensor * cc_fused_attention_scratch(struct ggml_context * ctx, int64_t n_keys,
                                                int64_t head_dim, int n_threads) {
    (void) ctx; (void) n_keys; (void) head_dim; (void) n_threads;
    return NULL;
}

struct ggml_tensor * cc_fused_attention_with(struct ggml_context * ctx, struct ggml_tensor * q,
                                             struct ggml_tensor * k, struct ggml_tensor * v,
                                             struct ggml_tensor * mask, int heads,
                                             struct ggml_tensor * scratch, cc_attn_kernel kernel) {
    (void) ctx; (void) q; (void) k; (void) v; (void) mask; (void) heads; (void) scratch; (void) kernel;
    return NULL;
}

#endif
