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
    struct ggml_tensor * y = cc_f32_layer_norm(ctx, x, w, b, eps);
    if (y) return y;
    x = ggml_norm(ctx, x, eps);
    x = ggml_mul(ctx, x, cc_f32(ctx, w));
    return ggml_add(ctx, x, cc_f32(ctx, b));
}

/* quick_gelu x*sigmoid(1.702x) = silu(1.702x)/1.702 in ggml's ops: ggml_gelu_quick reads an f16
 * table (too coarse), and ggml's silu is vectorised where its sigmoid is scalar. */
static struct ggml_tensor * cc_quick_gelu(struct ggml_context * ctx, struct ggml_tensor * x) {
    return ggml_scale(ctx, ggml_silu(ctx, ggml_scale(ctx, x, 1.702f)), 1.0f / 1.702f);
}

struct ggml_tensor * cc_linear_ex(struct ggml_context * ctx, struct ggml_tensor * x, struct ggml_tensor * w,
                                  struct ggml_tensor * b, cc_act act, struct ggml_tensor * residual) {
    /* A batch [W, n, B] goes through as one [W, n*B] product: ggml's CPU backend multiplies a
     * 3-D right-hand side slice by slice, and for a batch of short prompts that means many
     * small products that each stream the whole weight matrix from memory. */
    const int64_t n = x->ne[1], batch = x->ne[2];
    if (batch > 1 && ggml_is_contiguous(x)) {
        x = ggml_reshape_2d(ctx, x, x->ne[0], n * batch);
    }
    /* weights packed for the engine's own products (cc_weights.packed_ctx) take them where the
     * activations suit them; the f32 product also adds an f32 bias, applies the activation and
     * adds the residual in the same pass */
    struct ggml_tensor * packed = w->extra;
    struct ggml_tensor * y = NULL;
    if (packed && (w->type == GGML_TYPE_Q8_0 || w->type == GGML_TYPE_Q4_0)) {
        y = cc_q8_mul_mat(ctx, packed, w->type, w->ne[1], x);
    } else if (packed && (w->type == GGML_TYPE_F32 || w->type == GGML_TYPE_F16)) {
        /* an f16 bias is added after the product, and the activation then after it */
        struct ggml_tensor * fused_b = b && b->type == GGML_TYPE_F32 ? b : NULL;
        const bool gelu = act == CC_ACT_QUICK_GELU && (!b || fused_b);
        struct ggml_tensor * r2 = gelu || act == CC_ACT_NONE ? residual : NULL;
        if (r2 && batch > 1 && x->ne[2] == 1 && ggml_is_contiguous(r2)) {
            r2 = ggml_reshape_2d(ctx, r2, r2->ne[0], ggml_nelements(r2) / r2->ne[0]);
        }
        /* a residual the product does not take (a strided batch) is added after it */
        y = r2 ? cc_f32_mul_mat(ctx, packed, w->type, w->ne[1], x, fused_b, gelu, r2) : NULL;
        if (y) {
            residual = NULL;
        } else {
            y = cc_f32_mul_mat(ctx, packed, w->type, w->ne[1], x, fused_b, gelu, NULL);
        }
        if (y && fused_b) b = NULL;
        if (y && gelu) act = CC_ACT_NONE;
    }
    x = y ? y : ggml_mul_mat(ctx, w, x);
    if (b) x = ggml_add(ctx, x, cc_f32(ctx, b));
    if (act == CC_ACT_QUICK_GELU) x = cc_quick_gelu(ctx, x);
    if (batch > 1 && x->ne[2] == 1) x = ggml_reshape_3d(ctx, x, x->ne[0], n, batch);
    return residual ? ggml_add(ctx, residual, x) : x;
}

struct ggml_tensor * cc_linear(struct ggml_context * ctx, struct ggml_tensor * x,
                               struct ggml_tensor * w, struct ggml_tensor * b) {
    return cc_linear_ex(ctx, x, w, b, CC_ACT_NONE, NULL);
}

