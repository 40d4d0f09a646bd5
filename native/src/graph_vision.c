/* Vision tower graph: global embedding (CC_GRAPH_IMAGE) or dense patch features of one final-
 * block mode (CC_GRAPH_DENSE) for a gw x gh patch grid. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Host copy of the position embeddings for the graph's grid, interpolated when the grid is
 * not the native one. Computed once per cached graph and uploaded before each run. */
static bool cc_vision_pos(const clearclip_model * m, cc_graph * g, int32_t n_pad) {
    const cc_hparams * hp = &m->hp;
    int32_t W = hp->vision.width, g0 = hp->image_size / hp->patch_size;
    int32_t gw = g->a, gh = g->b;
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
    x = ggml_mul_mat(ctx, w->v_proj, x);
    return ggml_l2_norm(ctx, x, 1e-12f);
}

bool cc_build_vision_graph(clearclip_context * cctx, cc_graph * g) {
    const cc_hparams * hp = &cctx->model->hp;
    const cc_weights * w  = cctx->w;
    struct ggml_context * ctx = g->ctx;
    const int32_t p = hp->patch_size, W = hp->vision.width, heads = hp->vision.heads;
    const int32_t L = hp->vision.layers;
    const int32_t gw = g->a, gh = g->b, n = gw * gh;
    const float eps = hp->vision.eps;
    cc_attn_opts attn = {
        .heads = heads, .scale = 1.0f / sqrtf((float) (W / heads)),
        .impl = cctx->vision_attn, .scratch = NULL, .mask = NULL,
    };

    /* For the plain attention the sequence is padded so that the score products suit ggml's
     * fast CPU GEMM, and the padding is masked out of the softmax. */
    const int32_t n_tok = n + 1;
    const int32_t n_pad = attn.impl != CC_ATTN_PLAIN ? n_tok
                                                     : (n_tok + CC_SEQ_PAD - 1) / CC_SEQ_PAD * CC_SEQ_PAD;
    if (!cc_vision_pos(cctx->model, g, n_pad)) return false;
    if (attn.impl == CC_ATTN_FUSED) {
        attn.scratch = cc_fused_attention_scratch(ctx, n_tok, W / heads, cctx->n_threads);
    }
    if (n_pad > n_tok) {
        g->mask_host = malloc(sizeof(float) * (size_t) n_pad * n_pad);
        if (!g->mask_host) return false;
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

    /* Patch embedding as im2col + one matrix product: same result as a stride-p convolution,
     * and it lets the kernel keep whatever type the file stores. */
    struct ggml_tensor * kernel = w->v_patch_embd;
    struct ggml_tensor * cols = ggml_im2col(ctx, kernel, g->in_pixels, p, p, 0, 0, 1, 1, true,
                                            GGML_TYPE_F32);                  /* [3pp, gw, gh] */
    struct ggml_tensor * patches =
        ggml_mul_mat(ctx, ggml_reshape_2d(ctx, kernel, (int64_t) 3 * p * p, W),
                     ggml_reshape_2d(ctx, cols, (int64_t) 3 * p * p, n));   /* [W, n] */
    struct ggml_tensor * cls = ggml_reshape_2d(ctx, cc_f32(ctx, w->v_class_embd), W, 1);
    struct ggml_tensor * x = ggml_concat(ctx, cls, patches, 1);              /* [W, n+1] */
    if (n_pad > n_tok) {
        x = ggml_pad(ctx, x, 0, n_pad - n_tok, 0, 0);                        /* [W, n_pad] */
    }
    x = ggml_add(ctx, x, g->in_pos);
    x = cc_layer_norm(ctx, x, w->v_pre_ln_w, w->v_pre_ln_b, eps);

    for (int32_t i = 0; i < L - 1; i++) {
        x = cc_block(ctx, x, &w->v_layers[i], eps, hp->use_gelu, &attn);
    }
    const cc_layer * l = &w->v_layers[L - 1];
    struct ggml_tensor * y = cc_layer_norm(ctx, x, l->ln1_w, l->ln1_b, eps);
    struct ggml_tensor * out;

    if (g->kind == CC_GRAPH_IMAGE) {
        /* Only the CLS token is pooled, so everything after attention runs on that row alone
         * (without padding also the query projection and the attention itself). */
        struct ggml_tensor * k = cc_linear(ctx, y, l->k_w, l->k_b);
        struct ggml_tensor * v = cc_linear(ctx, y, l->v_w, l->v_b);
        struct ggml_tensor * a;
        if (attn.impl != CC_ATTN_PLAIN) {
            a = cc_attention(ctx, cc_linear(ctx, cc_rows(ctx, y, 0, 1), l->q_w, l->q_b), k, v, &attn);
        } else {
            a = cc_rows(ctx, cc_attention(ctx, cc_linear(ctx, y, l->q_w, l->q_b), k, v, &attn), 0, 1);
        }
        struct ggml_tensor * x0 = ggml_add(ctx, cc_rows(ctx, x, 0, 1), cc_linear(ctx, a, l->o_w, l->o_b));
        struct ggml_tensor * h = cc_layer_norm(ctx, x0, l->ln2_w, l->ln2_b, eps);
        x0 = ggml_add(ctx, x0, cc_mlp(ctx, h, l, hp->use_gelu));
        out = cc_project(ctx, w, x0, eps);
    } else {
        struct ggml_tensor * last;
        switch ((clearclip_block_mode) g->mode) {
            case CLEARCLIP_MODE_VANILLA: {
                struct ggml_tensor * q = cc_linear(ctx, y, l->q_w, l->q_b);
                struct ggml_tensor * k = cc_linear(ctx, y, l->k_w, l->k_b);
                struct ggml_tensor * v = cc_linear(ctx, y, l->v_w, l->v_b);
                struct ggml_tensor * a = cc_attention(ctx, q, k, v, &attn);
                struct ggml_tensor * xp = ggml_add(ctx, cc_rows(ctx, x, 1, n),
                                                   cc_linear(ctx, cc_rows(ctx, a, 1, n), l->o_w, l->o_b));
                struct ggml_tensor * h = cc_layer_norm(ctx, xp, l->ln2_w, l->ln2_b, eps);
                last = ggml_add(ctx, xp, cc_mlp(ctx, h, l, hp->use_gelu));
                break;
            }
            case CLEARCLIP_MODE_MASKCLIP: {
                /* Identity attention: each token's output is its own value vector. */
                struct ggml_tensor * v = cc_linear(ctx, cc_rows(ctx, y, 1, n), l->v_w, l->v_b);
                last = cc_linear(ctx, v, l->o_w, l->o_b);
                break;
            }
            case CLEARCLIP_MODE_SCLIP: {
                struct ggml_tensor * q = cc_linear(ctx, y, l->q_w, l->q_b);
                struct ggml_tensor * k = cc_linear(ctx, y, l->k_w, l->k_b);
                struct ggml_tensor * v = cc_linear(ctx, y, l->v_w, l->v_b);
                struct ggml_tensor * a = cc_attention_sclip(ctx, q, k, v, &attn);
                last = cc_linear(ctx, cc_rows(ctx, a, 1, n), l->o_w, l->o_b);
                break;
            }
            case CLEARCLIP_MODE_NACLIP: {
                /* key-key attention plus the neighbourhood bias; the bias (one per grid shape
                 * and std) is computed here, once, and uploaded before each run */
                const int64_t rows = y->ne[1];
                g->bias_host = malloc(sizeof(float) * (size_t) rows * (size_t) rows);
                if (!g->bias_host) return false;
                cc_naclip_bias(gw, gh, (int32_t) rows, g->fparam, g->bias_host);
                g->in_bias = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, rows, rows);
                ggml_set_name(g->in_bias, "naclip_bias");
                ggml_set_input(g->in_bias);
                struct ggml_tensor * k = cc_linear(ctx, y, l->k_w, l->k_b);
                struct ggml_tensor * v = cc_linear(ctx, y, l->v_w, l->v_b);
                struct ggml_tensor * a = cc_attention_biased(ctx, k, k, v, g->in_bias, &attn);
                last = cc_linear(ctx, cc_rows(ctx, a, 1, n), l->o_w, l->o_b);
                break;
            }
            case CLEARCLIP_MODE_CLEARCLIP:
            default: {
                struct ggml_tensor * q = cc_linear(ctx, y, l->q_w, l->q_b);
                struct ggml_tensor * v = cc_linear(ctx, y, l->v_w, l->v_b);
                struct ggml_tensor * a = cc_attention(ctx, q, q, v, &attn);
                last = cc_linear(ctx, cc_rows(ctx, a, 1, n), l->o_w, l->o_b);
                break;
            }
        }
        out = cc_project(ctx, w, last, eps);
    }
    ggml_set_name(out, "out");
    ggml_set_output(out);
    g->out = out;
    ggml_build_forward_expand(g->gf, out);
    return true;
}
