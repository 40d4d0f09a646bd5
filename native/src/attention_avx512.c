/* The fused attention's task kernel for AVX-512F (see attention.c for the operation around it).
 *
 * The same three steps as the AVX2 kernel with 16-float registers and twice the registers: scores
 * and the value sum both use tiles of 6 rows x 64 floats (24 of the 32 zmm registers as
 * accumulators, so each step loads 4 vectors and broadcasts 6 scalars for 24 FMAs), and the
 * softmax handles a row's last partial vector with a mask instead of a scalar loop. */
#include "attention_kernels.h"

#ifdef CC_FUSED_X86

#include "simd_avx512.h"
#include <math.h>
#include <string.h>

#define CC_AVX512 __attribute__((target("avx512f")))
/* Register tiles only stay in registers when their loops are fully unrolled, with the row and
 * vector counts constants (each tile function is inlined into a switch over them). */
#define CC_UNROLL _Pragma("GCC unroll 8")
#define CC_INLINE static inline __attribute__((always_inline)) CC_AVX512

/* Rows of a register tile; CC_TASK_ROWS is a multiple. */
#define CC_RM 6
/* 16-float vectors per tile row at most. */
#define CC_NB 4

/* s[r][j .. j+16nb) = sum_d q[r][d] kt[d][j .. j+16nb) for rm rows, and vmax[r] the lane-wise
 * maximum of vmax[r] and those of the scores that belong to keys (j + column < nk). */
CC_INLINE void cc_scores_tile(const float * q, size_t q_stride, const float * kt, int64_t nk, int64_t nk_pad,
                              int hd, int rm, int nb, int64_t j, float * s, __m512 * vmax) {
    __m512 acc[CC_RM][CC_NB];
    CC_UNROLL
    for (int r = 0; r < rm; r++) {
        CC_UNROLL
        for (int c = 0; c < nb; c++) acc[r][c] = _mm512_setzero_ps();
    }
    for (int d = 0; d < hd; d++) {
        __m512 b[CC_NB];
        CC_UNROLL
        for (int c = 0; c < nb; c++) b[c] = _mm512_loadu_ps(kt + (size_t) d * nk_pad + j + 16 * c);
        CC_UNROLL
        for (int r = 0; r < rm; r++) {
            __m512 a = _mm512_set1_ps(q[(size_t) r * q_stride + d]);
            CC_UNROLL
            for (int c = 0; c < nb; c++) acc[r][c] = _mm512_fmadd_ps(a, b[c], acc[r][c]);
        }
    }
    /* only the last vectors of a row can hold padding keys */
    __mmask16 keys[CC_NB];
    CC_UNROLL
    for (int c = 0; c < nb; c++) {
        const int64_t left = nk - j - 16 * c;
        keys[c] = left >= 16 ? (__mmask16) 0xFFFF : left <= 0 ? (__mmask16) 0 : (__mmask16) ((1u << left) - 1u);
    }
    CC_UNROLL
    for (int r = 0; r < rm; r++) {
        __m512 m = vmax[r];
        CC_UNROLL
        for (int c = 0; c < nb; c++) {
            _mm512_storeu_ps(s + (size_t) r * nk_pad + j + 16 * c, acc[r][c]);
            m = _mm512_mask_max_ps(m, keys[c], m, acc[r][c]);
        }
        vmax[r] = m;
    }
}

