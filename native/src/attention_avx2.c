/* The fused attention's task kernel for AVX2 + FMA (see attention.c for the operation around it).
 *
 * Scores of a block of query rows against all keys with register tiles of 6 rows x 16 keys, a
 * two-pass softmax over whole rows (the block's rows stay in cache), then the probability-weighted
 * sum of the values with tiles of 6 rows x 16 columns. */
#include "attention_kernels.h"

#ifdef CC_FUSED_X86

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define CC_AVX2 __attribute__((target("avx2,fma")))
/* The register tiles only stay in registers when their row loops are unrolled, which -O2 alone
 * does not do. */
#define CC_UNROLL _Pragma("GCC unroll 8")

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

void CC_AVX2 cc_attention_task_avx2(const cc_attn_task * t) {
    const float * q = t->q, * kt = t->kt, * v = t->v;
    const size_t q_stride = t->q_stride, v_stride = t->v_stride, out_stride = t->out_stride;
    const int64_t nk = t->nk, nk_pad = t->nk_pad;
    const int hd = t->hd, rows = t->rows;
    float * s = t->s, * out = t->out;
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
        inv[i] = cc_softmax_row(s + (size_t) i * nk_pad, nk, t->scale,
                                t->mask ? t->mask + (size_t) i * t->mask_stride : NULL);
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
#endif
