/* PAMR, pixel-adaptive mask refinement (Araslanov & Roth, CVPR 2020), as NACLIP's pipeline
 * uses it on the window-merged logits: affinities from the image's local colour differences,
 * normalised by the local spread, then repeated weighted averaging over the neighbours. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CC_PAMR_MAX_SIDE 16384

/* The 8 neighbour offsets of one dilation, in the paper's kernel order (row-major 3x3 without
 * the centre); the order only matters for reproducing the reference's float sums. */
static const int cc_pamr_dy[8] = { -1, -1, -1, 0, 0, 1, 1, 1 };
static const int cc_pamr_dx[8] = { -1, 0, 1, -1, 1, -1, 0, 1 };

static int32_t cc_clampi(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

clearclip_status clearclip_pamr(const float * image, int32_t width, int32_t height, float * logits,
                                int32_t n_channels, int32_t steps, const int32_t * dilations,
                                int32_t n_dilations) {
    cc_clear_error();
    if (!image || !logits || !dilations) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "image, logits and dilations must not be NULL");
    }
    if (width <= 0 || height <= 0 || width > CC_PAMR_MAX_SIDE || height > CC_PAMR_MAX_SIDE) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "image size %dx%d must be within 1..%d per side", width, height,
                        CC_PAMR_MAX_SIDE);
    }
    if (n_channels <= 0) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "n_channels %d must be positive",
                        n_channels);
    }
    if (steps < 0 || steps > 1000) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "PAMR steps %d must be within 0..1000",
                        steps);
    }
    if (n_dilations < 1 || n_dilations > CLEARCLIP_PAMR_MAX_DILATIONS) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "PAMR takes 1..%d dilations, got %d", CLEARCLIP_PAMR_MAX_DILATIONS,
                        n_dilations);
    }
    for (int32_t i = 0; i < n_dilations; i++) {
        if (dilations[i] < 1 || dilations[i] > CC_PAMR_MAX_SIDE) {
            return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                            "PAMR dilation %d is %d, must be within 1..%d", i, dilations[i],
                            CC_PAMR_MAX_SIDE);
        }
    }
    for (size_t i = 0, n = (size_t) 3 * width * height; i < n; i++) {
        if (!isfinite(image[i])) {
            return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "image[%zu] is %g, must be finite", i,
                            (double) image[i]);
        }
    }
    if (steps == 0) return CLEARCLIP_OK;

    const int32_t K = 8 * n_dilations, W = width, H = height;
    const size_t HW = (size_t) W * H;
    float * weight = malloc(sizeof(float) * (size_t) K * HW);   /* [K][H*W] */
    float * tmp    = malloc(sizeof(float) * HW);                /* one channel's next values */
    int32_t * col  = malloc(sizeof(int32_t) * (size_t) K * W);  /* clamped column per tap, x */
    if (!weight || !tmp || !col) {
        free(weight);
        free(tmp);
        free(col);
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory for PAMR on %dx%d x %d",
                        width, height, n_channels);
    }
    for (int32_t j = 0; j < K; j++) {
        const int32_t d = dilations[j / 8];
        for (int32_t x = 0; x < W; x++) col[(size_t) j * W + x] = cc_clampi(x + cc_pamr_dx[j % 8] * d, 0, W - 1);
    }

    /* Affinities: per pixel, per colour channel the spread of the 9 taps of each dilation
     * (unbiased, as torch.std), then the mean over channels of the scaled absolute
     * differences, then a softmax over the neighbours. */
    const int32_t n_taps = 9 * n_dilations;
    double aff[8 * CLEARCLIP_PAMR_MAX_DILATIONS];
    for (int32_t y = 0; y < H; y++) {
        for (int32_t x = 0; x < W; x++) {
            const size_t p = (size_t) y * W + x;
            for (int32_t j = 0; j < K; j++) aff[j] = 0.0;
            for (int c = 0; c < 3; c++) {
                const float * I = image + (size_t) c * HW;
                double sum = 0.0, sum2 = 0.0;
                for (int32_t di = 0; di < n_dilations; di++) {
                    const int32_t d = dilations[di];
                    for (int ty = -1; ty <= 1; ty++) {
                        const int32_t yy = cc_clampi(y + ty * d, 0, H - 1);
                        for (int tx = -1; tx <= 1; tx++) {
                            const double v = I[(size_t) yy * W + cc_clampi(x + tx * d, 0, W - 1)];
                            sum += v;
                            sum2 += v * v;
                        }
                    }
                }
                const double mean = sum / n_taps;
                double var = (sum2 - (double) n_taps * mean * mean) / (double) (n_taps - 1);
                if (var < 0.0) var = 0.0;
                const double denom = 1e-8 + 0.1 * sqrt(var);
                const double centre = I[p];
                for (int32_t j = 0; j < K; j++) {
                    const int32_t d = dilations[j / 8];
                    const int32_t yy = cc_clampi(y + cc_pamr_dy[j % 8] * d, 0, H - 1);
                    aff[j] -= fabs(centre - (double) I[(size_t) yy * W + col[(size_t) j * W + x]]) / denom;
                }
            }
            double mx = -INFINITY;
            for (int32_t j = 0; j < K; j++) {
                aff[j] /= 3.0;
                if (aff[j] > mx) mx = aff[j];
            }
            double z = 0.0;
            for (int32_t j = 0; j < K; j++) {
                aff[j] = exp(aff[j] - mx);
                z += aff[j];
            }
            for (int32_t j = 0; j < K; j++) weight[(size_t) j * HW + p] = (float) (aff[j] / z);
        }
    }

    /* Refinement: each channel separately (the weights do not depend on the logits), so one
     * plane of scratch is enough. */
    for (int32_t c = 0; c < n_channels; c++) {
        float * m = logits + (size_t) c * HW;
        for (int32_t s = 0; s < steps; s++) {
            memset(tmp, 0, sizeof(float) * HW);
            for (int32_t j = 0; j < K; j++) {
                const int32_t d = dilations[j / 8], dy = cc_pamr_dy[j % 8] * d;
                const float * wj = weight + (size_t) j * HW;
                const int32_t * cj = col + (size_t) j * W;
                for (int32_t y = 0; y < H; y++) {
                    const float * src = m + (size_t) cc_clampi(y + dy, 0, H - 1) * W;
                    const float * wr = wj + (size_t) y * W;
                    float * o = tmp + (size_t) y * W;
                    for (int32_t x = 0; x < W; x++) o[x] += wr[x] * src[cj[x]];
                }
            }
            memcpy(m, tmp, sizeof(float) * HW);
        }
    }
    free(weight);
    free(tmp);
    free(col);
    return CLEARCLIP_OK;
}
