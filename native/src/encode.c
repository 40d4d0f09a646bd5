/* Public encoders: text (from strings or ids), global image embedding, dense features. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prompts per text graph run: large enough to keep the matrix products efficient, small enough
 * that the compute buffer stays a few MiB. */
#define CC_TEXT_BATCH 64
/* Beyond this side length the attention matrices alone would not fit in memory anyway. */
#define CC_MAX_SIDE 16384

static clearclip_status cc_need_text(const clearclip_context * ctx) {
    if (!ctx->model->hp.has_text) {
        return cc_error(CLEARCLIP_ERR_NO_TOWER, "%s: the model has no text tower (loaded)",
                        ctx->model->path);
    }
    return CLEARCLIP_OK;
}

static clearclip_status cc_need_vision(const clearclip_context * ctx) {
    if (!ctx->model->hp.has_vision) {
        return cc_error(CLEARCLIP_ERR_NO_TOWER, "%s: the model has no vision tower (loaded)",
                        ctx->model->path);
    }
    return CLEARCLIP_OK;
}

/* Runs rows idx[0..n) of a validated id matrix; eot[r] is row r's pooling position. Row idx[i]'s
 * embedding goes to out + idx[i] * projection_dim. */
static clearclip_status cc_encode_chunk(clearclip_context * ctx, const int32_t * tokens,
                                        int32_t row_length, const int32_t * eot,
                                        const int32_t * idx, int32_t n, float * out) {
    const cc_hparams * hp = &ctx->model->hp;
    const size_t P = (size_t) hp->text.proj_dim;
    int32_t n_tok = 0;
    for (int32_t i = 0; i < n; i++) {
        if (eot[idx[i]] + 1 > n_tok) n_tok = eot[idx[i]] + 1;
    }

    cc_graph * g = NULL;
    clearclip_status st = cc_get_graph(ctx, CC_GRAPH_TEXT, n, n_tok, 0, &g);
    if (st) return st;

    /* int32 ids and floats share the scratch buffer (same element size) */
    size_t need = (size_t) n * n_tok * 2 + (size_t) n_tok + (size_t) n + (size_t) n * P;
    int32_t * ids = (int32_t *) cc_scratch(ctx, need);
    if (!ids) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    int32_t * pos  = ids + (size_t) n * n_tok;
    int32_t * rows = pos + n_tok;
    float *   emb  = (float *) (rows + n);
    float *   mask = emb + (size_t) n * P;
    for (int32_t i = 0; i < n; i++) {
        const int32_t * src = tokens + (size_t) idx[i] * row_length;
        int32_t * dst = ids + (size_t) i * n_tok;
        for (int32_t j = 0; j < n_tok; j++) {
            /* Positions after EOT are never attended to by the EOT row; any valid id works. */
            dst[j] = j <= eot[idx[i]] ? src[j] : ctx->model->eos_id;
        }
        rows[i] = i * n_tok + eot[idx[i]];
        for (int32_t j = 0; j < n_tok; j++) {
            mask[(size_t) i * n_tok + j] = j <= eot[idx[i]] ? 0.0f : -INFINITY;
        }
    }
    for (int32_t j = 0; j < n_tok; j++) pos[j] = j;
    ggml_backend_tensor_set(g->in_ids, ids, 0, ggml_nbytes(g->in_ids));
    ggml_backend_tensor_set(g->in_positions, pos, 0, ggml_nbytes(g->in_positions));
    ggml_backend_tensor_set(g->in_eot, rows, 0, ggml_nbytes(g->in_eot));
    ggml_backend_tensor_set(g->in_mask, mask, 0, ggml_nbytes(g->in_mask));
    st = cc_compute(ctx, g);
    if (st) return st;
    ggml_backend_tensor_get(g->out, emb, 0, ggml_nbytes(g->out));
    for (int32_t i = 0; i < n; i++) {
        memcpy(out + (size_t) idx[i] * P, emb + (size_t) i * P, P * sizeof(float));
    }
    return CLEARCLIP_OK;
}

typedef struct cc_len_idx {
    int32_t len, idx;
} cc_len_idx;

