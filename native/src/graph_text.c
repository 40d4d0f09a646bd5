/* Text tower graph for a batch of g->a prompts truncated to g->b tokens. */
#include "internal.h"

bool cc_build_text_graph(clearclip_context * cctx, cc_graph * g) {
    const cc_hparams * hp = &cctx->model->hp;
    const cc_weights * w  = cctx->w;
    struct ggml_context * ctx = g->ctx;
    const int32_t n_texts = g->a, n_tok = g->b, W = hp->text.width;
    const float eps = hp->text.eps;

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
    for (int32_t i = 0; i < hp->text.layers; i++) {
        x = cc_block(ctx, x, &w->t_layers[i], hp->text.heads, eps, hp->use_gelu, true, NULL);
    }
    x = ggml_reshape_2d(ctx, x, W, (int64_t) n_tok * n_texts);
    x = ggml_get_rows(ctx, x, g->in_eot); /* [W, n_texts], pooled before the (row-wise) LN */
    x = cc_layer_norm(ctx, x, w->t_post_ln_w, w->t_post_ln_b, eps);
    x = ggml_mul_mat(ctx, w->t_proj, x);
    x = ggml_l2_norm(ctx, x, 1e-12f);
    ggml_set_name(x, "out");
    ggml_set_output(x);
    g->out = x;
    ggml_build_forward_expand(g->gf, x);
    return true;
}
