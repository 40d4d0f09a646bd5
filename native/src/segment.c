/* The reference ClearCLIP sliding-window segmentation pipeline (spec section 4). */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CC_MAX_SIDE 16384

clearclip_segment_params clearclip_segment_default_params(void) {
    clearclip_segment_params p = {
        .short_side       = 448,
        .crop             = 448,
        .stride           = 224,
        .mode             = CLEARCLIP_MODE_CLEARCLIP,
        .logit_scale      = 50.0f,
        .prob_threshold   = 0.0f,
        .background_class = 0,
    };
    return p;
}

/* Windows along one axis: n = max(size - crop + stride - 1, 0) / stride + 1, window i starting
 * at i*stride and shifted back so that it ends inside the image. */
static int32_t cc_window_count(int32_t size, int32_t crop, int32_t stride) {
    int32_t d = size - crop + stride - 1;
    return (d > 0 ? d : 0) / stride + 1;
}

static void cc_window_span(int32_t i, int32_t size, int32_t crop, int32_t stride, int32_t * start,
                           int32_t * end) {
    int32_t s = i * stride;
    int32_t e = s + crop < size ? s + crop : size;
    s = e - crop > 0 ? e - crop : 0;
    *start = s;
    *end   = e;
}

typedef struct cc_seg_buffers {
    uint8_t * resized;   /* short-side resized image, or NULL when the size is kept */
    float *   pixels;    /* normalised crop, 3 x crop x crop */
    float *   feats;     /* dense features of one window, n_patch x P */
    float *   logits;    /* n_names x n_patch */
    float *   acc;       /* n_names x h' x w' summed window logits */
    int32_t * count;     /* h' x w' windows per pixel */
    int32_t * coords;    /* bilinear taps, see cc_seg_accumulate */
    float *   weights;
    float *   scores;    /* n_names scratch for one output pixel */
} cc_seg_buffers;

static void cc_seg_free(cc_seg_buffers * b) {
    free(b->resized);
    free(b->pixels);
    free(b->feats);
    free(b->logits);
    free(b->acc);
    free(b->count);
    free(b->coords);
    free(b->weights);
    free(b->scores);
}

/* Window logits are upsampled bilinearly to the padded window (grid * patch), the padding is
 * cut away, and the rest is added to the image accumulators at the window's place. */
static void cc_seg_accumulate(const cc_seg_buffers * b, int32_t n_names, int32_t gw, int32_t gh,
                              int32_t patch, int32_t cw, int32_t ch, int32_t x0, int32_t y0,
                              int32_t img_w, size_t plane, float * acc, int32_t * xi,
                              float * xw) {
    const int32_t pw = gw * patch, ph = gh * patch;
    const int32_t left = (pw - cw) / 2, top = (ph - ch) / 2;
    int32_t * ax0 = xi, * ax1 = xi + pw, * ay0 = xi + 2 * pw, * ay1 = xi + 2 * pw + ph;
    float * awx = xw, * awy = xw + pw;
    cc_bilinear_coords(gw, pw, ax0, ax1, awx);
    cc_bilinear_coords(gh, ph, ay0, ay1, awy);
    const int32_t n_patch = gw * gh;
    for (int32_t k = 0; k < n_names; k++) {
        const float * lg = b->logits + (size_t) k * n_patch;
        float * dst = acc + (size_t) k * plane;
        for (int32_t y = 0; y < ch; y++) {
            const int32_t py = y + top;
            const float * r0 = lg + (size_t) ay0[py] * gw;
            const float * r1 = lg + (size_t) ay1[py] * gw;
            const float wy = awy[py];
            float * o = dst + (size_t) (y0 + y) * img_w + x0;
            for (int32_t x = 0; x < cw; x++) {
                const int32_t px = x + left;
                const float t = r0[ax0[px]] + awx[px] * (r0[ax1[px]] - r0[ax0[px]]);
                const float u = r1[ax0[px]] + awx[px] * (r1[ax1[px]] - r1[ax0[px]]);
                o[x] += t + wy * (u - t);
            }
        }
    }
}

