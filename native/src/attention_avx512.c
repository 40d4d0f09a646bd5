/* The fused attention's task kernels for AVX-512F and for AVX-512 BF16 (see attention.c for the
 * operation around them).
 *
 * The same three steps as the AVX2 kernel with 16-float registers and twice the registers: scores
 * and the value sum both use tiles of 6 rows x 64 floats (24 of the 32 zmm registers as
 * accumulators, so each step loads 4 vectors and broadcasts 6 scalars for 24 FMAs), and the
 * softmax handles a row's last partial vector with a mask instead of a scalar loop.
 *
 * The BF16 kernel runs both products with vdpbf16ps, which sums two bf16 products into each f32
 * lane, twice the FMA's work per instruction: Q, K, the probabilities and V rounded to bf16 (8
 * significant bits), the sums, the softmax and the output in f32. K is packed as pairs of
 * dimensions (kp[d/2][j] = k[j][d], k[j][d+1]) and V as pairs of keys (vp[j/2][c] = v[j][c],
 * v[j+1][c]), so that one 32-bit broadcast of a query's or a probability row's pair meets a vector
 * of 16 such pairs. */
#include "attention_kernels.h"

#ifdef CC_FUSED_X86

#include "simd_avx512.h"
#include <math.h>
#include <stdbool.h>
#include <string.h>

#define CC_AVX512 __attribute__((target("avx512f")))
#define CC_BF16 __attribute__((target("avx512f,avx512bw,avx512bf16")))
/* Register tiles only stay in registers when their loops are fully unrolled, with the row and
 * vector counts constants (each tile function is inlined into a switch over them). */
#define CC_UNROLL _Pragma("GCC unroll 8")
#define CC_INLINE static inline __attribute__((always_inline)) CC_AVX512
#define CC_INLINE_BF16 static inline __attribute__((always_inline)) CC_BF16

/* Rows of a register tile; CC_TASK_ROWS is a multiple. */
#define CC_RM 6
/* 16-float vectors per tile row at most. */
#define CC_NB 4

/* The lanes of a vector that hold the first n of the values left (all for n >= 16, none for n <= 0). */
static inline __mmask16 cc_lanes(int64_t n) {
    return n >= 16 ? (__mmask16) 0xFFFF : n <= 0 ? (__mmask16) 0 : (__mmask16) ((1u << n) - 1u);
}

/* acc[r][c] = sum over steps i of a[r * a_stride + i] * b[i * b_stride + 16c .. 16c + 16) for rm
 * rows and nb vectors: both products of the attention (scores: a the queries, b K^T; value sum:
 * a the probabilities, b V). */
CC_INLINE void cc_tile(const float * a, size_t a_stride, const float * b, size_t b_stride, int64_t steps, int rm,
                       int nb, __m512 acc[CC_RM][CC_NB]) {
    CC_UNROLL
    for (int r = 0; r < rm; r++) {
        CC_UNROLL
        for (int c = 0; c < nb; c++) acc[r][c] = _mm512_setzero_ps();
    }
    for (int64_t i = 0; i < steps; i++) {
        __m512 bv[CC_NB];
        CC_UNROLL
        for (int c = 0; c < nb; c++) bv[c] = _mm512_loadu_ps(b + (size_t) i * b_stride + 16 * c);
        CC_UNROLL
        for (int r = 0; r < rm; r++) {
            const __m512 av = _mm512_set1_ps(a[(size_t) r * a_stride + i]);
            CC_UNROLL
            for (int c = 0; c < nb; c++) acc[r][c] = _mm512_fmadd_ps(av, bv[c], acc[r][c]);
        }
    }
}

/* The same on bf16 pairs (the BF16 kernel): each step's a is a 32-bit pair, each b vector 16
 * pairs, and vdpbf16ps adds both products of a pair to a lane. */
