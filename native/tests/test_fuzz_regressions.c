/*
 * Regression tests for bugs the fuzzers (native/fuzz/) and sanitizers found outside the loader.
 * Each case names the finding; the crashing inputs themselves also stay in the fuzz corpora,
 * which ctest runs through the harnesses. The bugs were undefined behaviour that an ordinary
 * build may survive silently, so these checks fail reliably only under `make sanitize`
 * (ASan + UBSan); the expected values still hold in every build.
 */
#include "clearclip.h"
#include "test_common.h"
#include "tiny_model.h"
#include "segment_call.h"

#include <math.h>
#include <stdint.h>

/*
 * tokenizer.c passed a NULL buffer to memcpy (size 0) when a text was empty after cleanup:
 * html.unescape("&#7;") is U+0007, which ftfy's control-character removal drops, leaving "".
 * open_clip encodes an empty text as <|startoftext|> <|endoftext|>; so does every text below,
 * each empty after one of the cleanup steps (open_clip's SimpleTokenizer.encode gives [] for
 * each of them, checked when this test was written).
 */
static void test_text_empty_after_cleanup(void) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/fuzz_regressions_tokenizer.gguf", test_tmp_dir());
    tiny_variant v = { .tokenizer = true, .no_vision = true };
    CHECK(write_tiny_model(path, &v));
    const tiny_dims d = tiny_dims_of(&v);
    clearclip_model * model = NULL;
    CHECK_STATUS(clearclip_model_load(path, clearclip_model_default_params(), &model), CLEARCLIP_OK, "");
    if (!model) return;
    static const char * const texts[] = {
        "&#7;",          /* the fuzzer's input: a control character after unescaping */
        "",              /* empty from the start */
        " \t\n ",        /* whitespace only */
        "\x07\x1b",      /* control characters only */
        "&amp;#7;",      /* empty only after the second html.unescape */
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        int32_t ids[8] = { 0 }, n = -1;
        clearclip_status st = clearclip_tokenize(model, texts[i], ids, 8, &n);
        CHECK_MSG(st == CLEARCLIP_OK, "text %zu: %s", i, clearclip_last_error());
        CHECK_MSG(n == 2 && ids[0] == d.bos && ids[1] == d.eos,
                  "text %zu: %d ids (%d %d), expected %d %d", i, n, ids[0], ids[1], d.bos, d.eos);
    }
    clearclip_model_free(model);
    remove(path);
}

/*
 * segment.c accepted a stride larger than the crop: windows then leave columns/rows that no
 * window covers, whose averaged logits were 0/0 = NaN, so every class probability came out 0
 * (the fuzzer's invariant: softmax over the names gives some class >= 1/n_names). mmseg's slide
 * inference, the reference, asserts that every pixel is covered; the engine now refuses the
 * parameters, as the Java SegmentOptions already did. A stride equal to the crop still runs and
 * its probabilities are sound.
 */
static void test_stride_larger_than_crop(void) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/fuzz_regressions_segment.gguf", test_tmp_dir());
    tiny_variant v = { 0 };
    CHECK(write_tiny_model(path, &v));
    const tiny_dims d = tiny_dims_of(&v);
    clearclip_model * model = NULL;
    CHECK_STATUS(clearclip_model_load(path, clearclip_model_default_params(), &model), CLEARCLIP_OK, "");
    clearclip_context * ctx = NULL;
    clearclip_context_params cp = clearclip_context_default_params();
    cp.n_threads = 1;
    cp.backend = "cpu";
    if (model) CHECK_STATUS(clearclip_context_init(model, cp, &ctx), CLEARCLIP_OK, "");
    if (!ctx) {
        clearclip_model_free(model);
        return;
    }
    enum { W = 48, H = 48, N = 2 };
    static uint8_t rgb[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) rgb[i] = (uint8_t) (i * 37);
    float emb[N * 64] = { 0 };
    emb[0] = 1.0f;         /* two orthogonal unit vectors */
    emb[d.p + 1] = 1.0f;
    static int32_t labels[W * H];
    static float probs[N * W * H];
    clearclip_segment_params sp = clearclip_segment_default_params();
    sp.short_side = 0;
    sp.crop = 1;  /* the fuzzer's input: 48x48, crop 1, stride 26 */
    sp.stride = 26;
    CHECK_STATUS(segment_call(d.p, ctx, rgb, W, H, W * 3, emb, N, NULL, N, sp, labels, probs),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "uncovered");
    sp.crop = 20;
    sp.stride = 21;
    CHECK_STATUS(segment_call(d.p, ctx, rgb, W, H, W * 3, emb, N, NULL, N, sp, labels, probs),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "stride 21 is larger than crop 20");
    sp.stride = 20; /* windows touch: every pixel covered */
    CHECK_STATUS(segment_call(d.p, ctx, rgb, W, H, W * 3, emb, N, NULL, N, sp, labels, probs),
                 CLEARCLIP_OK, "");
    for (int i = 0; i < W * H; i++) {
        const float p0 = probs[i], p1 = probs[W * H + i];
        CHECK_MSG(fabsf(p0 + p1 - 1.0f) < 1e-4f, "pixel %d: probabilities %g + %g", i, p0, p1);
        if (fabsf(p0 + p1 - 1.0f) >= 1e-4f) break;
    }
    clearclip_context_free(ctx);
    clearclip_model_free(model);
    remove(path);
}

int main(void) {
    test_text_empty_after_cleanup();
    test_stride_larger_than_crop();
    return test_finish("test_fuzz_regressions");
}