static clearclip_status cc_check_segment_args(const clearclip_context * ctx, const uint8_t * rgb,
                                              int32_t width, int32_t height, int32_t row_stride,
                                              const float * emb, int32_t n_names,
                                              const int32_t * name_class, int32_t n_classes,
                                              const clearclip_segment_params * p,
                                              const int32_t * labels) {
    if (!ctx || !rgb || !emb || !labels) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "ctx, rgb, name_embeddings and labels must not be NULL");
    }
    if (width <= 0 || height <= 0 || width > CC_MAX_SIDE || height > CC_MAX_SIDE) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "image size %dx%d must be within 1..%d per side", width, height,
                        CC_MAX_SIDE);
    }
    if ((int64_t) row_stride < (int64_t) width * 3) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "row_stride %d is smaller than 3 * width = %lld", row_stride,
                        (long long) width * 3);
    }
    if (n_names <= 0 || n_classes <= 0) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "n_names (%d) and n_classes (%d) must be positive", n_names, n_classes);
    }
    if (!name_class && n_names != n_classes) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "name_class is NULL, so n_names (%d) must equal n_classes (%d)", n_names,
                        n_classes);
    }
    for (int32_t i = 0; name_class && i < n_names; i++) {
        if (name_class[i] < 0 || name_class[i] >= n_classes) {
            return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                            "name_class[%d] = %d is outside 0..%d", i, name_class[i],
                            n_classes - 1);
        }
    }
    if (p->short_side < 0 || p->short_side > CC_MAX_SIDE) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "short_side %d must be within 0..%d",
                        p->short_side, CC_MAX_SIDE);
    }
    if (p->crop <= 0 || p->crop > CC_MAX_SIDE || p->stride <= 0 || p->stride > CC_MAX_SIDE) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "crop (%d) and stride (%d) must be positive",
                        p->crop, p->stride);
    }
    if ((int) p->mode < CLEARCLIP_MODE_CLEARCLIP || (int) p->mode > CLEARCLIP_MODE_SCLIP) {
        return cc_error(CLEARCLIP_ERR_UNSUPPORTED, "unknown block mode %d", (int) p->mode);
    }
    if (!isfinite(p->logit_scale) || !(p->logit_scale > 0.0f)) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "logit_scale must be positive and finite");
    }
    if (!isfinite(p->prob_threshold) || p->prob_threshold < 0.0f || p->prob_threshold > 1.0f) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "prob_threshold must be within 0..1");
    }
    if (p->prob_threshold > 0.0f && (p->background_class < 0 || p->background_class >= n_classes)) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "background_class %d is outside 0..%d",
                        p->background_class, n_classes - 1);
    }
    if (!ctx->model->hp.has_vision) {
        return cc_error(CLEARCLIP_ERR_NO_TOWER, "%s: the model has no vision tower (loaded)",
                        ctx->model->path);
    }
    return CLEARCLIP_OK;
}

/* Scales, softmaxes over names, takes each class's best name and the best class per pixel of
 * the original image, sampling the averaged window logits bilinearly. */
