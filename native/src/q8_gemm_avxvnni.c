/* The int8 product's kernels for AVX2 + AVX-VNNI (256-bit vpdpbusd; Intel client cores from Alder
 * Lake, Zen 5), on the same packed layouts as the AVX-512 kernels (q8_gemm_kernels.h): a 16-row
 * group of a tile is two 8-row halves of each 64-byte step. The activations are quantized by the
 * AVX2 kernel's function (q8_gemm_avx2.c); the q4_0 tile and the GEMM loop are shared with it
 * (q8_gemm_256.h).
 *
 * Register tile: 16 weight rows (2 vectors of 8 int32 sums) x 3 activation rows for q8_0: 6
 * integer and 6 float accumulators of the 16 ymm registers; x 2 rows for q4_0, whose 4 unpacked
 * nibble vectors and 2 broadcasts per step pair take the room of the third. The two groups of a
 * 32-row tile are two passes. */
#include "q8_gemm_kernels.h"

#ifdef CC_Q8_X86

#include <immintrin.h>
#include <string.h>

#define CC_AVXVNNI __attribute__((target("avx2,fma,f16c,avxvnni")))
#define CC_UNROLL _Pragma("GCC unroll 8")
#define CC_INLINE static inline __attribute__((always_inline)) CC_AVXVNNI

#define CC_Q8_NC 3
#define CC_Q4_NC 2
#define CC_Q4_DOT(acc, n, x) _mm256_dpbusd_avx_epi32((acc), (n), (x))
#define CC_Q4_SUM(acc) (acc)

CC_INLINE void cc_q8_tile(const uint8_t * tile, int64_t blocks, int g, const uint8_t * xq, size_t row_bytes,
                          int64_t k, int nc, float * dst, size_t dst_stride, int m_left);
#include "q8_gemm_256.h"

/* One register tile: nc activation rows x the 16 weight rows of group g of a 32-row tile. */
CC_INLINE void cc_q8_tile(const uint8_t * tile, int64_t blocks, int g, const uint8_t * xq, size_t row_bytes,
                          int64_t k, int nc, float * dst, size_t dst_stride, int m_left) {
    __m256 facc[2][3];
    CC_UNROLL
    for (int c = 0; c < nc; c++) facc[0][c] = facc[1][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t * blk = tile + (size_t) b * CC_Q8_TILE_BLOCK_BYTES;
        const uint8_t * xb = xq + (size_t) b * CC_Q8_BLOCK;
        __m256i iacc[2][3];
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
        cc_block_end(facc, iacc, nc, _mm256_loadu_ps((const float *) (blk + 1024 + g * 64)),
                     _mm256_loadu_ps((const float *) (blk + 1024 + g * 64 + 32)),
                     _mm256_loadu_si256((const __m256i *) (blk + 1152 + g * 64)),
                     _mm256_loadu_si256((const __m256i *) (blk + 1152 + g * 64 + 32)), false, xq, row_bytes, k, b);
    }
    cc_store16(facc, nc, dst, dst_stride, m_left);
}

void CC_AVXVNNI cc_q8_gemm_avxvnni(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                                   int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1) {
    cc_gemm(false, packed, k, m, xq, n, dst, dst_stride, t0, t1);
}

void CC_AVXVNNI cc_q4_gemm_avxvnni(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                                   int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1) {
    cc_gemm(true, packed, k, m, xq, n, dst, dst_stride, t0, t1);
}

#endif
