/* The int8 product's kernels for plain AVX2 (ggml's `haswell` variant and every x86 CPU since
 * 2013 without VNNI), on the same packed layouts as the VNNI kernels (q8_gemm_kernels.h), and the
 * activation quantization that the AVX-VNNI kernels use too (it needs nothing beyond AVX2).
 *
 * Without vpdpbusd the 4-byte dot products are vpmaddubsw (unsigned x signed bytes -> pairs
 * summed into saturating int16) then vpmaddwd by ones (-> int32):
 * - q8_0: |w| * sign(x, w) (vpsignb) with signed activations, whose pair sums stay below
 *   2 * 128 * 127 < 32768; (x + 128) * w, the VNNI kernels' form, would saturate.
 * - q4_0: the unsigned nibbles times signed activations; a pair sum is at most 2 * 15 * 128, so a
 *   whole block of 8 steps sums in int16 before one vpmaddwd.
 *
 * Register tile: 16 weight rows (2 vectors of 8 sums) x 2 activation rows (4 integer and 4
 * float accumulators, with |w|, a broadcast, ones and temporaries in the 16 ymm registers). */
#include "q8_gemm_kernels.h"

#ifdef CC_Q8_X86

#include <immintrin.h>
#include <string.h>

#define CC_AVX2 __attribute__((target("avx2,fma,f16c")))
#define CC_UNROLL _Pragma("GCC unroll 8")
#define CC_INLINE static inline __attribute__((always_inline)) CC_AVX2

#ifndef CC_Q8_AVX2_NC
#  define CC_Q8_AVX2_NC 2
#endif
#define CC_Q8_NC CC_Q8_AVX2_NC
#define CC_Q4_NC 2
#define CC_Q4_DOT(acc, n, x) _mm256_add_epi16((acc), _mm256_maddubs_epi16((n), (x)))
#define CC_Q4_SUM(acc) _mm256_madd_epi16((acc), _mm256_set1_epi16(1))

void CC_AVX2 cc_q8_quantize_avx2(const float * x, size_t x_stride, int64_t k, int64_t r0, int64_t r1,
                                 uint8_t * xq, bool offset) {
    const size_t row_bytes = cc_q8_act_row_bytes(k);
    const int64_t blocks = k / CC_Q8_BLOCK;
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    /* packs interleave the 128-bit lanes; this puts the 32 bytes back in order */
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t r = r0; r < r1; r++) {
        const float * xr = x + (size_t) r * x_stride;
        uint8_t * q = xq + (size_t) r * row_bytes;
        float * d = (float *) (q + k);
        int32_t * sums = (int32_t *) (d + blocks);
        for (int64_t b = 0; b < blocks; b++) {
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
            for (int i = 0; i < 4; i++) iq[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], vid));
            const __m256i w01 = _mm256_packs_epi32(iq[0], iq[1]), w23 = _mm256_packs_epi32(iq[2], iq[3]);
            __m256i p;
            if (offset) {
                const __m256i o = _mm256_set1_epi16(128);
                p = _mm256_packus_epi16(_mm256_add_epi16(w01, o), _mm256_add_epi16(w23, o));
            } else {
                p = _mm256_packs_epi16(w01, w23);
                /* pairs of 16-bit values into 8 int32 sums, then across */
                const __m256i s = _mm256_madd_epi16(_mm256_add_epi16(w01, w23), _mm256_set1_epi16(1));
                __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
                s4 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
                s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 1));
                sums[b] = 8 * _mm_cvtsi128_si32(s4);
            }
            _mm256_storeu_si256((__m256i *) (q + b * CC_Q8_BLOCK), _mm256_permutevar8x32_epi32(p, order));
        }
    }
}

CC_INLINE void cc_q8_tile(const uint8_t * tile, int64_t blocks, int g, const uint8_t * xq, size_t row_bytes,
                          int64_t k, int nc, float * dst, size_t dst_stride, int m_left);
#include "q8_gemm_256.h"

/* q8_0: nc activation rows (signed) x the 16 weight rows of group g of a 32-row tile. */
CC_INLINE void cc_q8_tile(const uint8_t * tile, int64_t blocks, int g, const uint8_t * xq, size_t row_bytes,
                          int64_t k, int nc, float * dst, size_t dst_stride, int m_left) {
    const __m256i ones = _mm256_set1_epi16(1);
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
            const __m256i u0 = _mm256_abs_epi8(w0), u1 = _mm256_abs_epi8(w1);
            CC_UNROLL
            for (int c = 0; c < nc; c++) {
                int32_t four;
                memcpy(&four, xb + (size_t) c * row_bytes + s * 4, sizeof(four));
                const __m256i a = _mm256_set1_epi32(four);
                iacc[0][c] = _mm256_add_epi32(iacc[0][c], _mm256_madd_epi16(_mm256_maddubs_epi16(u0, _mm256_sign_epi8(a, w0)), ones));
                iacc[1][c] = _mm256_add_epi32(iacc[1][c], _mm256_madd_epi16(_mm256_maddubs_epi16(u1, _mm256_sign_epi8(a, w1)), ones));
            }
        }
        /* the signed activations need no correction: the packed one (for x + 128) is skipped */
        cc_block_end(facc, iacc, nc, _mm256_loadu_ps((const float *) (blk + 1024 + g * 64)),
                     _mm256_loadu_ps((const float *) (blk + 1024 + g * 64 + 32)), _mm256_setzero_si256(),
                     _mm256_setzero_si256(), false, xq, row_bytes, k, b);
    }
    cc_store16(facc, nc, dst, dst_stride, m_left);
}

void CC_AVX2 cc_q8_gemm_avx2(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                             int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1) {
    cc_gemm(false, packed, k, m, xq, n, dst, dst_stride, t0, t1);
}

void CC_AVX2 cc_q4_gemm_avx2(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                             int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1) {
    cc_gemm(true, packed, k, m, xq, n, dst, dst_stride, t0, t1);
}

#endif
