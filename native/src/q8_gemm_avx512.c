/* The int8 product's kernels for AVX-512 VNNI (see q8_gemm_kernels.h for the layouts).
 *
 * Register tile: 32 weight rows (2 vectors of 16 int32 sums) x up to 6 activation rows, 12
 * integer accumulators for the current block of 32 inputs and 12 float accumulators over the
 * blocks. Per block: 8 steps of 2 weight loads, 6 broadcasts of 4 activation bytes and 12
 * vpdpbusd; then each integer sum has its correction subtracted, is converted and scaled into
 * its float accumulator. q4_0 is the same tile with the operands swapped (unsigned nibbles of
 * the weights, signed activations) and 4 loads of packed nibble pairs per block. */
#include "q8_gemm_kernels.h"

#ifdef CC_Q8_X86

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define CC_VNNI __attribute__((target("avx512f,avx512vnni,f16c")))
#define CC_UNROLL _Pragma("GCC unroll 8")
#define CC_INLINE static inline __attribute__((always_inline)) CC_VNNI

/* Activation rows per register tile. */
#define CC_Q8_NC 6
/* Activation rows that one pass over a thread's weight tiles covers (their quantized rows stay in
 * cache while the weight tiles are walked). */
#define CC_Q8_CHUNK 48

void CC_VNNI cc_q8_quantize_avx512(const float * x, size_t x_stride, int64_t k, int64_t r0,
                                   int64_t r1, uint8_t * xq, bool offset) {
    const size_t row_bytes = cc_q8_act_row_bytes(k);
    const int64_t blocks = k / CC_Q8_BLOCK;
    for (int64_t r = r0; r < r1; r++) {
        const float * xr = x + (size_t) r * x_stride;
        uint8_t * q = xq + (size_t) r * row_bytes;
        float * d = (float *) (q + k);
        int32_t * sums = (int32_t *) (d + blocks);
        for (int64_t b = 0; b < blocks; b++) {
            const __m512 v0 = _mm512_loadu_ps(xr + b * CC_Q8_BLOCK);
            const __m512 v1 = _mm512_loadu_ps(xr + b * CC_Q8_BLOCK + 16);
            const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
            /* as ggml's x86 quantize_row_q8_0: the values scaled by 127 / amax, the scale
             * amax / 127 kept as f16 */
            const float db = amax / 127.0f;
            const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
            d[b] = _cvtsh_ss(_cvtss_sh(db, _MM_FROUND_TO_NEAREST_INT));
            const __m512 vid = _mm512_set1_ps(id);
            /* round to nearest even, as ggml's vector quantization does */
            __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, vid));
            __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, vid));
            if (offset) {
                q0 = _mm512_add_epi32(q0, _mm512_set1_epi32(128));
                q1 = _mm512_add_epi32(q1, _mm512_set1_epi32(128));
            } else {
                sums[b] = 8 * _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
            }
            _mm_storeu_si128((__m128i *) (q + b * CC_Q8_BLOCK), _mm512_cvtepi32_epi8(q0));
            _mm_storeu_si128((__m128i *) (q + b * CC_Q8_BLOCK + 16), _mm512_cvtepi32_epi8(q1));
        }
    }
}

/* Stores nc rows of a register tile's 32 sums; columns >= m_left are not stored. */
CC_INLINE void cc_store_tile(__m512 facc[2][CC_Q8_NC], int nc, float * dst, size_t dst_stride, int m_left) {
    if (m_left >= CC_Q8_TILE_ROWS) {
        CC_UNROLL
        for (int c = 0; c < nc; c++) {
            _mm512_storeu_ps(dst + (size_t) c * dst_stride, facc[0][c]);
            _mm512_storeu_ps(dst + (size_t) c * dst_stride + 16, facc[1][c]);
        }
    } else {
        const __mmask16 k0 = m_left >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << m_left) - 1u);
        const __mmask16 k1 = m_left <= 16 ? (__mmask16) 0 : (__mmask16) ((1u << (m_left - 16)) - 1u);
        for (int c = 0; c < nc; c++) {
            _mm512_mask_storeu_ps(dst + (size_t) c * dst_stride, k0, facc[0][c]);
            _mm512_mask_storeu_ps(dst + (size_t) c * dst_stride + 16, k1, facc[1][c]);
        }
    }
}

