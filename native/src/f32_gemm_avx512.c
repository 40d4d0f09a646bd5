/* The f32 product's AVX-512 kernels (see f32_gemm_kernels.h for the layouts), and the packings
 * and the LayerNorm that feed it.
 *
 * Register tile: 14 activation rows x 32 weight rows, 28 accumulators. Per input: 2 loads of the
 * packed weights, 14 broadcasts of the packed activations and 28 FMAs, so the FMA units, not the
 * loads, set the pace. A tile sums over all k inputs at once (no k blocks): the 32 weight rows of
 * a tile (k x 128 bytes) stay in L2 while the activation panels stream past, and each output is
 * written once, through the epilogue. Two weight tiles share each pass over the activations where
 * they fit; a panel's last rows get a tile of fewer register rows. */
#include "f32_gemm_kernels.h"

#ifdef CC_F32_X86

#include "simd_avx512.h"

#include <math.h>

#define CC_AVX512 __attribute__((target("avx512f")))
#define CC_INLINE static inline __attribute__((always_inline)) CC_AVX512
#define CC_UNROLL _Pragma("GCC unroll 16")

/* 16 weights at element i of w (f16 when f16) as floats, and back (exact: they were read so). */
CC_INLINE __m512 cc_load_w16(const void * w, bool f16, size_t i) {
    return f16 ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) ((const uint16_t *) w + i)))
               : _mm512_loadu_ps((const float *) w + i);
}

CC_INLINE void cc_store_w16(void * w, bool f16, size_t i, __m512 v) {
    if (f16) {
        _mm256_storeu_si256((__m256i *) ((uint16_t *) w + i), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
    } else {
        _mm512_storeu_ps((float *) w + i, v);
    }
}

void CC_AVX512 cc_f32_pack_w_avx512(const void * w, bool f16, int64_t k, int64_t m, void * out) {
    const int64_t tiles = (m + CC_F32_TILE_ROWS - 1) / CC_F32_TILE_ROWS, k16 = k / 16 * 16;
    for (int64_t t = 0; t < tiles; t++) {
        const size_t tile = (size_t) t * (size_t) k * CC_F32_TILE_ROWS;
        /* each half of the tile's rows in blocks of 16 inputs, transposed in registers */
        for (int h = 0; h < 2; h++) {
            const int64_t row0 = t * CC_F32_TILE_ROWS + 16 * h;
            for (int64_t j = 0; j < k16; j += 16) {
                __m512 r[16];
                CC_UNROLL
                for (int i = 0; i < 16; i++) {
                    r[i] = row0 + i < m ? cc_load_w16(w, f16, (size_t) (row0 + i) * (size_t) k + j) : _mm512_setzero_ps();
                }
                cc_transpose16(r);
                CC_UNROLL
                for (int e = 0; e < 16; e++) cc_store_w16(out, f16, tile + (size_t) (j + e) * CC_F32_TILE_ROWS + 16 * h, r[e]);
            }
        }
    }
}

/* The mean and 1 / sqrt(variance + eps) of one row of k floats, as ggml's norm computes them: the
 * sums in double, the mean and the scale rounded to float. */
CC_INLINE void cc_row_stats(const float * x, int64_t k, float eps, float * mean, float * rstd) {
    const int64_t k16 = k / 16 * 16;
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (int64_t j = 0; j < k16; j += 16) {
        const __m512 v = _mm512_loadu_ps(x + j);
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
    }
    double sum = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
    for (int64_t j = k16; j < k; j++) sum += x[j];
    const float mu = (float) (sum / (double) k);
    const __m512 vmu = _mm512_set1_ps(mu);
    s0 = _mm512_setzero_pd();
    s1 = _mm512_setzero_pd();
    for (int64_t j = 0; j < k16; j += 16) {
        const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + j), vmu);
        const __m512d d0 = _mm512_cvtps_pd(_mm512_castps512_ps256(d));
        const __m512d d1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1)));
        s0 = _mm512_fmadd_pd(d0, d0, s0);
        s1 = _mm512_fmadd_pd(d1, d1, s1);
    }
    double sq = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
    for (int64_t j = k16; j < k; j++) sq += (double) (x[j] - mu) * (double) (x[j] - mu);
    *mean = mu;
    *rstd = 1.0f / sqrtf((float) (sq / (double) k + (double) eps));
}

