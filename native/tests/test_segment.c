/* clearclip_segment against a step-by-step implementation of ClearCLIP's reference pipeline
 * (mmseg's slide inference as the ClearCLIP code runs it) written here
 * (short-side resize, window grid, per-window padding and cut, bilinear upsampling, averaging,
 * resize back, softmax, class max, argmax, threshold), built on the public dense features. */
#include "clearclip.h"
#include "test_common.h"
#include "tiny_model.h"
#include "segment_call.h"
#include "pamr_naive.h"

#include <math.h>

/* PyTorch bilinear, align_corners=False: source index and weight of the upper tap. */
static void taps(int n_in, int n_out, int d, int * i0, int * i1, float * w) {
    float s = (float) n_in / (float) n_out * ((float) d + 0.5f) - 0.5f;
    if (s < 0) s = 0;
    *i0 = (int) floorf(s);
    if (*i0 > n_in - 1) *i0 = n_in - 1;
    *i1 = *i0 + 1 < n_in ? *i0 + 1 : n_in - 1;
    *w = s - (float) *i0;
}

/* plane [h][w] sampled at output pixel (x, y) of an ow x oh resize */
static float sample(const float * plane, int w, int h, int ow, int oh, int x, int y) {
    int x0, x1, y0, y1;
    float wx, wy;
    taps(w, ow, x, &x0, &x1, &wx);
    taps(h, oh, y, &y0, &y1, &wy);
    float t = plane[y0 * w + x0] * (1 - wx) + plane[y0 * w + x1] * wx;
    float b = plane[y1 * w + x0] * (1 - wx) + plane[y1 * w + x1] * wx;
    return t * (1 - wy) + b * wy;
}

static void span(int i, int size, int crop, int stride, int * s, int * e) {
    *s = i * stride;
    *e = *s + crop < size ? *s + crop : size;
    *s = *e - crop > 0 ? *e - crop : 0;
}