/* [W, n, B] -> [head_dim, n, heads, B], made contiguous: on strided views the CPU mul_mat
 * falls back to a slow, poorly threaded dot-product path. */
static struct ggml_tensor * cc_split_heads(struct ggml_context * ctx, struct ggml_tensor * x,
                                           int heads) {
    int64_t hd = x->ne[0] / heads;
    x = ggml_reshape_4d(ctx, x, hd, heads, x->ne[1], x->ne[2]);
    return ggml_cont(ctx, ggml_permute(ctx, x, 0, 2, 1, 3));
}

/* [W, n, B] -> [head_dim, n, heads, B] as a strided view, no copy: flash attention reads rows
 * through their strides. */
static struct ggml_tensor * cc_head_view(struct ggml_context * ctx, struct ggml_tensor * x,
                                         int heads) {
    int64_t hd = x->ne[0] / heads;
    return ggml_view_4d(ctx, x, hd, x->ne[1], heads, x->ne[2], x->nb[1], (size_t) hd * x->nb[0],
                        x->nb[2], 0);
}

/* softmax(k^T q * scale + mask) per head: [n_k, n_q, heads, B]. */
static struct ggml_tensor * cc_attn_probs(struct ggml_context * ctx, struct ggml_tensor * q,
                                          struct ggml_tensor * k, float scale,
                                          struct ggml_tensor * mask) {
    return ggml_soft_max_ext(ctx, ggml_mul_mat(ctx, k, q), mask, scale, 0.0f);
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

/* Fused softmax(k^T q * scale) v without materialising the scores; all in f32. Its output is
 * already [head_dim, heads, n_q, B], i.e. heads merged. */
static struct ggml_tensor * cc_attn_flash(struct ggml_context * ctx, struct ggml_tensor * q,
                                          struct ggml_tensor * k, struct ggml_tensor * v,
                                          int heads, float scale) {
    struct ggml_tensor * o = ggml_flash_attn_ext(ctx, cc_head_view(ctx, q, heads),
                                                 cc_head_view(ctx, k, heads),
                                                 cc_head_view(ctx, v, heads), NULL, scale, 0.0f,
                                                 0.0f);
    ggml_flash_attn_ext_set_prec(o, GGML_PREC_F32);
    return ggml_reshape_3d(ctx, o, o->ne[0] * o->ne[1], o->ne[2], o->ne[3]);
}

struct ggml_tensor * cc_attention(struct ggml_context * ctx, struct ggml_tensor * q,
                                  struct ggml_tensor * k, struct ggml_tensor * v,
                                  const cc_attn_opts * o) {
    if (o->impl == CC_ATTN_FUSED) {
        struct ggml_tensor * a = cc_fused_attention_with(ctx, q, k, v, o->mask, o->heads, o->scratch, o->kernel);
        /* else (no room left for its work share) the score matrix below, which takes the mask too */
        if (a) return a;
    } else if (o->impl == CC_ATTN_FLASH) {
        return cc_attn_flash(ctx, q, k, v, o->heads, o->scale);
    }
    struct ggml_tensor * qh = cc_split_heads(ctx, q, o->heads);
    struct ggml_tensor * kh = k == q ? qh : cc_split_heads(ctx, k, o->heads);
    return cc_attn_apply(ctx, cc_attn_probs(ctx, qh, kh, o->scale, o->mask),
                         cc_split_heads(ctx, v, o->heads));
}

/* (softmax(q q^T s) + softmax(k k^T s)) v, SCLIP's correlative self-attention; with the fused
 * kernels as the sum of the two products, which is the same by linearity in v. */
struct ggml_tensor * cc_attention_sclip(struct ggml_context * ctx, struct ggml_tensor * q,
                                        struct ggml_tensor * k, struct ggml_tensor * v,
                                        const cc_attn_opts * o) {
    if (o->impl != CC_ATTN_PLAIN) {
        return ggml_add(ctx, cc_attention(ctx, q, q, v, o), cc_attention(ctx, k, k, v, o));
    }
    struct ggml_tensor * qh = cc_split_heads(ctx, q, o->heads);
    struct ggml_tensor * kh = cc_split_heads(ctx, k, o->heads);
    struct ggml_tensor * p = ggml_add(ctx, cc_attn_probs(ctx, qh, qh, o->scale, o->mask),
                                      cc_attn_probs(ctx, kh, kh, o->scale, o->mask));
    return cc_attn_apply(ctx, p, cc_split_heads(ctx, v, o->heads));
}

struct ggml_tensor * cc_attention_biased(struct ggml_context * ctx, struct ggml_tensor * q,
                                         struct ggml_tensor * k, struct ggml_tensor * v,
                                         struct ggml_tensor * bias, const cc_attn_opts * o) {
    /* The fused and flash kernels take no per-pair bias; this one block runs through the score
     * matrix, whose softmax adds the bias after scaling (so the bias is not scaled). */
    struct ggml_tensor * qh = cc_split_heads(ctx, q, o->heads);
    struct ggml_tensor * kh = k == q ? qh : cc_split_heads(ctx, k, o->heads);
    return cc_attn_apply(ctx, cc_attn_probs(ctx, qh, kh, o->scale, bias),
                         cc_split_heads(ctx, v, o->heads));
}

void cc_naclip_bias(int32_t gw, int32_t gh, int32_t n_rows, float std, float * out) {
    const int32_t n_tok = 1 + gw * gh;
    const double inv = 1.0 / (2.0 * (double) std * (double) std);
    for (int32_t i = 0; i < n_rows; i++) {
        float * row = out + (size_t) i * n_rows;
        for (int32_t j = 0; j < n_rows; j++) {
            if (j >= n_tok) {
                row[j] = -INFINITY;
            } else if (i == 0 || j == 0 || i >= n_tok) {
                row[j] = 0.0f;
            } else {
                const int32_t ri = (i - 1) / gw, ci = (i - 1) % gw;
                const int32_t rj = (j - 1) / gw, cj = (j - 1) % gw;
                const double d2 = (double) ((ri - rj) * (ri - rj) + (ci - cj) * (ci - cj));
                row[j] = (float) exp(-d2 * inv);
            }
        }
    }
}

struct ggml_tensor * cc_mlp_residual(struct ggml_context * ctx, struct ggml_tensor * x, const cc_layer * l,
                                     bool use_gelu, struct ggml_tensor * residual) {
    x = use_gelu ? ggml_gelu_erf(ctx, cc_linear(ctx, x, l->fc1_w, l->fc1_b))
                 : cc_linear_ex(ctx, x, l->fc1_w, l->fc1_b, CC_ACT_QUICK_GELU, NULL);
    return cc_linear_ex(ctx, x, l->fc2_w, l->fc2_b, CC_ACT_NONE, residual);
}

struct ggml_tensor * cc_block(struct ggml_context * ctx, struct ggml_tensor * x, const cc_layer * l,
                              float eps, bool use_gelu, const cc_attn_opts * attn) {
    struct ggml_tensor * y = cc_layer_norm(ctx, x, l->ln1_w, l->ln1_b, eps);
    struct ggml_tensor * q = cc_linear(ctx, y, l->q_w, l->q_b);
    struct ggml_tensor * k = cc_linear(ctx, y, l->k_w, l->k_b);
    struct ggml_tensor * v = cc_linear(ctx, y, l->v_w, l->v_b);
    struct ggml_tensor * a = cc_attention(ctx, q, k, v, attn);
    x = cc_linear_ex(ctx, a, l->o_w, l->o_b, CC_ACT_NONE, x);
    struct ggml_tensor * h = cc_layer_norm(ctx, x, l->ln2_w, l->ln2_b, eps);
    return cc_mlp_residual(ctx, h, l, use_gelu, x);
}
