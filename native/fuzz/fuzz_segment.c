/*
 * Fuzz target: clearclip_segment with random but bounded image sizes, row strides, short sides,
 * crops, strides, modes, thresholds, class counts, name_class arrays and name embeddings on the
 * tiny model (32x32 native input, 16-pixel patches), plus clearclip_encode_tokens with random ids.
 * Sizes stay small so that thousands of inputs run per second; now and then a value is out of
 * range on purpose, to exercise argument checking.
 *
 * Checked on success: every label is a class index; with finite, normalised embeddings the class
 * probabilities are finite, within 0..1, and each label is the best class of its pixel (or the
 * background class below the threshold); text embeddings are unit vectors.
 */
#include "fuzz_common.h"

#include <math.h>

#ifndef FUZZ_MAX_WINDOWS
#define FUZZ_MAX_WINDOWS 4 /* windows per call: enough for overlaps in both axes */
#endif

static clearclip_model *   fuzz_model;
static clearclip_context * fuzz_ctx;
static tiny_dims           fuzz_dims;

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    tiny_variant v = { 0 };
    fuzz_model = fuzz_load_tiny_model(&v);
    fuzz_ctx = fuzz_context(fuzz_model);
    fuzz_dims = tiny_dims_of(&v);
    return 0;
}

/* A side length: usually 1..hi, sometimes one of the values the API must refuse. */
static int32_t fuzz_side(fuzz_reader * r, int32_t hi, bool zero_ok) {
    uint8_t sel = fuzz_u8(r);
    if (sel >= 248) {
        static const int32_t bad[] = { 0, -1, -448, 16385, INT32_MAX, INT32_MIN, 0, 1 << 20 };
        return bad[sel - 248];
    }
    if (zero_ok && sel < 24) return 0;
    return fuzz_range(r, 1, hi);
}

static void fuzz_encode_tokens(fuzz_reader * r) {
    const int32_t P = fuzz_dims.p;
    int32_t n_texts = fuzz_range(r, 0, 3);
    int32_t row = fuzz_range(r, 0, TINY_CTX + 4);
    int32_t cells = n_texts * row;
    int32_t * ids = malloc(sizeof(int32_t) * (size_t) (cells > 0 ? cells : 1));
    for (int32_t t = 0; t < n_texts; t++) {
        int32_t eot = fuzz_range(r, 1, row > 1 ? row - 1 : 1);
        for (int32_t i = 0; i < row; i++) {
            uint8_t sel = fuzz_u8(r);
            int32_t id = (int32_t) (sel % (fuzz_dims.vocab - 2));
            if (i == 0 && sel < 240) id = fuzz_dims.bos;
            else if (i == eot && sel < 240) id = fuzz_dims.eos;
            else if (sel >= 250) id = (int32_t) fuzz_u32(r); /* anything, negative included */
            ids[t * row + i] = id;
        }
    }
    float * out = malloc(sizeof(float) * (size_t) P * (size_t) (n_texts > 0 ? n_texts : 1));
    clearclip_status st = clearclip_encode_tokens(fuzz_ctx, ids, n_texts, row, out);
    if (fuzz_verbose()) {
        fprintf(stderr, "encode_tokens %d x %d -> %s %s\n", n_texts, row, clearclip_status_name(st),
                clearclip_last_error());
    }
    if (st == CLEARCLIP_OK) {
        for (int32_t t = 0; t < n_texts; t++) {
            double n2 = 0;
            for (int32_t j = 0; j < P; j++) n2 += (double) out[t * P + j] * out[t * P + j];
            FUZZ_ASSERT(fabs(sqrt(n2) - 1.0) < 1e-3, "text %d has norm %g", t, sqrt(n2));
        }
    } else {
        fuzz_check_error(st, "clearclip_encode_tokens");
    }
    free(out);
    free(ids);
}

