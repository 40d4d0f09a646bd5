/* Public encoders: text (from strings or ids), global image embedding, dense features. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A NaN or infinity in a weight matrix (the loader checks only the small tensors) spreads to
 * every output it touches: fail instead of returning garbage with success. */
static clearclip_status cc_check_output(const clearclip_context * ctx, const float * out,
                                        size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(out[i])) {
            return cc_error(CLEARCLIP_ERR_MODEL,
                            "model produced non-finite values; the weights of %s contain NaN or "
                            "infinity",
                            ctx->model->path);
        }
    }
    return CLEARCLIP_OK;
}


/*
 * Prompts that begin with the same tokens share those tokens' hidden states: under the causal
 * mask a position depends only on the tokens up to it. So the prompts are sorted by their
 * tokens and packed: a pack is one sequence holding the shared beginning once, then the rest of
 * each prompt through its EOT, with an attention mask that lets each prompt's tokens see the
 * shared part and their own tokens (causally) only, and position ids that continue the shared
 * part for every prompt. A class-name ensemble ("a bad photo of a {}." for each name) shares
 * most of every template this way. Packs are run in batches of similar length.
 */

/* Longest pack: its attention grows with the square of its length. */
#define CC_PACK_TOKENS 96
/* Tokens per graph run (packs x longest pack): large enough to keep the matrix products
 * efficient, small enough that the compute buffer stays a few MiB. */
#define CC_BATCH_TOKENS 512
#define CC_BATCH_PACKS 64

typedef struct cc_text_rows {
    const int32_t * tokens;
    int32_t         row_length;
    const int32_t * eot;
} cc_text_rows;

typedef struct cc_pack {
    int32_t first, count; /* prompts order[first .. first + count) */
    int32_t shared;       /* leading tokens all of them have in common and the pack holds once */
    int32_t length;       /* shared + the rest of every prompt through its EOT */
} cc_pack;

static const int32_t * cc_row(const cc_text_rows * r, int32_t i) {
    return r->tokens + (size_t) i * r->row_length;
}

/* Leading tokens rows a and b have in common, short of the earlier EOT (every prompt keeps at
 * least its EOT token of its own). */
static int32_t cc_common_start(const cc_text_rows * r, int32_t a, int32_t b) {
    const int32_t * ta = cc_row(r, a), * tb = cc_row(r, b);
    const int32_t n = r->eot[a] < r->eot[b] ? r->eot[a] : r->eot[b];
    int32_t i = 0;
    while (i < n && ta[i] == tb[i]) i++;
    return i;
}