static void reference(clearclip_model * m, clearclip_context * c, const uint8_t * rgb, int W, int H,
                      const float * emb, int n_names, const int * name_class, int n_classes,
                      clearclip_segment_params p, int * labels, float * probs) {
    clearclip_model_info info;
    clearclip_model_get_info(m, &info);
    const int P = info.projection_dim, ps = info.patch_size;
    int rw = W, rh = H;
    if (p.short_side > 0) {
        double s = (double) p.short_side / (W < H ? W : H);
        rw = (int) (W * s + 0.5);
        rh = (int) (H * s + 0.5);
    }
    uint8_t * img = malloc((size_t) rw * rh * 3);
    float * chan = malloc(sizeof(float) * W * H);
    for (int ch = 0; ch < 3; ch++) {
        for (int i = 0; i < W * H; i++) chan[i] = rgb[i * 3 + ch];
        for (int y = 0; y < rh; y++)
            for (int x = 0; x < rw; x++) {
                float v = sample(chan, W, H, rw, rh, x, y);
                img[(y * rw + x) * 3 + ch] = (uint8_t) floorf(fminf(fmaxf(v, 0), 255) + 0.5f);
            }
    }
    float * acc = calloc((size_t) n_names * rw * rh, sizeof(float));
    float * cnt = calloc((size_t) rw * rh, sizeof(float));
    int nx = (rw - p.crop + p.stride - 1 > 0 ? rw - p.crop + p.stride - 1 : 0) / p.stride + 1;
    int ny = (rh - p.crop + p.stride - 1 > 0 ? rh - p.crop + p.stride - 1 : 0) / p.stride + 1;
    for (int iy = 0; iy < ny; iy++) {
        for (int ix = 0; ix < nx; ix++) {
            int x0, x1, y0, y1;
            span(ix, rw, p.crop, p.stride, &x0, &x1);
            span(iy, rh, p.crop, p.stride, &y0, &y1);
            int cw = x1 - x0, chh = y1 - y0;
            float * px = malloc(sizeof(float) * 3 * cw * chh);
            CHECK(clearclip_image_normalize(m, img + (y0 * rw + x0) * 3, cw, chh, rw * 3, px) == CLEARCLIP_OK);
            int gw, gh;
            clearclip_dense_grid(m, cw, chh, &gw, &gh);
            float * f = malloc(sizeof(float) * gw * gh * P);
            CHECK(clearclip_dense_features_ex(c, px, cw, chh, p.mode, p.naclip_std, f) == CLEARCLIP_OK);
            const int pw = gw * ps, ph = gh * ps, left = (pw - cw) / 2, top = (ph - chh) / 2;
            float * lg = malloc(sizeof(float) * gw * gh);
            for (int k = 0; k < n_names; k++) {
                for (int i = 0; i < gw * gh; i++) {
                    float s = 0;
                    for (int j = 0; j < P; j++) s += f[i * P + j] * emb[k * P + j];
                    lg[i] = s;
                }
                for (int y = 0; y < chh; y++)
                    for (int x = 0; x < cw; x++)
                        acc[((size_t) k * rh + y0 + y) * rw + x0 + x] +=
                            sample(lg, gw, gh, pw, ph, x + left, y + top);
            }
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++) cnt[y * rw + x] += 1;
            free(px);
            free(f);
            free(lg);
        }
    }
    for (int k = 0; k < n_names; k++)
        for (int i = 0; i < rw * rh; i++) acc[(size_t) k * rw * rh + i] /= cnt[i];
    /* logits at the input size; with PAMR refined there, on the resized image brought back */
    float * full = malloc(sizeof(float) * (size_t) n_names * W * H);
    for (int k = 0; k < n_names; k++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                full[((size_t) k * H + y) * W + x] = sample(acc + (size_t) k * rw * rh, rw, rh, W, H, x, y);
    if (p.pamr_steps > 0) {
        clearclip_model_info info2;
        clearclip_model_get_info(m, &info2);
        float * pimg = malloc(sizeof(float) * 3 * W * H);
        float * plane = malloc(sizeof(float) * rw * rh);
        for (int ch = 0; ch < 3; ch++) {
            for (int i = 0; i < rw * rh; i++) plane[i] = img[i * 3 + ch];
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    pimg[(ch * H + y) * W + x] =
                        (sample(plane, rw, rh, W, H, x, y) / 255.0f - info2.image_mean[ch]) / info2.image_std[ch];
        }
        pamr_naive(pimg, W, H, full, n_names, p.pamr_steps, p.pamr_dilations, p.n_pamr_dilations);
        free(pimg);
        free(plane);
    }
    float * sc = malloc(sizeof(float) * n_names);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            float mx = -INFINITY, sum = 0;
            for (int k = 0; k < n_names; k++) {
                sc[k] = full[((size_t) k * H + y) * W + x] * p.logit_scale;
                mx = fmaxf(mx, sc[k]);
            }
            for (int k = 0; k < n_names; k++) sum += sc[k] = expf(sc[k] - mx);
            for (int cl = 0; cl < n_classes; cl++) probs[(size_t) cl * W * H + y * W + x] = 0;
            for (int k = 0; k < n_names; k++) {
                float * q = &probs[(size_t) name_class[k] * W * H + y * W + x];
                *q = fmaxf(*q, sc[k] / sum);
            }
            int best = 0;
            for (int cl = 1; cl < n_classes; cl++)
                if (probs[(size_t) cl * W * H + y * W + x] > probs[(size_t) best * W * H + y * W + x]) best = cl;
            if (probs[(size_t) best * W * H + y * W + x] < p.prob_threshold) best = p.background_class;
            labels[y * W + x] = best;
        }
    }
    free(sc);
    free(full);
    free(img);
    free(chan);
    free(acc);
    free(cnt);
}

static void compare(clearclip_model * m, clearclip_context * c, const uint8_t * rgb, int W, int H,
                    const float * emb, clearclip_segment_params p, const char * what) {
    const int n_names = 3, n_classes = 2, name_class[3] = { 0, 1, 1 };
    int * want = malloc(sizeof(int) * W * H), * got = malloc(sizeof(int) * W * H);
    float * pw = malloc(sizeof(float) * 2 * W * H), * pg = malloc(sizeof(float) * 2 * W * H);
    reference(m, c, rgb, W, H, emb, n_names, name_class, n_classes, p, want, pw);
    CHECK_MSG(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, n_names, name_class, n_classes, p, got, pg) ==
                  CLEARCLIP_OK, "%s: %s", what, clearclip_last_error());
    float worst = 0;
    int label_diff = 0;
    for (int i = 0; i < 2 * W * H; i++) worst = fmaxf(worst, fabsf(pw[i] - pg[i]));
    for (int i = 0; i < W * H; i++) label_diff += want[i] != got[i] && fabsf(pw[i] - pw[W * H + i]) > 1e-4f;
    CHECK_MSG(worst < 1e-4f, "%s: class probabilities differ by up to %g", what, worst);
    CHECK_MSG(label_diff == 0, "%s: %d labels differ", what, label_diff);
    free(want);
    free(got);
    free(pw);
    free(pg);
}

