/* The per-task kernels of the fused CPU attention (attention.c), one file per instruction set.
 * The engine library is built for baseline x86-64; each kernel file compiles its functions for
 * its own instruction set with target attributes, and attention.c picks one at run time from the
 * CPU's features (and, for the BF16 kernel in attention_avx512.c, the model's matrix type). */
#ifndef CLEARCLIP_ATTENTION_KERNELS_H
#define CLEARCLIP_ATTENTION_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Query rows per task; a multiple of every kernel's register-tile rows. */
#define CC_TASK_ROWS 48
/* Keys are padded to a multiple of this in the packed K^T and the score rows (zero keys). */
#define CC_KEY_PAD 16

/* One task: `rows` query rows of one head against all keys. */
typedef struct cc_attn_task {
    const float * q;          /* first query row of the head (row stride q_stride floats)  */
    size_t        q_stride;
    const float * kt;         /* K^T of the head, [hd][nk_pad], keys nk..nk_pad-1 zero      */
    int64_t       nk, nk_pad;
    const float * v;          /* first value row of the head (row stride v_stride floats)  */
    size_t        v_stride;
    int           hd, rows;   /* hd a multiple of 16; rows <= CC_TASK_ROWS                  */
    float         scale;
    const float * mask;       /* additive mask row of the first query, or NULL              */
    size_t        mask_stride;
    float *       s;          /* scores: rows x nk_pad floats of working memory             */
    float *       out;        /* first output row of the head (row stride out_stride)       */
    size_t        out_stride;
    /* the BF16 kernel's (cc_attention_pack_bf16): K as pairs of dimensions [hd/2][nk_pad], V as
     * pairs of keys [nk_pad/2][hd], and working memory for the rows' queries as pairs */
    const uint32_t * kt_bf16, * v_bf16;
    uint32_t *       qb;
} cc_attn_task;

/* The floats of one thread's working memory for heads of hd dimensions and nk_pad keys: K^T (or
 * the BF16 kernel's K and V pairs, as large together), a task's scores and its queries as bf16. */
static inline int64_t cc_attention_scratch_floats(int64_t nk_pad, int64_t hd) {
    return (hd + CC_TASK_ROWS) * nk_pad + CC_TASK_ROWS * hd / 2;
}

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#  define CC_FUSED_X86 1
void cc_attention_task_avx2(const cc_attn_task * t);
void cc_attention_task_avx512(const cc_attn_task * t);
void cc_attention_task_bf16(const cc_attn_task * t);
/* K and V of one head for the BF16 kernel (the layouts of cc_attn_task); hd a multiple of 16. */
void cc_attention_pack_bf16(const float * kh, size_t ks, const float * vh, size_t vs, int64_t nk, int64_t nk_pad,
                            int hd, uint32_t * kp, uint32_t * vp);
/* K^T of one head: kt[d][j] = kh[j][d] (row stride ks floats) for the nk keys, zero up to nk_pad
 * (a multiple of 16, as hd is). */
void cc_attention_pack_kt_avx512(const float * kh, size_t ks, int64_t nk, int64_t nk_pad, int hd, float * kt);
#endif

#endif