static int cc_by_length(const void * a, const void * b) {
    const cc_len_idx * x = a, * y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static clearclip_status cc_encode_ids(clearclip_context * ctx, const int32_t * tokens,
                                      int32_t n_texts, int32_t row_length, float * out) {
    const cc_hparams * hp = &ctx->model->hp;
    int32_t * eot = malloc(sizeof(int32_t) * (size_t) n_texts);
    if (!eot) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    for (int32_t i = 0; i < n_texts; i++) {
        const int32_t * row = tokens + (size_t) i * row_length;
        eot[i] = -1;
        for (int32_t j = 0; j < row_length; j++) {
            if (row[j] == ctx->model->eos_id) {
                eot[i] = j;
                break;
            }
            if (row[j] < 0 || row[j] >= hp->vocab_size) {
                free(eot);
                return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                                "token id %d at row %d, position %d is outside the vocabulary "
                                "(0..%d)",
                                row[j], i, j, hp->vocab_size - 1);
            }
        }
        if (eot[i] < 0) {
            free(eot);
            return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                            "row %d has no <|endoftext|> token (id %d)", i, ctx->model->eos_id);
        }
        if (eot[i] >= hp->context_length) {
            free(eot);
            return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                            "row %d: <|endoftext|> at position %d is beyond the context length %d",
                            i, eot[i], hp->context_length);
        }
    }
    /* Batches of prompts of (nearly) equal length: a batch runs at its longest prompt's length,
     * so in input order much of the work would be padding. */
    cc_len_idx * order = malloc(sizeof(cc_len_idx) * (size_t) n_texts);
    int32_t * idx = malloc(sizeof(int32_t) * (size_t) n_texts);
    if (!order || !idx) {
        free(order);
        free(idx);
        free(eot);
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (int32_t i = 0; i < n_texts; i++) {
        order[i].len = eot[i];
        order[i].idx = i;
    }
    qsort(order, (size_t) n_texts, sizeof(cc_len_idx), cc_by_length);
    for (int32_t i = 0; i < n_texts; i++) idx[i] = order[i].idx;
    free(order);
    clearclip_status st = CLEARCLIP_OK;
    for (int32_t first = 0; first < n_texts && !st; first += CC_TEXT_BATCH) {
        int32_t n = n_texts - first < CC_TEXT_BATCH ? n_texts - first : CC_TEXT_BATCH;
        st = cc_encode_chunk(ctx, tokens, row_length, eot, idx + first, n, out);
    }
    free(idx);
    free(eot);
    return st;
}

clearclip_status clearclip_encode_tokens(clearclip_context * ctx, const int32_t * tokens,
                                         int32_t n_texts, int32_t row_length, float * out) {
    cc_clear_error();
    if (!ctx || !tokens || !out) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "ctx, tokens and out must not be NULL");
    }
    if (n_texts <= 0 || row_length < 2) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "n_texts (%d) must be positive and row_length (%d) at least 2", n_texts,
                        row_length);
    }
    clearclip_status st = cc_need_text(ctx);
    if (st) return st;
    return cc_encode_ids(ctx, tokens, n_texts, row_length, out);
}

clearclip_status clearclip_encode_text(clearclip_context * ctx, const char * const * texts,
                                       int32_t n_texts, float * out) {
    cc_clear_error();
    if (!ctx || !texts || !out) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "ctx, texts and out must not be NULL");
    }
    if (n_texts <= 0) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "n_texts must be positive, got %d",
                        n_texts);
    }
    clearclip_status st = cc_need_text(ctx);
    if (st) return st;
    const int32_t L = ctx->model->hp.context_length;
    int32_t * ids = malloc(sizeof(int32_t) * (size_t) n_texts * (size_t) L);
    if (!ids) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    for (int32_t i = 0; i < n_texts && !st; i++) {
        if (!texts[i]) {
            st = cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "texts[%d] is NULL", i);
            break;
        }
        int32_t n = 0;
        st = clearclip_tokenize(ctx->model, texts[i], ids + (size_t) i * L, L, &n);
        if (st) {
            char msg[512];
            snprintf(msg, sizeof(msg), "%s", clearclip_last_error());
            st = cc_error(st, "texts[%d]: %s", i, msg);
        }
    }
    if (!st) st = cc_encode_ids(ctx, ids, n_texts, L, out);
    free(ids);
    return st;
}

static clearclip_status cc_check_image_args(const clearclip_context * ctx, const float * pixels,
                                            int32_t width, int32_t height, const float * out) {
    if (!ctx || !pixels || !out) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "ctx, pixels and out must not be NULL");
    }
    if (width <= 0 || height <= 0 || width > CC_MAX_SIDE || height > CC_MAX_SIDE) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "image size %dx%d must be within 1..%d per side", width, height,
                        CC_MAX_SIDE);
    }
    return cc_need_vision(ctx);
}

