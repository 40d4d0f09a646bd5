/* The context's tensor callback (clearclip_context_set_tensor_callback): the named intermediates
 * of the vision and text graphs arrive in order with their shapes, the last is the graph's output
 * and equals what the public call returns, the trunk's tensors are the same whichever final block
 * follows, and with the callback cleared the results stay the same. On the CPU backend with the
 * tiny model (two vision blocks: one in the trunk, the last; one text block). */
#include "clearclip.h"
#include "test_common.h"
#include "tiny_model.h"

#include <math.h>

#define MAX_SEEN 32

typedef struct seen_tensor {
    char    name[64];
    int32_t n_dims;
    int64_t ne[4];
    float * data;
} seen_tensor;

typedef struct recorder {
    seen_tensor t[MAX_SEEN];
    int         n, calls_beyond;
} recorder;

static void record(const char * name, int32_t n_dims, const int64_t * ne, const float * data,
                   void * ud) {
    recorder * r = ud;
    if (r->n >= MAX_SEEN) {
        r->calls_beyond++;
        return;
    }
    seen_tensor * s = &r->t[r->n++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    s->n_dims = n_dims;
    size_t n = 1;
    for (int i = 0; i < 4; i++) {
        s->ne[i] = ne[i];
        n *= (size_t) ne[i];
    }
    s->data = malloc(n * sizeof(float));
    if (s->data) memcpy(s->data, data, n * sizeof(float));
}

static void recorder_reset(recorder * r) {
    for (int i = 0; i < r->n; i++) free(r->t[i].data);
    memset(r, 0, sizeof(*r));
}

static const seen_tensor * find(const recorder * r, const char * name) {
    for (int i = 0; i < r->n; i++) {
        if (strcmp(r->t[i].name, name) == 0) return &r->t[i];
    }
    return NULL;
}

static size_t count(const seen_tensor * s) {
    return (size_t) (s->ne[0] * s->ne[1] * s->ne[2] * s->ne[3]);
}

static bool all_finite(const seen_tensor * s) {
    for (size_t i = 0; s->data && i < count(s); i++) {
        if (!isfinite(s->data[i])) return false;
    }
    return s->data != NULL;
}

/* A 2-D tensor [ne0, ne1] (1 beyond). */
static void check_shape(const seen_tensor * s, const char * name, int64_t ne0, int64_t ne1) {
    CHECK_MSG(s != NULL, "no tensor '%s'", name);
    if (!s) return;
    CHECK_MSG(s->ne[0] == ne0 && s->ne[1] == ne1 && s->ne[2] == 1 && s->ne[3] == 1 &&
                  s->n_dims == (ne1 > 1 ? 2 : 1),
              "'%s' is [%lld, %lld, %lld, %lld] (%d dims), expected [%lld, %lld]", name,
              (long long) s->ne[0], (long long) s->ne[1], (long long) s->ne[2],
              (long long) s->ne[3], s->n_dims, (long long) ne0, (long long) ne1);
    CHECK_MSG(all_finite(s), "'%s' has non-finite values", name);
}

/* The rows of a trunk tensor: the CLS token and the patches, plus padding with the plain
 * attention (to a multiple of 32). */
static void check_trunk(const seen_tensor * s, const char * name, int64_t n_tok) {
    CHECK_MSG(s != NULL, "no tensor '%s'", name);
    if (!s) return;
    CHECK_MSG(s->ne[0] == TINY_W && (s->ne[1] == n_tok || (s->ne[1] % 32 == 0 && s->ne[1] > n_tok)) &&
                  s->ne[2] == 1 && s->ne[3] == 1,
              "'%s' is [%lld, %lld, ...], expected [%d, %lld or padded]", name,
              (long long) s->ne[0], (long long) s->ne[1], TINY_W, (long long) n_tok);
    CHECK_MSG(all_finite(s), "'%s' has non-finite values", name);
}

static void check_order(const recorder * r, const char * const * names, int n) {
    CHECK_MSG(r->n == n && r->calls_beyond == 0, "%d tensors handed over, expected %d",
              r->n + r->calls_beyond, n);
    for (int i = 0; i < n && i < r->n; i++) {
        CHECK_MSG(strcmp(r->t[i].name, names[i]) == 0, "tensor %d is '%s', expected '%s'", i,
                  r->t[i].name, names[i]);
    }
}

/* The last tensor handed over is the graph's output and equals what the public call returned. */
static void check_out(const recorder * r, const float * expected, int64_t rows, const char * call) {
    const seen_tensor * out = r->n > 0 ? &r->t[r->n - 1] : NULL;
    check_shape(out, "out", TINY_P, rows);
    CHECK_MSG(out && out->data && strcmp(out->name, "out") == 0 &&
                  memcmp(out->data, expected, sizeof(float) * (size_t) (rows * TINY_P)) == 0,
              "the last tensor differs from %s' output", call);
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/tiny-tensor-callback.gguf", test_tmp_dir());
    tiny_variant v = { 0 };
    CHECK(write_tiny_model(path, &v));
    clearclip_model * m = NULL;
    CHECK_MSG(clearclip_model_load(path, clearclip_model_default_params(), &m) == CLEARCLIP_OK,
              "%s", clearclip_last_error());
    clearclip_context_params cp = clearclip_context_default_params();
    cp.backend = "cpu";
    cp.n_threads = 2;
    clearclip_context * c = NULL;
    CHECK_MSG(m && clearclip_context_init(m, cp, &c) == CLEARCLIP_OK, "%s", clearclip_last_error());
    if (!c) return test_finish("test_tensor_callback");

    /* a 3 x 2 patch grid: not square, so that a swapped width and height shows */
    enum { GW = 3, GH = 2, N = GW * GH, IW = GW * TINY_PATCH, IH = GH * TINY_PATCH };
    static float pixels[3 * IW * IH];
    for (size_t i = 0; i < sizeof(pixels) / sizeof(pixels[0]); i++) {
        pixels[i] = (float) ((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    }
    static float dense[N * TINY_P], dense_again[N * TINY_P], global[TINY_P], text[TINY_P];

    recorder r = { .n = 0 };
    clearclip_context_set_tensor_callback(c, record, &r);

    /* dense features, ClearCLIP's final block */
    CHECK_MSG(clearclip_dense_features(c, pixels, IW, IH, CLEARCLIP_MODE_CLEARCLIP, dense) ==
                  CLEARCLIP_OK, "%s", clearclip_last_error());
    static const char * const dense_names[] = { "v.patch_embd", "v.pre_ln", "v.blk.0",
                                                "v.last.attn", "v.last", "out" };
    check_order(&r, dense_names, 6);
    check_shape(find(&r, "v.patch_embd"), "v.patch_embd", TINY_W, N);
    check_trunk(find(&r, "v.pre_ln"), "v.pre_ln", N + 1);
    check_trunk(find(&r, "v.blk.0"), "v.blk.0", N + 1);
    check_trunk(find(&r, "v.last.attn"), "v.last.attn", N + 1);
    check_shape(find(&r, "v.last"), "v.last", TINY_W, N);
    check_out(&r, dense, N, "clearclip_dense_features");
    const seen_tensor * blk0 = find(&r, "v.blk.0");
    size_t blk0_n = blk0 ? count(blk0) : 0;
    float * blk0_clearclip = blk0 && blk0->data ? malloc(blk0_n * sizeof(float)) : NULL;
    if (blk0_clearclip) memcpy(blk0_clearclip, blk0->data, blk0_n * sizeof(float));

    /* the same image through MaskCLIP's final block: another graph, the same trunk */
    recorder_reset(&r);
    CHECK(clearclip_dense_features(c, pixels, IW, IH, CLEARCLIP_MODE_MASKCLIP, dense_again) ==
          CLEARCLIP_OK);
    check_order(&r, dense_names, 6);
    blk0 = find(&r, "v.blk.0");
    CHECK_MSG(blk0 && blk0->data && blk0_clearclip && count(blk0) == blk0_n &&
                  memcmp(blk0->data, blk0_clearclip, blk0_n * sizeof(float)) == 0,
              "v.blk.0 differs between two final-block modes");
    check_out(&r, dense_again, N, "clearclip_dense_features (MaskCLIP)");
    check_shape(find(&r, "v.last.attn"), "v.last.attn", TINY_W, N); /* MaskCLIP: the patches' values */
    free(blk0_clearclip);

    /* the global embedding: the last block on the CLS row alone */
    recorder_reset(&r);
    CHECK(clearclip_encode_image(c, pixels, IW, IH, global) == CLEARCLIP_OK);
    check_order(&r, dense_names, 6);
    check_shape(find(&r, "v.last"), "v.last", TINY_W, 1);
    check_out(&r, global, 1, "clearclip_encode_image");

    /* the text tower: one block, so only the pooled rows of the last one and the output */
    recorder_reset(&r);
    const int32_t ids[3] = { TINY_BOS, 2, TINY_EOS };
    CHECK_MSG(clearclip_encode_tokens(c, ids, 1, 3, text) == CLEARCLIP_OK, "%s",
              clearclip_last_error());
    static const char * const text_names[] = { "t.last", "out" };
    check_order(&r, text_names, 2);
    check_shape(find(&r, "t.last"), "t.last", TINY_W, 1);
    check_out(&r, text, 1, "clearclip_encode_tokens");

    /* cleared: no more calls, and the graphs without kept intermediates give the same results */
    recorder_reset(&r);
    clearclip_context_set_tensor_callback(c, NULL, &r);
    CHECK(clearclip_dense_features(c, pixels, IW, IH, CLEARCLIP_MODE_CLEARCLIP, dense_again) ==
          CLEARCLIP_OK);
    CHECK_MSG(r.n == 0, "%d calls after the callback was cleared", r.n);
    CHECK_MSG(memcmp(dense, dense_again, sizeof(dense)) == 0,
              "dense features differ with and without the tensor callback");
    CHECK(clearclip_encode_image(c, pixels, IW, IH, global) == CLEARCLIP_OK);
    CHECK(r.n == 0);
    clearclip_context_set_tensor_callback(NULL, record, &r); /* ignored, like the abort callback's */

    recorder_reset(&r);
    clearclip_context_free(c);
    clearclip_model_free(m);
    return test_finish("test_tensor_callback");
}