/* A class set checks its input once, copies it, serves any number of calls, and must match the
 * model it is used with. */
static void test_class_sets(clearclip_context * c, const uint8_t * rgb, int W, int H,
                            const float * emb) {
    clearclip_classes * cs = NULL;
    float bad[3 * TINY_P];
    memcpy(bad, emb, sizeof(bad));
    bad[TINY_P + 3] = NAN;
    CHECK_STATUS(clearclip_classes_init(bad, 3, TINY_P, NULL, 3, &cs),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "(name 1, element 3)");
    CHECK(cs == NULL);
    bad[TINY_P + 3] = -INFINITY;
    CHECK_STATUS(clearclip_classes_init(bad, 3, TINY_P, NULL, 3, &cs),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "must be finite");
    CHECK_STATUS(clearclip_classes_init(emb, 3, 0, NULL, 3, &cs), CLEARCLIP_ERR_INVALID_ARGUMENT,
                 "dim 0");
    CHECK_STATUS(clearclip_classes_init(NULL, 3, TINY_P, NULL, 3, &cs),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "name_embeddings must not be NULL");
    CHECK_STATUS(clearclip_classes_init(emb, 0, TINY_P, NULL, 0, &cs),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "must be positive");
    CHECK_STATUS(clearclip_classes_init(emb, 3, TINY_P, NULL, 3, NULL),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "out must not be NULL");
    CHECK(clearclip_classes_n_classes(NULL) == 0 && clearclip_classes_n_names(NULL) == 0);
    clearclip_classes_free(NULL);

    clearclip_segment_params p = clearclip_segment_default_params();
    p.short_side = 0;
    p.crop = 24;
    p.stride = 16;
    const clearclip_image image = { rgb, W, H, W * 3 };
    int32_t * l1 = malloc(sizeof(int32_t) * W * H), * l2 = malloc(sizeof(int32_t) * W * H);
    float * p1 = malloc(sizeof(float) * 2 * W * H), * p2 = malloc(sizeof(float) * 2 * W * H);

    /* embeddings of another width than the model's projection */
    CHECK_STATUS(clearclip_classes_init(emb, 3, TINY_P / 2, NULL, 3, &cs), CLEARCLIP_OK, "");
    CHECK_STATUS(clearclip_segment(c, &image, cs, p, l1, NULL), CLEARCLIP_ERR_INVALID_ARGUMENT,
                 "the model projects to 16");
    clearclip_classes_free(cs);
    cs = NULL;

    /* one set, two calls, the caller's arrays overwritten in between: the same result, equal to
     * a set made for one call */
    float own[3 * TINY_P];
    int32_t name_class[3] = { 0, 1, 1 };
    memcpy(own, emb, sizeof(own));
    CHECK_STATUS(clearclip_classes_init(own, 3, TINY_P, name_class, 2, &cs), CLEARCLIP_OK, "");
    CHECK(clearclip_classes_n_classes(cs) == 2 && clearclip_classes_n_names(cs) == 3);
    CHECK(clearclip_segment(c, &image, cs, p, l1, p1) == CLEARCLIP_OK);
    for (int i = 0; i < 3 * TINY_P; i++) own[i] = NAN;
    name_class[1] = 7;
    CHECK(clearclip_segment(c, &image, cs, p, l2, p2) == CLEARCLIP_OK);
    CHECK(memcmp(l1, l2, sizeof(int32_t) * W * H) == 0);
    CHECK(memcmp(p1, p2, sizeof(float) * 2 * W * H) == 0);
    const int32_t fresh_class[3] = { 0, 1, 1 };
    CHECK(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 3, fresh_class, 2, p, l2, p2) ==
          CLEARCLIP_OK);
    CHECK(memcmp(l1, l2, sizeof(int32_t) * W * H) == 0);
    CHECK(memcmp(p1, p2, sizeof(float) * 2 * W * H) == 0);

    CHECK_STATUS(clearclip_segment(c, NULL, cs, p, l1, NULL), CLEARCLIP_ERR_INVALID_ARGUMENT,
                 "must not be NULL");
    CHECK_STATUS(clearclip_segment(c, &image, NULL, p, l1, NULL), CLEARCLIP_ERR_INVALID_ARGUMENT,
                 "must not be NULL");
    const clearclip_image no_pixels = { NULL, W, H, W * 3 };
    CHECK_STATUS(clearclip_segment(c, &no_pixels, cs, p, l1, NULL),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "must not be NULL");
    clearclip_classes_free(cs);
    free(l1);
    free(l2);
    free(p1);
    free(p2);
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/segment-tiny.gguf", test_tmp_dir());
    tiny_variant v = { 0 };
    CHECK(write_tiny_model(path, &v));
    clearclip_model * m = NULL;
    CHECK(clearclip_model_load(path, clearclip_model_default_params(), &m) == CLEARCLIP_OK);
    clearclip_context_params cp = clearclip_context_default_params();
    cp.n_threads = 1;
    clearclip_context * c = NULL;
    CHECK(clearclip_context_init(m, cp, &c) == CLEARCLIP_OK);
    if (!c) return test_finish("test_segment");

    const int W = 40, H = 24;
    uint8_t * rgb = malloc(W * H * 3);
    for (int i = 0; i < W * H * 3; i++) rgb[i] = (uint8_t) ((i * 37 + (i / 120) * 11) % 256);
    /* Names placed among the image's own patch features, so that every class wins somewhere
     * and probabilities vary across the image. */
    float emb[3 * TINY_P];
    {
        float * px = malloc(sizeof(float) * 3 * W * H);
        float * f = malloc(sizeof(float) * 6 * TINY_P);
        CHECK(clearclip_image_normalize(m, rgb, W, H, W * 3, px) == CLEARCLIP_OK);
        CHECK(clearclip_dense_features(c, px, W, H, CLEARCLIP_MODE_CLEARCLIP, f) == CLEARCLIP_OK);
        const int pick[3][2] = { { 0, 0 }, { 5, 5 }, { 2, 3 } };
        for (int k = 0; k < 3; k++) {
            float n = 0;
            for (int j = 0; j < TINY_P; j++) {
                emb[k * TINY_P + j] = f[pick[k][0] * TINY_P + j] + f[pick[k][1] * TINY_P + j];
                n += emb[k * TINY_P + j] * emb[k * TINY_P + j];
            }
            for (int j = 0; j < TINY_P; j++) emb[k * TINY_P + j] /= sqrtf(n);
        }
        free(px);
        free(f);
    }

    clearclip_segment_params p = clearclip_segment_default_params();
    p.logit_scale = 10.0f; /* soft enough that probabilities differ across pixels */
    p.short_side = 0;   /* windows of 24 with padding to 32, two overlapping columns */
    p.crop = 24;
    p.stride = 16;
    compare(m, c, rgb, W, H, emb, p, "no resize");
    p.short_side = 34;  /* 57x34 after resize (a factor without rounding ties); 3x2 windows,
                           the last ones shifted back */
    p.crop = 32;
    p.mode = CLEARCLIP_MODE_SCLIP;
    compare(m, c, rgb, W, H, emb, p, "resized");
    p.prob_threshold = 0.5f;
    p.background_class = 1;
    compare(m, c, rgb, W, H, emb, p, "threshold");
    /* NACLIP's block and PAMR refinement, resized (the PAMR image comes back from 57x34) */
    p.prob_threshold = 0.0f;
    p.mode = CLEARCLIP_MODE_NACLIP;
    p.naclip_std = 1.5f;
    p.pamr_steps = 10;
    p.n_pamr_dilations = 2;
    p.pamr_dilations[0] = 2;
    p.pamr_dilations[1] = 4;
    compare(m, c, rgb, W, H, emb, p, "naclip + pamr, resized");
    p.short_side = 0;
    p.crop = 24;
    p.stride = 16;
    p.naclip_std = 5.0f;
    p.pamr_dilations[0] = 8;
    p.pamr_dilations[1] = 16;
    compare(m, c, rgb, W, H, emb, p, "naclip + pamr, input size");

    /* The output bands are shared among the context's threads: on a tall picture (an odd number
     * of bands) two threads give the reference's result, and bit for bit what one thread gives,
     * with and without PAMR. (Two, not more: ggml's workers spin while they wait, and more
     * threads than cores make a loaded CI machine crawl.) */
    {
        const int TW = 36, TH = 150;
        uint8_t * tall = malloc(TW * TH * 3);
        for (int i = 0; i < TW * TH * 3; i++) tall[i] = (uint8_t) ((i * 53 + (i / 97) * 7) % 256);
        clearclip_context_params cp3 = clearclip_context_default_params();
        cp3.n_threads = 2;
        clearclip_context * c3 = NULL;
        CHECK(clearclip_context_init(m, cp3, &c3) == CLEARCLIP_OK);
        clearclip_segment_params q = clearclip_segment_default_params();
        q.logit_scale = 10.0f;
        q.short_side = 0;
        q.crop = 64; /* three windows: few graphs, as the two-thread context's ops wait on each other */
        q.stride = 48;
        const int32_t name_class[3] = { 0, 1, 1 };
        int * l1 = malloc(sizeof(int) * TW * TH), * l3 = malloc(sizeof(int) * TW * TH);
        float * p1 = malloc(sizeof(float) * 2 * TW * TH), * p3 = malloc(sizeof(float) * 2 * TW * TH);
        for (int with_pamr = 0; with_pamr < 2 && c3; with_pamr++) {
            q.pamr_steps = with_pamr ? 5 : 0;
            compare(m, c3, tall, TW, TH, emb, q, with_pamr ? "two threads, pamr" : "two threads");
            CHECK(segment_call(TINY_P, c, tall, TW, TH, TW * 3, emb, 3, name_class, 2, q, l1, p1) ==
                  CLEARCLIP_OK);
            CHECK(segment_call(TINY_P, c3, tall, TW, TH, TW * 3, emb, 3, name_class, 2, q, l3, p3) ==
                  CLEARCLIP_OK);
            CHECK_MSG(memcmp(l1, l3, sizeof(int) * TW * TH) == 0 &&
                          memcmp(p1, p3, sizeof(float) * 2 * TW * TH) == 0,
                      "2 threads differ from 1 (pamr %d)", with_pamr);
        }
        free(l1);
        free(l3);
        free(p1);
        free(p3);
        free(tall);
        clearclip_context_free(c3);
    }

    /* one name: every pixel is that class with probability 1 */
    int * labels = malloc(sizeof(int) * W * H);
    float * probs = malloc(sizeof(float) * W * H);
    p = clearclip_segment_default_params();
    CHECK(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 1, NULL, 1, p, labels, probs) == CLEARCLIP_OK);
    int bad = 0;
    for (int i = 0; i < W * H; i++) bad += labels[i] != 0 || fabsf(probs[i] - 1) > 1e-6f;
    CHECK(bad == 0);

    const int32_t bad_class[2] = { 0, 2 };
    CHECK_STATUS(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 2, bad_class, 2, p, labels, NULL),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "name_class[1] = 2");
    CHECK_STATUS(segment_call(TINY_P, c, rgb, W, H, W * 2, emb, 1, NULL, 1, p, labels, NULL),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "row_stride");
    CHECK_STATUS(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 2, NULL, 1, p, labels, NULL),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "must equal n_classes");
    p.mode = CLEARCLIP_MODE_NACLIP;
    p.naclip_std = 0.0f;
    CHECK_STATUS(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 1, NULL, 1, p, labels, NULL),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "naclip_std");
    p.naclip_std = 5.0f;
    p.pamr_steps = 3;
    p.n_pamr_dilations = 0;
    CHECK_STATUS(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 1, NULL, 1, p, labels, NULL),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "n_pamr_dilations");
    p.n_pamr_dilations = 1;
    p.pamr_dilations[0] = -2;
    CHECK_STATUS(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 1, NULL, 1, p, labels, NULL),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "pamr_dilations[0] = -2");
    p.pamr_steps = 0;
    p.mode = (clearclip_block_mode) 5;
    CHECK_STATUS(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 1, NULL, 1, p, labels, NULL),
                 CLEARCLIP_ERR_UNSUPPORTED, "unknown block mode 5");
    p.mode = CLEARCLIP_MODE_CLEARCLIP;
    p.stride = 0;
    CHECK_STATUS(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 1, NULL, 1, p, labels, NULL),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "stride");
    test_class_sets(c, rgb, W, H, emb);
    free(labels);
    free(probs);
    free(rgb);
    clearclip_context_free(c);
    clearclip_model_free(m);
    return test_finish("test_segment");
}
