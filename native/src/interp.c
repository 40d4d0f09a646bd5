/* Position-embedding interpolation, written to reproduce PyTorch's CPU
 * F.interpolate(mode='bicubic', align_corners=False, scale_factor=...) on float32. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

#define CC_CUBIC_A (-0.75f)

/* Keys' cubic convolution kernel for |x| <= 1 and 1 < |x| < 2. */
static float cc_cubic1(float x) {
    return ((CC_CUBIC_A + 2.0f) * x - (CC_CUBIC_A + 3.0f)) * x * x + 1.0f;
}

static float cc_cubic2(float x) {
    return ((CC_CUBIC_A * x - 5.0f * CC_CUBIC_A) * x + 8.0f * CC_CUBIC_A) * x - 4.0f * CC_CUBIC_A;
}

/* Taps and weights of one output coordinate. PyTorch uses the given scale factor (not the size
 * ratio) when one is passed: source = (dst + 0.5) / scale - 0.5, not clamped for cubic; the
 * base index is floor(source) limited to n_in - 1 and the fraction clamped to [0, 1]; taps
 * outside the input repeat the border. */
static void cc_cubic_taps(int32_t dst, int32_t n_in, double scale_factor, int32_t idx[4],
                          float wt[4]) {
    const float inv   = (float) (1.0 / scale_factor);
    const float real  = inv * ((float) dst + 0.5f) - 0.5f;
    int32_t     base  = (int32_t) floorf(real);
    if (base > n_in - 1) base = n_in - 1;
    float t = real - (float) base;
    t = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
    wt[0] = cc_cubic2(t + 1.0f);
    wt[1] = cc_cubic1(t);
    wt[2] = cc_cubic1(1.0f - t);
    wt[3] = cc_cubic2(2.0f - t);
    for (int i = 0; i < 4; i++) {
        int32_t j = base - 1 + i;
        idx[i] = j < 0 ? 0 : (j > n_in - 1 ? n_in - 1 : j);
    }
}

void cc_interp_pos_embd(const float * src, int32_t width, int32_t g0, int32_t gh, int32_t gw,
                        float * dst) {
    /* Reference: scale_factor = ((gh + 0.1) / g0, (gw + 0.1) / g0), so floor(g0 * s) = gh. */
    const double sy = ((double) gh + 0.1) / (double) g0;
    const double sx = ((double) gw + 0.1) / (double) g0;
    for (int32_t c = 0; c < width; c++) {
        dst[c] = src[c]; /* class token position is kept */
    }
    const float * grid = src + width; /* [g0*g0][width], row-major patch order */
    float * out = dst + width;
    for (int32_t oy = 0; oy < gh; oy++) {
        int32_t iy[4];
        float   wy[4];
        cc_cubic_taps(oy, g0, sy, iy, wy);
        for (int32_t ox = 0; ox < gw; ox++) {
            int32_t ix[4];
            float   wx[4];
            cc_cubic_taps(ox, g0, sx, ix, wx);
            float * o = out + ((size_t) oy * gw + ox) * width;
            for (int32_t c = 0; c < width; c++) {
                float acc = 0.0f;
                for (int i = 0; i < 4; i++) {
                    const float * row = grid + (size_t) iy[i] * g0 * width;
                    float r = 0.0f;
                    for (int j = 0; j < 4; j++) {
                        r += wx[j] * row[(size_t) ix[j] * width + c];
                    }
                    acc += wy[i] * r;
                }
                o[c] = acc;
            }
        }
    }
}
