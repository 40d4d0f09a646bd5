/* The reference ClearCLIP sliding-window segmentation pipeline: short-side resize, crop x crop
 * windows every stride pixels (the last flush with the edge), dense features per window,
 * patch logits upsampled bilinearly and averaged where windows overlap, optional PAMR on those
 * merged logits (at the picture's size, as NACLIP's reference does), then the softmax over the
 * names, the best name per class and the background threshold. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

clearclip_segment_params clearclip_segment_default_params(void) {
    clearclip_segment_params p = {
        .short_side       = 448,
        .crop             = 448,
        .stride           = 224,
        .mode             = CLEARCLIP_MODE_CLEARCLIP,
        .logit_scale      = 50.0f,
        .prob_threshold   = 0.0f,
        .background_class = 0,
        .progress           = NULL,
        .progress_user_data = NULL,
        .naclip_std         = CLEARCLIP_NACLIP_DEFAULT_STD,
        .pamr_steps         = 0,
        .n_pamr_dilations   = 2,
        .pamr_dilations     = { 8, 16, 0, 0 },
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

/* One sliding window: its place in the resized image and its patch grid. */
typedef struct cc_seg_window {
    int32_t x0, y0, cw, ch, gw, gh;
} cc_seg_window;

/* Output rows are made a band at a time: the averaged window logits are only ever held for the
 * resized-image rows one band of output rows samples, not for the whole image (which for a
 * 171-name vocabulary would be 180 MB at 597x448). */
#define CC_SEG_BAND 32
/* Work memory of the band loop's threads together (see cc_segment_run). */
#define CC_SEG_WORK_BYTES ((size_t) 64 << 20)

typedef struct cc_seg_buffers {
    uint8_t *       resized;  /* short-side resized image, or NULL when the size is kept */
    float *         pixels;   /* normalised crop, 3 x crop x crop */
    float *         feats;    /* dense features of one window, n_patch x P */
    float *         logits;   /* per window: n_names x n_patch_max cosine similarities */
    cc_seg_window * windows;
    int32_t *       col_count; /* windows covering each resized column (x spans) ... */
    int32_t *       row_count; /* ... and row (y spans): a pixel's count is their product */
    int32_t *       coords;   /* bilinear taps of the output pixels into the resized image */
    float *         weights;
    float *         work;     /* per finishing thread: band, window taps' weights, pixel scores */
    int32_t *       work_taps; /* per finishing thread: window taps */
    float *         scores;   /* n_names + n_classes scratch for one output pixel (PAMR's finish) */
    float *         full;     /* PAMR only: n_names x height x width logits at the input size */
    float *         image;    /* PAMR only: 3 x height x width normalised image */
} cc_seg_buffers;

static void cc_seg_finish_pixel(float * scores, float * cls, int32_t n_names,
                                const int32_t * name_class, int32_t n_classes,
                                const clearclip_segment_params * p, size_t o, size_t out_plane,
                                int32_t * labels, float * class_probs);

static void cc_seg_free(cc_seg_buffers * b) {
    free(b->resized);
    free(b->pixels);
    free(b->feats);
    free(b->logits);
    free(b->windows);
    free(b->col_count);
    free(b->row_count);
    free(b->coords);
    free(b->weights);
    free(b->work);
    free(b->work_taps);
    free(b->scores);
    free(b->full);
    free(b->image);
}

/* Adds rows [ra, rb] (resized-image rows) of a window's logits, upsampled bilinearly to the
 * padded window (grid * patch) with the padding cut away, to the band whose first row is ra. */
