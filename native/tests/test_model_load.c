/* Model loading: a valid tiny model and broken variants, each rejected with the right status
 * and a message naming the problem; towers, tokenizer-less files, naming conventions. */
#include "clearclip.h"
#include "test_common.h"
#include "tiny_model.h"

#include <math.h>

static char path_buf[1024];
static const char * tmp_path(const char * name) {
    snprintf(path_buf, sizeof(path_buf), "%s/%s", test_tmp_dir(), name);
    return path_buf;
}

static clearclip_status load_variant(const tiny_variant * v, const char * name,
                                     clearclip_model ** m) {
    const char * p = tmp_path(name);
    CHECK(write_tiny_model(p, v));
    *m = NULL;
    return clearclip_model_load(p, clearclip_model_default_params(), m);
}

static void expect_load_error(const tiny_variant * v, const char * name, clearclip_status st,
                              const char * needle) {
    clearclip_model * m = NULL;
    CHECK_STATUS(load_variant(v, name, &m), st, needle);
    CHECK(m == NULL);
    clearclip_model_free(m);
}

static float norm(const float * x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double) x[i] * x[i];
    return (float) sqrt(s);
}

static void text_embed(clearclip_model * m, float * out) {
    clearclip_context_params cp = clearclip_context_default_params();
    cp.n_threads = 1;
    cp.backend   = "cpu";
    clearclip_context * c = NULL;
    CHECK(clearclip_context_init(m, cp, &c) == CLEARCLIP_OK);
    const int32_t ids[2][6] = { { TINY_BOS, 3, 4, 5, TINY_EOS, 0 }, { TINY_BOS, 7, TINY_EOS, 1, 1, 1 } };
    CHECK_MSG(clearclip_encode_tokens(c, &ids[0][0], 2, 6, out) == CLEARCLIP_OK, "%s",
              clearclip_last_error());
    clearclip_context_free(c);
}

static void valid_model(void) {
    tiny_variant v = { 0 };
    clearclip_model * m = NULL;
    CHECK_MSG(load_variant(&v, "tiny.gguf", &m) == CLEARCLIP_OK, "%s", clearclip_last_error());
    if (!m) return;
    clearclip_model_info info;
    CHECK(clearclip_model_get_info(m, &info) == CLEARCLIP_OK);
    CHECK(info.has_text && info.has_vision && info.use_gelu);
    CHECK(info.projection_dim == TINY_P && info.text_width == TINY_W && info.text_layers == 1);
    CHECK(info.vision_layers == 2 && info.vision_heads == TINY_HEADS && info.vision_ffn == TINY_F);
    CHECK(info.context_length == TINY_CTX && info.vocab_size == TINY_VOCAB);
    CHECK(info.image_size == TINY_IMAGE && info.patch_size == TINY_PATCH);
    CHECK(fabsf(info.image_std[2] - 0.27577711f) < 1e-7f);
    CHECK(strcmp(info.name, "tiny test model") == 0);

    /* no tokenizer in this file */
    int32_t ids[8], n = 0;
    CHECK_STATUS(clearclip_tokenize(m, "a photo", ids, 8, &n), CLEARCLIP_ERR_MODEL, "tokenizer");

    float a[2 * TINY_P];
    text_embed(m, a);
    CHECK(fabsf(norm(a, TINY_P) - 1.0f) < 1e-5f && fabsf(norm(a + TINY_P, TINY_P) - 1.0f) < 1e-5f);

    /* reading instead of mapping gives the same numbers, up to the order of the sums: only mapped
     * weights are packed for the engine's own products (reading keeps ggml's) */
    clearclip_model * m2 = NULL;
    clearclip_model_params mp = clearclip_model_default_params();
    mp.use_mmap = false;
    CHECK(clearclip_model_load(tmp_path("tiny.gguf"), mp, &m2) == CLEARCLIP_OK);
    float b[2 * TINY_P];
    text_embed(m2, b);
    float worst = 0.0f;
    for (int i = 0; i < 2 * TINY_P; i++) worst = fmaxf(worst, fabsf(a[i] - b[i]));
    CHECK_MSG(worst < 1e-5f, "read and mapped embeddings differ by %g", worst);
    clearclip_model_free(m2);

    /* Regression (use-after-free): the "beyond the context length" message read the EOT
     * position from freed memory. With one row the freed block is reused by the allocator's
     * free list at once, so the old code printed a garbage position. */
    {
        clearclip_context_params cp = clearclip_context_default_params();
        cp.n_threads = 1;
        cp.backend   = "cpu";
        clearclip_context * c = NULL;
        CHECK(clearclip_context_init(m, cp, &c) == CLEARCLIP_OK);
        int32_t row[TINY_CTX + 2];
        for (int i = 0; i < TINY_CTX + 2; i++) row[i] = 3;
        row[0]           = TINY_BOS;
        row[TINY_CTX + 1] = TINY_EOS;
        float o[TINY_P];
        CHECK_STATUS(clearclip_encode_tokens(c, row, 1, TINY_CTX + 2, o),
                     CLEARCLIP_ERR_INVALID_ARGUMENT,
                     "row 0: <|endoftext|> at position 9 is beyond the context length 8");
        clearclip_context_free(c);
    }

    /* clip.cpp's swapped ffn names load to the same model */
    tiny_variant sw = { .swap_ffn = true };
    CHECK_MSG(load_variant(&sw, "tiny-swapped.gguf", &m2) == CLEARCLIP_OK, "%s",
              clearclip_last_error());
    if (m2) {
        text_embed(m2, b);
        CHECK(memcmp(a, b, sizeof(a)) == 0);
        clearclip_model_free(m2);
    }

    /* a tower can be left out at load time */
    mp = clearclip_model_default_params();
    mp.load_text = false;
    CHECK(clearclip_model_load(tmp_path("tiny.gguf"), mp, &m2) == CLEARCLIP_OK);
    clearclip_context * c = NULL;
    CHECK(clearclip_context_init(m2, clearclip_context_default_params(), &c) == CLEARCLIP_OK);
    const int32_t row[3] = { TINY_BOS, 2, TINY_EOS };
    CHECK_STATUS(clearclip_encode_tokens(c, row, 1, 3, b), CLEARCLIP_ERR_NO_TOWER, "no text tower");
    clearclip_context_free(c);
    clearclip_model_free(m2);

    /* ... but not both: a model that can compute nothing is refused (found by fuzz_model_load) */
    mp.load_vision = false;
    m2 = NULL;
    CHECK_STATUS(clearclip_model_load(tmp_path("tiny.gguf"), mp, &m2), CLEARCLIP_ERR_NO_TOWER,
                 "the load asked for neither tower");
    CHECK(m2 == NULL);
    clearclip_model_free(m);
}