/* out[r][col .. col+16nb) = inv[r] * sum_j p[r][j] v[j][col .. col+16nb) for rm rows. */
CC_INLINE void cc_values_tile(const float * p, int64_t nk_pad, const float * v, size_t v_stride,
                              int64_t nk, int rm, int nb, int col, const float * inv, float * out,
                              size_t out_stride) {
    __m512 acc[CC_RM][CC_NB];
    CC_UNROLL
    for (int r = 0; r < rm; r++) {
        CC_UNROLL
        for (int c = 0; c < nb; c++) acc[r][c] = _mm512_setzero_ps();
    }
    for (int64_t j = 0; j < nk; j++) {
        __m512 b[CC_NB];
        CC_UNROLL
        for (int c = 0; c < nb; c++) b[c] = _mm512_loadu_ps(v + (size_t) j * v_stride + col + 16 * c);
        CC_UNROLL
        for (int r = 0; r < rm; r++) {
            __m512 a = _mm512_set1_ps(p[(size_t) r * nk_pad + j]);
            CC_UNROLL
            for (int c = 0; c < nb; c++) acc[r][c] = _mm512_fmadd_ps(a, b[c], acc[r][c]);
        }
    }
    CC_UNROLL
    for (int r = 0; r < rm; r++) {
        const __m512 f = _mm512_set1_ps(inv[r]);
        CC_UNROLL
        for (int c = 0; c < nb; c++) {
            _mm512_storeu_ps(out + (size_t) r * out_stride + col + 16 * c, _mm512_mul_ps(acc[r][c], f));
        }
    }
}

/* One instance per (rows, vectors) pair, so that both are constants inside the tile. */
#define CC_NB_CASES(CALL, RM)                      \
    switch (nb) {                                  \
        case 4: CALL(RM, 4); break;                \
        case 2: CALL(RM, 2); break;                \
        default: CALL(RM, 1); break;               \
    }
#define CC_RM_CASES(CALL)                          \
    switch (rm) {                                  \
        case 6: CC_NB_CASES(CALL, 6) break;        \
        case 5: CC_NB_CASES(CALL, 5) break;        \
        case 4: CC_NB_CASES(CALL, 4) break;        \
        case 3: CC_NB_CASES(CALL, 3) break;        \
        case 2: CC_NB_CASES(CALL, 2) break;        \
        default: CC_NB_CASES(CALL, 1) break;       \
    }

static CC_AVX512 void cc_scores_rows(const float * q, size_t q_stride, const float * kt, int64_t nk,
                                     int64_t nk_pad, int hd, int rm, int nb, int64_t j, float * s,
                                     __m512 * vmax) {
#define CC_SCORES(RM, NB) cc_scores_tile(q, q_stride, kt, nk, nk_pad, hd, RM, NB, j, s, vmax)
    CC_RM_CASES(CC_SCORES)
#undef CC_SCORES
}

static CC_AVX512 void cc_values_rows(const float * p, int64_t nk_pad, const float * v,
                                     size_t v_stride, int64_t nk, int rm, int nb, int col,
                                     const float * inv, float * out, size_t out_stride) {
#define CC_VALUES(RM, NB) cc_values_tile(p, nk_pad, v, v_stride, nk, RM, NB, col, inv, out, out_stride)
    CC_RM_CASES(CC_VALUES)
#undef CC_VALUES
}

/* The widest tile (4, 2 or 1 vectors) that fits in the n floats left; n is a multiple of 16. */
static inline int cc_vectors(int64_t n) {
    return n >= 64 ? 4 : n >= 32 ? 2 : 1;
}

/* Softmax of one row of scores in place, scaled, plus the additive mask row when there is one;
 * returns 1 / sum of the exponentials, or 0 for a row whose every key is masked (its output is
 * then zero). vmax holds the lane-wise maximum of the row's unscaled scores (cc_scores_tile), which
 * spares a pass over the row when there is no mask. log2(e) is folded into the scale, so that
 * the exponentials are powers of 2 (cc_exp2_nonpos). */
