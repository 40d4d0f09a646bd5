/* The engine's f32 matrix product (f32_gemm.c), its packed layouts and its AVX-512 kernels
 * (f32_gemm_avx512.c), built for their instruction set with target attributes and picked at run
 * time.
 *
 * dst[n][m] = act(bias[m] + sum_k w[m][k] x[n][k]) (+ residual[n][m]), summed in f32 in the
 * order of k (one FMA per input), where ggml's own product sums 16 partial sums per output and
 * then adds them up: the same products, only the rounding of the sums differs.
 *
 * Packed weights: tiles of 32 weight rows, tile after tile; a tile holds for each input k the 32
 * rows' values (k x 32 floats), rows past m zero. f16 weights keep their type in the same layout
 * (k x 32 halves), converted to f32 as the kernel loads them (exactly: every f16 is a float), so an
 * f16 file keeps half the memory and its products the f32 kernel's speed.
 * Packed activations: panels of 14 rows, panel after panel; a panel holds for each input k the 14
 * rows' values (k x 14 floats), rows past n zero. */
#ifndef CLEARCLIP_F32_GEMM_KERNELS_H
#define CLEARCLIP_F32_GEMM_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CC_F32_TILE_ROWS 32
#define CC_F32_PANEL_ROWS 14

/* What the product does to each output before storing it: adds a bias of m values, applies CLIP's
 * quick_gelu x * sigmoid(1.702 x), adds residual rows [n][m] (row stride residual_stride floats);
 * bias and residual NULL for none. to_panels: the output goes into the activation panels of a
 * product that reads it (k = m), as cc_f32_pack_x_avx512 would pack it, instead of rows. */
typedef struct cc_f32_epilogue {
    const float * bias;
    bool          quick_gelu;
    const float * residual;
    size_t        residual_stride;
    bool          to_panels;
} cc_f32_epilogue;

/* Weight tiles that share one pass over the activation panels: two where both fit in half of a
 * 1 MB L2 beside the panels streaming past (k <= 1024); past that, one per pass is faster. The
 * threads share a product's work in such groups. */
static inline int64_t cc_f32_tile_group(int64_t k) {
    return k <= 1024 ? 2 : 1;
}

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#  define CC_F32_X86 1
/* The [m][k] weights w (f32, or f16 when f16) packed into tiles (the layout above, same type),
 * inputs below k / 16 * 16 only: cc_f32_pack places the rest. */
void cc_f32_pack_w_avx512(const void * w, bool f16, int64_t k, int64_t m, void * out);
/* Panels [p0, p1) of x [n][k] (row stride x_stride floats) packed into xp. */
void cc_f32_pack_x_avx512(const float * x, size_t x_stride, int64_t k, int64_t n, int64_t p0, int64_t p1,
                          float * xp);
/* LayerNorm of rows [r0, r1) of x [n][k]: ((x - mean) / sqrt(var + eps)) * w + b, into y rows of
 * y_stride floats (row-major), or straight into the panels [p0, p1) of xp. */
void cc_f32_layer_norm_avx512(const float * x, size_t x_stride, int64_t k, int64_t r0, int64_t r1, const float * w,
                              const float * b, float eps, float * y, size_t y_stride);
void cc_f32_layer_norm_pack_avx512(const float * x, size_t x_stride, int64_t k, int64_t n, int64_t p0, int64_t p1,
                                   const float * w, const float * b, float eps, float * xp);
/* Weight tiles [t0, t1) of the packed weights (m rows, k inputs; f16 when f16) times all n packed
 * activation rows, plus the epilogue's terms, into dst rows of dst_stride floats (or dst's panels);
 * cc_f32_tile_group(k) tiles share each pass over the panels. */
void cc_f32_gemm_avx512(const void * packed, bool f16, int64_t k, int64_t m, const float * xp, int64_t n,
                        const cc_f32_epilogue * ep, float * dst, size_t dst_stride, int64_t t0, int64_t t1);
#endif

#endif