static void cc_seg_accumulate(const float * logits, const cc_seg_window * win, int32_t n_names,
                              int32_t patch, int32_t ra, int32_t rb, int32_t img_w, float * band,
                              int32_t * xi, float * xw) {
    const int32_t gw = win->gw, gh = win->gh, pw = gw * patch, ph = gh * patch;
    const int32_t left = (pw - win->cw) / 2, top = (ph - win->ch) / 2;
    const int32_t ya = ra > win->y0 ? ra - win->y0 : 0;
    const int32_t yb = rb < win->y0 + win->ch - 1 ? rb - win->y0 : win->ch - 1;
    if (ya > yb) return;
    int32_t * ax0 = xi, * ax1 = xi + pw, * ay0 = xi + 2 * pw, * ay1 = xi + 2 * pw + ph;
    float * awx = xw, * awy = xw + pw;
    cc_bilinear_coords(gw, pw, ax0, ax1, awx);
    cc_bilinear_coords(gh, ph, ay0, ay1, awy);
    const int32_t n_patch = gw * gh, band_rows = rb - ra + 1;
    for (int32_t k = 0; k < n_names; k++) {
        const float * lg = logits + (size_t) k * n_patch;
        float * dst = band + (size_t) k * band_rows * img_w;
        for (int32_t y = ya; y <= yb; y++) {
            const int32_t py = y + top;
            const float * r0 = lg + (size_t) ay0[py] * gw;
            const float * r1 = lg + (size_t) ay1[py] * gw;
            const float wy = awy[py];
            float * o = dst + (size_t) (win->y0 + y - ra) * img_w + win->x0;
            for (int32_t x = 0; x < win->cw; x++) {
                const int32_t px = x + left;
                const float t = r0[ax0[px]] + awx[px] * (r0[ax1[px]] - r0[ax0[px]]);
                const float u = r1[ax0[px]] + awx[px] * (r1[ax1[px]] - r1[ax0[px]]);
                o[x] += t + wy * (u - t);
            }
        }
    }
}

/* The class set was checked when it was made (clearclip_classes_init); here the rest. */
static clearclip_status cc_check_segment_args(const clearclip_context * ctx,
                                              const clearclip_image * image,
                                              const clearclip_classes * classes,
                                              const clearclip_segment_params * p,
                                              const int32_t * labels) {
    if (!ctx || !image || !image->rgb || !classes || !labels) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "ctx, image, image->rgb, classes and labels must not be NULL");
    }
    const int32_t width = image->width, height = image->height, row_stride = image->row_stride;
    const int32_t n_classes = classes->n_classes;
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
    if (p->short_side < 0 || p->short_side > CC_MAX_SIDE) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "short_side %d must be within 0..%d",
                        p->short_side, CC_MAX_SIDE);
    }
    if (p->crop <= 0 || p->crop > CC_MAX_SIDE || p->stride <= 0 || p->stride > CC_MAX_SIDE) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "crop (%d) and stride (%d) must be positive",
                        p->crop, p->stride);
    }
    /* Windows farther apart than their size leave pixels that no window covers; the reference
     * (mmseg's slide inference) asserts against that, and averaging would divide by zero. */
    if (p->stride > p->crop) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "stride %d is larger than crop %d: windows would leave pixels uncovered",
                        p->stride, p->crop);
    }
    if (!cc_mode_known(p->mode)) {
        return cc_error(CLEARCLIP_ERR_UNSUPPORTED, "unknown block mode %d", (int) p->mode);
    }
    if (!isfinite(p->naclip_std) || !(p->naclip_std > 0.0f)) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "naclip_std must be positive and finite");
    }
    if (p->pamr_steps < 0 || p->pamr_steps > 1000) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "pamr_steps %d must be within 0..1000",
                        p->pamr_steps);
    }
    if (p->pamr_steps > 0) {
        if (p->n_pamr_dilations < 1 || p->n_pamr_dilations > CLEARCLIP_PAMR_MAX_DILATIONS) {
            return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                            "n_pamr_dilations %d must be within 1..%d", p->n_pamr_dilations,
                            CLEARCLIP_PAMR_MAX_DILATIONS);
        }
        for (int32_t i = 0; i < p->n_pamr_dilations; i++) {
            if (p->pamr_dilations[i] < 1 || p->pamr_dilations[i] > CC_MAX_SIDE) {
                return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                                "pamr_dilations[%d] = %d must be within 1..%d", i,
                                p->pamr_dilations[i], CC_MAX_SIDE);
            }
        }
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
    clearclip_status st = cc_need_vision(ctx->model);
    if (st) return st;
    if (classes->dim != ctx->model->hp.vision.proj_dim) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "the classes' embeddings have %d dimensions, the model projects to %d",
                        classes->dim, ctx->model->hp.vision.proj_dim);
    }
    return CLEARCLIP_OK;
}

