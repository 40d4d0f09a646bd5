/* The int8 product's kernels for AVX2 + AVX-VNNI (256-bit vpdpbusd; Intel client cores from Alder
 * Lake, Zen 5), on the same packed layout as the AVX-512 kernels (q8_gemm_kernels.h): a 16-row
 * group of a tile is two 8-row halves of each 64-byte step.
 *
 * Register tile: 16 weight rows (2 vectors of 8 int32 sums) x 3 activation rows: 6 integer and
 * 6 float accumulators of the 16 ymm registers; the two groups of a 32-row tile are two passes. */
#include "q8_gemm_kernels.h"

#ifdef CC_Q8_X86

#include <immintrin.h>
#include <string.h>

#define CC_AVXVNNI __attribute__((target("avx2,fma,f16c,avxvnni")))
#define CC_UNROLL _Pragma("GCC unroll 8")
#define CC_INLINE static inline __attribute__((always_inline)) CC_AVXVNNI

#define CC_Q8_NC 3
#define CC_Q8_CHUNK 48

void CC_AVXVNNI cc_q8_quantize_avxvnni(const float * x, size_t x_stride, int64_t k, int64_t r0,
                                       int64_t r1, uint8_t * xq) {
    const size_t row_bytes = cc_q8_act_row_bytes(k);
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256i offset = _mm256_set1_epi32(128);
    /* packs interleave the 128-bit lanes; this puts the 32 bytes back in order */
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t r = r0; r < r1; r++) {
        const float * xr = x + (size_t) r * x_stride;
        uint8_t * q = xq + (size_t) r * row_bytes;
        float * d = (float *) (q + k);
        for (int64_t b = 0; b < k / CC_Q8_BLOCK; b++) {
            __m256 v[4];
            for (int i = 0; i < 4; i++) v[i] = _mm256_loadu_ps(xr + b * CC_Q8_BLOCK + 8 * i);
            __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
                                     _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
            __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
            h = _mm_max_ps(h, _mm_movehl_ps(h, h));
            h = _mm_max_ss(h, _mm_movehdup_ps(h));
            const float amax = _mm_cvtss_f32(h);
            /* as ggml's x86 quantize_row_q8_0 (see q8_gemm_avx512.c) */
            const float db = amax / 127.0f;
            const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
            d[b] = _cvtsh_ss(_cvtss_sh(db, _MM_FROUND_TO_NEAREST_INT));
            const __m256 vid = _mm256_set1_ps(id);
            __m256i iq[4];
            for (int i = 0; i < 4; i++) iq[i] = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(v[i], vid)), offset);
            const __m256i p = _mm256_packus_epi16(_mm256_packs_epi32(iq[0], iq[1]), _mm256_packs_epi32(iq[2], iq[3]));
            _mm256_storeu_si256((__m256i *) (q + b * CC_Q8_BLOCK), _mm256_permutevar8x32_epi32(p, order));
        }
    }
}

