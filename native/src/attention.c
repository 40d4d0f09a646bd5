/* Fused multi-head softmax attention for the CPU backend, as a ggml custom operation.
 *
 * For each head and block of query rows: scores against all keys (K transposed and packed once
 * per head), a two-pass softmax over whole rows (a block's rows stay in cache), then the
 * probability-weighted sum of the values. No score matrix of the whole sequence is ever in
 * memory. It is written for AVX2 + FMA and used where the CPU has them; elsewhere ggml's own
 * flash attention serves. On the vision tower's sequences (hundreds of tokens, head size 64)
 * it is about twice as fast as ggml's CPU flash attention, whose tiles re-pack K and V for
 * every block of queries (ViT-B/16, 448 window, 2 threads: 0.14 s against 0.29 s for the 12
 * layers). */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#  define CC_FUSED_X86 1
#  include <immintrin.h>
#endif

#ifdef CC_FUSED_X86

#define CC_AVX2 __attribute__((target("avx2,fma")))
/* The register tiles only stay in registers when their row loops are unrolled, which -O2 alone
 * does not do. */
#define CC_UNROLL _Pragma("GCC unroll 8")

/* Query rows per task; a multiple of CC_RM. */
#define CC_TASK_ROWS 48
/* Rows of the register tiles (x 16 columns): 12 accumulators of the 16 ymm registers. */
#define CC_RM 6

/* exp(x) for x <= 0 (the softmax shifts by the row maximum): 2^n * p(r), x = n ln2 + r,
 * |r| <= ln2/2, p the degree-7 Taylor polynomial (relative error below 1e-7). */