static CC_AVX512 float cc_softmax_row(float * s, int64_t nk, float scale, const float * mask, __m512 vmax) {
    const float l2e = 1.44269504088896341f;
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    float m = _mm512_reduce_max_ps(vmax);
    if (mask) {
        /* the masked row: scaled and masked in place first, its maximum taken then */
        const __m512 vs = _mm512_set1_ps(scale);
        __m512 vm = ninf;
        for (int64_t j = 0; j < nk; j += 16) {
            const __mmask16 k = nk - j >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << (nk - j)) - 1u);
            __m512 x = _mm512_mask_fmadd_ps(_mm512_maskz_loadu_ps(k, s + j), k, vs, _mm512_maskz_loadu_ps(k, mask + j));
            _mm512_mask_storeu_ps(s + j, k, x);
            vm = _mm512_mask_max_ps(vm, k, vm, x);
        }
        m = _mm512_reduce_max_ps(vm);
        if (m == -INFINITY) {
            memset(s, 0, sizeof(float) * (size_t) nk);
            return 0.0f;
        }
    }
    /* t = (x - max) * log2(e), x = scale * s without a mask (scale > 0 keeps the maximum) */
    const float f = mask ? l2e : scale * l2e;
    const __m512 vf = _mm512_set1_ps(f), shift = _mm512_set1_ps(m * f);
    __m512 vsum = _mm512_setzero_ps();
    for (int64_t j = 0; j < nk; j += 16) {
        const __mmask16 k = nk - j >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << (nk - j)) - 1u);
        const __m512 e = cc_exp2_nonpos(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(k, s + j), vf, shift));
        _mm512_mask_storeu_ps(s + j, k, e);
        vsum = _mm512_mask_add_ps(vsum, k, vsum, e);
    }
    return 1.0f / _mm512_reduce_add_ps(vsum);
}

void CC_AVX512 cc_attention_pack_kt_avx512(const float * kh, size_t ks, int64_t nk, int64_t nk_pad, int hd,
                                           float * kt) {
    /* blocks of 16 keys x 16 dimensions transposed in registers; keys past nk are zero rows */
    for (int64_t j = 0; j < nk_pad; j += 16) {
        for (int d = 0; d < hd; d += 16) {
            __m512 r[16];
            CC_UNROLL
            for (int i = 0; i < 16; i++) {
                r[i] = j + i < nk ? _mm512_loadu_ps(kh + (size_t) (j + i) * ks + d) : _mm512_setzero_ps();
            }
            cc_transpose16(r);
            CC_UNROLL
            for (int e = 0; e < 16; e++) _mm512_storeu_ps(kt + (size_t) (d + e) * nk_pad + j, r[e]);
        }
    }
}

void CC_AVX512 cc_attention_task_avx512(const cc_attn_task * t) {
    const int64_t nk = t->nk, nk_pad = t->nk_pad;
    const int hd = t->hd, rows = t->rows;
    float inv[CC_TASK_ROWS];
    __m512 vmax[CC_TASK_ROWS];
    for (int i = 0; i < rows; i++) vmax[i] = _mm512_set1_ps(-INFINITY);
    for (int i = 0; i < rows; i += CC_RM) {
        const int rm = rows - i < CC_RM ? rows - i : CC_RM;
        for (int64_t j = 0; j < nk_pad;) {
            const int nb = cc_vectors(nk_pad - j);
            cc_scores_rows(t->q + (size_t) i * t->q_stride, t->q_stride, t->kt, nk, nk_pad, hd, rm, nb, j,
                           t->s + (size_t) i * nk_pad, vmax + i);
            j += 16 * nb;
        }
    }
    for (int i = 0; i < rows; i++) {
        inv[i] = cc_softmax_row(t->s + (size_t) i * nk_pad, nk, t->scale,
                                t->mask ? t->mask + (size_t) i * t->mask_stride : NULL, vmax[i]);
    }
    for (int i = 0; i < rows; i += CC_RM) {
        const int rm = rows - i < CC_RM ? rows - i : CC_RM;
        for (int c = 0; c < hd;) {
            const int nb = cc_vectors(hd - c);
            cc_values_rows(t->s + (size_t) i * nk_pad, nk_pad, t->v, t->v_stride, nk, rm, nb, c, inv + i,
                           t->out + (size_t) i * t->out_stride, t->out_stride);
            c += 16 * nb;
        }
    }
}

#endif