CC_INLINE_BF16 void cc_tile_bf16(const uint32_t * a, size_t a_stride, const uint32_t * b, size_t b_stride,
                                 int64_t steps, int rm, int nb, __m512 acc[CC_RM][CC_NB]) {
    CC_UNROLL
    for (int r = 0; r < rm; r++) {
        CC_UNROLL
        for (int c = 0; c < nb; c++) acc[r][c] = _mm512_setzero_ps();
    }
    for (int64_t i = 0; i < steps; i++) {
        __m512bh bv[CC_NB];
        CC_UNROLL
        for (int c = 0; c < nb; c++) bv[c] = (__m512bh) _mm512_loadu_si512(b + (size_t) i * b_stride + 16 * c);
        CC_UNROLL
        for (int r = 0; r < rm; r++) {
            const __m512bh av = (__m512bh) _mm512_set1_epi32((int) a[(size_t) r * a_stride + i]);
            CC_UNROLL
            for (int c = 0; c < nb; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], av, bv[c]);
        }
    }
}

/* The scores tile's end: acc into s, and its keys' scores into vmax. */
CC_INLINE void cc_scores_store(__m512 acc[CC_RM][CC_NB], int64_t nk, int64_t nk_pad, int rm, int nb, int64_t j,
                               float * s, __m512 * vmax) {
    /* only the last vectors of a row can hold padding keys */
    __mmask16 keys[CC_NB];
    CC_UNROLL
    for (int c = 0; c < nb; c++) keys[c] = cc_lanes(nk - j - 16 * c);
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

/* s[r][j .. j+16nb) = sum_d q[r][d] kt[d][j .. j+16nb) for rm rows, and vmax[r] the lane-wise
 * maximum of vmax[r] and those of the scores that belong to keys (j + column < nk). */
CC_INLINE void cc_scores_tile(const float * q, size_t q_stride, const float * kt, int64_t nk, int64_t nk_pad,
                              int hd, int rm, int nb, int64_t j, float * s, __m512 * vmax) {
    __m512 acc[CC_RM][CC_NB];
    cc_tile(q, q_stride, kt + j, (size_t) nk_pad, hd, rm, nb, acc);
    cc_scores_store(acc, nk, nk_pad, rm, nb, j, s, vmax);
}

/* The value tile's end: acc times 1 / the row's sum into out. */
CC_INLINE void cc_values_store(__m512 acc[CC_RM][CC_NB], int rm, int nb, int col, const float * inv, float * out,
                               size_t out_stride) {
    CC_UNROLL
    for (int r = 0; r < rm; r++) {
        const __m512 f = _mm512_set1_ps(inv[r]);
        CC_UNROLL
        for (int c = 0; c < nb; c++) {
            _mm512_storeu_ps(out + (size_t) r * out_stride + col + 16 * c, _mm512_mul_ps(acc[r][c], f));
        }
    }
}

/* out[r][col .. col+16nb) = inv[r] * sum_j p[r][j] v[j][col .. col+16nb) for rm rows. */
CC_INLINE void cc_values_tile(const float * p, int64_t nk_pad, const float * v, size_t v_stride,
                              int64_t nk, int rm, int nb, int col, const float * inv, float * out,
                              size_t out_stride) {
    __m512 acc[CC_RM][CC_NB];
    cc_tile(p, (size_t) nk_pad, v + col, v_stride, nk, rm, nb, acc);
    cc_values_store(acc, rm, nb, col, inv, out, out_stride);
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

/* lo and hi rounded to bf16 (to nearest even): element i of lo in bf16 lane i, of hi in lane 16 + i.
 * The conversion needs AVX-512 BF16; only the BF16 kernel's paths reach it. */
static inline __attribute__((always_inline)) CC_BF16 __m512i cc_bf16_pairs(__m512 hi, __m512 lo) {
    return (__m512i) _mm512_cvtne2ps_pbh(hi, lo);
}

/* The widest tile (4, 2 or 1 vectors) that fits in the n floats left; n is a multiple of 16. */
static inline int cc_vectors(int64_t n) {
    return n >= 64 ? 4 : n >= 32 ? 2 : 1;
}

/* The first part of a row's softmax: the maximum of its scaled scores, as the factor and shift
 * that make t = (x - max) log2(e) from a score (log2(e) folded in, so that the exponentials are
 * powers of 2, cc_exp2_nonpos): t = s * vf - shift. vmax holds the lane-wise maximum of the row's
 * unscaled scores (cc_scores_tile), which spares a pass over the row when there is no mask (then
 * x = scale * s, and scale > 0 keeps the maximum); a masked row is scaled and masked in place
 * first (then x = s) and its maximum taken then. A row whose every key is masked gets zero_bytes
 * of zeros (its probabilities, as the caller stores them), and false. */
CC_INLINE bool cc_softmax_factors(float * s, int64_t nk, float scale, const float * mask, __m512 vmax,
                                  size_t zero_bytes, __m512 * vf, __m512 * shift) {
    float m;
    if (!mask) {
        m = _mm512_reduce_max_ps(vmax) * scale;
    } else {
        const __m512 vs = _mm512_set1_ps(scale);
        __m512 vm = _mm512_set1_ps(-INFINITY);
        for (int64_t j = 0; j < nk; j += 16) {
            const __mmask16 k = cc_lanes(nk - j);
            const __m512 x = _mm512_mask_fmadd_ps(_mm512_maskz_loadu_ps(k, s + j), k, vs,
                                                  _mm512_maskz_loadu_ps(k, mask + j));
            _mm512_mask_storeu_ps(s + j, k, x);
            vm = _mm512_mask_max_ps(vm, k, vm, x);
        }
        m = _mm512_reduce_max_ps(vm);
    }
    if (m == -INFINITY) {
        memset(s, 0, zero_bytes);
        return false;
    }
    const float l2e = 1.44269504088896341f;
    *vf = _mm512_set1_ps(mask ? l2e : scale * l2e);
    *shift = _mm512_set1_ps(m * l2e);
    return true;
}

/* The exponentials of the next 32 scores of a row, `left` of them still keys: with whole (a
 * constant in each caller) all 32 without masks, where one masked loop ran at half the speed of
 * the FP units; otherwise those past the keys are zero. */
CC_INLINE void cc_softmax_exp32(const float * s, int64_t left, bool whole, __m512 vf, __m512 shift, __m512 * e0,
                                __m512 * e1) {
    if (whole) {
        *e0 = cc_exp2_nonpos(_mm512_fmsub_ps(_mm512_loadu_ps(s), vf, shift));
        *e1 = cc_exp2_nonpos(_mm512_fmsub_ps(_mm512_loadu_ps(s + 16), vf, shift));
    } else {
        const __mmask16 k0 = cc_lanes(left), k1 = cc_lanes(left - 16);
        *e0 = _mm512_maskz_mov_ps(k0, cc_exp2_nonpos(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(k0, s), vf, shift)));
        *e1 = _mm512_maskz_mov_ps(k1, cc_exp2_nonpos(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(k1, s + 16), vf, shift)));
    }
}