/* The end of a block for nc activation rows: each integer sum, less the weight rows' corrections
 * cw (q8_0's 128 * sum w; zero vectors for q4_0) and, with act_sums, less its activation row's
 * 8 * sum x (q4_0), converted and added to its float accumulator scaled by dw * dx. */
CC_INLINE void cc_block_end(__m512 facc[2][CC_Q8_NC], const __m512i iacc[2][CC_Q8_NC], int nc, __m512 dw0,
                            __m512 dw1, __m512i cw0, __m512i cw1, bool act_sums, const uint8_t * xq,
                            size_t row_bytes, int64_t k, int64_t b) {
    CC_UNROLL
    for (int c = 0; c < nc; c++) {
        const uint8_t * row = xq + (size_t) c * row_bytes;
        const __m512 dx = _mm512_set1_ps(cc_q8_act_scale(row, k, b));
        const __m512i corr = _mm512_set1_epi32(act_sums ? cc_q8_act_sum8(row, k, b) : 0);
        facc[0][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_sub_epi32(iacc[0][c], cw0), corr)),
                                     _mm512_mul_ps(dw0, dx), facc[0][c]);
        facc[1][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_sub_epi32(iacc[1][c], cw1), corr)),
                                     _mm512_mul_ps(dw1, dx), facc[1][c]);
    }
}

/* One register tile: nc activation rows x 32 weight rows over all blocks; rows >= m_left of the
 * tile are not stored. */
CC_INLINE void cc_q8_tile(const uint8_t * tile, int64_t blocks, const uint8_t * xq, size_t row_bytes,
                          int64_t k, int nc, float * dst, size_t dst_stride, int m_left) {
    __m512 facc[2][CC_Q8_NC];
    CC_UNROLL
    for (int c = 0; c < nc; c++) facc[0][c] = facc[1][c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t * blk = tile + (size_t) b * CC_Q8_TILE_BLOCK_BYTES;
        const uint8_t * xb = xq + (size_t) b * CC_Q8_BLOCK;
        __m512i iacc[2][CC_Q8_NC];
        CC_UNROLL
        for (int c = 0; c < nc; c++) iacc[0][c] = iacc[1][c] = _mm512_setzero_si512();
        CC_UNROLL
        for (int s = 0; s < 8; s++) {
            const __m512i w0 = _mm512_loadu_si512((const void *) (blk + s * 64));
            const __m512i w1 = _mm512_loadu_si512((const void *) (blk + 512 + s * 64));
            CC_UNROLL
            for (int c = 0; c < nc; c++) {
                int32_t four;
                memcpy(&four, xb + (size_t) c * row_bytes + s * 4, sizeof(four));
                const __m512i a = _mm512_set1_epi32(four);
                iacc[0][c] = _mm512_dpbusd_epi32(iacc[0][c], a, w0);
                iacc[1][c] = _mm512_dpbusd_epi32(iacc[1][c], a, w1);
            }
        }
        cc_block_end(facc, iacc, nc, _mm512_loadu_ps((const float *) (blk + 1024)),
                     _mm512_loadu_ps((const float *) (blk + 1024 + 64)), _mm512_loadu_si512((const void *) (blk + 1152)),
                     _mm512_loadu_si512((const void *) (blk + 1152 + 64)), false, xq, row_bytes, k, b);
    }
    cc_store_tile(facc, nc, dst, dst_stride, m_left);
}

