/* Register-level helpers shared by the engine's AVX-512 kernels (f32_gemm_avx512.c,
 * attention_avx512.c); each includer compiles them for AVX-512F with a target attribute. */
#ifndef CLEARCLIP_SIMD_AVX512_H
#define CLEARCLIP_SIMD_AVX512_H

#include <immintrin.h>

/* The 16 x 16 block r (rows) transposed in place: r[j] then holds element j of every row. */
static inline __attribute__((always_inline, target("avx512f"))) void cc_transpose16(__m512 r[16]) {
    __m512 t[16];
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 16; i += 2) {
        t[i]     = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 16; i += 4) {
        r[i]     = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 4; i++) {
        t[i]      = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4]  = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8]  = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 8; i++) {
        r[i]     = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    }
}

/* 2^t for t <= 0 (-inf included): 2^n * p(f), t = n + f, |f| <= 1/2, p a degree-6 polynomial fitted
 * for the least relative error on [-1/2, 1/2] (at most 1e-7 when evaluated in float, against 5e-9
 * for the polynomial itself); scalef applies 2^n. Callers fold log2(e) into the factors that make
 * t: 11 operations, where exp(x) with the reduction x = n ln2 + r takes 14. t is clamped to -126,
 * the smallest normal exponent, so an exp of -inf is about 1e-38 rather than 0. */
static inline __attribute__((always_inline, target("avx512f"))) __m512 cc_exp2_nonpos(__m512 t) {
    t = _mm512_max_ps(t, _mm512_set1_ps(-126.0f));
    const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(t, n);
    __m512 p = _mm512_set1_ps(1.535336203e-04f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.339887465e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618437359e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550332471e-02f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402264791e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931472029e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* x * sigmoid(1.702 x), CLIP's quick_gelu, with sigmoid(z) = 1 / (1 + e) for z >= 0 and
 * e / (1 + e) below, e = exp(-|z|), so that exp never overflows. 1 / (1 + e), within [1/2, 1], is
 * the 14-bit reciprocal estimate and one Newton step (2^-28 relative before rounding): a division
 * costs more than the rest of the function. */
static inline __attribute__((always_inline, target("avx512f"))) __m512 cc_quick_gelu(__m512 x) {
    const __m512 e = cc_exp2_nonpos(_mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(-1.702f * 1.44269504088896341f)));
    const __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 num = _mm512_mask_blend_ps(neg, _mm512_set1_ps(1.0f), e);
    const __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), e);
    __m512 r = _mm512_rcp14_ps(d);
    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));
    return _mm512_mul_ps(_mm512_mul_ps(x, num), r);
}

#endif