static int cc_compare_rows(const cc_text_rows * r, int32_t a, int32_t b) {
    const int32_t * ta = cc_row(r, a), * tb = cc_row(r, b);
    const int32_t n = (r->eot[a] < r->eot[b] ? r->eot[a] : r->eot[b]) + 1;
    for (int32_t i = 0; i < n; i++) {
        if (ta[i] != tb[i]) return ta[i] < tb[i] ? -1 : 1;
    }
    if (r->eot[a] != r->eot[b]) return r->eot[a] < r->eot[b] ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* Sorts row indices by their tokens (bottom-up merge sort; tmp holds n entries). */
static void cc_sort_rows(const cc_text_rows * r, int32_t * idx, int32_t * tmp, int32_t n) {
    for (int32_t width = 1; width < n; width *= 2) {
        for (int32_t lo = 0; lo < n; lo += 2 * width) {
            const int32_t mid = lo + width < n ? lo + width : n;
            const int32_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            int32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = cc_compare_rows(r, idx[i], idx[j]) <= 0 ? idx[i++] : idx[j++];
            while (i < mid) tmp[k++] = idx[i++];
            while (j < hi) tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, sizeof(int32_t) * (size_t) n);
    }
}

/* Packs consecutive prompts of the sorted order while sharing their common beginning saves work:
 * a new prompt joins if the pack then costs no more tokens than the pack and the prompt apart,
 * and the prompt does not share more with its successor (which would start a better pack). */
static int32_t cc_make_packs(const cc_text_rows * r, const int32_t * order, int32_t n,
                             cc_pack * packs) {
    int32_t n_packs = 0;
    for (int32_t i = 0; i < n;) {
        cc_pack * p = &packs[n_packs++];
        p->first  = i;
        p->count  = 1;
        p->shared = 0;
        p->length = r->eot[order[i]] + 1;
        int32_t sum = p->length;           /* members' tokens through their EOT */
        int32_t cap = r->eot[order[i]];    /* what they all have in common */
        for (int32_t j = i + 1; j < n; j++) {
            const int32_t own = r->eot[order[j]] + 1;
            int32_t l = cc_common_start(r, order[j - 1], order[j]);
            if (l > cap) l = cap;
            const int32_t length = sum + own - p->count * l;
            const bool successor = j + 1 < n && cc_common_start(r, order[j], order[j + 1]) > l;
            if (l < 2 || length > p->length + own || length > CC_PACK_TOKENS || successor) break;
            p->count++;
            p->shared = cap = l;
            p->length = length;
            sum += own;
        }
        i += p->count;
    }
    return n_packs;
}

static int cc_by_pack_length(const void * a, const void * b) {
    const cc_pack * x = a, * y = b;
    if (x->length != y->length) return x->length < y->length ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Runs packs[0..n) (sorted by length) as one batch: n sequences of the longest pack's length,
 * each with up to k prompts. Writes each prompt's embedding to its row of out. */
static clearclip_status cc_encode_packs(clearclip_context * ctx, const cc_text_rows * r,
                                        const int32_t * order, const cc_pack * packs, int32_t n,
                                        int32_t k, float * out) {
    const size_t P = (size_t) ctx->model->hp.text.proj_dim;
    const int32_t T = packs[n - 1].length;
    cc_graph * g = NULL;
    clearclip_status st = cc_get_graph(
        ctx, (cc_graph_key) { .kind = CC_GRAPH_TEXT, .text = { .n_seq = n, .n_tokens = T, .prompts = k } }, &g);
    if (st) return st;

    /* int32 and float inputs share the scratch buffer (same element size) */
    const size_t rows = (size_t) n * T;
    size_t need = 2 * rows + rows * T + (size_t) n * k + rows * k + (size_t) n * k * P + rows;
    int32_t * ids = (int32_t *) cc_scratch(ctx, need);
    if (!ids) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    int32_t * pos       = ids + rows;
    float *   mask      = (float *) (pos + rows);
    int32_t * pool      = (int32_t *) (mask + rows * T);
    float *   pool_mask = (float *) (pool + (size_t) n * k);
    float *   emb       = pool_mask + rows * k;
    /* per token of a pack: -1 shared beginning, m the pack's m-th prompt, -2 padding */
    int32_t * segment   = (int32_t *) (emb + (size_t) n * k * P);

    for (int32_t b = 0; b < n; b++) {
        const cc_pack * p = &packs[b];
        int32_t * bid = ids + (size_t) b * T, * bpos = pos + (size_t) b * T;
        int32_t * seg = segment + (size_t) b * T, * bpool = pool + (size_t) b * k;
        const int32_t * first = cc_row(r, order[p->first]);
        int32_t t = 0;
        for (; t < p->shared; t++) {
            bid[t] = first[t];
            bpos[t] = t;
            seg[t] = -1;
        }
        for (int32_t m = 0; m < p->count; m++) {
            const int32_t * row = cc_row(r, order[p->first + m]);
            for (int32_t j = p->shared; j <= r->eot[order[p->first + m]]; j++, t++) {
                bid[t] = row[j];
                bpos[t] = j;
                seg[t] = m;
            }
            bpool[m] = b * T + t - 1; /* the prompt's EOT */
        }
        for (; t < T; t++) {
            bid[t] = ctx->model->eos_id;
            bpos[t] = 0;
            seg[t] = -2;
        }
        for (int32_t m = p->count; m < k; m++) bpool[m] = bpool[0];
        for (int32_t q = 0; q < T; q++) {
            float * mrow = mask + ((size_t) b * T + q) * T;
            for (int32_t c = 0; c < T; c++) {
                bool see = seg[q] == -2 ? c == q
                         : c <= q && (seg[c] == -1 || seg[c] == seg[q]);
                mrow[c] = see ? 0.0f : -INFINITY;
            }
        }
        for (int32_t m = 0; m < k; m++) {
            const int32_t own = m < p->count ? m : 0;
            float * mrow = pool_mask + ((size_t) b * k + m) * T;
            for (int32_t c = 0; c < T; c++) {
                mrow[c] = seg[c] == -1 || seg[c] == own ? 0.0f : -INFINITY;
            }
        }
    }
    ggml_backend_tensor_set(g->in_ids, ids, 0, ggml_nbytes(g->in_ids));
    ggml_backend_tensor_set(g->in_positions, pos, 0, ggml_nbytes(g->in_positions));
    if (g->in_mask) ggml_backend_tensor_set(g->in_mask, mask, 0, ggml_nbytes(g->in_mask));
    ggml_backend_tensor_set(g->in_eot, pool, 0, ggml_nbytes(g->in_eot));
    ggml_backend_tensor_set(g->in_pool_mask, pool_mask, 0, ggml_nbytes(g->in_pool_mask));
    st = cc_compute(ctx, g);
    if (st) return st;
    ggml_backend_tensor_get(g->out, emb, 0, ggml_nbytes(g->out));
    for (int32_t b = 0; b < n; b++) {
        for (int32_t m = 0; m < packs[b].count; m++) {
            memcpy(out + (size_t) order[packs[b].first + m] * P, emb + ((size_t) b * k + m) * P,
                   P * sizeof(float));
        }
    }
    return CLEARCLIP_OK;
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
            /* format the message before freeing: it reads eot[i] */
            const int32_t pos = eot[i];
            free(eot);
            return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                            "row %d: <|endoftext|> at position %d is beyond the context length %d",
                            i, pos, hp->context_length);
        }
    }
    int32_t * order = malloc(sizeof(int32_t) * 2 * (size_t) n_texts);
    cc_pack * packs = malloc(sizeof(cc_pack) * (size_t) n_texts);
    if (!order || !packs) {
        free(order);
        free(packs);
        free(eot);
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    const cc_text_rows r = { .tokens = tokens, .row_length = row_length, .eot = eot };
    for (int32_t i = 0; i < n_texts; i++) order[i] = i;
    cc_sort_rows(&r, order, order + n_texts, n_texts);
    const int32_t n_packs = cc_make_packs(&r, order, n_texts, packs);
    qsort(packs, (size_t) n_packs, sizeof(cc_pack), cc_by_pack_length);
    clearclip_status st = CLEARCLIP_OK;
    for (int32_t first = 0; first < n_packs && !st;) {
        int32_t n = 0, k = 0;
        while (first + n < n_packs && n < CC_BATCH_PACKS &&
               (n + 1) * packs[first + n].length <= CC_BATCH_TOKENS) {
            if (packs[first + n].count > k) k = packs[first + n].count;
            n++;
        }
        if (n == 0) { /* a prompt longer than a batch (a model with such a context) runs alone */
            k = packs[first].count;
            n = 1;
        }
        st = cc_encode_packs(ctx, &r, order, packs + first, n, k, out);
        first += n;
    }
    if (!st) st = cc_check_output(ctx, out, (size_t) n_texts * (size_t) hp->text.proj_dim);
    free(order);
    free(packs);
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
    clearclip_status st = cc_need_text(ctx->model);
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
    clearclip_status st = cc_need_text(ctx->model);
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
    clearclip_status st = cc_need_vision(ctx->model);
    if (st) return st;
    /* so that a non-finite output can only come from the weights */
    for (size_t i = 0, n = (size_t) 3 * (size_t) width * (size_t) height; i < n; i++) {
        if (!isfinite(pixels[i])) {
            return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "pixels[%zu] is %g, must be finite",
                            i, (double) pixels[i]);
        }
    }
    return CLEARCLIP_OK;
}