/* ((x - mean) * rstd) * w + b for 16 columns, rounded after each step as ggml's norm, mul and add. */
CC_INLINE __m512 cc_norm16(__m512 x, __m512 mean, __m512 rstd, __m512 w, __m512 b) {
    return _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(x, mean), rstd), w), b);
}

void CC_AVX512 cc_f32_layer_norm_avx512(const float * x, size_t x_stride, int64_t k, int64_t r0, int64_t r1,
                                        const float * w, const float * b, float eps, float * y, size_t y_stride) {
    const int64_t k16 = k / 16 * 16;
    for (int64_t r = r0; r < r1; r++) {
        const float * xr = x + (size_t) r * x_stride;
        float * yr = y + (size_t) r * y_stride;
        float mean, rstd;
        cc_row_stats(xr, k, eps, &mean, &rstd);
        const __m512 vm = _mm512_set1_ps(mean), vr = _mm512_set1_ps(rstd);
        for (int64_t j = 0; j < k16; j += 16) {
            _mm512_storeu_ps(yr + j, cc_norm16(_mm512_loadu_ps(xr + j), vm, vr, _mm512_loadu_ps(w + j),
                                               _mm512_loadu_ps(b + j)));
        }
        for (int64_t j = k16; j < k; j++) yr[j] = (xr[j] - mean) * rstd * w[j] + b[j];
    }
}

/* Panels [p0, p1) of x's n rows into xp (rows past n zero), each row through the LayerNorm with
 * w, b and eps when w is not NULL (a constant in each caller, so each gets its own loop). */
CC_INLINE void cc_pack_panels(const float * x, size_t x_stride, int64_t k, int64_t n, int64_t p0, int64_t p1,
                              const float * w, const float * b, float eps, float * xp) {
    const int64_t k16 = k / 16 * 16;
    for (int64_t p = p0; p < p1; p++) {
        float * out = xp + (size_t) p * (size_t) k * CC_F32_PANEL_ROWS;
        const int64_t first = p * CC_F32_PANEL_ROWS;
        const int rows = (int) (n - first < CC_F32_PANEL_ROWS ? n - first : CC_F32_PANEL_ROWS);
        float mean[CC_F32_PANEL_ROWS] = { 0 }, rstd[CC_F32_PANEL_ROWS] = { 0 };
        for (int i = 0; w && i < rows; i++) cc_row_stats(x + (size_t) (first + i) * x_stride, k, eps, &mean[i], &rstd[i]);
        for (int64_t j = 0; j < k16; j += 16) {
            const __m512 vw = w ? _mm512_loadu_ps(w + j) : _mm512_setzero_ps();
            const __m512 vb = w ? _mm512_loadu_ps(b + j) : _mm512_setzero_ps();
            __m512 r[16];
            CC_UNROLL
            for (int i = 0; i < 16; i++) {
                if (i >= rows || i >= CC_F32_PANEL_ROWS) {
                    r[i] = _mm512_setzero_ps();
                    continue;
                }
                r[i] = _mm512_loadu_ps(x + (size_t) (first + i) * x_stride + j);
                if (w) r[i] = cc_norm16(r[i], _mm512_set1_ps(mean[i]), _mm512_set1_ps(rstd[i]), vw, vb);
            }
            cc_transpose16(r);
            CC_UNROLL
            for (int e = 0; e < 16; e++) {
                _mm512_mask_storeu_ps(out + (size_t) (j + e) * CC_F32_PANEL_ROWS,
                                      (__mmask16) ((1u << CC_F32_PANEL_ROWS) - 1u), r[e]);
            }
        }
        for (int64_t j = k16; j < k; j++) {
            for (int i = 0; i < CC_F32_PANEL_ROWS; i++) {
                const float v = i < rows ? x[(size_t) (first + i) * x_stride + j] : 0.0f;
                out[(size_t) j * CC_F32_PANEL_ROWS + i] = i >= rows ? 0.0f : w ? (v - mean[i]) * rstd[i] * w[j] + b[j] : v;
            }
        }
    }
}

void CC_AVX512 cc_f32_pack_x_avx512(const float * x, size_t x_stride, int64_t k, int64_t n, int64_t p0,
                                    int64_t p1, float * xp) {
    cc_pack_panels(x, x_stride, k, n, p0, p1, NULL, NULL, 0.0f, xp);
}

