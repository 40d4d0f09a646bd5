/* The engine's own product of f32 (or f16, converted as loaded) weights with f32 activations on
 * x86 CPUs with AVX-512, as ggml custom operations: the activations packed into panels of 14 rows
 * (f32_gemm_kernels.h), then the GEMM over weights packed into tiles of 32 rows at model load,
 * with the bias, CLIP's quick_gelu and a residual applied in the same pass. ggml's f32 product on
 * x86 (llamafile's sgemm) reads both operands along k and sums each output's 16 partial sums at
 * the end, reaching about 70% of the FMA units' peak on ViT shapes; this register tile keeps them
 * busy 92-96% of the time.
 *
 * Several products of one tensor (the query, key and value projections of a LayerNorm output)
 * share one packing of it; the LayerNorm (its own operation here, one pass where ggml makes three)
 * and a product without a residual each have a twin that writes straight into the panels of the
 * product reading them, so that only outputs read by something else are stored as rows. */
#include "internal.h"
#include "f32_gemm_kernels.h"

#include <string.h>

/* The name of the packing operation's output, by which a later product of the same activations
 * finds it. */
#define CC_F32_PACK_NAME "cc.f32.packed_x"
/* The operations that have a twin writing the same values straight into the panels of a product
 * that reads them, and their twins (cc_f32_packed_x). */
#define CC_F32_NORM_NAME "cc.f32.layer_norm"
#define CC_F32_NORM_PACK_NAME "cc.f32.layer_norm.panels"
#define CC_F32_GEMM_NAME "cc.f32.mul_mat"
#define CC_F32_GEMM_PACK_NAME "cc.f32.mul_mat.panels"

bool cc_f32_gemm_available(void) {
#ifdef CC_F32_X86
    /* the CPU's features, limited to those of the ggml variant in use (cc_cpu_backend_feature) */
    return __builtin_cpu_supports("avx512f") && cc_cpu_backend_feature("AVX512");
#else
    return false;
#endif
}

size_t cc_f32_packed_size(enum ggml_type type, int64_t k, int64_t m) {
    if (type != GGML_TYPE_F32 && type != GGML_TYPE_F16) return 0;
    const int64_t tiles = (m + CC_F32_TILE_ROWS - 1) / CC_F32_TILE_ROWS;
    return (size_t) tiles * (size_t) k * CC_F32_TILE_ROWS * ggml_type_size(type);
}

void cc_f32_pack(enum ggml_type type, const void * w, int64_t k, int64_t m, void * out) {
    const bool f16 = type == GGML_TYPE_F16;
    int64_t j0 = 0;
#ifdef CC_F32_X86
    /* 16x16 register transposes: the plain loop's stores 128 bytes apart took 0.3 s for a
     * ViT-B/16 file's 124 M weights */
    if (__builtin_cpu_supports("avx512f")) {
        cc_f32_pack_w_avx512(w, f16, k, m, out);
        j0 = k / 16 * 16;
    }
#endif
    /* the inputs the register transposes leave (all of them without AVX-512), one value at a time */
    const size_t size = f16 ? sizeof(uint16_t) : sizeof(float);
    const int64_t tiles = (m + CC_F32_TILE_ROWS - 1) / CC_F32_TILE_ROWS;
    for (int64_t t = 0; t < tiles; t++) {
        char * tile = (char *) out + (size_t) t * (size_t) k * CC_F32_TILE_ROWS * size;
        for (int r = 0; r < CC_F32_TILE_ROWS; r++) {
            const int64_t row = t * CC_F32_TILE_ROWS + r;
            for (int64_t j = j0; j < k; j++) {
                char * to = tile + ((size_t) j * CC_F32_TILE_ROWS + r) * size;
                if (row < m) {
                    memcpy(to, (const char *) w + ((size_t) row * (size_t) k + (size_t) j) * size, size);
                } else {
                    memset(to, 0, size);
                }
            }
        }
    }
}

#ifdef CC_F32_X86

/* src[0] x [k, n] f32 (rows contiguous, any row stride) -> dst: its panels, shared between the
 * threads panel by panel. */
static void cc_f32_pack_op(struct ggml_tensor * dst, int ith, int nth, void * userdata) {
    const struct ggml_tensor * x = dst->src[0];
    const int64_t n = x->ne[1];
    cc_work w;
    cc_work_begin(&w, userdata, ith, nth, (n + CC_F32_PANEL_ROWS - 1) / CC_F32_PANEL_ROWS);
    for (int64_t p; (p = cc_work_next(&w)) >= 0;) {
        cc_f32_pack_x_avx512((const float *) x->data, x->nb[1] / sizeof(float), x->ne[0], n, p, p + 1,
                             (float *) dst->data);
    }
}

