/* The engine's int8 matrix product for q8_0 weights (q8_gemm.c), its packed layout and its
 * kernels (q8_gemm_avx512.c), built for their instruction set with target attributes and picked
 * at run time.
 *
 * dst[n][m] = sum over blocks b of 32: dw[m][b] * dx[n][b] * sum_k w[m][k] x[n][k], with w the
 * q8_0 weights and x the activations quantized to q8_0 as ggml quantizes them (scale amax/127
 * rounded to f16, values rounded to nearest): the same numbers ggml's q8_0 product computes, the
 * integer sums exact, only the order of the float sums differs.
 *
 * The kernels multiply unsigned by signed bytes (vpdpbusd), so activations are stored as x + 128
 * and each block carries the weights' 128 * sum_k w[m][k] to subtract from the integer sum. */
#ifndef CLEARCLIP_Q8_GEMM_KERNELS_H
#define CLEARCLIP_Q8_GEMM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Weight rows per packed tile, and the bytes of one tile's block of 32 inputs:
 * 2 groups x 8 steps x 16 rows x 4 bytes of weights, then 32 float scales dw, then 32 int32
 * corrections 128 * sum_k w. A tile's blocks follow each other; tiles follow each other. */
#define CC_Q8_TILE_ROWS 32
#define CC_Q8_BLOCK 32
#define CC_Q8_TILE_BLOCK_BYTES (CC_Q8_TILE_ROWS * CC_Q8_BLOCK + CC_Q8_TILE_ROWS * 4 * 2)

/* Quantized activations of one row of K inputs: K bytes (x + 128), then K/32 float scales. */
static inline size_t cc_q8_act_row_bytes(int64_t k) {
    return (size_t) k + (size_t) (k / CC_Q8_BLOCK) * sizeof(float);
}

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#  define CC_Q8_X86 1
/* Rows [r0, r1) of x [n][k] (row stride x_stride floats) quantized into xq (row stride
 * cc_q8_act_row_bytes(k)). */
void cc_q8_quantize_avx512(const float * x, size_t x_stride, int64_t k, int64_t r0, int64_t r1,
                           uint8_t * xq);
/* Tiles [t0, t1) of packed weights (m rows, k inputs) times all n rows of xq into dst rows of
 * dst_stride floats (columns tile*32 .. tile*32+31, those below m). */
void cc_q8_gemm_avx512(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                       int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1);
/* The same for AVX2 + AVX-VNNI (q8_gemm_avxvnni.c). */
void cc_q8_quantize_avxvnni(const float * x, size_t x_stride, int64_t k, int64_t r0, int64_t r1,
                            uint8_t * xq);
void cc_q8_gemm_avxvnni(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                        int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1);
#endif

#endif