/* Scales, softmaxes over names, takes each class's best name and the best class per pixel for
 * output rows [oa, ob), sampling the averaged window logits of the band (resized rows from ra)
 * bilinearly. x0..wy: the output pixels' taps into the resized image. */
static void cc_seg_finish_rows(const float * band, float * full, float * scores, int32_t n_names,
                               const int32_t * name_class, int32_t n_classes,
                               const clearclip_segment_params * p, int32_t rw, int32_t ra,
                               int32_t band_rows, int32_t width, int32_t height, int32_t oa,
                               int32_t ob, const int32_t * x0, const int32_t * x1,
                               const int32_t * y0, const int32_t * y1, const float * wx,
                               const float * wy, int32_t * labels, float * class_probs) {
    const size_t plane = (size_t) rw * band_rows, out_plane = (size_t) width * height;
    float * cls = scores + n_names;
    for (int32_t y = oa; y < ob; y++) {
        for (int32_t x = 0; x < width; x++) {
            const size_t i00 = (size_t) (y0[y] - ra) * rw + x0[x], i01 = (size_t) (y0[y] - ra) * rw + x1[x];
            const size_t i10 = (size_t) (y1[y] - ra) * rw + x0[x], i11 = (size_t) (y1[y] - ra) * rw + x1[x];
            const size_t o = (size_t) y * width + x;
            for (int32_t k = 0; k < n_names; k++) {
                const float * a = band + (size_t) k * plane;
                const float t = a[i00] + wx[x] * (a[i01] - a[i00]);
                const float u = a[i10] + wx[x] * (a[i11] - a[i10]);
                const float v = t + wy[y] * (u - t);
                if (full) {
                    full[(size_t) k * out_plane + o] = v;
                } else {
                    scores[k] = v;
                }
            }
            if (!full) {
                cc_seg_finish_pixel(scores, cls, n_names, name_class, n_classes, p, o, out_plane,
                                    labels, class_probs);
            }
        }
    }
}

/* Scale, softmax over names, best name per class, best class (and threshold) of one output
 * pixel o whose unscaled logits are in scores (overwritten). */
static void cc_seg_finish_pixel(float * scores, float * cls, int32_t n_names,
                                const int32_t * name_class, int32_t n_classes,
                                const clearclip_segment_params * p, size_t o, size_t out_plane,
                                int32_t * labels, float * class_probs) {
    float mx = -INFINITY;
    for (int32_t k = 0; k < n_names; k++) {
        scores[k] *= p->logit_scale;
        if (scores[k] > mx) mx = scores[k];
    }
    float sum = 0.0f;
    for (int32_t k = 0; k < n_names; k++) {
        scores[k] = expf(scores[k] - mx);
        sum += scores[k];
    }
    for (int32_t c = 0; c < n_classes; c++) cls[c] = 0.0f;
    for (int32_t k = 0; k < n_names; k++) {
        const int32_t c = name_class ? name_class[k] : k;
        const float prob = scores[k] / sum;
        if (prob > cls[c]) cls[c] = prob;
    }
    int32_t best = 0;
    for (int32_t c = 1; c < n_classes; c++) {
        if (cls[c] > cls[best]) best = c;
    }
    if (p->prob_threshold > 0.0f && cls[best] < p->prob_threshold) {
        best = p->background_class;
    }
    labels[o] = best;
    if (class_probs) {
        for (int32_t c = 0; c < n_classes; c++) class_probs[c * out_plane + o] = cls[c];
    }
}

/* PAMR's image, as NACLIP's pipeline makes it: the resized image (uint8) resized back to the
 * input size bilinearly in float, then normalised; without a resize the input normalised. */