/* What the product's work share carries (cc_work_share_data): k | n << 24 | bias << 48 | residual << 49 |
 * quick_gelu << 50 | to panels << 51 | f16 weights << 52, the bias and residual flags saying which
 * of the two follow the packed weights and activations among the sources. The panels twin's
 * output is [14, m, panels], so n comes from here. */
#define CC_F32_DIM_BITS 24
#define CC_F32_BIAS_BIT 48
#define CC_F32_RESIDUAL_BIT 49
#define CC_F32_GELU_BIT 50
#define CC_F32_PANELS_BIT 51
#define CC_F32_F16_BIT 52

/* src[0] packed weights, src[1] packed activations, then the bias and the residual rows where
 * the data has them -> dst [m, n] f32, or its panels [14, m, panels]. The threads share the work
 * in groups of weight tiles (cc_f32_tile_group), so that the weights are read once. */
static void cc_f32_gemm_op(struct ggml_tensor * dst, int ith, int nth, void * userdata) {
    const int64_t data = (int64_t) cc_work_share_data(userdata);
    const int64_t dim_mask = ((int64_t) 1 << CC_F32_DIM_BITS) - 1;
    const int64_t k = data & dim_mask, n = (data >> CC_F32_DIM_BITS) & dim_mask;
    const bool to_panels = (data >> CC_F32_PANELS_BIT) & 1;
    const int64_t m = to_panels ? dst->ne[1] : dst->ne[0];
    const int64_t tiles = (m + CC_F32_TILE_ROWS - 1) / CC_F32_TILE_ROWS;
    int src = 2;
    const struct ggml_tensor * bias = (data >> CC_F32_BIAS_BIT) & 1 ? dst->src[src++] : NULL;
    const struct ggml_tensor * res = (data >> CC_F32_RESIDUAL_BIT) & 1 ? dst->src[src++] : NULL;
    const cc_f32_epilogue ep = {
        .bias = bias ? (const float *) bias->data : NULL,
        .quick_gelu = (data >> CC_F32_GELU_BIT) & 1,
        .residual = res ? (const float *) res->data : NULL,
        .residual_stride = res ? res->nb[1] / sizeof(float) : 0,
        .to_panels = to_panels,
    };
    const int64_t group = cc_f32_tile_group(k);
    cc_work w;
    cc_work_begin(&w, userdata, ith, nth, (tiles + group - 1) / group);
    for (int64_t g; (g = cc_work_next(&w)) >= 0;) {
        cc_f32_gemm_avx512(dst->src[0]->data, (data >> CC_F32_F16_BIT) & 1, k, m, (const float *) dst->src[1]->data,
                           n, &ep, (float *) dst->data, dst->nb[1] / sizeof(float), g * group,
                           g * group + group < tiles ? g * group + group : tiles);
    }
}

/* The LayerNorm's work share carries its eps, as the bits of a float. */
static intptr_t cc_f32_eps_data(float eps) {
    uint32_t bits;
    memcpy(&bits, &eps, sizeof(bits));
    return (intptr_t) bits;
}

static float cc_f32_data_eps(const cc_work_share * share) {
    const uint32_t bits = (uint32_t) cc_work_share_data(share);
    float eps;
    memcpy(&eps, &bits, sizeof(eps));
    return eps;
}

/* src[0] x, src[1] w, src[2] b -> dst: the LayerNorm of x's rows (dst like x, contiguous), shared
 * between the threads in blocks of 14 rows. */
static void cc_f32_layer_norm_op(struct ggml_tensor * dst, int ith, int nth, void * userdata) {
    const struct ggml_tensor * x = dst->src[0];
    const int64_t n = ggml_nrows(x);
    cc_work w;
    cc_work_begin(&w, userdata, ith, nth, (n + CC_F32_PANEL_ROWS - 1) / CC_F32_PANEL_ROWS);
    for (int64_t b; (b = cc_work_next(&w)) >= 0;) {
        const int64_t r0 = b * CC_F32_PANEL_ROWS, r1 = r0 + CC_F32_PANEL_ROWS < n ? r0 + CC_F32_PANEL_ROWS : n;
        cc_f32_layer_norm_avx512((const float *) x->data, x->nb[1] / sizeof(float), x->ne[0], r0, r1,
                                 (const float *) dst->src[1]->data, (const float *) dst->src[2]->data,
                                 cc_f32_data_eps(userdata), (float *) dst->data, dst->nb[1] / sizeof(float));
    }
}

