/* Text tower graph for a batch of g->a prompts truncated to g->b tokens. */
#include "internal.h"

#include <math.h>

bool cc_build_text_graph(clearclip_context * cctx, cc_graph * g) {
    const cc_hparams * hp = &cctx->model->hp;
    const cc_weights * w  = cctx->w;
    struct ggml_context * ctx = g->ctx;
    const int32_t n_texts = g->a, n_tok = g->b, W = hp->text.width;
    const float eps = hp->text.eps;
    /* Prompts are short (tens of tokens): the attention is a small part of the text cost, so
     * the plain path with its causal mask serves. */
    cc_attn_opts attn = {
        .heads = hp->text.heads, .scale = 1.0f / sqrtf((float) (W / hp->text.heads)),
        .impl = CC_ATTN_PLAIN, .n_threads = cctx->n_threads, .causal = true, .mask = NULL,
    };

    g->in_ids = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, (int64_t) n_tok * n_texts);
    ggml_set_name(g->in_ids, "ids");
    ggml_set_input(g->in_ids);
    g->in_positions = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n_tok);
    ggml_set_name(g->in_positions, "positions");
    ggml_set_input(g->in_positions);
    g->in_eot = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, n_texts);
    ggml_set_name(g->in_eot, "eot_rows");
    ggml_set_input(g->in_eot);

    struct ggml_tensor * x = ggml_get_rows(ctx, w->t_token_embd, g->in_ids);
    x = ggml_reshape_3d(ctx, x, W, n_tok, n_texts);
    /* get_rows also turns an f16 table into f32 rows. */
    x = ggml_add(ctx, x, ggml_get_rows(ctx, w->t_pos_embd, g->in_positions));

    /* Tokens after a prompt's EOT never influence it under the causal mask, so the batch is
     * cut at the longest EOT and padding beyond it is never computed. */
    const int32_t L = hp->text.layers;
    for (int32_t i = 0; i < L - 1; i++) {
        x = cc_block(ctx, x, &w->t_layers[i], eps, hp->use_gelu, &attn);
    }

    /* Only the EOT rows are pooled, so the last block computes keys and values for every token
     * but its query, attention output and MLP for the EOT rows alone. Their attention spans
     * positions 0..EOT of their own prompt: an additive [n_tok, 1, 1, n_texts] mask, set per
     * batch, hides the padding after shorter prompts. */
    const cc_layer * l = &w->t_layers[L - 1];
    g->in_mask = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, n_tok, 1, 1, n_texts);
    ggml_set_name(g->in_mask, "eot_mask");
    ggml_set_input(g->in_mask);
    attn.causal = false;
    attn.mask   = g->in_mask;
    struct ggml_tensor * y = cc_layer_norm(ctx, x, l->ln1_w, l->ln1_b, eps);
    struct ggml_tensor * k = cc_linear(ctx, y, l->k_w, l->k_b);
    struct ggml_tensor * v = cc_linear(ctx, y, l->v_w, l->v_b);
    const int64_t rows = (int64_t) n_tok * n_texts;
    struct ggml_tensor * ye = ggml_get_rows(ctx, ggml_reshape_2d(ctx, y, W, rows), g->in_eot);
    struct ggml_tensor * q  = ggml_reshape_3d(ctx, cc_linear(ctx, ye, l->q_w, l->q_b), W, 1, n_texts);
    struct ggml_tensor * a  = ggml_reshape_2d(ctx, cc_attention(ctx, q, k, v, &attn), W, n_texts);
    x = ggml_get_rows(ctx, ggml_reshape_2d(ctx, x, W, rows), g->in_eot); /* [W, n_texts] */
    x = ggml_add(ctx, x, cc_linear(ctx, a, l->o_w, l->o_b));
    x = ggml_add(ctx, x, cc_mlp(ctx, cc_layer_norm(ctx, x, l->ln2_w, l->ln2_b, eps), l, hp->use_gelu));
    x = cc_layer_norm(ctx, x, w->t_post_ln_w, w->t_post_ln_b, eps);
    x = ggml_mul_mat(ctx, w->t_proj, x);
    x = ggml_l2_norm(ctx, x, 1e-12f);
    ggml_set_name(x, "out");
    ggml_set_output(x);
    g->out = x;
    ggml_build_forward_expand(g->gf, x);
    return true;
}