/* Uploads the inputs of a vision graph and runs it; pixels are already grid-sized. */
static clearclip_status cc_run_vision(clearclip_context * ctx, cc_graph * g, const float * pixels) {
    ggml_backend_tensor_set(g->in_pixels, pixels, 0, ggml_nbytes(g->in_pixels));
    ggml_backend_tensor_set(g->in_pos, g->pos_host, 0, ggml_nbytes(g->in_pos));
    if (g->in_mask) {
        ggml_backend_tensor_set(g->in_mask, g->mask_host, 0, ggml_nbytes(g->in_mask));
    }
    if (g->in_bias) {
        ggml_backend_tensor_set(g->in_bias, g->bias_host, 0, ggml_nbytes(g->in_bias));
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
    st = cc_get_graph(
        ctx, (cc_graph_key) { .kind = CC_GRAPH_IMAGE, .vision = { .gw = width / p, .gh = height / p } }, &g);
    if (st) return st;
    st = cc_run_vision(ctx, g, pixels);
    if (st) return st;
    ggml_backend_tensor_get(g->out, out, 0, ggml_nbytes(g->out));
    return cc_check_output(ctx, out, (size_t) ggml_nelements(g->out));
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
    clearclip_status st = cc_need_vision(model);
    if (st) return st;
    const int32_t p = model->hp.patch_size;
    *grid_width  = (width + p - 1) / p;
    *grid_height = (height + p - 1) / p;
    return CLEARCLIP_OK;
}

clearclip_status cc_dense_features(clearclip_context * ctx, const float * pixels, int32_t width,
                                   int32_t height, clearclip_block_mode mode, float naclip_std,
                                   float * out, int32_t * gw_out, int32_t * gh_out) {
    const int32_t p = ctx->model->hp.patch_size;
    const int32_t gw = (width + p - 1) / p, gh = (height + p - 1) / p;
    cc_graph * g = NULL;
    const cc_graph_key key = {
        .kind = CC_GRAPH_DENSE, .vision = { .gw = gw, .gh = gh, .mode = mode, .naclip_std = naclip_std },
    };
    clearclip_status st = cc_get_graph(ctx, key, &g);
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
    if ((st = cc_check_output(ctx, out, (size_t) ggml_nelements(g->out)))) return st;
    if (gw_out) *gw_out = gw;
    if (gh_out) *gh_out = gh;
    return CLEARCLIP_OK;
}

clearclip_status clearclip_dense_features_ex(clearclip_context * ctx, const float * pixels,
                                             int32_t width, int32_t height,
                                             clearclip_block_mode mode, float gaussian_std,
                                             float * out) {
    cc_clear_error();
    clearclip_status st = cc_check_image_args(ctx, pixels, width, height, out);
    if (st) return st;
    if (!cc_mode_known(mode)) {
        return cc_error(CLEARCLIP_ERR_UNSUPPORTED, "unknown block mode %d", (int) mode);
    }
    if (!isfinite(gaussian_std) || !(gaussian_std > 0.0f)) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "gaussian_std must be positive and finite, got %g", (double) gaussian_std);
    }
    return cc_dense_features(ctx, pixels, width, height, mode, gaussian_std, out, NULL, NULL);
}

clearclip_status clearclip_dense_features(clearclip_context * ctx, const float * pixels,
                                          int32_t width, int32_t height, clearclip_block_mode mode,
                                          float * out) {
    return clearclip_dense_features_ex(ctx, pixels, width, height, mode,
                                       CLEARCLIP_NACLIP_DEFAULT_STD, out);
}