/* Softmax of one row of scores in place, scaled, plus the additive mask row when there is one;
 * returns 1 / sum of the exponentials, or 0 for a row whose every key is masked (its output is
 * then zero). Two sums over whole steps of 32 keys, the last step's vectors added to the first. */
static CC_AVX512 float cc_softmax_row(float * s, int64_t nk, float scale, const float * mask, __m512 vmax) {
    __m512 vf, shift, e0, e1;
    if (!cc_softmax_factors(s, nk, scale, mask, vmax, sizeof(float) * (size_t) nk, &vf, &shift)) return 0.0f;
    __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 32 <= nk; j += 32) {
        cc_softmax_exp32(s + j, nk - j, true, vf, shift, &e0, &e1);
        _mm512_storeu_ps(s + j, e0);
        _mm512_storeu_ps(s + j + 16, e1);
        sum0 = _mm512_add_ps(sum0, e0);
        sum1 = _mm512_add_ps(sum1, e1);
    }
    if (j < nk) {
        cc_softmax_exp32(s + j, nk - j, false, vf, shift, &e0, &e1);
        _mm512_mask_storeu_ps(s + j, cc_lanes(nk - j), e0);
        _mm512_mask_storeu_ps(s + j + 16, cc_lanes(nk - j - 16), e1);
        sum0 = _mm512_add_ps(_mm512_add_ps(sum0, e0), e1);
    }
    return 1.0f / _mm512_reduce_add_ps(_mm512_add_ps(sum0, sum1));
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

/* ---- the BF16 kernel ---- */

/* The BF16 kernel's softmax: as cc_softmax_row, the exponentials written as bf16 over the row's
 * first half (keys past nk zero up to the next multiple of 32) for its value sum; 32 keys at a
 * time, so that each 64-byte store lands below the floats still to be read. */