static void one_tower_files(void) {
    tiny_variant tv = { .no_vision = true };
    clearclip_model * m = NULL;
    CHECK_MSG(load_variant(&tv, "text-only.gguf", &m) == CLEARCLIP_OK, "%s", clearclip_last_error());
    if (m) {
        clearclip_context * c = NULL;
        CHECK(clearclip_context_init(m, clearclip_context_default_params(), &c) == CLEARCLIP_OK);
        float px[3 * 32 * 32] = { 0 }, out[TINY_P];
        CHECK_STATUS(clearclip_encode_image(c, px, 32, 32, out), CLEARCLIP_ERR_NO_TOWER,
                     "no vision tower");
        int32_t gw, gh;
        CHECK_STATUS(clearclip_dense_grid(m, 32, 32, &gw, &gh), CLEARCLIP_ERR_NO_TOWER, "vision");
        clearclip_context_free(c);
        clearclip_model_free(m);
    }
    tiny_variant vv = { .no_text = true };
    CHECK_MSG(load_variant(&vv, "vision-only.gguf", &m) == CLEARCLIP_OK, "%s", clearclip_last_error());
    if (m) {
        clearclip_context * c = NULL;
        CHECK(clearclip_context_init(m, clearclip_context_default_params(), &c) == CLEARCLIP_OK);
        const char * texts[] = { "a photo" };
        float out[TINY_P];
        CHECK_STATUS(clearclip_encode_text(c, texts, 1, out), CLEARCLIP_ERR_NO_TOWER, "no text tower");
        float px[3 * 32 * 32] = { 0 };
        CHECK_MSG(clearclip_encode_image(c, px, 32, 32, out) == CLEARCLIP_OK, "%s",
                  clearclip_last_error());
        CHECK(fabsf(norm(out, TINY_P) - 1.0f) < 1e-5f);
        clearclip_context_free(c);
        clearclip_model_free(m);
    }
    tiny_variant wide = { .wide_int_keys = true };
    CHECK_MSG(load_variant(&wide, "wide-keys.gguf", &m) == CLEARCLIP_OK, "%s", clearclip_last_error());
    clearclip_model_free(m);
}