void CC_AVX512 cc_f32_layer_norm_pack_avx512(const float * x, size_t x_stride, int64_t k, int64_t n, int64_t p0,
                                             int64_t p1, const float * w, const float * b, float eps, float * xp) {
    cc_pack_panels(x, x_stride, k, n, p0, p1, w, b, eps, xp);
}

/* One register tile: the rows of panel xp (rows of them valid) times the 32 weight rows of tile
 * w over k inputs, plus the bias, through quick_gelu when gelu, plus the residual rows (bias and
 * residual NULL or from this tile's first column and row). Stored into the rows of dst, or, with
 * to_panel, transposed into the panel dst of the product that reads this output (its column c at
 * dst + c * 14, this tile's first column being column 0, rows past `rows` zero); columns
 * >= m_left are neither read nor stored. */
CC_INLINE void cc_f32_tile(const float * xp, const void * w, bool f16, int64_t k, const float * bias, bool gelu,
                           const float * res, size_t res_stride, bool to_panel, float * dst, size_t dst_stride,
                           int mr, int rows, int m_left) {
    const __mmask16 k0 = m_left >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << m_left) - 1u);
    const __mmask16 k1 = m_left >= 32 ? (__mmask16) 0xFFFF
                         : m_left <= 16 ? (__mmask16) 0
                                        : (__mmask16) ((1u << (m_left - 16)) - 1u);
    const __m512 b0 = bias ? _mm512_maskz_loadu_ps(k0, bias) : _mm512_setzero_ps();
    const __m512 b1 = bias ? _mm512_maskz_loadu_ps(k1, bias + 16) : _mm512_setzero_ps();
    __m512 acc[CC_F32_PANEL_ROWS][2];
    CC_UNROLL
    for (int i = 0; i < mr; i++) {
        acc[i][0] = b0;
        acc[i][1] = b1;
    }
    /* the residual rows this tile adds at its end, brought into L2 while it sums: loaded only
     * then, their cache misses stalled every tile (products with a residual ran 6% slower) */
    if (res) {
        for (int i = 0; i < rows; i++) {
            _mm_prefetch((const char *) (res + (size_t) i * res_stride), _MM_HINT_T1);
            _mm_prefetch((const char *) (res + (size_t) i * res_stride + 31), _MM_HINT_T1);
        }
    }
    for (int64_t j = 0; j < k; j++) {
        const __m512 w0 = cc_load_w16(w, f16, (size_t) j * CC_F32_TILE_ROWS);
        const __m512 w1 = cc_load_w16(w, f16, (size_t) j * CC_F32_TILE_ROWS + 16);
        const float * xj = xp + (size_t) j * CC_F32_PANEL_ROWS;
        CC_UNROLL
        for (int i = 0; i < mr; i++) {
            const __m512 xv = _mm512_set1_ps(xj[i]);
            acc[i][0] = _mm512_fmadd_ps(xv, w0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(xv, w1, acc[i][1]);
        }
    }
    CC_UNROLL
    for (int i = 0; i < mr; i++) {
        if (i >= rows) break;
        if (gelu) {
            acc[i][0] = cc_quick_gelu(acc[i][0]);
            acc[i][1] = cc_quick_gelu(acc[i][1]);
        }
        if (res) {
            acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_maskz_loadu_ps(k0, res + (size_t) i * res_stride));
            acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_maskz_loadu_ps(k1, res + (size_t) i * res_stride + 16));
        }
        if (!to_panel) {
            _mm512_mask_storeu_ps(dst + (size_t) i * dst_stride, k0, acc[i][0]);
            _mm512_mask_storeu_ps(dst + (size_t) i * dst_stride + 16, k1, acc[i][1]);
        }
    }
    if (!to_panel) return;
    for (int h = 0; h < 2; h++) {
        __m512 r[16];
        CC_UNROLL
        for (int i = 0; i < 16; i++) r[i] = i < rows && i < mr ? acc[i][h] : _mm512_setzero_ps();
        cc_transpose16(r);
        CC_UNROLL
        for (int e = 0; e < 16; e++) {
            if (16 * h + e >= m_left) break;
            _mm512_mask_storeu_ps(dst + (size_t) (16 * h + e) * CC_F32_PANEL_ROWS,
                                  (__mmask16) ((1u << CC_F32_PANEL_ROWS) - 1u), r[e]);
        }
    }
}

