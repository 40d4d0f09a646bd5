/* Text tower graph for g->key.text: n_seq packed sequences of n_tokens tokens, each holding up to
 * `prompts` prompts (see cc_encode_ids: prompts that begin alike share those tokens). */
#include "internal.h"

#include <math.h>

clearclip_status cc_build_text_graph(clearclip_context * cctx, cc_graph * g) {
    const cc_hparams * hp = &cctx->model->hp;
    const cc_weights * w  = cctx->w;
    struct ggml_context * ctx = g->ctx;
    const int32_t n_seq = g->key.text.n_seq, T = g->key.text.n_tokens, K = g->key.text.prompts, W = hp->text.width, L = hp->text.layers;
    const int64_t rows = (int64_t) T * n_seq;
    const float eps = hp->text.eps;

    g->in_ids = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, rows);
    ggml_set_name(g->in_ids, "ids");
    ggml_set_input(g->in_ids);
    g->in_positions = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, rows);
    ggml_set_name(g->in_positions, "positions");
    ggml_set_input(g->in_positions);
    /* Which earlier tokens each token sees: the shared beginning and its own prompt, causally
     * (used by all blocks but the last, so absent for a single-block tower). */
    if (L > 1) {
        g->in_mask = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, T, T, 1, n_seq);
        ggml_set_name(g->in_mask, "mask");
        ggml_set_input(g->in_mask);
    }
    g->in_eot = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, (int64_t) K * n_seq);
    ggml_set_name(g->in_eot, "eot_rows");
    ggml_set_input(g->in_eot);
    g->in_pool_mask = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, T, K, 1, n_seq);
    ggml_set_name(g->in_pool_mask, "eot_mask");
    ggml_set_input(g->in_pool_mask);

    struct ggml_tensor * x = ggml_get_rows(ctx, w->t_token_embd, g->in_ids);
    /* get_rows also turns an f16 table into f32 rows. */
    x = ggml_add(ctx, x, ggml_get_rows(ctx, w->t_pos_embd, g->in_positions));
    x = ggml_reshape_3d(ctx, x, W, T, n_seq);

    /* The packs are short (up to ~100 tokens), so the attention's arithmetic is small, but on
     * the plain path its head split, score products on strided views and copies took about a
     * sixth of the text time; the fused operation takes the masks as they are. */
    cc_attn_opts attn = {
        .heads = hp->text.heads, .scale = 1.0f / sqrtf((float) (W / hp->text.heads)),
        .impl = cctx->text_attn, .scratch = NULL, .kernel = cc_fused_attention_best_kernel(), .mask = g->in_mask,
    };
    if (attn.impl == CC_ATTN_FUSED) {
        attn.scratch = cc_fused_attention_scratch(ctx, T, W / hp->text.heads, cctx->n_threads);
    }
    for (int32_t i = 0; i < L - 1; i++) {
        x = cc_named(g, cc_block(ctx, x, &w->t_layers[i], eps, hp->use_gelu, &attn), "t.blk.%d", i);
    }

    /* Only the EOT rows are pooled, so the last block computes keys and values for every token
     * but its query, attention output and MLP for the EOT rows alone ([W, K, n_seq], padding
     * slots repeat a real one); each sees the shared beginning and its own prompt. */
    const cc_layer * l = &w->t_layers[L - 1];
    attn.mask = g->in_pool_mask;
    struct ggml_tensor * y = cc_layer_norm(ctx, x, l->ln1_w, l->ln1_b, eps);
    struct ggml_tensor * k = cc_linear(ctx, y, l->k_w, l->k_b);
    struct ggml_tensor * v = cc_linear(ctx, y, l->v_w, l->v_b);
    struct ggml_tensor * ye = ggml_get_rows(ctx, ggml_reshape_2d(ctx, y, W, rows), g->in_eot);
    struct ggml_tensor * q  = ggml_reshape_3d(ctx, cc_linear(ctx, ye, l->q_w, l->q_b), W, K, n_seq);
    struct ggml_tensor * a  = ggml_reshape_2d(ctx, cc_attention(ctx, q, k, v, &attn), W, (int64_t) K * n_seq);
    x = ggml_get_rows(ctx, ggml_reshape_2d(ctx, x, W, rows), g->in_eot); /* [W, K * n_seq] */
    x = cc_linear_ex(ctx, a, l->o_w, l->o_b, CC_ACT_NONE, x);
    x = cc_mlp_residual(ctx, cc_layer_norm(ctx, x, l->ln2_w, l->ln2_b, eps), l, hp->use_gelu, x);
    x = cc_named(g, x, "t.last");
    x = cc_layer_norm(ctx, x, w->t_post_ln_w, w->t_post_ln_b, eps);
    x = cc_linear(ctx, x, w->t_proj, NULL);
    x = cc_named(g, ggml_l2_norm(ctx, x, 1e-12f), "out");
    ggml_set_output(x);
    g->out = x;
    ggml_build_forward_expand(g->gf, x);
    return CLEARCLIP_OK;
}