/* The same sources -> the LayerNorm's rows straight into the product's panels. */
static void cc_f32_layer_norm_pack_op(struct ggml_tensor * dst, int ith, int nth, void * userdata) {
    const struct ggml_tensor * x = dst->src[0];
    const int64_t n = x->ne[1];
    cc_work w;
    cc_work_begin(&w, userdata, ith, nth, (n + CC_F32_PANEL_ROWS - 1) / CC_F32_PANEL_ROWS);
    for (int64_t p; (p = cc_work_next(&w)) >= 0;) {
        cc_f32_layer_norm_pack_avx512((const float *) x->data, x->nb[1] / sizeof(float), x->ne[0], n, p, p + 1,
                                      (const float *) dst->src[1]->data, (const float *) dst->src[2]->data,
                                      cc_f32_data_eps(userdata), (float *) dst->data);
    }
}

/* The packing of x made for an earlier product in ctx, or a new one. An output of the LayerNorm or
 * of a product without a residual has a twin made with it (cc_f32_layer_norm, cc_f32_mul_mat)
 * that writes the same values straight into the panels: that twin is the packing, and x itself is
 * then computed only if something else reads it. */
static struct ggml_tensor * cc_f32_packed_x(struct ggml_context * ctx, struct ggml_tensor * x) {
    const char * twin = NULL;
    if (x->op == GGML_OP_CUSTOM && strcmp(ggml_get_name(x), CC_F32_NORM_NAME) == 0) twin = CC_F32_NORM_PACK_NAME;
    if (x->op == GGML_OP_CUSTOM && strcmp(ggml_get_name(x), CC_F32_GEMM_NAME) == 0) twin = CC_F32_GEMM_PACK_NAME;
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t; t = ggml_get_next_tensor(ctx, t)) {
        if (t->op != GGML_OP_CUSTOM) continue;
        if (twin ? t->src[0] == x->src[0] && t->src[1] == x->src[1] && t->src[2] == x->src[2] &&
                       strcmp(ggml_get_name(t), twin) == 0
                 : t->src[0] == x && strcmp(ggml_get_name(t), CC_F32_PACK_NAME) == 0) {
            return t;
        }
    }
    const int64_t panels = (x->ne[1] + CC_F32_PANEL_ROWS - 1) / CC_F32_PANEL_ROWS;
    /* without room for a work share, the static split */
    struct ggml_tensor * xp = ggml_custom_4d(ctx, GGML_TYPE_F32, panels * CC_F32_PANEL_ROWS * x->ne[0], 1, 1, 1, &x, 1,
                                             cc_f32_pack_op, GGML_N_TASKS_MAX, cc_work_share_new(ctx, 0));
    ggml_set_name(xp, CC_F32_PACK_NAME);
    return xp;
}

struct ggml_tensor * cc_f32_layer_norm(struct ggml_context * ctx, struct ggml_tensor * x, struct ggml_tensor * w,
                                       struct ggml_tensor * b, float eps) {
    const int64_t k = x->ne[0];
    /* the weights on the host say the graph runs on the CPU backend (other devices hold copies) */
    if (!cc_f32_gemm_available() || x->type != GGML_TYPE_F32 || x->nb[0] != sizeof(float) ||
        (ggml_nrows(x) != x->ne[1] && !ggml_is_contiguous(x)) || !w || !b || w->type != GGML_TYPE_F32 ||
        b->type != GGML_TYPE_F32 || ggml_nelements(w) != k || ggml_nelements(b) != k || !ggml_is_contiguous(w) ||
        !ggml_is_contiguous(b) || !w->buffer || !b->buffer || !ggml_backend_buffer_is_host(w->buffer) ||
        !ggml_backend_buffer_is_host(b->buffer)) {
        return NULL;
    }
    struct ggml_tensor * args[3] = { x, w, b };
    cc_work_share * share = cc_work_share_new(ctx, cc_f32_eps_data(eps));
    if (!share) return NULL;
    struct ggml_tensor * y = ggml_custom_4d(ctx, GGML_TYPE_F32, k, x->ne[1], x->ne[2], x->ne[3], args, 3,
                                            cc_f32_layer_norm_op, GGML_N_TASKS_MAX, share);
    ggml_set_name(y, CC_F32_NORM_NAME);
    cc_work_share * twin_share = ggml_nrows(x) == x->ne[1] ? cc_work_share_new(ctx, cc_f32_eps_data(eps)) : NULL;
    if (twin_share) {
        /* made now, while eps is at hand; a graph that does not use it never computes it */
        const int64_t panels = (x->ne[1] + CC_F32_PANEL_ROWS - 1) / CC_F32_PANEL_ROWS;
        struct ggml_tensor * xp = ggml_custom_4d(ctx, GGML_TYPE_F32, panels * CC_F32_PANEL_ROWS * k, 1, 1, 1, args, 3,
                                                 cc_f32_layer_norm_pack_op, GGML_N_TASKS_MAX, twin_share);
        ggml_set_name(xp, CC_F32_NORM_PACK_NAME);
    }
    return y;
}