static void cc_seg_pamr_image(cc_seg_buffers * b, const uint8_t * rgb, int32_t width,
                              int32_t height, int32_t row_stride, int32_t rw, int32_t rh,
                              const cc_hparams * hp, const int32_t * x0, const int32_t * x1,
                              const int32_t * y0, const int32_t * y1, const float * wx,
                              const float * wy) {
    const size_t plane = (size_t) width * height;
    if (!b->resized) {
        cc_normalize_rgb(hp->image_mean, hp->image_std, rgb, width, height, row_stride, b->image);
        return;
    }
    (void) rh;
    const size_t st = (size_t) rw * 3;
    for (int c = 0; c < 3; c++) {
        const float mean = hp->image_mean[c], sd = hp->image_std[c];
        float * out = b->image + (size_t) c * plane;
        for (int32_t y = 0; y < height; y++) {
            const uint8_t * r0 = b->resized + (size_t) y0[y] * st;
            const uint8_t * r1 = b->resized + (size_t) y1[y] * st;
            for (int32_t x = 0; x < width; x++) {
                const float a00 = r0[x0[x] * 3 + c], a01 = r0[x1[x] * 3 + c];
                const float a10 = r1[x0[x] * 3 + c], a11 = r1[x1[x] * 3 + c];
                const float t = a00 + wx[x] * (a01 - a00), u = a10 + wx[x] * (a11 - a10);
                const float v = t + wy[y] * (u - t);
                out[(size_t) y * width + x] = (v / 255.0f - mean) / sd;
            }
        }
    }
}

/* The band loop's shared inputs; each thread takes every nth band (output rows [oa, ob) whose
 * bilinear taps need resized rows [ra, rb]) and its own slice of the work buffers. */
typedef struct cc_seg_finish_job {
    const cc_seg_buffers *            b;
    int32_t                           n_win;
    size_t                            n_patch_max;
    int32_t                           n_names, n_classes, patch, rw, width, height;
    const int32_t *                   name_class;
    const clearclip_segment_params *  params;
    const int32_t *                   ox0, * ox1, * oy0, * oy1;
    const float *                     owx, * owy;
    size_t                            work_floats, win_taps;
    int32_t *                         labels;
    float *                           class_probs;
} cc_seg_finish_job;

static void cc_seg_finish_worker(void * arg, int ith, int nth) {
    const cc_seg_finish_job * j = arg;
    const cc_seg_buffers * b = j->b;
    const int32_t n_names = j->n_names, rw = j->rw, height = j->height;
    float * band = b->work + (size_t) ith * j->work_floats;
    float * wxw = band + (size_t) n_names * CC_SEG_BAND * (size_t) rw;
    float * scores = wxw + j->win_taps;
    int32_t * wxi = b->work_taps + (size_t) ith * j->win_taps;
    int32_t index = 0;
    for (int32_t oa = 0; oa < height; index++) {
        const int32_t ra = j->oy0[oa];
        int32_t ob = oa + 1;
        while (ob < height && j->oy1[ob] - ra < CC_SEG_BAND) ob++;
        if (index % nth != ith) {
            oa = ob;
            continue;
        }
        const int32_t rb = j->oy1[ob - 1], band_rows = rb - ra + 1;
        memset(band, 0, sizeof(float) * (size_t) n_names * band_rows * rw);
        for (int32_t w = 0; w < j->n_win; w++) {
            cc_seg_accumulate(b->logits + (size_t) w * j->n_patch_max * n_names, &b->windows[w],
                              n_names, j->patch, ra, rb, rw, band, wxi, wxw);
        }
        for (int32_t r = 0; r < band_rows; r++) {
            for (int32_t x = 0; x < rw; x++) {
                /* every pixel lies in some window */
                const float n = (float) (b->col_count[x] * b->row_count[ra + r]);
                for (int32_t k = 0; k < n_names; k++) {
                    band[((size_t) k * band_rows + r) * rw + x] /= n;
                }
            }
        }
        cc_seg_finish_rows(band, b->full, scores, n_names, j->name_class, j->n_classes, j->params,
                           rw, ra, band_rows, j->width, height, oa, ob, j->ox0, j->ox1, j->oy0,
                           j->oy1, j->owx, j->owy, j->labels, j->class_probs);
        oa = ob;
    }
}

