/* The engine's int8 matrix products for q8_0 and q4_0 weights (q8_gemm.c), their packed layouts and
 * their kernels (q8_gemm_avx512.c, q8_gemm_avxvnni.c, q8_gemm_avx2.c), built for their instruction
 * set with target attributes and picked at run time.
 *
 * dst[n][m] = sum over blocks b of 32: dw[m][b] * dx[n][b] * sum_k w[m][k] x[n][k], with w the
 * q8_0 or q4_0 weights and x the activations quantized to q8_0 as ggml quantizes them for both
 * types (scale amax/127 rounded to f16, values rounded to nearest): the same numbers ggml's q8_0
 * and q4_0 products compute, the integer sums exact, only the order of the float sums differs.
 *
 * q8_0 on VNNI (vpdpbusd multiplies unsigned by signed bytes): activations stored as x + 128, and
 * each weight block carries 128 * sum_k w[m][k] to subtract from the integer sum.
 * q8_0 on plain AVX2 (vpmaddubsw, whose 16-bit pair sums would saturate on (x + 128) * w): signed
 * activations, multiplied as |w| * sign(x, w).
 * q4_0 everywhere: the weights' unsigned nibbles n = w + 8 times signed activations, so
 * sum w x = sum n x - 8 sum x, with 8 * sum x stored per activation block; n * x never saturates
 * vpmaddubsw (even 8 steps summed in 16 bits: 8 * 2 * 15 * 128 < 32768). */
#ifndef CLEARCLIP_Q8_GEMM_KERNELS_H
#define CLEARCLIP_Q8_GEMM_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Weight rows per packed tile, and the bytes of one tile's block of 32 inputs.
 * q8_0: 2 groups x 8 steps x 16 rows x 4 bytes of weights, then 32 float scales dw, then 32
 * int32 corrections 128 * sum_k w.
 * q4_0: 2 groups x 4 step pairs x 16 rows x 4 bytes, each byte holding the nibble of step p
 * (inputs 4p..4p+3) low and of step p + 4 (inputs 16+4p..16+4p+3) high, then 32 f16 scales: as
 * many bytes per weight as ggml's q4_0 (0.5625).
 * A tile's blocks follow each other; tiles follow each other. */
#define CC_Q8_TILE_ROWS 32
#define CC_Q8_BLOCK 32
#define CC_Q8_TILE_BLOCK_BYTES (CC_Q8_TILE_ROWS * CC_Q8_BLOCK + CC_Q8_TILE_ROWS * 4 * 2)
#define CC_Q4_TILE_BLOCK_BYTES (CC_Q8_TILE_ROWS * CC_Q8_BLOCK / 2 + CC_Q8_TILE_ROWS * 2)

/* Quantized activations of one row of K inputs: K bytes (x + 128 for the VNNI q8_0 kernels, x
 * for the others), then K/32 float scales, then K/32 int32 8 * sum x (signed rows only). */
static inline size_t cc_q8_act_row_bytes(int64_t k) {
    return (size_t) k + (size_t) (k / CC_Q8_BLOCK) * (sizeof(float) + sizeof(int32_t));
}

/* Block b's scale in such a row of K inputs. */
static inline float cc_q8_act_scale(const uint8_t * row, int64_t k, int64_t b) {
    float d;
    memcpy(&d, row + (size_t) k + (size_t) b * sizeof(float), sizeof(d));
    return d;
}

/* Block b's 8 * sum x in such a row (signed rows only). */
static inline int32_t cc_q8_act_sum8(const uint8_t * row, int64_t k, int64_t b) {
    int32_t s;
    memcpy(&s, row + (size_t) k + (size_t) (k / CC_Q8_BLOCK) * sizeof(float) + (size_t) b * sizeof(int32_t), sizeof(s));
    return s;
}

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#  define CC_Q8_X86 1
/* Rows [r0, r1) of x [n][k] (row stride x_stride floats) quantized into xq (row stride
 * cc_q8_act_row_bytes(k)); offset: stored as x + 128 (no sums), else signed with the sums. */
void cc_q8_quantize_avx512(const float * x, size_t x_stride, int64_t k, int64_t r0, int64_t r1,
                           uint8_t * xq, bool offset);
void cc_q8_quantize_avx2(const float * x, size_t x_stride, int64_t k, int64_t r0, int64_t r1,
                         uint8_t * xq, bool offset);
/* Tiles [t0, t1) of packed weights (m rows, k inputs) times all n rows of xq into dst rows of
 * dst_stride floats (columns tile*32 .. tile*32+31, those below m). */
typedef void (*cc_q8_gemm_fn)(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                              int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1);
/* q8_0, activations x + 128 */
void cc_q8_gemm_avx512(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                       int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1);
void cc_q8_gemm_avxvnni(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                        int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1);
/* q8_0, signed activations */
void cc_q8_gemm_avx2(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                     int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1);
/* q4_0, signed activations */
void cc_q4_gemm_avx512(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                       int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1);
void cc_q4_gemm_avxvnni(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                        int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1);
void cc_q4_gemm_avx2(const uint8_t * packed, int64_t k, int64_t m, const uint8_t * xq,
                     int64_t n, float * dst, size_t dst_stride, int64_t t0, int64_t t1);
#endif

#endif