/* One register tile: nc activation rows x the 16 weight rows of group g of a 32-row tile. */
CC_INLINE void cc_q8_tile(const uint8_t * tile, int64_t blocks, int g, const uint8_t * xq, size_t row_bytes,
                          int64_t k, int nc, float * dst, size_t dst_stride, int m_left) {
    __m256 facc[2][CC_Q8_NC];
    CC_UNROLL
    for (int c = 0; c < nc; c++) facc[0][c] = facc[1][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t * blk = tile + (size_t) b * CC_Q8_TILE_BLOCK_BYTES;
        const uint8_t * xb = xq + (size_t) b * CC_Q8_BLOCK;
        __m256i iacc[2][CC_Q8_NC];
        CC_UNROLL
        for (int c = 0; c < nc; c++) iacc[0][c] = iacc[1][c] = _mm256_setzero_si256();
        CC_UNROLL
        for (int s = 0; s < 8; s++) {
            const __m256i w0 = _mm256_loadu_si256((const __m256i *) (blk + g * 512 + s * 64));
            const __m256i w1 = _mm256_loadu_si256((const __m256i *) (blk + g * 512 + s * 64 + 32));
            CC_UNROLL
            for (int c = 0; c < nc; c++) {
                int32_t four;
                memcpy(&four, xb + (size_t) c * row_bytes + s * 4, sizeof(four));
                const __m256i a = _mm256_set1_epi32(four);
                iacc[0][c] = _mm256_dpbusd_avx_epi32(iacc[0][c], a, w0);
                iacc[1][c] = _mm256_dpbusd_avx_epi32(iacc[1][c], a, w1);
            }
        }
        const __m256 dw0 = _mm256_loadu_ps((const float *) (blk + 1024 + g * 64));
        const __m256 dw1 = _mm256_loadu_ps((const float *) (blk + 1024 + g * 64 + 32));
        const __m256i cw0 = _mm256_loadu_si256((const __m256i *) (blk + 1152 + g * 64));
        const __m256i cw1 = _mm256_loadu_si256((const __m256i *) (blk + 1152 + g * 64 + 32));
        CC_UNROLL
        for (int c = 0; c < nc; c++) {
            float dxv;
            memcpy(&dxv, xq + (size_t) c * row_bytes + (size_t) k + (size_t) b * sizeof(float), sizeof(dxv));
            const __m256 dx = _mm256_set1_ps(dxv);
            facc[0][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(iacc[0][c], cw0)),
                                         _mm256_mul_ps(dw0, dx), facc[0][c]);
            facc[1][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(iacc[1][c], cw1)),
                                         _mm256_mul_ps(dw1, dx), facc[1][c]);
        }
    }
    if (m_left >= 16) {
        CC_UNROLL
        for (int c = 0; c < nc; c++) {
            _mm256_storeu_ps(dst + (size_t) c * dst_stride, facc[0][c]);
            _mm256_storeu_ps(dst + (size_t) c * dst_stride + 8, facc[1][c]);
        }
    } else {
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i k0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(m_left), lane);
        const __m256i k1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(m_left - 8), lane);
        for (int c = 0; c < nc; c++) {
            _mm256_maskstore_ps(dst + (size_t) c * dst_stride, k0, facc[0][c]);
            _mm256_maskstore_ps(dst + (size_t) c * dst_stride + 8, k1, facc[1][c]);
        }
    }
}

void CC_AVXVNNI cc_q8_gemm_avxvnni(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                                   int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1) {
    const int64_t blocks = k / CC_Q8_BLOCK;
    const size_t tile_bytes = (size_t) blocks * CC_Q8_TILE_BLOCK_BYTES;
    const size_t row_bytes = cc_q8_act_row_bytes(k);
    for (int64_t c0 = 0; c0 < n; c0 += CC_Q8_CHUNK) {
        const int64_t c1 = c0 + CC_Q8_CHUNK < n ? c0 + CC_Q8_CHUNK : n;
        for (int64_t t = t0; t < t1; t++) {
            const uint8_t * tile = packed + (size_t) t * tile_bytes;
            for (int g = 0; g < 2; g++) {
                const int m_left = (int) (m - t * CC_Q8_TILE_ROWS - 16 * g);
                if (m_left <= 0) break;
                for (int64_t c = c0; c < c1; c += CC_Q8_NC) {
                    const int nc = (int) (c1 - c < CC_Q8_NC ? c1 - c : CC_Q8_NC);
                    const uint8_t * x = xq + (size_t) c * row_bytes;
                    float * d = dst + (size_t) c * dst_stride + (size_t) t * CC_Q8_TILE_ROWS + 16 * g;
                    switch (nc) {
                        case 3: cc_q8_tile(tile, blocks, g, x, row_bytes, k, 3, d, dst_stride, m_left); break;
                        case 2: cc_q8_tile(tile, blocks, g, x, row_bytes, k, 2, d, dst_stride, m_left); break;
                        default: cc_q8_tile(tile, blocks, g, x, row_bytes, k, 1, d, dst_stride, m_left); break;
                    }
                }
            }
        }
    }
}

#endif