static void cc_seg_finish(const cc_seg_buffers * b, int32_t n_names, const int32_t * name_class,
                          int32_t n_classes, const clearclip_segment_params * p, int32_t rw,
                          int32_t rh, int32_t width, int32_t height, int32_t * labels,
                          float * class_probs, float * cls_scratch) {
    int32_t * x0 = b->coords, * x1 = b->coords + width;
    int32_t * y0 = b->coords + 2 * width, * y1 = b->coords + 2 * width + height;
    float * wx = b->weights, * wy = b->weights + width;
    cc_bilinear_coords(rw, width, x0, x1, wx);
    cc_bilinear_coords(rh, height, y0, y1, wy);
    const size_t plane = (size_t) rw * rh, out_plane = (size_t) width * height;
    for (int32_t y = 0; y < height; y++) {
        for (int32_t x = 0; x < width; x++) {
            const size_t i00 = (size_t) y0[y] * rw + x0[x], i01 = (size_t) y0[y] * rw + x1[x];
            const size_t i10 = (size_t) y1[y] * rw + x0[x], i11 = (size_t) y1[y] * rw + x1[x];
            float mx = -INFINITY;
            for (int32_t k = 0; k < n_names; k++) {
                const float * a = b->acc + (size_t) k * plane;
                const float t = a[i00] + wx[x] * (a[i01] - a[i00]);
                const float u = a[i10] + wx[x] * (a[i11] - a[i10]);
                const float s = (t + wy[y] * (u - t)) * p->logit_scale;
                b->scores[k] = s;
                if (s > mx) mx = s;
            }
            float sum = 0.0f;
            for (int32_t k = 0; k < n_names; k++) {
                b->scores[k] = expf(b->scores[k] - mx);
                sum += b->scores[k];
            }
            for (int32_t c = 0; c < n_classes; c++) cls_scratch[c] = 0.0f;
            for (int32_t k = 0; k < n_names; k++) {
                const int32_t c = name_class ? name_class[k] : k;
                const float prob = b->scores[k] / sum;
                if (prob > cls_scratch[c]) cls_scratch[c] = prob;
            }
            int32_t best = 0;
            for (int32_t c = 1; c < n_classes; c++) {
                if (cls_scratch[c] > cls_scratch[best]) best = c;
            }
            if (p->prob_threshold > 0.0f && cls_scratch[best] < p->prob_threshold) {
                best = p->background_class;
            }
            const size_t o = (size_t) y * width + x;
            labels[o] = best;
            if (class_probs) {
                for (int32_t c = 0; c < n_classes; c++) class_probs[c * out_plane + o] = cls_scratch[c];
            }
        }
    }
}