static clearclip_status cc_segment_run(clearclip_context * ctx, const uint8_t * rgb,
                                       int32_t width, int32_t height, int32_t row_stride,
                                       const float * name_embeddings, int32_t n_names,
                                       const int32_t * name_class, int32_t n_classes,
                                       clearclip_segment_params params, int32_t * labels,
                                       float * class_probs) {
    clearclip_status st = CLEARCLIP_OK;
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
    const int32_t nx = cc_window_count(rw, params.crop, params.stride);
    const int32_t ny = cc_window_count(rh, params.crop, params.stride);
    const int32_t n_win = nx * ny;
    /* taps of the output pixels into the resized image */
    const size_t out_taps = 2 * ((size_t) width + height);
    /* Per finishing thread: a band of averaged logits, the taps of one window's pixels (ints
     * and weights) and one pixel's scores. Threads beyond the first only where their bands fit
     * in CC_SEG_WORK_BYTES, as a 171-name vocabulary on a wide picture takes tens of MB each. */
    const size_t win_taps = 2 * ((size_t) max_gw + max_gh) * patch;
    const size_t work_floats = (size_t) n_names * CC_SEG_BAND * (size_t) rw + win_taps +
                               (size_t) n_names + (size_t) n_classes;
    int32_t n_finish = ctx->n_threads;
    if ((size_t) n_finish * work_floats * sizeof(float) > CC_SEG_WORK_BYTES) {
        n_finish = (int32_t) (CC_SEG_WORK_BYTES / (work_floats * sizeof(float)));
        if (n_finish < 1) n_finish = 1;
    }

    cc_seg_buffers b = { 0 };
    bool resized = rw != width || rh != height;
    if (resized) b.resized = malloc((size_t) rw * rh * 3);
    b.pixels    = malloc(sizeof(float) * 3 * (size_t) crop_w * crop_h);
    b.feats     = malloc(sizeof(float) * n_patch_max * P);
    b.logits    = malloc(sizeof(float) * n_patch_max * n_names * (size_t) n_win);
    b.windows   = malloc(sizeof(cc_seg_window) * (size_t) n_win);
    b.col_count = calloc((size_t) rw, sizeof(int32_t));
    b.row_count = calloc((size_t) rh, sizeof(int32_t));
    b.coords    = malloc(sizeof(int32_t) * out_taps);
    b.weights   = malloc(sizeof(float) * out_taps);
    b.work      = malloc(sizeof(float) * work_floats * (size_t) n_finish);
    b.work_taps = malloc(sizeof(int32_t) * win_taps * (size_t) n_finish);
    b.scores    = malloc(sizeof(float) * ((size_t) n_names + (size_t) n_classes));
    const bool pamr = params.pamr_steps > 0;
    if (pamr) {
        b.full  = malloc(sizeof(float) * (size_t) n_names * width * height);
        b.image = malloc(sizeof(float) * 3 * (size_t) width * height);
    }
    if ((resized && !b.resized) || !b.pixels || !b.feats || !b.logits || !b.windows ||
        !b.col_count || !b.row_count || !b.coords || !b.weights || !b.work || !b.work_taps ||
        !b.scores ||
        (pamr && (!b.full || !b.image))) {
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

    /* Windows: cosine similarities of their patches to the names. */
    for (int32_t iy = 0; iy < ny && !st; iy++) {
        for (int32_t ix = 0; ix < nx && !st; ix++) {
            cc_seg_window * win = &b.windows[iy * nx + ix];
            int32_t x1, y1;
            cc_window_span(ix, rw, params.crop, params.stride, &win->x0, &x1);
            cc_window_span(iy, rh, params.crop, params.stride, &win->y0, &y1);
            win->cw = x1 - win->x0;
            win->ch = y1 - win->y0;
            cc_normalize_rgb(hp->image_mean, hp->image_std,
                             img + (size_t) win->y0 * img_stride + win->x0 * 3, win->cw, win->ch,
                             img_stride, b.pixels);
            st = cc_dense_features(ctx, b.pixels, win->cw, win->ch, params.mode, params.naclip_std,
                                   b.feats, &win->gw,
                                   &win->gh);
            if (st) break;
            /* Both sides are L2-normalised. */
            const int32_t n_patch = win->gw * win->gh;
            float * logits = b.logits + (size_t) (iy * nx + ix) * n_patch_max * n_names;
            for (int32_t k = 0; k < n_names; k++) {
                const float * e = name_embeddings + (size_t) k * P;
                float * lg = logits + (size_t) k * n_patch;
                for (int32_t i = 0; i < n_patch; i++) {
                    const float * f = b.feats + (size_t) i * P;
                    float s = 0.0f;
                    for (int32_t j = 0; j < P; j++) s += f[j] * e[j];
                    lg[i] = s;
                }
            }
            if (iy == 0) {
                for (int32_t x = win->x0; x < x1; x++) b.col_count[x]++;
            }
            if (ix == 0) {
                for (int32_t y = win->y0; y < y1; y++) b.row_count[y]++;
            }
            if (params.progress) params.progress(iy * nx + ix + 1, n_win, params.progress_user_data);
        }
    }
    if (st) {
        cc_seg_free(&b);
        return st;
    }

    /* Output rows a band at a time: sum the windows' upsampled logits over the resized rows the
     * band samples (in window order, as a whole-image accumulation would), average, finish. The
     * bands are independent, so they are shared out among the context's threads. */
    int32_t * ox0 = b.coords, * ox1 = b.coords + width;
    int32_t * oy0 = b.coords + 2 * width, * oy1 = b.coords + 2 * width + height;
    float * owx = b.weights, * owy = b.weights + width;
    cc_bilinear_coords(rw, width, ox0, ox1, owx);
    cc_bilinear_coords(rh, height, oy0, oy1, owy);
    cc_seg_finish_job job = {
        .b = &b, .n_win = n_win, .n_patch_max = n_patch_max, .n_names = n_names,
        .name_class = name_class, .n_classes = n_classes, .params = &params, .patch = patch,
        .rw = rw, .width = width, .height = height, .ox0 = ox0, .ox1 = ox1, .oy0 = oy0,
        .oy1 = oy1, .owx = owx, .owy = owy, .work_floats = work_floats, .win_taps = win_taps,
        .labels = labels, .class_probs = class_probs,
    };
    cc_parallel_run(n_finish, cc_seg_finish_worker, &job);
    if (pamr) {
        cc_seg_pamr_image(&b, rgb, width, height, row_stride, rw, rh, hp, ox0, ox1, oy0, oy1, owx,
                          owy);
        st = clearclip_pamr(b.image, width, height, b.full, n_names, params.pamr_steps,
                            params.pamr_dilations, params.n_pamr_dilations);
        if (st) {
            cc_seg_free(&b);
            return st;
        }
        const size_t out_plane = (size_t) width * height;
        for (size_t o = 0; o < out_plane; o++) {
            for (int32_t k = 0; k < n_names; k++) b.scores[k] = b.full[(size_t) k * out_plane + o];
            cc_seg_finish_pixel(b.scores, b.scores + n_names, n_names, name_class, n_classes,
                                &params, o, out_plane, labels, class_probs);
        }
    }
    cc_seg_free(&b);
    return CLEARCLIP_OK;
}

clearclip_status clearclip_segment(clearclip_context * ctx, const clearclip_image * image,
                                   const clearclip_classes * classes,
                                   clearclip_segment_params params, int32_t * labels,
                                   float * class_probs) {
    cc_clear_error();
    clearclip_status st = cc_check_segment_args(ctx, image, classes, &params, labels);
    if (st) return st;
    return cc_segment_run(ctx, image->rgb, image->width, image->height, image->row_stride,
                          classes->embeddings, classes->n_names, classes->name_class,
                          classes->n_classes, params, labels, class_probs);
}
