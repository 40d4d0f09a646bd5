/* Transformer building blocks shared by the text and vision graphs. */
#include "internal.h"

#include <math.h>

struct ggml_tensor * cc_f32(struct ggml_context * ctx, struct ggml_tensor * t) {
    /* Vectors may be stored as f16; element-wise ops are only guaranteed for f32 on all
     * backends, and the cast is tiny next to the matrix products. */
    return t->type == GGML_TYPE_F32 ? t : ggml_cast(ctx, t, GGML_TYPE_F32);
}

struct ggml_tensor * cc_layer_norm(struct ggml_context * ctx, struct ggml_tensor * x,
                                   struct ggml_tensor * w, struct ggml_tensor * b, float eps) {
    x = ggml_norm(ctx, x, eps);
    x = ggml_mul(ctx, x, cc_f32(ctx, w));
    return ggml_add(ctx, x, cc_f32(ctx, b));
}

struct ggml_tensor * cc_linear(struct ggml_context * ctx, struct ggml_tensor * x,
                               struct ggml_tensor * w, struct ggml_tensor * b) {
    x = ggml_mul_mat(ctx, w, x);
    return b ? ggml_add(ctx, x, cc_f32(ctx, b)) : x;
}

/* [W, n, B] -> [head_dim, n, heads, B], made contiguous: on strided views the CPU mul_mat
 * falls back to a slow, poorly threaded dot-product path. */
struct ggml_tensor * cc_split_heads(struct ggml_context * ctx, struct ggml_tensor * x, int heads) {
    int64_t hd = x->ne[0] / heads;
    x = ggml_reshape_4d(ctx, x, hd, heads, x->ne[1], x->ne[2]);
    return ggml_cont(ctx, ggml_permute(ctx, x, 0, 2, 1, 3));
}

/* softmax(k^T q * scale + mask) per head: [n_k, n_q, heads, B]. */
static struct ggml_tensor * cc_attn_probs(struct ggml_context * ctx, struct ggml_tensor * q,
                                          struct ggml_tensor * k, float scale, bool causal,
                                          struct ggml_tensor * mask) {
    struct ggml_tensor * kq = ggml_mul_mat(ctx, k, q);
    if (causal) {
        kq = ggml_diag_mask_inf(ctx, kq, 0);
    }
    return ggml_soft_max_ext(ctx, kq, mask, scale, 0.0f);
}

/* probs [n_k, n_q, heads, B] applied to v [head_dim, n_k, heads, B]; heads merged back to
 * [head_dim*heads, n_q, B]. */
static struct ggml_tensor * cc_attn_apply(struct ggml_context * ctx, struct ggml_tensor * probs,
                                          struct ggml_tensor * v) {
    struct ggml_tensor * vt = ggml_cont(ctx, ggml_permute(ctx, v, 1, 0, 2, 3));
    struct ggml_tensor * o  = ggml_mul_mat(ctx, vt, probs);            /* [hd, n_q, H, B] */
    o = ggml_cont(ctx, ggml_permute(ctx, o, 0, 2, 1, 3));                /* [hd, H, n_q, B] */
    return ggml_reshape_3d(ctx, o, o->ne[0] * o->ne[1], o->ne[2], o->ne[3]);
}

struct ggml_tensor * cc_attention(struct ggml_context * ctx, struct ggml_tensor * q,
                                  struct ggml_tensor * k, struct ggml_tensor * v, float scale,
                                  bool causal, struct ggml_tensor * mask) {
    return cc_attn_apply(ctx, cc_attn_probs(ctx, q, k, scale, causal, mask), v);
}

/* (softmax(q q^T s) + softmax(k k^T s)) v, SCLIP's correlative self-attention. */
struct ggml_tensor * cc_attention_sclip(struct ggml_context * ctx, struct ggml_tensor * q,
                                        struct ggml_tensor * k, struct ggml_tensor * v,
                                        float scale, struct ggml_tensor * mask) {
    struct ggml_tensor * p = ggml_add(ctx, cc_attn_probs(ctx, q, q, scale, false, mask),
                                      cc_attn_probs(ctx, k, k, scale, false, mask));
    return cc_attn_apply(ctx, p, v);
}

struct ggml_tensor * cc_mlp(struct ggml_context * ctx, struct ggml_tensor * x, const cc_layer * l,
                            bool use_gelu) {
    x = cc_linear(ctx, x, l->fc1_w, l->fc1_b);
    if (use_gelu) {
        x = ggml_gelu_erf(ctx, x);
    } else {
        /* quick_gelu x*sigmoid(1.702x) spelled out: ggml_gelu_quick may use an f16 table. */
        x = ggml_mul(ctx, x, ggml_sigmoid(ctx, ggml_scale(ctx, x, 1.702f)));
    }
    return cc_linear(ctx, x, l->fc2_w, l->fc2_b);
}

struct ggml_tensor * cc_block(struct ggml_context * ctx, struct ggml_tensor * x, const cc_layer * l,
                              int heads, float eps, bool use_gelu, bool causal,
                              struct ggml_tensor * mask) {
    struct ggml_tensor * y = cc_layer_norm(ctx, x, l->ln1_w, l->ln1_b, eps);
    float scale = 1.0f / sqrtf((float) (x->ne[0] / heads));
    struct ggml_tensor * q = cc_split_heads(ctx, cc_linear(ctx, y, l->q_w, l->q_b), heads);
    struct ggml_tensor * k = cc_split_heads(ctx, cc_linear(ctx, y, l->k_w, l->k_b), heads);
    struct ggml_tensor * v = cc_split_heads(ctx, cc_linear(ctx, y, l->v_w, l->v_b), heads);
    struct ggml_tensor * a = cc_attention(ctx, q, k, v, scale, causal, mask);
    x = ggml_add(ctx, x, cc_linear(ctx, a, l->o_w, l->o_b));
    struct ggml_tensor * h = cc_layer_norm(ctx, x, l->ln2_w, l->ln2_b, eps);
    return ggml_add(ctx, x, cc_mlp(ctx, h, l, use_gelu));
}
