/* Vision tower graph: global embedding (CC_GRAPH_IMAGE) or dense patch features of one final-
 * block mode (CC_GRAPH_DENSE) for a gw x gh patch grid. One trunk (patch embedding, position
 * embeddings, pre-LN, the first L-1 blocks) and one function per final block; the intermediates
 * carry names ("v.patch_embd", "v.blk.N", "v.last.attn", ...; cc_named) that the tensor callback
 * hands out, for comparing against the reference tensor by tensor. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Host copy of the position embeddings for the graph's grid, interpolated when the grid is
 * not the native one. Computed once per cached graph and uploaded before each run. */
static bool cc_vision_pos(const clearclip_model * m, cc_graph * g, int32_t n_pad) {
    const cc_hparams * hp = &m->hp;
    int32_t W = hp->vision.width, g0 = hp->image_size / hp->patch_size;
    int32_t gw = g->key.vision.gw, gh = g->key.vision.gh;
    size_t n_src = (size_t) W * (size_t) (g0 * g0 + 1);
    /* padding rows stay zero */
    g->pos_host = calloc((size_t) W * (size_t) n_pad, sizeof(float));
    if (!g->pos_host) return false;
    if (gw == g0 && gh == g0) {
        cc_tensor_to_f32_host(m->weights.v_pos_embd, g->pos_host);
        return true;
    }
    float * src = malloc(n_src * sizeof(float));
    if (!src) return false;
    cc_tensor_to_f32_host(m->weights.v_pos_embd, src);
    cc_interp_pos_embd(src, W, g0, gh, gw, g->pos_host);
    free(src);
    return true;
}

/* Rows first..first+n-1 of a [W, rows] activation (contiguous, so no copy is needed). */
static struct ggml_tensor * cc_rows(struct ggml_context * ctx, struct ggml_tensor * x, int64_t first,
                                    int64_t n) {
    return ggml_view_2d(ctx, x, x->ne[0], n, x->nb[1], (size_t) first * x->nb[1]);
}

static struct ggml_tensor * cc_project(struct ggml_context * ctx, const cc_weights * w,
                                       struct ggml_tensor * x, float eps) {
    x = cc_layer_norm(ctx, x, w->v_post_ln_w, w->v_post_ln_b, eps);
    x = cc_linear(ctx, x, w->v_proj, NULL);
    return ggml_l2_norm(ctx, x, 1e-12f);
}

/* What a final block needs besides its layer: the trunk's output x (tokens [W, rows]), its
 * LayerNorm y, the patch count n (tokens 1..n are patches; rows beyond n+1 are padding). */
typedef struct cc_last_in {
    struct ggml_context * ctx;
    cc_graph *            g;
    const cc_layer *      l;
    const cc_hparams *    hp;
    struct ggml_tensor *  x, * y;
    int32_t               n, gw, gh;
    const cc_attn_opts *  attn;
} cc_last_in;

/* The stock block for tokens first..first+count-1 only: their queries against all keys, the
 * residual and the FFN. The global embedding runs it on the CLS row, `vanilla` on the patches.
 * The plain attention takes no subset of queries, so there all rows are computed and cut. */
static struct ggml_tensor * cc_stock_block_rows(const cc_last_in * in, int64_t first, int64_t count) {
    struct ggml_context * ctx = in->ctx;
    const cc_layer * l = in->l;
    struct ggml_tensor * k = cc_linear(ctx, in->y, l->k_w, l->k_b);
    struct ggml_tensor * v = cc_linear(ctx, in->y, l->v_w, l->v_b);
    struct ggml_tensor * a;
    if (in->attn->impl != CC_ATTN_PLAIN) {
        a = cc_attention(ctx, cc_linear(ctx, cc_rows(ctx, in->y, first, count), l->q_w, l->q_b), k, v, in->attn);
    } else {
        a = cc_rows(ctx, cc_attention(ctx, cc_linear(ctx, in->y, l->q_w, l->q_b), k, v, in->attn), first, count);
    }
    a = cc_named(in->g, a, "v.last.attn");
    struct ggml_tensor * x = cc_linear_ex(ctx, a, l->o_w, l->o_b, CC_ACT_NONE, cc_rows(ctx, in->x, first, count));
    struct ggml_tensor * h = cc_layer_norm(ctx, x, l->ln2_w, l->ln2_b, in->hp->vision.eps);
    return cc_mlp_residual(ctx, h, l, in->hp->use_gelu, x);
}

/* The modified blocks end alike: the patches' rows of the attention output through the output
 * projection, with no residual and no FFN. */
static struct ggml_tensor * cc_patch_out(const cc_last_in * in, struct ggml_tensor * a) {
    a = cc_named(in->g, a, "v.last.attn");
    return cc_linear(in->ctx, cc_rows(in->ctx, a, 1, in->n), in->l->o_w, in->l->o_b);
}

