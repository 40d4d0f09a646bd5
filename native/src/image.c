/* Host-side image helpers: normalisation and bilinear resampling. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

void cc_bilinear_coords(int32_t n_in, int32_t n_out, int32_t * i0, int32_t * i1, float * w1) {
    /* PyTorch bilinear, align_corners=False, output size given: scale = in/out, source =
     * (dst + 0.5) * scale - 0.5 clamped at 0; the upper tap stops at the border. OpenCV's
     * INTER_LINEAR places samples the same way. */
    const float scale = (float) n_in / (float) n_out;
    for (int32_t d = 0; d < n_out; d++) {
        float src = scale * ((float) d + 0.5f) - 0.5f;
        if (src < 0.0f) src = 0.0f;
        int32_t a = (int32_t) src;
        if (a > n_in - 1) a = n_in - 1;
        i0[d] = a;
        i1[d] = a < n_in - 1 ? a + 1 : a;
        w1[d] = src - (float) a;
        if (w1[d] > 1.0f) w1[d] = 1.0f;
    }
}

bool cc_resize_rgb_bilinear(const uint8_t * src, int32_t sw, int32_t sh, int32_t sstride,
                            uint8_t * dst, int32_t dw, int32_t dh) {
    int32_t * xi = malloc(sizeof(int32_t) * 2 * (size_t) (dw + dh));
    float *   xw = malloc(sizeof(float) * (size_t) (dw + dh));
    if (!xi || !xw) {
        free(xi);
        free(xw);
        return false;
    }
    int32_t * x0 = xi, * x1 = xi + dw, * y0 = xi + 2 * dw, * y1 = xi + 2 * dw + dh;
    float * wx = xw, * wy = xw + dw;
    cc_bilinear_coords(sw, dw, x0, x1, wx);
    cc_bilinear_coords(sh, dh, y0, y1, wy);
    for (int32_t y = 0; y < dh; y++) {
        const uint8_t * r0 = src + (size_t) y0[y] * sstride;
        const uint8_t * r1 = src + (size_t) y1[y] * sstride;
        uint8_t * o = dst + (size_t) y * dw * 3;
        for (int32_t x = 0; x < dw; x++) {
            for (int c = 0; c < 3; c++) {
                float top = r0[x0[x] * 3 + c] + wx[x] * (float) (r0[x1[x] * 3 + c] - r0[x0[x] * 3 + c]);
                float bot = r1[x0[x] * 3 + c] + wx[x] * (float) (r1[x1[x] * 3 + c] - r1[x0[x] * 3 + c]);
                float v = top + wy[y] * (bot - top);
                /* halves round up, as OpenCV's fixed-point INTER_LINEAR does */
                int iv = (int) floorf(v + 0.5f);
                o[x * 3 + c] = (uint8_t) (iv < 0 ? 0 : (iv > 255 ? 255 : iv));
            }
        }
    }
    free(xi);
    free(xw);
    return true;
}

void cc_normalize_rgb(const float mean[3], const float std[3], const uint8_t * rgb, int32_t width,
                      int32_t height, int32_t row_stride, float * out) {
    const size_t plane = (size_t) width * height;
    for (int c = 0; c < 3; c++) {
        /* Same operation order as torchvision: x/255, then (x - mean) / std. */
        const float m = mean[c], s = std[c];
        float * o = out + c * plane;
        for (int32_t y = 0; y < height; y++) {
            const uint8_t * r = rgb + (size_t) y * row_stride;
            for (int32_t x = 0; x < width; x++) {
                o[(size_t) y * width + x] = ((float) r[x * 3 + c] / 255.0f - m) / s;
            }
        }
    }
}

clearclip_status clearclip_image_normalize(const clearclip_model * model, const uint8_t * rgb,
                                           int32_t width, int32_t height, int32_t row_stride,
                                           float * out) {
    cc_clear_error();
    if (!model || !rgb || !out) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "model, rgb and out must not be NULL");
    }
    if (width <= 0 || height <= 0) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "image size %dx%d must be positive", width,
                        height);
    }
    if ((int64_t) row_stride < (int64_t) width * 3) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "row_stride %d is smaller than 3 * width = %lld", row_stride,
                        (long long) width * 3);
    }
    clearclip_status st = cc_need_vision(model);
    if (st) return st;
    cc_normalize_rgb(model->hp.image_mean, model->hp.image_std, rgb, width, height, row_stride, out);
    return CLEARCLIP_OK;
}