/* The tile for `rows` valid rows of a panel, computing only as many register rows as the next of
 * 1, 2, 4, 7 or 14 (a constant in each instance): a 448 window's 785 rows (and a 224 window's 197)
 * leave one row in their last panel, where the 14-row tile would spend 13/14 of its FMAs on zeros. */
static void CC_AVX512 cc_f32_tile_rows(const float * xp, const void * w, bool f16, int64_t k, const float * bias,
                                       bool gelu, const float * res, size_t res_stride, bool to_panel, float * dst,
                                       size_t dst_stride, int rows, int m_left) {
#define CC_F32_TILE_W(MR, F16) cc_f32_tile(xp, w, F16, k, bias, gelu, res, res_stride, to_panel, dst, dst_stride, MR, rows, m_left)
#define CC_F32_TILE(MR) if (f16) { CC_F32_TILE_W(MR, true); } else { CC_F32_TILE_W(MR, false); }
    if (rows > 7) {
        CC_F32_TILE(CC_F32_PANEL_ROWS);
    } else if (rows > 4) {
        CC_F32_TILE(7);
    } else if (rows > 2) {
        CC_F32_TILE(4);
    } else if (rows == 2) {
        CC_F32_TILE(2);
    } else {
        CC_F32_TILE(1);
    }
#undef CC_F32_TILE
#undef CC_F32_TILE_W
}

void CC_AVX512 cc_f32_gemm_avx512(const void * packed, bool f16, int64_t k, int64_t m, const float * xp, int64_t n,
                                  const cc_f32_epilogue * ep, float * dst, size_t dst_stride, int64_t t0,
                                  int64_t t1) {
    const size_t size = f16 ? sizeof(uint16_t) : sizeof(float);
    const int64_t panels = (n + CC_F32_PANEL_ROWS - 1) / CC_F32_PANEL_ROWS;
    if (panels == 0) return;
    const int64_t group = cc_f32_tile_group(k);
    const int64_t tiles = (m + CC_F32_TILE_ROWS - 1) / CC_F32_TILE_ROWS;
    const size_t tile_bytes = (size_t) k * CC_F32_TILE_ROWS * size;
    for (int64_t g = t0; g < t1; g += group) {
        const int64_t g_end = g + group < t1 ? g + group : t1;
        /* The weights of the tiles after these (the next group a thread usually takes), brought
         * into L2 a slice per panel: read from memory at the first panel instead, they left the
         * FMA units idle for most of it (a 3072-input tile is 393 KB for 8.6 us of products). */
        const int64_t ahead = tiles - g_end < group ? tiles - g_end : group;
        const char * next = (const char *) packed + (size_t) g_end * tile_bytes;
        const size_t slice = ((size_t) ahead * tile_bytes / (size_t) panels + 63) / 64 * 64;
        for (int64_t p = 0; p < panels; p++) {
            for (size_t b = (size_t) p * slice; b < (size_t) (p + 1) * slice && b < (size_t) ahead * tile_bytes; b += 64) {
                _mm_prefetch(next + b, _MM_HINT_T1);
            }
            const int64_t first = p * CC_F32_PANEL_ROWS;
            const int rows = (int) (n - first < CC_F32_PANEL_ROWS ? n - first : CC_F32_PANEL_ROWS);
            for (int64_t t = g; t < g_end; t++) {
                const int64_t col = t * CC_F32_TILE_ROWS;
                const int m_left = (int) (m - col < CC_F32_TILE_ROWS ? m - col : CC_F32_TILE_ROWS);
                float * out = ep->to_panels ? dst + ((size_t) p * (size_t) m + (size_t) col) * CC_F32_PANEL_ROWS
                                            : dst + (size_t) first * dst_stride + (size_t) col;
                cc_f32_tile_rows(xp + (size_t) p * (size_t) k * CC_F32_PANEL_ROWS,
                                 (const char *) packed + (size_t) t * tile_bytes, f16, k,
                                 ep->bias ? ep->bias + col : NULL, ep->quick_gelu,
                                 ep->residual ? ep->residual + (size_t) first * ep->residual_stride + (size_t) col
                                              : NULL,
                                 ep->residual_stride, ep->to_panels, out, dst_stride, rows, m_left);
            }
        }
    }
}

#endif
