/* The parts of the 256-bit int8 kernels that AVX2 + AVX-VNNI (q8_gemm_avxvnni.c) and plain AVX2
 * (q8_gemm_avx2.c) share, included by each with its own target: the q4_0 register tile, the
 * store of a tile, the end of a block and the GEMM loop. A 16-row group of a packed tile is two 8-row halves of each
 * 64-byte step (q8_gemm_kernels.h). The including file defines before it:
 *   CC_INLINE                        static inline, always_inline, with the file's target
 *   CC_Q8_NC, CC_Q4_NC               activation rows per register tile (at most 3)
 *   CC_Q4_DOT(acc, n, x)             acc plus the products of unsigned n by signed x, 4 by 4
 *   CC_Q4_SUM(acc)                   acc as 8 int32 sums (a no-op when CC_Q4_DOT makes them)
 *   cc_q8_tile(...)                  the q8_0 register tile, as cc_q4_tile below */
#ifndef CLEARCLIP_Q8_GEMM_256_H
#define CLEARCLIP_Q8_GEMM_256_H

#define CC_Q8_CHUNK 48

/* Stores nc rows of 16 sums; columns >= m_left are not stored. */
CC_INLINE void cc_store16(__m256 facc[2][3], int nc, float * dst, size_t dst_stride, int m_left) {
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

/* The end of a block for nc activation rows: each integer sum, less the weight rows' corrections
 * cw (the VNNI q8_0 kernel's 128 * sum w; zero vectors where there are none) and, with act_sums,
 * less its activation row's 8 * sum x (q4_0), converted and added to its float accumulator
 * scaled by dw * dx. */
CC_INLINE void cc_block_end(__m256 facc[2][3], const __m256i iacc[2][3], int nc, __m256 dw0, __m256 dw1,
                            __m256i cw0, __m256i cw1, bool act_sums, const uint8_t * xq, size_t row_bytes,
                            int64_t k, int64_t b) {
    CC_UNROLL
    for (int c = 0; c < nc; c++) {
        const uint8_t * row = xq + (size_t) c * row_bytes;
        const __m256 dx = _mm256_set1_ps(cc_q8_act_scale(row, k, b));
        const __m256i corr = _mm256_set1_epi32(act_sums ? cc_q8_act_sum8(row, k, b) : 0);
        facc[0][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_sub_epi32(iacc[0][c], cw0), corr)),
                                     _mm256_mul_ps(dw0, dx), facc[0][c]);
        facc[1][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_sub_epi32(iacc[1][c], cw1), corr)),
                                     _mm256_mul_ps(dw1, dx), facc[1][c]);
    }
}

/* q4_0: nc activation rows (signed) x the 16 weight rows (unsigned nibbles) of group g. */
CC_INLINE void cc_q4_tile(const uint8_t * tile, int64_t blocks, int g, const uint8_t * xq, size_t row_bytes,
                          int64_t k, int nc, float * dst, size_t dst_stride, int m_left) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256 facc[2][3];
    CC_UNROLL
    for (int c = 0; c < nc; c++) facc[0][c] = facc[1][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t * blk = tile + (size_t) b * CC_Q4_TILE_BLOCK_BYTES;
        const uint8_t * xb = xq + (size_t) b * CC_Q8_BLOCK;
        __m256i iacc[2][3];
        CC_UNROLL
        for (int c = 0; c < nc; c++) iacc[0][c] = iacc[1][c] = _mm256_setzero_si256();
        CC_UNROLL
        for (int p = 0; p < 4; p++) {
            const __m256i v0 = _mm256_loadu_si256((const __m256i *) (blk + g * 256 + p * 64));
            const __m256i v1 = _mm256_loadu_si256((const __m256i *) (blk + g * 256 + p * 64 + 32));
            const __m256i lo0 = _mm256_and_si256(v0, low), hi0 = _mm256_and_si256(_mm256_srli_epi16(v0, 4), low);
            const __m256i lo1 = _mm256_and_si256(v1, low), hi1 = _mm256_and_si256(_mm256_srli_epi16(v1, 4), low);
            CC_UNROLL
            for (int c = 0; c < nc; c++) {
                int32_t four_lo, four_hi;
                memcpy(&four_lo, xb + (size_t) c * row_bytes + p * 4, sizeof(four_lo));
                memcpy(&four_hi, xb + (size_t) c * row_bytes + 16 + p * 4, sizeof(four_hi));
                const __m256i alo = _mm256_set1_epi32(four_lo), ahi = _mm256_set1_epi32(four_hi);
                iacc[0][c] = CC_Q4_DOT(CC_Q4_DOT(iacc[0][c], lo0, alo), hi0, ahi);
                iacc[1][c] = CC_Q4_DOT(CC_Q4_DOT(iacc[1][c], lo1, alo), hi1, ahi);
            }
        }
        CC_UNROLL
        for (int c = 0; c < nc; c++) {
            iacc[0][c] = CC_Q4_SUM(iacc[0][c]);
            iacc[1][c] = CC_Q4_SUM(iacc[1][c]);
        }
        cc_block_end(facc, iacc, nc, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (blk + 512 + g * 32))),
                     _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (blk + 512 + g * 32 + 16))),
                     _mm256_setzero_si256(), _mm256_setzero_si256(), true, xq, row_bytes, k, b);
    }
    cc_store16(facc, nc, dst, dst_stride, m_left);
}

/* The GEMM over tiles [t0, t1): per chunk of activation rows, each tile's two groups in turn. */
CC_INLINE void cc_gemm(bool q4, const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                       int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1) {
    const int64_t blocks = k / CC_Q8_BLOCK;
    const size_t tile_bytes = (size_t) blocks * (q4 ? CC_Q4_TILE_BLOCK_BYTES : CC_Q8_TILE_BLOCK_BYTES);
    const size_t row_bytes = cc_q8_act_row_bytes(k);
    const int nc_max = q4 ? CC_Q4_NC : CC_Q8_NC;
    for (int64_t c0 = 0; c0 < n; c0 += CC_Q8_CHUNK) {
        const int64_t c1 = c0 + CC_Q8_CHUNK < n ? c0 + CC_Q8_CHUNK : n;
        for (int64_t t = t0; t < t1; t++) {
            const uint8_t * tile = packed + (size_t) t * tile_bytes;
            for (int g = 0; g < 2; g++) {
                const int m_left = (int) (m - t * CC_Q8_TILE_ROWS - 16 * g);
                if (m_left <= 0) break;
                for (int64_t c = c0; c < c1; c += nc_max) {
                    const int nc = (int) (c1 - c < nc_max ? c1 - c : nc_max);
                    const uint8_t * x = xq + (size_t) c * row_bytes;
                    float * d = dst + (size_t) c * dst_stride + (size_t) t * CC_Q8_TILE_ROWS + 16 * g;
#define CC_TILE(NC) (q4 ? cc_q4_tile(tile, blocks, g, x, row_bytes, k, NC, d, dst_stride, m_left) \
                        : cc_q8_tile(tile, blocks, g, x, row_bytes, k, NC, d, dst_stride, m_left))
                    switch (nc) {
                        case 3: CC_TILE(3); break;
                        case 2: CC_TILE(2); break;
                        default: CC_TILE(1); break;
                    }
#undef CC_TILE
                }
            }
        }
    }
}

#endif