/* Uploads the inputs of a vision graph and runs it; pixels are already grid-sized. */
static clearclip_status cc_run_vision(clearclip_context * ctx, cc_graph * g, const float * pixels) {
    ggml_backend_tensor_set(g->in_pixels, pixels, 0, ggml_nbytes(g->in_pixels));
    ggml_backend_tensor_set(g->in_pos, g->pos_host, 0, ggml_nbytes(g->in_pos));
    if (g->in_mask) {
        ggml_backend_tensor_set(g->in_mask, g->mask_host, 0, ggml_nbytes(g->in_mask));
    }
    return cc_compute(ctx, g);
}

clearclip_status clearclip_encode_image(clearclip_context * ctx, const float * pixels,
                                        int32_t width, int32_t height, float * out) {
    cc_clear_error();
    clearclip_status st = cc_check_image_args(ctx, pixels, width, height, out);
    if (st) return st;
    const int32_t p = ctx->model->hp.patch_size;
    if (width % p != 0 || height % p != 0) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "image size %dx%d is not a multiple of the patch size %d (use "
                        "clearclip_dense_features for arbitrary sizes)",
                        width, height, p);
    }
    cc_graph * g = NULL;
    st = cc_get_graph(ctx, CC_GRAPH_IMAGE, width / p, height / p, -1, &g);
    if (st) return st;
    st = cc_run_vision(ctx, g, pixels);
    if (st) return st;
    ggml_backend_tensor_get(g->out, out, 0, ggml_nbytes(g->out));
    return CLEARCLIP_OK;
}

clearclip_status clearclip_dense_grid(const clearclip_model * model, int32_t width, int32_t height,
                                      int32_t * grid_width, int32_t * grid_height) {
    cc_clear_error();
    if (!model || !grid_width || !grid_height) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "model, grid_width and grid_height must not be NULL");
    }
    if (width <= 0 || height <= 0 || width > CC_MAX_SIDE || height > CC_MAX_SIDE) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "image size %dx%d must be within 1..%d per side", width, height,
                        CC_MAX_SIDE);
    }
    if (!model->hp.has_vision) {
        return cc_error(CLEARCLIP_ERR_NO_TOWER, "%s: the model has no vision tower (loaded)",
                        model->path);
    }
    const int32_t p = model->hp.patch_size;
    *grid_width  = (width + p - 1) / p;
    *grid_height = (height + p - 1) / p;
    return CLEARCLIP_OK;
}

clearclip_status cc_dense_features(clearclip_context * ctx, const float * pixels, int32_t width,
                                   int32_t height, clearclip_block_mode mode, float * out,
                                   int32_t * gw_out, int32_t * gh_out) {
    const int32_t p = ctx->model->hp.patch_size;
    const int32_t gw = (width + p - 1) / p, gh = (height + p - 1) / p;
    cc_graph * g = NULL;
    clearclip_status st = cc_get_graph(ctx, CC_GRAPH_DENSE, gw, gh, (int32_t) mode, &g);
    if (st) return st;
    const float * input = pixels;
    const int32_t pw = gw * p, ph = gh * p;
    if (pw != width || ph != height) {
        /* Zero padding of the normalised image, the smaller half at left/top. */
        const int32_t left = (pw - width) / 2, top = (ph - height) / 2;
        float * padded = cc_scratch(ctx, (size_t) 3 * pw * ph);
        if (!padded) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
        memset(padded, 0, sizeof(float) * 3 * (size_t) pw * ph);
        for (int c = 0; c < 3; c++) {
            for (int32_t y = 0; y < height; y++) {
                memcpy(padded + ((size_t) c * ph + top + y) * pw + left,
                       pixels + ((size_t) c * height + y) * width, sizeof(float) * (size_t) width);
            }
        }
        input = padded;
    }
    st = cc_run_vision(ctx, g, input);
    if (st) return st;
    ggml_backend_tensor_get(g->out, out, 0, ggml_nbytes(g->out));
    if (gw_out) *gw_out = gw;
    if (gh_out) *gh_out = gh;
    return CLEARCLIP_OK;
}

clearclip_status clearclip_dense_features(clearclip_context * ctx, const float * pixels,
                                          int32_t width, int32_t height, clearclip_block_mode mode,
                                          float * out) {
    cc_clear_error();
    clearclip_status st = cc_check_image_args(ctx, pixels, width, height, out);
    if (st) return st;
    if ((int) mode < CLEARCLIP_MODE_CLEARCLIP || (int) mode > CLEARCLIP_MODE_SCLIP) {
        return cc_error(CLEARCLIP_ERR_UNSUPPORTED, "unknown block mode %d", (int) mode);
    }
    return cc_dense_features(ctx, pixels, width, height, mode, out, NULL, NULL);
}