static void fuzz_segment(fuzz_reader * r) {
    const int32_t P = fuzz_dims.p;
    int32_t width = fuzz_side(r, 48, false), height = fuzz_side(r, 48, false);
    uint8_t rs = fuzz_u8(r);
    int64_t stride64 = (int64_t) width * 3 + (rs < 240 ? rs % 8 : -1 - rs % 4);
    int32_t row_stride = stride64 > INT32_MAX || stride64 < INT32_MIN ? -1 : (int32_t) stride64;

    clearclip_segment_params sp = clearclip_segment_default_params();
    sp.short_side = fuzz_side(r, 72, true);
    sp.crop = fuzz_side(r, 72, false);
    sp.stride = fuzz_side(r, 72, false);
    /* Bound the compute, not the code paths. A short side that would resize the picture to more
     * than 96x96 pixels (an extreme aspect ratio makes a long side of thousands) is replaced by 0
     * (keep the size, at most 48x48). Then the stride grows (up to the crop, or beyond it when
     * the fuzzer chose a gap) and after that crop and stride together, until there are at most
     * FUZZ_MAX_WINDOWS windows. */
    if (width > 0 && height > 0 && width <= 48 && height <= 48 && sp.crop > 0 && sp.stride > 0 &&
        sp.short_side >= 0 && sp.short_side <= 72) {
        double s = sp.short_side ? (double) sp.short_side / (width < height ? width : height) : 1.0;
        int64_t rw = (int64_t) (width * s + 0.5), rh = (int64_t) (height * s + 0.5);
        if (rw * rh > 96 * 96) {
            sp.short_side = 0;
            rw = width;
            rh = height;
        }
        for (;;) {
            int64_t dx = rw - sp.crop + sp.stride - 1, dy = rh - sp.crop + sp.stride - 1;
            int64_t nx = (dx > 0 ? dx : 0) / sp.stride + 1, ny = (dy > 0 ? dy : 0) / sp.stride + 1;
            if (nx * ny <= FUZZ_MAX_WINDOWS || sp.crop > 256 || sp.stride > 256) break;
            if (sp.stride * 2 <= sp.crop || sp.stride > sp.crop) {
                sp.stride *= 2;
            } else {
                sp.crop *= 2;
                sp.stride *= 2;
            }
        }
    }
    uint8_t m = fuzz_u8(r);
    sp.mode = (clearclip_block_mode) (m < 250 ? m % 5 : (m % 2 ? -1 : 5));
    if (sp.mode == CLEARCLIP_MODE_NACLIP) {
        /* NACLIP's bias std and PAMR, sometimes out of range */
        sp.naclip_std = fuzz_u8(r) == 255 ? 0.0f : fuzz_float(r, 0.1f, 20.0f);
        sp.pamr_steps = fuzz_range(r, -1, 3);
        sp.n_pamr_dilations = fuzz_range(r, 0, CLEARCLIP_PAMR_MAX_DILATIONS + 1);
        for (int i = 0; i < CLEARCLIP_PAMR_MAX_DILATIONS; i++) sp.pamr_dilations[i] = fuzz_range(r, 0, 40);
    }
    sp.logit_scale = fuzz_float(r, 0.01f, 100.0f);
    sp.prob_threshold = fuzz_u8(r) < 128 ? 0.0f : fuzz_float(r, 0.0f, 1.0f);

    int32_t n_classes = fuzz_range(r, 0, 5);
    uint8_t nc = fuzz_u8(r);
    bool with_map = (nc & 1) != 0;
    int32_t n_names = with_map ? fuzz_range(r, 0, 8) : (nc == 0xFE ? n_classes + 1 : n_classes);
    sp.background_class = fuzz_range(r, -1, n_classes);
    int32_t * name_class = NULL;
    if (with_map) {
        name_class = malloc(sizeof(int32_t) * (size_t) (n_names > 0 ? n_names : 1));
        for (int32_t i = 0; i < n_names; i++) {
            uint8_t sel = fuzz_u8(r);
            name_class[i] = sel >= 250 ? (sel % 2 ? -1 : n_classes)
                                       : (n_classes > 0 ? sel % n_classes : 0);
        }
    }
    int32_t emb_rows = n_names > 0 ? n_names : 1;
    float * emb = malloc(sizeof(float) * (size_t) P * (size_t) emb_rows);
    bool clean = true; /* every embedding finite and normalised */
    for (int32_t i = 0; i < emb_rows; i++) {
        bool raw = fuzz_u8(r) >= 250;
        double n2 = 0;
        for (int32_t j = 0; j < P; j++) {
            float x = raw ? fuzz_float_bits(r) : fuzz_float(r, -1.0f, 1.0f);
            emb[i * P + j] = x;
            n2 += (double) x * x;
        }
        if (raw || !isfinite(n2) || n2 < 1e-12) {
            clean = clean && !raw && n2 >= 1e-12 && isfinite(n2);
            continue;
        }
        for (int32_t j = 0; j < P; j++) emb[i * P + j] = (float) (emb[i * P + j] / sqrt(n2));
    }
    bool want_probs = fuzz_u8(r) & 1;

    /* The picture: the rest of the input, repeated; sizes far out of range are refused before
     * the pixels are read, so only a valid size gets a buffer. */
    bool size_ok = width > 0 && height > 0 && width <= 48 && height <= 48 && row_stride > 0;
    size_t n_rgb = size_ok ? (size_t) row_stride * (size_t) height : 1;
    uint8_t * rgb = malloc(n_rgb);
    for (size_t i = 0; i < n_rgb; i++) {
        rgb[i] = r->pos < r->size ? r->data[r->pos + i % (r->size - r->pos)] : (uint8_t) (i * 37);
    }
    size_t n_px = size_ok ? (size_t) width * (size_t) height : 1;
    int32_t * labels = malloc(sizeof(int32_t) * n_px);
    float * probs = want_probs && n_classes > 0 ? malloc(sizeof(float) * n_px * (size_t) n_classes)
                                                : NULL;
    /* the class set refuses what is wrong with the names (counts, map, non-finite values) */
    clearclip_classes * classes = NULL;
    clearclip_status st = clearclip_classes_init(emb, n_names, P, name_class, n_classes, &classes);
    FUZZ_ASSERT((st == CLEARCLIP_OK) == (classes != NULL), "class set %p with status %s",
                (void *) classes, clearclip_status_name(st));
    if (st == CLEARCLIP_OK) {
        const clearclip_image image = { rgb, width, height, row_stride };
        st = clearclip_segment(fuzz_ctx, &image, classes, sp, labels, probs);
    }
    clearclip_classes_free(classes);
    if (fuzz_verbose()) {
        fprintf(stderr, "segment %dx%d stride %d short %d crop %d stride %d mode %d names %d classes "
                "%d map %d probs %d -> %s %s\n", width, height, row_stride, sp.short_side, sp.crop,
                sp.stride, (int) sp.mode, n_names, n_classes, name_class != NULL, probs != NULL,
                clearclip_status_name(st), clearclip_last_error());
    }
    if (st == CLEARCLIP_OK) {
        FUZZ_ASSERT(size_ok, "%dx%d (row stride %d) accepted", width, height, row_stride);
        for (size_t i = 0; i < n_px; i++) {
            FUZZ_ASSERT(labels[i] >= 0 && labels[i] < n_classes, "label %d at %zu of %d classes",
                        labels[i], i, n_classes);
        }
        if (probs && clean) {
            for (size_t i = 0; i < n_px; i++) {
                int32_t best = 0;
                for (int32_t c = 0; c < n_classes; c++) {
                    float p = probs[(size_t) c * n_px + i];
                    FUZZ_ASSERT(isfinite(p) && p >= 0.0f && p <= 1.0f + 1e-5f,
                                "probability %g of class %d at pixel %zu (%dx%d crop %d stride %d "
                                "short side %d)", p, c, i, width, height, sp.crop, sp.stride,
                                sp.short_side);
                    if (p > probs[(size_t) best * n_px + i]) best = c;
                }
                float pb = probs[(size_t) best * n_px + i];
                /* softmax over the names sums to 1, so some name (and its class) has >= 1/n */
                FUZZ_ASSERT(pb >= 1.0f / (float) n_names - 1e-4f,
                            "best class probability %g < 1/%d at pixel %zu (%dx%d crop %d stride %d "
                            "short side %d)", pb, n_names, i, width, height, sp.crop, sp.stride,
                            sp.short_side);
                int32_t expect = sp.prob_threshold > 0.0f && pb < sp.prob_threshold
                                     ? sp.background_class : best;
                /* ties may go either way */
                FUZZ_ASSERT(labels[i] == expect || probs[(size_t) labels[i] * n_px + i] == pb ||
                                (expect == sp.background_class && labels[i] == expect),
                            "label %d at pixel %zu, best class %d (p %g)", labels[i], i, best, pb);
            }
        }
    } else {
        fuzz_check_error(st, "clearclip_segment");
    }
    free(probs);
    free(labels);
    free(rgb);
    free(emb);
    free(name_class);
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    fuzz_reader r = { data, size, 0 };
    if (fuzz_u8(&r) % 4 == 3) {
        fuzz_encode_tokens(&r);
    } else {
        fuzz_segment(&r);
    }
    return 0;
}