static inline CC_AVX2 __m256 cc_exp_nonpos(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860682030941723212e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static inline CC_AVX2 float cc_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

static inline CC_AVX2 float cc_hmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* s[r][j..j+16) = sum_d q[r][d] kt[d][j..j+16) for rm rows (rm <= CC_RM, a constant after
 * inlining). */
static inline __attribute__((always_inline)) CC_AVX2 void
cc_scores_tile(const float * q, size_t q_stride, const float * kt, int64_t nk_pad, int hd, int rm,
               int64_t j, float * s) {
    __m256 acc[CC_RM][2];
    CC_UNROLL
    for (int r = 0; r < rm; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int d = 0; d < hd; d++) {
        __m256 b0 = _mm256_loadu_ps(kt + (size_t) d * nk_pad + j);
        __m256 b1 = _mm256_loadu_ps(kt + (size_t) d * nk_pad + j + 8);
        CC_UNROLL
        for (int r = 0; r < rm; r++) {
            __m256 a = _mm256_broadcast_ss(q + (size_t) r * q_stride + d);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
        }
    }
    CC_UNROLL
    for (int r = 0; r < rm; r++) {
        _mm256_storeu_ps(s + (size_t) r * nk_pad + j, acc[r][0]);
        _mm256_storeu_ps(s + (size_t) r * nk_pad + j + 8, acc[r][1]);
    }
}

/* out[r][c..c+16) = inv[r] * sum_j p[r][j] v[j][c..c+16) for rm rows. */
static inline __attribute__((always_inline)) CC_AVX2 void
cc_values_tile(const float * p, int64_t nk_pad, const float * v, size_t v_stride, int64_t nk,
               int rm, int c, const float * inv, float * out, size_t out_stride) {
    __m256 acc[CC_RM][2];
    CC_UNROLL
    for (int r = 0; r < rm; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int64_t j = 0; j < nk; j++) {
        __m256 b0 = _mm256_loadu_ps(v + (size_t) j * v_stride + c);
        __m256 b1 = _mm256_loadu_ps(v + (size_t) j * v_stride + c + 8);
        CC_UNROLL
        for (int r = 0; r < rm; r++) {
            __m256 a = _mm256_broadcast_ss(p + (size_t) r * nk_pad + j);
            acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
        }
    }
    CC_UNROLL
    for (int r = 0; r < rm; r++) {
        __m256 f = _mm256_set1_ps(inv[r]);
        _mm256_storeu_ps(out + (size_t) r * out_stride + c, _mm256_mul_ps(acc[r][0], f));
        _mm256_storeu_ps(out + (size_t) r * out_stride + c + 8, _mm256_mul_ps(acc[r][1], f));
    }
}

/* Softmax of one row of scores in place (scaled first, plus the additive mask row when there is
 * one); returns 1 / sum of the exponentials, or 0 for a row whose every key is masked (its
 * output is then zero). */
static CC_AVX2 float cc_softmax_row(float * s, int64_t nk, float scale, const float * mask) {
    const int64_t n8 = nk & ~(int64_t) 7;
    if (mask) {
        const __m256 vs = _mm256_set1_ps(scale);
        for (int64_t j = 0; j < n8; j += 8) {
            _mm256_storeu_ps(s + j, _mm256_fmadd_ps(_mm256_loadu_ps(s + j), vs, _mm256_loadu_ps(mask + j)));
        }
        for (int64_t j = n8; j < nk; j++) s[j] = s[j] * scale + mask[j];
        scale = 1.0f;
    }
    __m256 vm = _mm256_set1_ps(-INFINITY);
    for (int64_t j = 0; j < n8; j += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(s + j));
    float m = cc_hmax(vm);
    for (int64_t j = n8; j < nk; j++) m = s[j] > m ? s[j] : m;
    if (m == -INFINITY) {
        memset(s, 0, sizeof(float) * (size_t) nk);
        return 0.0f;
    }
    const __m256 vs = _mm256_set1_ps(scale), vms = _mm256_set1_ps(m * scale);
    __m256 vsum = _mm256_setzero_ps();
    for (int64_t j = 0; j < n8; j += 8) {
        __m256 e = cc_exp_nonpos(_mm256_fmsub_ps(_mm256_loadu_ps(s + j), vs, vms));
        _mm256_storeu_ps(s + j, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    float sum = cc_hsum(vsum);
    for (int64_t j = n8; j < nk; j++) {
        s[j] = expf(s[j] * scale - m * scale);
        sum += s[j];
    }
    return 1.0f / sum;
}

static CC_AVX2 void cc_attention_task(const float * q, size_t q_stride, const float * kt,
                                      int64_t nk, int64_t nk_pad, const float * v,
                                      size_t v_stride, int hd, int rows, float scale,
                                      const float * mask, size_t mask_stride, float * s,
                                      float * out, size_t out_stride) {
    float inv[CC_TASK_ROWS];
    for (int i = 0; i < rows; i += CC_RM) {
        const int rm = rows - i < CC_RM ? rows - i : CC_RM;
        for (int64_t j = 0; j < nk_pad; j += 16) {
            if (rm == CC_RM) {
                cc_scores_tile(q + (size_t) i * q_stride, q_stride, kt, nk_pad, hd, CC_RM, j,
                               s + (size_t) i * nk_pad);
            } else {
                for (int r = 0; r < rm; r++) {
                    cc_scores_tile(q + (size_t) (i + r) * q_stride, q_stride, kt, nk_pad, hd, 1,
                                   j, s + (size_t) (i + r) * nk_pad);
                }
            }
        }
    }
    for (int i = 0; i < rows; i++) {
        inv[i] = cc_softmax_row(s + (size_t) i * nk_pad, nk, scale,
                                mask ? mask + (size_t) i * mask_stride : NULL);
    }
    for (int i = 0; i < rows; i += CC_RM) {
        const int rm = rows - i < CC_RM ? rows - i : CC_RM;
        for (int c = 0; c < hd; c += 16) {
            if (rm == CC_RM) {
                cc_values_tile(s + (size_t) i * nk_pad, nk_pad, v, v_stride, nk, CC_RM, c, inv + i,
                               out + (size_t) i * out_stride, out_stride);
            } else {
                for (int r = 0; r < rm; r++) {
                    cc_values_tile(s + (size_t) (i + r) * nk_pad, nk_pad, v, v_stride, nk, 1, c,
                                   inv + i + r, out + (size_t) (i + r) * out_stride, out_stride);
                }
            }
        }
    }
}

static int64_t cc_padded_keys(int64_t nk) {
    return (nk + 15) / 16 * 16;
}

/* The custom operation: dst [W, n_q, B]; srcs q [W, n_q, B], k, v [W, n_k, B] (rows contiguous,
 * any row and batch stride), a scratch row per thread and optionally an additive mask
 * [n_k, n_q, 1, 1|B] shared by the heads; userdata is the head count. Tasks (sequence, head,
 * block of CC_TASK_ROWS queries) are split into equal contiguous ranges per thread, so that each
 * thread packs K^T once per sequence and head it visits. */
static void cc_attention_op(struct ggml_tensor * dst, int ith, int nth, void * userdata) {
    const struct ggml_tensor * q = dst->src[0], * k = dst->src[1], * v = dst->src[2];
    const struct ggml_tensor * scratch = dst->src[3], * mask = dst->src[4];
    const int heads = (int) (intptr_t) userdata;
    const int hd = (int) (q->ne[0] / heads);
    const int64_t nq = q->ne[1], nk = k->ne[1], nk_pad = cc_padded_keys(nk), batch = q->ne[2];
    const int64_t blocks = (nq + CC_TASK_ROWS - 1) / CC_TASK_ROWS;
    const int64_t tasks = batch * heads * blocks;
    const int64_t t0 = tasks * ith / nth, t1 = tasks * (ith + 1) / nth;
    if (t0 >= t1 || ith >= scratch->ne[1] || (hd + CC_TASK_ROWS) * nk_pad > scratch->ne[0]) return;
    const float scale = 1.0f / sqrtf((float) hd);
    const size_t qs = q->nb[1] / sizeof(float), ks = k->nb[1] / sizeof(float);
    const size_t vs = v->nb[1] / sizeof(float), os = dst->nb[1] / sizeof(float);
    const size_t ms = mask ? mask->nb[1] / sizeof(float) : 0;
    /* a mask [n_k, n_q, 1, B] has one plane per sequence, [n_k, n_q, 1, 1] one for all */
    const size_t mb = mask && mask->ne[3] > 1 ? mask->nb[3] : 0;
    float * kt = (float *) ((char *) scratch->data + (size_t) ith * scratch->nb[1]);
    float * s  = kt + (size_t) hd * nk_pad;
    int64_t packed = -1;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t bh = t / blocks, b = bh / heads;
        const int h = (int) (bh % heads);
        const int64_t i0 = (t % blocks) * CC_TASK_ROWS;
        const int rows = (int) (nq - i0 < CC_TASK_ROWS ? nq - i0 : CC_TASK_ROWS);
        if (bh != packed) {
            const float * kh = (const float *) ((const char *) k->data + b * k->nb[2]) + (size_t) h * hd;
            for (int64_t j = 0; j < nk; j++) {
                for (int d = 0; d < hd; d++) kt[(size_t) d * nk_pad + j] = kh[(size_t) j * ks + d];
            }
            for (int d = 0; d < hd; d++) {
                for (int64_t j = nk; j < nk_pad; j++) kt[(size_t) d * nk_pad + j] = 0.0f;
            }
            packed = bh;
        }
        const float * qb = (const float *) ((const char *) q->data + b * q->nb[2]);
        const float * vb = (const float *) ((const char *) v->data + b * v->nb[2]);
        float * ob = (float *) ((char *) dst->data + b * dst->nb[2]);
        const float * mrows = mask ? (const float *) ((const char *) mask->data + b * mb) + (size_t) i0 * ms
                                   : NULL;
        cc_attention_task(qb + (size_t) i0 * qs + (size_t) h * hd, qs, kt, nk, nk_pad,
                          vb + (size_t) h * hd, vs, hd, rows, scale, mrows, ms, s,
                          ob + (size_t) i0 * os + (size_t) h * hd, os);
    }
}

bool cc_fused_attention_available(int head_dim) {
    return head_dim % 16 == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

struct ggml_tensor * cc_fused_attention_scratch(struct ggml_context * ctx, int64_t n_keys,
                                                int64_t head_dim, int n_threads) {
    /* per thread: K^T of one head and the scores of one task's rows */
    return ggml_new_tensor_2d(ctx, GGML_TYPE_F32, (head_dim + CC_TASK_ROWS) * cc_padded_keys(n_keys),
                              n_threads);
}

struct ggml_tensor * cc_fused_attention(struct ggml_context * ctx, struct ggml_tensor * q,
                                        struct ggml_tensor * k, struct ggml_tensor * v,
                                        struct ggml_tensor * mask, int heads,
                                        struct ggml_tensor * scratch) {
    struct ggml_tensor * args[5] = { q, k, v, scratch, mask };
    return ggml_custom_4d(ctx, GGML_TYPE_F32, q->ne[0], q->ne[1], q->ne[2], 1, args, mask ? 5 : 4,
                          cc_attention_op, (int) scratch->ne[1], (void *) (intptr_t) heads);
}

#else

bool cc_fused_attention_available(int head_dim) {
    (void) head_dim;
    return false;
}

struct ggml_tensor * cc_fused_attention_scratch(struct ggml_context * ctx, int64_t n_keys,
                                                int64_t head_dim, int n_threads) {
    (void) ctx; (void) n_keys; (void) head_dim; (void) n_threads;
    return NULL;
}

struct ggml_tensor * cc_fused_attention(struct ggml_context * ctx, struct ggml_tensor * q,
                                        struct ggml_tensor * k, struct ggml_tensor * v,
                                        struct ggml_tensor * mask, int heads,
                                        struct ggml_tensor * scratch) {
    (void) ctx; (void) q; (void) k; (void) v; (void) mask; (void) heads; (void) scratch;
    return NULL;
}

#endif