static struct ggml_tensor * cc_q(const cc_last_in * in) { return cc_linear(in->ctx, in->y, in->l->q_w, in->l->q_b); }
static struct ggml_tensor * cc_k(const cc_last_in * in) { return cc_linear(in->ctx, in->y, in->l->k_w, in->l->k_b); }
static struct ggml_tensor * cc_v(const cc_last_in * in) { return cc_linear(in->ctx, in->y, in->l->v_w, in->l->v_b); }

/* ClearCLIP: softmax(q q^T) v. */
static struct ggml_tensor * cc_last_clearclip(const cc_last_in * in) {
    struct ggml_tensor * q = cc_q(in);
    return cc_patch_out(in, cc_attention(in->ctx, q, q, cc_v(in), in->attn));
}

/* Stock CLIP: q k^T, residual and FFN. */
static struct ggml_tensor * cc_last_vanilla(const cc_last_in * in) {
    return cc_stock_block_rows(in, 1, in->n);
}

/* MaskCLIP: identity attention, each token's output is its own value vector. */
static struct ggml_tensor * cc_last_maskclip(const cc_last_in * in) {
    struct ggml_tensor * v = cc_linear(in->ctx, cc_rows(in->ctx, in->y, 1, in->n), in->l->v_w, in->l->v_b);
    v = cc_named(in->g, v, "v.last.attn");
    return cc_linear(in->ctx, v, in->l->o_w, in->l->o_b);
}

/* SCLIP: softmax(q q^T) + softmax(k k^T), then v. */
static struct ggml_tensor * cc_last_sclip(const cc_last_in * in) {
    return cc_patch_out(in, cc_attention_sclip(in->ctx, cc_q(in), cc_k(in), cc_v(in), in->attn));
}

/* NACLIP: key-key attention plus the Gaussian neighbourhood bias, which (one per grid shape and
 * std) is computed here, once, kept with the cached graph and uploaded before each run. */
static struct ggml_tensor * cc_last_naclip(const cc_last_in * in) {
    cc_graph * g = in->g;
    const int64_t rows = in->y->ne[1];
    g->bias_host = malloc(sizeof(float) * (size_t) rows * (size_t) rows);
    if (!g->bias_host) return NULL;
    cc_naclip_bias(in->gw, in->gh, (int32_t) rows, g->key.vision.naclip_std, g->bias_host);
    g->in_bias = ggml_new_tensor_2d(in->ctx, GGML_TYPE_F32, rows, rows);
    ggml_set_name(g->in_bias, "naclip_bias");
    ggml_set_input(g->in_bias);
    struct ggml_tensor * k = cc_k(in);
    return cc_patch_out(in, cc_attention_biased(in->ctx, k, k, cc_v(in), g->in_bias, in->attn));
}

typedef struct ggml_tensor * (*cc_last_block_fn)(const cc_last_in * in);

/* Indexed by clearclip_block_mode; a mode without an entry is refused, never defaulted. */
static const cc_last_block_fn cc_last_blocks[CLEARCLIP_MODE_COUNT] = {
    [CLEARCLIP_MODE_CLEARCLIP] = cc_last_clearclip,
    [CLEARCLIP_MODE_VANILLA]   = cc_last_vanilla,
    [CLEARCLIP_MODE_MASKCLIP]  = cc_last_maskclip,
    [CLEARCLIP_MODE_SCLIP]     = cc_last_sclip,
    [CLEARCLIP_MODE_NACLIP]    = cc_last_naclip,
};

/* Patch embedding, position embeddings, pre-LN and blocks 0..L-2: [W, rows]. */
static struct ggml_tensor * cc_vision_trunk(clearclip_context * cctx, cc_graph * g, const cc_attn_opts * attn,
                                            int32_t n_tok, int32_t n_pad) {
    const cc_hparams * hp = &cctx->model->hp;
    const cc_weights * w  = cctx->w;
    struct ggml_context * ctx = g->ctx;
    const int32_t p = hp->patch_size, W = hp->vision.width, n = g->key.vision.gw * g->key.vision.gh;
    const float eps = hp->vision.eps;

    /* Patch embedding as im2col + one matrix product: same result as a stride-p convolution,
     * and it lets the kernel keep whatever type the file stores (an f32 or f16 kernel packed at
     * load goes through the engine's f32 product). */
    struct ggml_tensor * kernel = w->v_patch_embd;
    struct ggml_tensor * cols = ggml_im2col(ctx, kernel, g->in_pixels, p, p, 0, 0, 1, 1, true,
                                            GGML_TYPE_F32);                  /* [3pp, gw, gh] */
    cols = ggml_reshape_2d(ctx, cols, (int64_t) 3 * p * p, n);
    struct ggml_tensor * patches =
        kernel->extra ? cc_f32_mul_mat(ctx, kernel->extra, kernel->type, W, cols, NULL, false, NULL) : NULL;
    if (!patches) patches = ggml_mul_mat(ctx, ggml_reshape_2d(ctx, kernel, (int64_t) 3 * p * p, W), cols); /* [W, n] */
    patches = cc_named(g, patches, "v.patch_embd");
    struct ggml_tensor * cls = ggml_reshape_2d(ctx, cc_f32(ctx, w->v_class_embd), W, 1);
    struct ggml_tensor * x = ggml_concat(ctx, cls, patches, 1);              /* [W, n+1] */
    if (n_pad > n_tok) {
        x = ggml_pad(ctx, x, 0, n_pad - n_tok, 0, 0);                        /* [W, n_pad] */
    }
    x = ggml_add(ctx, x, g->in_pos);
    x = cc_layer_norm(ctx, x, w->v_pre_ln_w, w->v_pre_ln_b, eps);
    x = cc_named(g, x, "v.pre_ln");
    for (int32_t i = 0; i < hp->vision.layers - 1; i++) {
        x = cc_named(g, cc_block(ctx, x, &w->v_layers[i], eps, hp->use_gelu, attn), "v.blk.%d", i);
    }
    return x;
}