/* q4_0: nc activation rows (signed) x 32 weight rows (unsigned nibbles) over all blocks. */
CC_INLINE void cc_q4_tile(const uint8_t * tile, int64_t blocks, const uint8_t * xq, size_t row_bytes,
                          int64_t k, int nc, float * dst, size_t dst_stride, int m_left) {
    /* high nibbles: a 32-bit shift (AVX-512 F has no 16-bit one without BW) then the mask */
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512 facc[2][CC_Q8_NC];
    CC_UNROLL
    for (int c = 0; c < nc; c++) facc[0][c] = facc[1][c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t * blk = tile + (size_t) b * CC_Q4_TILE_BLOCK_BYTES;
        const uint8_t * xb = xq + (size_t) b * CC_Q8_BLOCK;
        __m512i iacc[2][CC_Q8_NC];
        CC_UNROLL
        for (int c = 0; c < nc; c++) iacc[0][c] = iacc[1][c] = _mm512_setzero_si512();
        CC_UNROLL
        for (int p = 0; p < 4; p++) {
            const __m512i v0 = _mm512_loadu_si512((const void *) (blk + p * 64));
            const __m512i v1 = _mm512_loadu_si512((const void *) (blk + 256 + p * 64));
            const __m512i lo0 = _mm512_and_si512(v0, low), hi0 = _mm512_and_si512(_mm512_srli_epi32(v0, 4), low);
            const __m512i lo1 = _mm512_and_si512(v1, low), hi1 = _mm512_and_si512(_mm512_srli_epi32(v1, 4), low);
            CC_UNROLL
            for (int c = 0; c < nc; c++) {
                int32_t four_lo, four_hi;
                memcpy(&four_lo, xb + (size_t) c * row_bytes + p * 4, sizeof(four_lo));
                memcpy(&four_hi, xb + (size_t) c * row_bytes + 16 + p * 4, sizeof(four_hi));
                const __m512i alo = _mm512_set1_epi32(four_lo), ahi = _mm512_set1_epi32(four_hi);
                iacc[0][c] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(iacc[0][c], lo0, alo), hi0, ahi);
                iacc[1][c] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(iacc[1][c], lo1, alo), hi1, ahi);
            }
        }
        cc_block_end(facc, iacc, nc, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (blk + 512))),
                     _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (blk + 512 + 32))), _mm512_setzero_si512(),
                     _mm512_setzero_si512(), true, xq, row_bytes, k, b);
    }
    cc_store_tile(facc, nc, dst, dst_stride, m_left);
}

/* The GEMM over tiles [t0, t1) with one of the register tiles above (q4: which one). */
CC_INLINE void cc_gemm(bool q4, const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                       int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1) {
    const int64_t blocks = k / CC_Q8_BLOCK;
    const size_t tile_bytes = (size_t) blocks * (q4 ? CC_Q4_TILE_BLOCK_BYTES : CC_Q8_TILE_BLOCK_BYTES);
    const size_t row_bytes = cc_q8_act_row_bytes(k);
    for (int64_t c0 = 0; c0 < n; c0 += CC_Q8_CHUNK) {
        const int64_t c1 = c0 + CC_Q8_CHUNK < n ? c0 + CC_Q8_CHUNK : n;
        for (int64_t t = t0; t < t1; t++) {
            const uint8_t * tile = packed + (size_t) t * tile_bytes;
            const int m_left = (int) (m - t * CC_Q8_TILE_ROWS);
            for (int64_t c = c0; c < c1; c += CC_Q8_NC) {
                const int nc = (int) (c1 - c < CC_Q8_NC ? c1 - c : CC_Q8_NC);
                const uint8_t * x = xq + (size_t) c * row_bytes;
                float * d = dst + (size_t) c * dst_stride + (size_t) t * CC_Q8_TILE_ROWS;
#define CC_TILE(NC) (q4 ? cc_q4_tile(tile, blocks, x, row_bytes, k, NC, d, dst_stride, m_left) \
                        : cc_q8_tile(tile, blocks, x, row_bytes, k, NC, d, dst_stride, m_left))
                switch (nc) {
                    case 6: CC_TILE(6); break;
                    case 5: CC_TILE(5); break;
                    case 4: CC_TILE(4); break;
                    case 3: CC_TILE(3); break;
                    case 2: CC_TILE(2); break;
                    default: CC_TILE(1); break;
                }
#undef CC_TILE
            }
        }
    }
}

void CC_VNNI cc_q8_gemm_avx512(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                               int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1) {
    cc_gemm(false, packed, k, m, xq, n, dst, dst_stride, t0, t1);
}

void CC_VNNI cc_q4_gemm_avx512(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                               int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1) {
    cc_gemm(true, packed, k, m, xq, n, dst, dst_stride, t0, t1);
}

#endif