clearclip_status clearclip_segment(clearclip_context * ctx, const uint8_t * rgb, int32_t width,
                                   int32_t height, int32_t row_stride,
                                   const float * name_embeddings, int32_t n_names,
                                   const int32_t * name_class, int32_t n_classes,
                                   clearclip_segment_params params, int32_t * labels,
                                   float * class_probs) {
    cc_clear_error();
    clearclip_status st = cc_check_segment_args(ctx, rgb, width, height, row_stride,
                                                name_embeddings, n_names, name_class, n_classes,
                                                &params, labels);
    if (st) return st;
    const cc_hparams * hp = &ctx->model->hp;
    const int32_t P = hp->vision.proj_dim, patch = hp->patch_size;

    /* Short-side resize, rounded like mmcv's rescale (int(x * scale + 0.5)). */
    int32_t rw = width, rh = height;
    if (params.short_side > 0) {
        const double s = (double) params.short_side / (double) (width < height ? width : height);
        rw = (int32_t) ((double) width * s + 0.5);
        rh = (int32_t) ((double) height * s + 0.5);
        if (rw < 1) rw = 1;
        if (rh < 1) rh = 1;
        if (rw > CC_MAX_SIDE || rh > CC_MAX_SIDE) {
            return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                            "resized image %dx%d exceeds %d per side", rw, rh, CC_MAX_SIDE);
        }
    }
    const int32_t crop_w = params.crop < rw ? params.crop : rw;
    const int32_t crop_h = params.crop < rh ? params.crop : rh;
    const int32_t max_gw = (crop_w + patch - 1) / patch, max_gh = (crop_h + patch - 1) / patch;
    const size_t n_patch_max = (size_t) max_gw * max_gh;
    const size_t plane = (size_t) rw * rh;
    const int32_t side_max = (width > rw ? width : rw) + (height > rh ? height : rh);
    const int32_t tap_max = 2 * (side_max > (max_gw + max_gh) * patch ? side_max
                                                                       : (max_gw + max_gh) * patch);

    cc_seg_buffers b = { 0 };
    bool resized = rw != width || rh != height;
    if (resized) b.resized = malloc((size_t) rw * rh * 3);
    b.pixels  = malloc(sizeof(float) * 3 * (size_t) crop_w * crop_h);
    b.feats   = malloc(sizeof(float) * n_patch_max * P);
    b.logits  = malloc(sizeof(float) * n_patch_max * n_names);
    b.acc     = calloc((size_t) n_names * plane, sizeof(float));
    b.count   = calloc(plane, sizeof(int32_t));
    b.coords  = malloc(sizeof(int32_t) * (size_t) tap_max);
    b.weights = malloc(sizeof(float) * (size_t) tap_max);
    b.scores  = malloc(sizeof(float) * ((size_t) n_names + (size_t) n_classes));
    if ((resized && !b.resized) || !b.pixels || !b.feats || !b.logits || !b.acc || !b.count ||
        !b.coords || !b.weights || !b.scores) {
        cc_seg_free(&b);
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY,
                        "out of memory for %d names on a %dx%d image", n_names, rw, rh);
    }
    const uint8_t * img = rgb;
    int32_t img_stride = row_stride;
    if (resized) {
        if (!cc_resize_rgb_bilinear(rgb, width, height, row_stride, b.resized, rw, rh)) {
            cc_seg_free(&b);
            return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
        }
        img = b.resized;
        img_stride = rw * 3;
    }

    const int32_t nx = cc_window_count(rw, params.crop, params.stride);
    const int32_t ny = cc_window_count(rh, params.crop, params.stride);
    for (int32_t iy = 0; iy < ny && !st; iy++) {
        for (int32_t ix = 0; ix < nx && !st; ix++) {
            int32_t x0, x1, y0, y1;
            cc_window_span(ix, rw, params.crop, params.stride, &x0, &x1);
            cc_window_span(iy, rh, params.crop, params.stride, &y0, &y1);
            const int32_t cw = x1 - x0, ch = y1 - y0;
            cc_normalize_rgb(hp->image_mean, hp->image_std, img + (size_t) y0 * img_stride + x0 * 3,
                             cw, ch, img_stride, b.pixels);
            int32_t gw = 0, gh = 0;
            st = cc_dense_features(ctx, b.pixels, cw, ch, params.mode, b.feats, &gw, &gh);
            if (st) break;
            /* Cosine similarities: both sides are L2-normalised. */
            const int32_t n_patch = gw * gh;
            for (int32_t k = 0; k < n_names; k++) {
                const float * e = name_embeddings + (size_t) k * P;
                float * lg = b.logits + (size_t) k * n_patch;
                for (int32_t i = 0; i < n_patch; i++) {
                    const float * f = b.feats + (size_t) i * P;
                    float s = 0.0f;
                    for (int32_t j = 0; j < P; j++) s += f[j] * e[j];
                    lg[i] = s;
                }
            }
            cc_seg_accumulate(&b, n_names, gw, gh, patch, cw, ch, x0, y0, rw, plane, b.acc, b.coords,
                              b.weights);
            for (int32_t y = y0; y < y1; y++) {
                for (int32_t x = x0; x < x1; x++) b.count[(size_t) y * rw + x]++;
            }
        }
    }
    if (!st) {
        for (size_t i = 0; i < plane; i++) {
            const float n = (float) b.count[i]; /* every pixel lies in some window */
            for (int32_t k = 0; k < n_names; k++) b.acc[(size_t) k * plane + i] /= n;
        }
        cc_seg_finish(&b, n_names, name_class, n_classes, &params, rw, rh, width, height, labels,
                      class_probs, b.scores + n_names);
    }
    cc_seg_free(&b);
    return st;
}
