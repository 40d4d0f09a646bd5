/* The f32 product's AVX-512 kernels (see f32_gemm_kernels.h for the layouts).
 *
 * Register tile: 14 activation rows x 32 weight rows, 28 accumulators. Per input: 2 aligned
 * loads of the packed weights, 14 broadcasts of the packed activations and 28 FMAs, so the FMA
 * units, not the loads, set the pace. A tile sums over all k inputs at once (no k blocks): the
 * 32 weight rows of a tile (k x 128 bytes) stay in L2 while the activation panels stream past,
 * and each output is written once, with its bias. Two weight tiles share each pass over the
 * activations. */
#include "f32_gemm_kernels.h"

#ifdef CC_F32_X86

#include "simd_avx512.h"

#define CC_AVX512 __attribute__((target("avx512f")))
#define CC_INLINE static inline __attribute__((always_inline)) CC_AVX512
#define CC_UNROLL _Pragma("GCC unroll 16")

/* Weight tiles that share one pass over the activation panels when two fit in half of a 1 MB L2
 * beside the panels streaming past (k <= 1024); past that, one tile per pass is faster. */
#define CC_F32_GROUP_MAX_K 1024

void CC_AVX512 cc_f32_pack_x_avx512(const float * x, size_t x_stride, int64_t k, int64_t n, int64_t p0,
                                    int64_t p1, float * xp) {
    const int64_t k16 = k / 16 * 16;
    for (int64_t p = p0; p < p1; p++) {
        float * out = xp + (size_t) p * (size_t) k * CC_F32_PANEL_ROWS;
        const int64_t first = p * CC_F32_PANEL_ROWS;
        const int rows = (int) (n - first < CC_F32_PANEL_ROWS ? n - first : CC_F32_PANEL_ROWS);
        for (int64_t j = 0; j < k16; j += 16) {
            __m512 r[16];
            CC_UNROLL
            for (int i = 0; i < 16; i++) {
                r[i] = i < rows ? _mm512_loadu_ps(x + (size_t) (first + i) * x_stride + j) : _mm512_setzero_ps();
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
                out[(size_t) j * CC_F32_PANEL_ROWS + i] = i < rows ? x[(size_t) (first + i) * x_stride + j] : 0.0f;
            }
        }
    }
}

/* One register tile: the rows of panel xp (rows of them stored) times the 32 weight rows of tile
 * w over k inputs, plus the bias and the residual rows (each NULL or from this tile's first
 * column and row), into dst; columns >= m_left are neither read nor stored. */
CC_INLINE void cc_f32_tile(const float * xp, const float * w, int64_t k, const float * bias, const float * res,
                           size_t res_stride, float * dst, size_t dst_stride, int rows, int m_left) {
    const __mmask16 k0 = m_left >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << m_left) - 1u);
    const __mmask16 k1 = m_left >= 32 ? (__mmask16) 0xFFFF
                         : m_left <= 16 ? (__mmask16) 0
                                        : (__mmask16) ((1u << (m_left - 16)) - 1u);
    const __m512 b0 = bias ? _mm512_maskz_loadu_ps(k0, bias) : _mm512_setzero_ps();
    const __m512 b1 = bias ? _mm512_maskz_loadu_ps(k1, bias + 16) : _mm512_setzero_ps();
    __m512 acc[CC_F32_PANEL_ROWS][2];
    CC_UNROLL
    for (int i = 0; i < CC_F32_PANEL_ROWS; i++) {
        acc[i][0] = b0;
        acc[i][1] = b1;
    }
    for (int64_t j = 0; j < k; j++) {
        const __m512 w0 = _mm512_loadu_ps(w + (size_t) j * CC_F32_TILE_ROWS);
        const __m512 w1 = _mm512_loadu_ps(w + (size_t) j * CC_F32_TILE_ROWS + 16);
        const float * xj = xp + (size_t) j * CC_F32_PANEL_ROWS;
        CC_UNROLL
        for (int i = 0; i < CC_F32_PANEL_ROWS; i++) {
            const __m512 xv = _mm512_set1_ps(xj[i]);
            acc[i][0] = _mm512_fmadd_ps(xv, w0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(xv, w1, acc[i][1]);
        }
    }
    CC_UNROLL
    for (int i = 0; i < CC_F32_PANEL_ROWS; i++) {
        if (i >= rows) break;
        __m512 y0 = acc[i][0], y1 = acc[i][1];
        if (res) {
            y0 = _mm512_add_ps(y0, _mm512_maskz_loadu_ps(k0, res + (size_t) i * res_stride));
            y1 = _mm512_add_ps(y1, _mm512_maskz_loadu_ps(k1, res + (size_t) i * res_stride + 16));
        }
        _mm512_mask_storeu_ps(dst + (size_t) i * dst_stride, k0, y0);
        _mm512_mask_storeu_ps(dst + (size_t) i * dst_stride + 16, k1, y1);
    }
}

void CC_AVX512 cc_f32_gemm_avx512(const float * packed, int64_t k, int64_t m, const float * xp, int64_t n,
                                  const cc_f32_epilogue * ep, float * dst, size_t dst_stride, int64_t t0,
                                  int64_t t1) {
    const int64_t panels = (n + CC_F32_PANEL_ROWS - 1) / CC_F32_PANEL_ROWS;
    const int64_t group = k <= CC_F32_GROUP_MAX_K ? 2 : 1;
    for (int64_t g = t0; g < t1; g += group) {
        const int64_t g_end = g + group < t1 ? g + group : t1;
        for (int64_t p = 0; p < panels; p++) {
            const int64_t first = p * CC_F32_PANEL_ROWS;
            const int rows = (int) (n - first < CC_F32_PANEL_ROWS ? n - first : CC_F32_PANEL_ROWS);
            for (int64_t t = g; t < g_end; t++) {
                const int64_t col = t * CC_F32_TILE_ROWS;
                const int m_left = (int) (m - col < CC_F32_TILE_ROWS ? m - col : CC_F32_TILE_ROWS);
                cc_f32_tile(xp + (size_t) p * (size_t) k * CC_F32_PANEL_ROWS,
                            packed + (size_t) t * (size_t) k * CC_F32_TILE_ROWS, k, ep->bias ? ep->bias + col : NULL,
                            ep->residual ? ep->residual + (size_t) first * ep->residual_stride + (size_t) col : NULL,
                            ep->residual_stride, dst + (size_t) first * dst_stride + (size_t) col, dst_stride, rows,
                            m_left);
            }
        }
    }
}

#endif