static CC_BF16 float cc_softmax_row_bf16(float * s, int64_t nk, float scale, const float * mask, __m512 vmax) {
    /* a fully masked row: zero pairs up to key nk (the value sum reads (nk + 1) / 2 pairs) */
    __m512 vf, shift, e0, e1;
    if (!cc_softmax_factors(s, nk, scale, mask, vmax, sizeof(uint16_t) * (size_t) (nk + 1), &vf, &shift)) {
        return 0.0f;
    }
    __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
    for (int64_t j = 0; j < nk; j += 32) {
        if (j + 32 <= nk) {
            cc_softmax_exp32(s + j, nk - j, true, vf, shift, &e0, &e1);
        } else {
            cc_softmax_exp32(s + j, nk - j, false, vf, shift, &e0, &e1);
        }
        sum0 = _mm512_add_ps(sum0, e0);
        sum1 = _mm512_add_ps(sum1, e1);
        _mm512_storeu_si512((uint16_t *) s + j, cc_bf16_pairs(e1, e0));
    }
    return 1.0f / _mm512_reduce_add_ps(_mm512_add_ps(sum0, sum1));
}

/* The scores tile of the BF16 kernel: qb the rows' queries as bf16 pairs (hp pairs per row), kp
 * K as pairs of dimensions; the end as cc_scores_tile's. */
CC_INLINE_BF16 void cc_scores_tile_bf16(const uint32_t * qb, int hp, const uint32_t * kp, int64_t nk, int64_t nk_pad,
                                        int rm, int nb, int64_t j, float * s, __m512 * vmax) {
    __m512 acc[CC_RM][CC_NB];
    cc_tile_bf16(qb, (size_t) hp, kp + j, (size_t) nk_pad, hp, rm, nb, acc);
    cc_scores_store(acc, nk, nk_pad, rm, nb, j, s, vmax);
}

/* The value tile of the BF16 kernel: pp the rows' probabilities as bf16 pairs (row stride
 * pp_stride pairs), vp V as pairs of keys (hd columns), n_pairs pairs of keys; the end as
 * cc_values_tile's. */
CC_INLINE_BF16 void cc_values_tile_bf16(const uint32_t * pp, int64_t pp_stride, const uint32_t * vp, int hd,
                                        int64_t n_pairs, int rm, int nb, int col, const float * inv, float * out,
                                        size_t out_stride) {
    __m512 acc[CC_RM][CC_NB];
    cc_tile_bf16(pp, (size_t) pp_stride, vp + col, (size_t) hd, n_pairs, rm, nb, acc);
    cc_values_store(acc, rm, nb, col, inv, out, out_stride);
}

static CC_BF16 void cc_scores_rows_bf16(const uint32_t * qb, int hp, const uint32_t * kp, int64_t nk, int64_t nk_pad,
                                        int rm, int nb, int64_t j, float * s, __m512 * vmax) {
#define CC_SCORES(RM, NB) cc_scores_tile_bf16(qb, hp, kp, nk, nk_pad, RM, NB, j, s, vmax)
    CC_RM_CASES(CC_SCORES)
#undef CC_SCORES
}

static CC_BF16 void cc_values_rows_bf16(const uint32_t * pp, int64_t pp_stride, const uint32_t * vp, int hd,
                                        int64_t n_pairs, int rm, int nb, int col, const float * inv, float * out,
                                        size_t out_stride) {
#define CC_VALUES(RM, NB) cc_values_tile_bf16(pp, pp_stride, vp, hd, n_pairs, RM, NB, col, inv, out, out_stride)
    CC_RM_CASES(CC_VALUES)
#undef CC_VALUES
}

/* 32 floats of row x from column c (those at or past n as zeros) as 16 bf16 pairs: pair e holds
 * columns c + 2e and c + 2e + 1. */
CC_INLINE_BF16 __m512i cc_bf16_row32(const float * x, int64_t c, int64_t n) {
    return cc_bf16_pairs(_mm512_maskz_loadu_ps(cc_lanes(n - c - 16), x + c + 16),
                         _mm512_maskz_loadu_ps(cc_lanes(n - c), x + c));
}