static void broken_files(void) {
    tiny_variant v = { .skip_tensor = "v.blk.1.attn_k.bias" };
    expect_load_error(&v, "missing.gguf", CLEARCLIP_ERR_MODEL, "missing tensor 'v.blk.1.attn_k.bias'");

    v = (tiny_variant) { .bad_shape_tensor = "v.blk.0.attn_q.weight" };
    expect_load_error(&v, "shape.gguf", CLEARCLIP_ERR_MODEL,
                      "tensor 'v.blk.0.attn_q.weight' has shape [32, 16], expected [32, 32]");

    v = (tiny_variant) { .retype_tensor = "t.blk.0.ffn_down.weight", .retype = GGML_TYPE_Q2_K };
    expect_load_error(&v, "q2k.gguf", CLEARCLIP_ERR_UNSUPPORTED,
                      "unsupported tensor type q2_K for 't.blk.0.ffn_down.weight' (supported: f32, "
                      "f16, q8_0, q5_0, q5_1, q4_0, q4_1)");

    v = (tiny_variant) { .retype_tensor = "v.class_embd", .retype = GGML_TYPE_Q8_0 };
    expect_load_error(&v, "q8-vector.gguf", CLEARCLIP_ERR_UNSUPPORTED,
                      "unsupported tensor type q8_0 for 'v.class_embd'");

    v = (tiny_variant) { .arch = "llama" };
    expect_load_error(&v, "llama.gguf", CLEARCLIP_ERR_MODEL, "expected 'clip'");

    /* LLaVA projector files: by key, and by the missing last block / post-LN / projection */
    v = (tiny_variant) { .llava_key = true };
    expect_load_error(&v, "mmproj-key.gguf", CLEARCLIP_ERR_MODEL, "LLaVA projector");
    v = (tiny_variant) { .skip_prefix = "v.blk.1." };
    expect_load_error(&v, "mmproj-block.gguf", CLEARCLIP_ERR_MODEL, "lacks the final vision block");
    v = (tiny_variant) { .skip_prefix = "v.post_ln" , .skip_tensor = "visual_projection.weight" };
    expect_load_error(&v, "mmproj-post.gguf", CLEARCLIP_ERR_MODEL, "Convert the original CLIP");

    /* truncated data: cut the end off a valid file */
    const char * p = tmp_path("truncated.gguf");
    tiny_variant ok = { 0 };
    CHECK(write_tiny_model(p, &ok));
    FILE * f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char * data = malloc((size_t) size);
    CHECK(fread(data, 1, (size_t) size, f) == (size_t) size);
    fclose(f);
    f = fopen(p, "wb");
    fwrite(data, 1, (size_t) size - 100, f);
    fclose(f);
    clearclip_model * m = NULL;
    CHECK_STATUS(clearclip_model_load(p, clearclip_model_default_params(), &m), CLEARCLIP_ERR_FORMAT,
                 "file truncated: tensor 'visual_projection.weight' data ends at byte");

    /* header cut short */
    f = fopen(p, "wb");
    fwrite(data, 1, 200, f);
    fclose(f);
    CHECK_STATUS(clearclip_model_load(p, clearclip_model_default_params(), &m), CLEARCLIP_ERR_FORMAT,
                 "GGUF header");
    free(data);

    /* not GGUF at all */
    p = tmp_path("garbage.gguf");
    f = fopen(p, "wb");
    fputs("PK\003\004 this is a zip file, not a model", f);
    fclose(f);
    CHECK_STATUS(clearclip_model_load(p, clearclip_model_default_params(), &m), CLEARCLIP_ERR_FORMAT,
                 "not a GGUF file");

    CHECK_STATUS(clearclip_model_load(tmp_path("does-not-exist.gguf"),
                                      clearclip_model_default_params(), &m),
                 CLEARCLIP_ERR_IO, "does-not-exist.gguf: cannot open");
    CHECK_STATUS(clearclip_model_load(NULL, clearclip_model_default_params(), &m),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "path");
    CHECK_STATUS(clearclip_model_load(p, clearclip_model_default_params(), NULL),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "out");
}

int main(void) {
    valid_model();
    one_tower_files();
    broken_files();
    return test_finish("test_model_load");
}