struct ggml_tensor * cc_f32_mul_mat(struct ggml_context * ctx, struct ggml_tensor * packed, enum ggml_type type,
                                    int64_t m, struct ggml_tensor * x, struct ggml_tensor * bias, bool quick_gelu,
                                    struct ggml_tensor * residual) {
    const int64_t k = x->ne[0], n = x->ne[1];
    if (!cc_f32_gemm_available() || x->type != GGML_TYPE_F32 || x->ne[2] != 1 || x->ne[3] != 1 ||
        x->nb[0] != sizeof(float) || k >= ((int64_t) 1 << CC_F32_DIM_BITS) || n >= ((int64_t) 1 << CC_F32_DIM_BITS) ||
        !cc_f32_packed_size(type, k, m) || ggml_nbytes(packed) != cc_f32_packed_size(type, k, m) ||
        (bias && (bias->type != GGML_TYPE_F32 || ggml_nelements(bias) != m || !ggml_is_contiguous(bias))) ||
        (residual && (residual->type != GGML_TYPE_F32 || residual->ne[0] != m || residual->ne[1] != n ||
                      residual->ne[2] != 1 || residual->ne[3] != 1 || residual->nb[0] != sizeof(float)))) {
        return NULL;
    }
    struct ggml_tensor * args[4] = { packed, cc_f32_packed_x(ctx, x) };
    int n_args = 2;
    if (bias) args[n_args++] = bias;
    if (residual) args[n_args++] = residual;
    const int64_t data = k | (n << CC_F32_DIM_BITS) | ((int64_t) (bias != NULL) << CC_F32_BIAS_BIT) |
                         ((int64_t) (residual != NULL) << CC_F32_RESIDUAL_BIT) |
                         ((int64_t) quick_gelu << CC_F32_GELU_BIT) | ((int64_t) (type == GGML_TYPE_F16) << CC_F32_F16_BIT);
    cc_work_share * share = cc_work_share_new(ctx, (intptr_t) data);
    if (!share) return NULL;
    struct ggml_tensor * y = ggml_custom_4d(ctx, GGML_TYPE_F32, m, n, 1, 1, args, n_args, cc_f32_gemm_op,
                                            GGML_N_TASKS_MAX, share);
    ggml_set_name(y, CC_F32_GEMM_NAME);
    cc_work_share * twin_share = residual ? NULL : cc_work_share_new(ctx, (intptr_t) (data | ((int64_t) 1 << CC_F32_PANELS_BIT)));
    if (twin_share) {
        /* made now, with what it needs at hand; a graph that does not use it never computes it (not
         * with a residual: the twins are told apart by their first three sources) */
        const int64_t panels = (n + CC_F32_PANEL_ROWS - 1) / CC_F32_PANEL_ROWS;
        struct ggml_tensor * yp = ggml_custom_4d(ctx, GGML_TYPE_F32, CC_F32_PANEL_ROWS, m, panels, 1, args, n_args,
                                                 cc_f32_gemm_op, GGML_N_TASKS_MAX, twin_share);
        ggml_set_name(yp, CC_F32_GEMM_PACK_NAME);
    }
    return y;
}

#else

struct ggml_tensor * cc_f32_layer_norm(struct ggml_context * ctx, struct ggml_tensor * x, struct ggml_tensor * w,
                                       struct ggml_tensor * b, float eps) {
    (void) ctx; (void) x; (void) w; (void) b; (void) eps;
    return NULL;
}

struct ggml_tensor * cc_f32_mul_mat(struct ggml_context * ctx, struct ggml_tensor * packed, enum ggml_type type,
                                    int64_t m, struct ggml_tensor * x, struct ggml_tensor * bias, bool quick_gelu,
                                    struct ggml_tensor * residual) {
    (void) ctx; (void) packed; (void) type; (void) m; (void) x; (void) bias; (void) quick_gelu; (void) residual;
    return NULL;
}

#endif