void CC_BF16 cc_attention_pack_bf16(const float * kh, size_t ks, const float * vh, size_t vs, int64_t nk,
                                    int64_t nk_pad, int hd, uint32_t * kp, uint32_t * vp) {
    /* K: per 16 keys and 32 dimensions, each key's 16 pairs, then a 16 x 16 transpose of the
     * 32-bit pairs so that each vector holds one pair of dimensions for the 16 keys */
    for (int64_t j = 0; j < nk_pad; j += 16) {
        for (int d = 0; d < hd; d += 32) {
            __m512 r[16];
            CC_UNROLL
            for (int i = 0; i < 16; i++) {
                r[i] = j + i < nk ? _mm512_castsi512_ps(cc_bf16_row32(kh + (size_t) (j + i) * ks, d, hd))
                                  : _mm512_setzero_ps();
            }
            cc_transpose16(r);
            const int pairs = hd - d >= 32 ? 16 : (hd - d) / 2;
            for (int e = 0; e < pairs; e++) _mm512_storeu_ps((float *) kp + (size_t) (d / 2 + e) * nk_pad + j, r[e]);
        }
    }
    /* V: keys j and j + 1 interleaved, 16 columns at a time (keys past nk zero) */
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                                23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (int64_t j = 0; j < nk_pad; j += 2) {
        for (int c = 0; c < hd; c += 16) {
            const __m512 r0 = j < nk ? _mm512_loadu_ps(vh + (size_t) j * vs + c) : _mm512_setzero_ps();
            const __m512 r1 = j + 1 < nk ? _mm512_loadu_ps(vh + (size_t) (j + 1) * vs + c) : _mm512_setzero_ps();
            _mm512_storeu_si512(vp + (size_t) (j / 2) * hd + c, _mm512_permutexvar_epi16(interleave, cc_bf16_pairs(r1, r0)));
        }
    }
}

void CC_BF16 cc_attention_task_bf16(const cc_attn_task * t) {
    const int64_t nk = t->nk, nk_pad = t->nk_pad;
    const int hd = t->hd, rows = t->rows, hp = hd / 2;
    /* the task's queries as bf16 pairs */
    for (int i = 0; i < rows; i++) {
        for (int d = 0; d < hd; d += 32) {
            _mm512_mask_storeu_epi32(t->qb + (size_t) i * hp + d / 2, cc_lanes((hd - d) / 2),
                                     cc_bf16_row32(t->q + (size_t) i * t->q_stride, d, hd));
        }
    }
    float inv[CC_TASK_ROWS];
    __m512 vmax[CC_TASK_ROWS];
    for (int i = 0; i < rows; i++) vmax[i] = _mm512_set1_ps(-INFINITY);
    for (int i = 0; i < rows; i += CC_RM) {
        const int rm = rows - i < CC_RM ? rows - i : CC_RM;
        for (int64_t j = 0; j < nk_pad;) {
            const int nb = cc_vectors(nk_pad - j);
            cc_scores_rows_bf16(t->qb + (size_t) i * hp, hp, t->kt_bf16, nk, nk_pad, rm, nb, j,
                                t->s + (size_t) i * nk_pad, vmax + i);
            j += 16 * nb;
        }
    }
    for (int i = 0; i < rows; i++) {
        inv[i] = cc_softmax_row_bf16(t->s + (size_t) i * nk_pad, nk, t->scale,
                                     t->mask ? t->mask + (size_t) i * t->mask_stride : NULL, vmax[i]);
    }
    /* the probabilities are bf16 pairs at the start of each row of s (nk_pad floats = nk_pad pairs apart) */
    const uint32_t * pp = (const uint32_t *) t->s;
    for (int i = 0; i < rows; i += CC_RM) {
        const int rm = rows - i < CC_RM ? rows - i : CC_RM;
        for (int c = 0; c < hd;) {
            const int nb = cc_vectors(hd - c);
            cc_values_rows_bf16(pp + (size_t) i * nk_pad, nk_pad, t->v_bf16, hd, (nk + 1) / 2, rm, nb, c, inv + i,
                                t->out + (size_t) i * t->out_stride, t->out_stride);
            c += 16 * nb;
        }
    }
}

#endif