clearclip_status cc_build_vision_graph(clearclip_context * cctx, cc_graph * g) {
    const cc_hparams * hp = &cctx->model->hp;
    const cc_weights * w  = cctx->w;
    struct ggml_context * ctx = g->ctx;
    const int32_t p = hp->patch_size, W = hp->vision.width, heads = hp->vision.heads;
    const int32_t L = hp->vision.layers;
    const int32_t gw = g->key.vision.gw, gh = g->key.vision.gh, n = gw * gh;
    const float eps = hp->vision.eps;
    cc_attn_opts attn = {
        .heads = heads, .scale = 1.0f / sqrtf((float) (W / heads)),
        .impl = cctx->vision_attn, .scratch = NULL, .kernel = cctx->vision_attn_kernel, .mask = NULL,
    };
    cc_last_block_fn last_block = NULL;
    if (g->key.kind == CC_GRAPH_DENSE) {
        const clearclip_block_mode mode = g->key.vision.mode;
        if (!cc_mode_known(mode) || !(last_block = cc_last_blocks[mode])) {
            return cc_error(CLEARCLIP_ERR_UNSUPPORTED, "final-block mode %d has no vision graph", (int) mode);
        }
    }
    const clearclip_status oom = CLEARCLIP_ERR_OUT_OF_MEMORY;

    /* For the plain attention the sequence is padded so that the score products suit ggml's
     * fast CPU GEMM, and the padding is masked out of the softmax. */
    const int32_t n_tok = n + 1;
    const int32_t n_pad = attn.impl != CC_ATTN_PLAIN ? n_tok
                                                     : (n_tok + CC_SEQ_PAD - 1) / CC_SEQ_PAD * CC_SEQ_PAD;
    if (!cc_vision_pos(cctx->model, g, n_pad)) return cc_error(oom, "out of memory while building the graph");
    if (attn.impl == CC_ATTN_FUSED) {
        attn.scratch = cc_fused_attention_scratch(ctx, n_tok, W / heads, cctx->n_threads);
    }
    if (n_pad > n_tok) {
        g->mask_host = malloc(sizeof(float) * (size_t) n_pad * n_pad);
        if (!g->mask_host) return cc_error(oom, "out of memory while building the graph");
        for (int32_t i = 0; i < n_pad; i++) {
            for (int32_t j = 0; j < n_pad; j++) {
                g->mask_host[(size_t) i * n_pad + j] = j < n_tok ? 0.0f : -INFINITY;
            }
        }
        g->in_mask = attn.mask = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, n_pad, n_pad);
        ggml_set_name(attn.mask, "mask");
        ggml_set_input(attn.mask);
    }

    g->in_pixels = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, (int64_t) gw * p, (int64_t) gh * p, 3);
    ggml_set_name(g->in_pixels, "pixels");
    ggml_set_input(g->in_pixels);
    g->in_pos = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, W, n_pad);
    ggml_set_name(g->in_pos, "pos");
    ggml_set_input(g->in_pos);

    struct ggml_tensor * x = cc_vision_trunk(cctx, g, &attn, n_tok, n_pad);
    const cc_layer * l = &w->v_layers[L - 1];
    const cc_last_in in = {
        .ctx = ctx, .g = g, .l = l, .hp = hp, .x = x, .y = cc_layer_norm(ctx, x, l->ln1_w, l->ln1_b, eps),
        .n = n, .gw = gw, .gh = gh, .attn = &attn,
    };
    /* The global embedding pools the CLS token, so its last block runs on that row alone. */
    struct ggml_tensor * last = g->key.kind == CC_GRAPH_IMAGE ? cc_stock_block_rows(&in, 0, 1) : last_block(&in);
    if (!last) return cc_error(oom, "out of memory while building the graph");
    last = cc_named(g, last, "v.last");
    struct ggml_tensor * out = cc_named(g, cc_project(ctx, w, last, eps), "out");
    ggml_set_output(out);
    g->out = out;
    ggml_build_forward_expand(g->gf, out);
    return CLEARCLIP_OK;
}
