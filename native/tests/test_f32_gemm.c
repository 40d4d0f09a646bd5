/* The engine's f32 product (f32_gemm*.c) against a plain C reference in double (bias, the sum of
 * w x, quick_gelu, the residual), over odd sizes (partial weight tiles of 32, partial activation
 * panels of 14, k not a multiple of 16), strided activation and residual rows, each epilogue on
 * and off, 1 or 3 threads; against ggml's own f32 product on ViT-sized cases; the weight packing's
 * layout; that the query, key and value products of one tensor share one packing of it; product
 * chains through the panels twin; the LayerNorm operation against ggml's and a double reference,
 * with the product that packs straight from it; and that what it does not take is refused. The
 * AVX-512 kernels run only where the CPU and the ggml variant in use have AVX-512; elsewhere the
 * product must refuse everything, and the test says the kernels were not run. */
#include "clearclip.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "internal.h"
#include "test_common.h"

#include <float.h>
#include <math.h>
#include <string.h>

static uint32_t rng_state = 91;
static float rnd(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float) (rng_state >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static ggml_backend_t backend;
static void (*set_threads)(ggml_backend_t, int);

/* The weights' type of run_case: f32, or f16 (the f32 product converting them as it loads them). */
static enum ggml_type wtype = GGML_TYPE_F32;

/* w [m][k] as wtype for the packing: a copy in f16 (w rounded to f16 beforehand, so that the
 * reference sees the very values), or w itself. */
static void * weights_of_type(float * w, size_t count) {
    if (wtype != GGML_TYPE_F16) return w;
    ggml_fp16_t * h = malloc(sizeof(ggml_fp16_t) * count);
    for (size_t i = 0; i < count; i++) {
        h[i] = ggml_fp32_to_fp16(w[i]);
        w[i] = ggml_fp16_to_fp32(h[i]);
    }
    return h;
}

static void run_case(int k, int m, int n, int pad, bool with_bias, bool gelu, bool with_res, int threads, bool with_ggml) {
    float * w = malloc(sizeof(float) * (size_t) m * k);
    for (size_t i = 0; i < (size_t) m * k; i++) w[i] = rnd() * (1.0f + (float) (i % 7));
    void * wt_data = weights_of_type(w, (size_t) m * k);
    /* ggml's f16 product rounds the activations to f16: only the f32 one is compared */
    with_ggml = with_ggml && wtype == GGML_TYPE_F32;
    float * bias = malloc(sizeof(float) * (size_t) m);
    for (int i = 0; i < m; i++) bias[i] = rnd() * 3.0f;
    const size_t x_stride = (size_t) k + pad;
    float * x = malloc(sizeof(float) * x_stride * n);
    for (size_t i = 0; i < x_stride * n; i++) x[i] = rnd() * (i % 5 == 0 ? 4.0f : 1.0f);
    /* residual rows with their own stride (a view of wider rows, as the graphs' row subsets are) */
    const size_t r_stride = (size_t) m + (size_t) pad / 2;
    float * r = malloc(sizeof(float) * r_stride * n);
    for (size_t i = 0; i < r_stride * n; i++) r[i] = rnd() * 2.0f;

    struct ggml_init_params ip = { (ggml_tensor_overhead() + cc_work_share_room()) * 16 + ggml_graph_overhead(), NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * packed = ggml_new_tensor_1d(ctx, GGML_TYPE_I8, (int64_t) cc_f32_packed_size(wtype, k, m));
    struct ggml_tensor * wt = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, m);
    struct ggml_tensor * bt = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, m);
    struct ggml_tensor * xall = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, (int64_t) x_stride, n);
    struct ggml_tensor * xv = ggml_view_2d(ctx, xall, k, n, xall->nb[1], 0);
    struct ggml_tensor * rall = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, (int64_t) r_stride, n);
    struct ggml_tensor * rv = ggml_view_2d(ctx, rall, m, n, rall->nb[1], 0);
    struct ggml_tensor * out = cc_f32_mul_mat(ctx, packed, wtype, m, xv, with_bias ? bt : NULL, gelu, with_res ? rv : NULL);
    CHECK(out != NULL);
    if (!out) {
        ggml_free(ctx);
        if (wt_data != w) free(wt_data);
        free(w);
        free(bias);
        free(x);
        free(r);
        return;
    }
    struct ggml_tensor * out_ggml = NULL;
    if (with_ggml) {
        out_ggml = ggml_mul_mat(ctx, wt, ggml_cont(ctx, xv));
        if (with_bias) out_ggml = ggml_add(ctx, out_ggml, bt);
        /* quick_gelu as the graphs compute it with ggml's own operations */
        if (gelu) out_ggml = ggml_scale(ctx, ggml_silu(ctx, ggml_scale(ctx, out_ggml, 1.702f)), 1.0f / 1.702f);
        if (with_res) out_ggml = ggml_add(ctx, ggml_cont(ctx, rv), out_ggml);
    }
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, out);
    if (out_ggml) ggml_build_forward_expand(gf, out_ggml);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, backend);
    CHECK(buf != NULL);
    void * pk = malloc(ggml_nbytes(packed));
    cc_f32_pack(wtype, wt_data, k, m, pk);
    ggml_backend_tensor_set(packed, pk, 0, ggml_nbytes(packed));
    ggml_backend_tensor_set(wt, w, 0, ggml_nbytes(wt));
    ggml_backend_tensor_set(bt, bias, 0, ggml_nbytes(bt));
    ggml_backend_tensor_set(rall, r, 0, ggml_nbytes(rall));
    set_threads(backend, threads);
    /* run once on other activations first: the graph's threads share the work anew each run
     * (cc_work), and a part the second run missed would keep the first run's values */
    for (size_t i = 0; i < x_stride * n; i++) x[i] = -x[i];
    ggml_backend_tensor_set(xall, x, 0, ggml_nbytes(xall));
    CHECK(ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS);
    for (size_t i = 0; i < x_stride * n; i++) x[i] = -x[i];
    ggml_backend_tensor_set(xall, x, 0, ggml_nbytes(xall));
    CHECK(ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS);

    float * got = malloc(sizeof(float) * (size_t) m * n);
    ggml_backend_tensor_get(out, got, 0, sizeof(float) * (size_t) m * n);
    /* f32 sums of k + 1 terms in any order are within (k + 1) * eps * sum |terms| of the exact sum */
    double worst = 0, worst_bound = 0;
    int bad = 0;
    for (int j = 0; j < n; j++) {
        const float * xr = x + (size_t) j * x_stride;
        for (int i = 0; i < m; i++) {
            const double b = with_bias ? bias[i] : 0.0, res = with_res ? r[(size_t) j * r_stride + i] : 0.0;
            double v = b, mag = fabs(b);
            for (int e = 0; e < k; e++) {
                v += (double) w[(size_t) i * k + e] * xr[e];
                mag += fabs((double) w[(size_t) i * k + e] * xr[e]);
            }
            /* quick_gelu's slope is within [-0.1, 1.1]: the sum's error passes through at most 1.1
             * times, and it adds a few eps of its own */
            const double g = gelu ? v / (1.0 + exp(-1.702 * v)) : v, want = g + res;
            const double bound = (gelu ? 1.1 : 1.0) * (k + 1) * (double) FLT_EPSILON * mag +
                                 (gelu ? 8 : 0) * (double) FLT_EPSILON * fabs(g) +
                                 (with_res ? 1 : 0) * (double) FLT_EPSILON * (fabs(g) + fabs(res));
            const double diff = fabs(got[(size_t) j * m + i] - want);
            if (!(diff <= bound)) bad++;
            if (diff > worst) {
                worst = diff;
                worst_bound = bound;
            }
        }
    }
    CHECK_MSG(bad == 0, "%s weights, k %d m %d n %d pad %d bias %d gelu %d residual %d, %d threads: %d outputs off, "
              "worst diff %g (bound %g)", ggml_type_name(wtype), k, m, n, pad, (int) with_bias, (int) gelu, (int) with_res,
              threads, bad, worst, worst_bound);
    if (out_ggml) {
        float * g = malloc(sizeof(float) * (size_t) m * n);
        ggml_backend_tensor_get(out_ggml, g, 0, sizeof(float) * (size_t) m * n);
        double gw = 0, scale = 0;
        for (size_t i = 0; i < (size_t) m * n; i++) {
            gw = fmax(gw, fabs(got[i] - g[i]));
            scale = fmax(scale, fabs(g[i]));
        }
        /* the same products, summed in another order */
        CHECK_MSG(gw <= 1e-5 * scale, "k %d m %d n %d: max abs diff to ggml's product %g (scale %g)", k, m, n, gw,
                  scale);
        free(g);
    }
    free(got);
    free(pk);
    if (wt_data != w) free(wt_data);
    free(w);
    free(bias);
    free(x);
    free(r);
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
}

/* The LayerNorm op against ggml's norm, mul and add, and the product of its output (which packs
 * straight from the LayerNorm) against a double reference. w and b live in a host buffer before
 * the graph is built, as a model's weights do. */
static void run_norm_case(int k, int m, int n, int threads) {
    const float eps = 1e-5f;
    struct ggml_init_params wp = { (ggml_tensor_overhead() + cc_work_share_room()) * 4, NULL, true };
    struct ggml_context * wctx = ggml_init(wp);
    struct ggml_tensor * lw = ggml_new_tensor_1d(wctx, GGML_TYPE_F32, k);
    struct ggml_tensor * lb = ggml_new_tensor_1d(wctx, GGML_TYPE_F32, k);
    struct ggml_tensor * packed = ggml_new_tensor_1d(wctx, GGML_TYPE_I8, (int64_t) cc_f32_packed_size(GGML_TYPE_F32, k, m));
    ggml_backend_buffer_t wbuf = ggml_backend_alloc_ctx_tensors(wctx, backend);
    CHECK(wbuf != NULL);
    float * hw = malloc(sizeof(float) * k), * hb = malloc(sizeof(float) * k);
    for (int i = 0; i < k; i++) {
        hw[i] = 1.0f + 0.5f * rnd();
        hb[i] = 0.3f * rnd();
    }
    float * w = malloc(sizeof(float) * (size_t) m * k);
    for (size_t i = 0; i < (size_t) m * k; i++) w[i] = rnd();
    float * pk = malloc(cc_f32_packed_size(GGML_TYPE_F32, k, m));
    cc_f32_pack(GGML_TYPE_F32, w, k, m, pk);
    ggml_backend_tensor_set(lw, hw, 0, sizeof(float) * k);
    ggml_backend_tensor_set(lb, hb, 0, sizeof(float) * k);
    ggml_backend_tensor_set(packed, pk, 0, ggml_nbytes(packed));
    /* rows with an offset and a spread of their own, as a residual stream has */
    float * x = malloc(sizeof(float) * (size_t) n * k);
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < k; i++) x[(size_t) j * k + i] = 3.0f * (float) (j % 5) + (1.0f + (float) (j % 3)) * rnd();
    }

    struct ggml_init_params ip = { (ggml_tensor_overhead() + cc_work_share_room()) * 16 + ggml_graph_overhead(), NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * xt = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, n);
    struct ggml_tensor * y = cc_f32_layer_norm(ctx, xt, lw, lb, eps);
    CHECK(y != NULL);
    if (!y) return;
    struct ggml_tensor * out = cc_f32_mul_mat(ctx, packed, GGML_TYPE_F32, m, y, NULL, false, NULL);
    CHECK(out != NULL && out->src[1]->src[0] == xt && strcmp(ggml_get_name(out->src[1]), ggml_get_name(y)) != 0);
    struct ggml_tensor * ref = ggml_add(ctx, ggml_mul(ctx, ggml_norm(ctx, xt, eps), lw), lb);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, y);
    ggml_build_forward_expand(gf, out);
    ggml_build_forward_expand(gf, ref);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, backend);
    CHECK(buf != NULL);
    ggml_backend_tensor_set(xt, x, 0, ggml_nbytes(xt));
    set_threads(backend, threads);
    CHECK(ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS);

    float * gy = malloc(sizeof(float) * (size_t) n * k), * gr = malloc(sizeof(float) * (size_t) n * k);
    float * go = malloc(sizeof(float) * (size_t) n * m);
    ggml_backend_tensor_get(y, gy, 0, ggml_nbytes(y));
    ggml_backend_tensor_get(ref, gr, 0, ggml_nbytes(ref));
    ggml_backend_tensor_get(out, go, 0, ggml_nbytes(out));
    double worst_ggml = 0, worst_out = 0;
    int bad = 0;
    double * yn = malloc(sizeof(double) * k);
    for (int j = 0; j < n; j++) {
        const float * xr = x + (size_t) j * k;
        double mean = 0, var = 0;
        for (int i = 0; i < k; i++) mean += xr[i];
        mean /= k;
        for (int i = 0; i < k; i++) var += (xr[i] - mean) * (xr[i] - mean);
        var /= k;
        for (int i = 0; i < k; i++) {
            yn[i] = (xr[i] - mean) / sqrt(var + eps) * hw[i] + hb[i];
            worst_ggml = fmax(worst_ggml, fabs(gy[(size_t) j * k + i] - gr[(size_t) j * k + i]));
        }
        for (int i = 0; i < m; i++) {
            double want = 0, mag = 0;
            for (int e = 0; e < k; e++) {
                want += yn[e] * w[(size_t) i * k + e];
                mag += fabs(yn[e] * w[(size_t) i * k + e]);
            }
            /* the normalised inputs carry a few eps of their own rounding */
            const double diff = fabs(go[(size_t) j * m + i] - want);
            if (!(diff <= (k + 8) * (double) FLT_EPSILON * mag)) bad++;
            worst_out = fmax(worst_out, diff);
        }
    }
    /* the same steps rounded the same way, only the sums of mean and variance in another order */
    CHECK_MSG(worst_ggml <= 4e-6, "layer norm k %d n %d: max abs diff to ggml's norm, mul, add %g", k, n, worst_ggml);
    CHECK_MSG(bad == 0, "layer norm then product k %d m %d n %d, %d threads: %d outputs off (worst diff %g)", k, m, n,
              threads, bad, worst_out);
    free(yn);
    free(gy);
    free(gr);
    free(go);
    free(x);
    free(w);
    free(pk);
    free(hw);
    free(hb);
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
    ggml_backend_buffer_free(wbuf);
    ggml_free(wctx);
}

/* Two products in a row, as fc1 (bias, quick_gelu) then fc2 (bias, residual): the second reads the
 * first one's panels twin, which writes the first one's outputs straight into the panels (partial
 * tiles and panels included), against a double reference of the chain. */
static void run_chain_case(int k, int m1, int m2, int n, int threads) {
    float * w1 = malloc(sizeof(float) * (size_t) m1 * k), * w2 = malloc(sizeof(float) * (size_t) m2 * m1);
    float * b1 = malloc(sizeof(float) * m1), * b2 = malloc(sizeof(float) * m2);
    float * x = malloc(sizeof(float) * (size_t) n * k), * r = malloc(sizeof(float) * (size_t) n * m2);
    for (size_t i = 0; i < (size_t) m1 * k; i++) w1[i] = rnd() * 0.5f;
    for (size_t i = 0; i < (size_t) m2 * m1; i++) w2[i] = rnd() * 0.5f;
    for (int i = 0; i < m1; i++) b1[i] = rnd();
    for (int i = 0; i < m2; i++) b2[i] = rnd();
    for (size_t i = 0; i < (size_t) n * k; i++) x[i] = rnd() * 2.0f;
    for (size_t i = 0; i < (size_t) n * m2; i++) r[i] = rnd();
    struct ggml_init_params ip = { (ggml_tensor_overhead() + cc_work_share_room()) * 24 + ggml_graph_overhead(), NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * p1 = ggml_new_tensor_1d(ctx, GGML_TYPE_I8, (int64_t) cc_f32_packed_size(GGML_TYPE_F32, k, m1));
    struct ggml_tensor * p2 = ggml_new_tensor_1d(ctx, GGML_TYPE_I8, (int64_t) cc_f32_packed_size(GGML_TYPE_F32, m1, m2));
    struct ggml_tensor * tb1 = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, m1), * tb2 = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, m2);
    struct ggml_tensor * tx = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, k, n), * tr = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, m2, n);
    struct ggml_tensor * h = cc_f32_mul_mat(ctx, p1, GGML_TYPE_F32, m1, tx, tb1, true, NULL);
    struct ggml_tensor * out = h ? cc_f32_mul_mat(ctx, p2, GGML_TYPE_F32, m2, h, tb2, false, tr) : NULL;
    CHECK(h && out);
    if (!out) return;
    /* the second product reads the first's twin, not a packing of its rows */
    CHECK(out->src[1] != h && out->src[1]->src[0] == p1 && out->src[1]->src[1] == h->src[1] &&
          strstr(ggml_get_name(out->src[1]), ".panels") != NULL);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, out);
    /* the rows of h are nobody's input here: the graph computes only the twin */
    bool h_in_graph = false;
    for (int i = 0; i < ggml_graph_n_nodes(gf); i++) h_in_graph |= ggml_graph_node(gf, i) == h;
    CHECK(!h_in_graph);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, backend);
    CHECK(buf != NULL);
    float * pk1 = malloc(ggml_nbytes(p1)), * pk2 = malloc(ggml_nbytes(p2));
    cc_f32_pack(GGML_TYPE_F32, w1, k, m1, pk1);
    cc_f32_pack(GGML_TYPE_F32, w2, m1, m2, pk2);
    ggml_backend_tensor_set(p1, pk1, 0, ggml_nbytes(p1));
    ggml_backend_tensor_set(p2, pk2, 0, ggml_nbytes(p2));
    ggml_backend_tensor_set(tb1, b1, 0, ggml_nbytes(tb1));
    ggml_backend_tensor_set(tb2, b2, 0, ggml_nbytes(tb2));
    ggml_backend_tensor_set(tx, x, 0, ggml_nbytes(tx));
    ggml_backend_tensor_set(tr, r, 0, ggml_nbytes(tr));
    set_threads(backend, threads);
    CHECK(ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS);
    float * got = malloc(sizeof(float) * (size_t) n * m2);
    ggml_backend_tensor_get(out, got, 0, ggml_nbytes(out));
    double * hv = malloc(sizeof(double) * m1), * hmag = malloc(sizeof(double) * m1);
    int bad = 0;
    double worst = 0;
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m1; i++) {
            double v = b1[i], mag = fabs(b1[i]);
            for (int e = 0; e < k; e++) {
                v += (double) w1[(size_t) i * k + e] * x[(size_t) j * k + e];
                mag += fabs((double) w1[(size_t) i * k + e] * x[(size_t) j * k + e]);
            }
            hv[i] = v / (1.0 + exp(-1.702 * v));
            /* how far the f32 h can be from hv: the first sum's error through a slope <= 1.1, and
             * quick_gelu's own few eps */
            hmag[i] = 1.1 * (k + 1) * (double) FLT_EPSILON * mag + 8 * (double) FLT_EPSILON * fabs(hv[i]);
        }
        for (int i = 0; i < m2; i++) {
            double want = b2[i] + r[(size_t) j * m2 + i], mag = fabs(b2[i]) + fabs(r[(size_t) j * m2 + i]), carried = 0;
            for (int e = 0; e < m1; e++) {
                want += (double) w2[(size_t) i * m1 + e] * hv[e];
                mag += fabs((double) w2[(size_t) i * m1 + e] * hv[e]);
                carried += fabs((double) w2[(size_t) i * m1 + e]) * hmag[e];
            }
            const double diff = fabs(got[(size_t) j * m2 + i] - want);
            if (!(diff <= (m1 + 2) * (double) FLT_EPSILON * mag + carried)) bad++;
            worst = fmax(worst, diff);
        }
    }
    CHECK_MSG(bad == 0, "chain k %d m1 %d m2 %d n %d, %d threads: %d outputs off (worst diff %g)", k, m1, m2, n, threads,
              bad, worst);
    free(hv);
    free(hmag);
    free(got);
    free(pk1);
    free(pk2);
    free(w1);
    free(w2);
    free(b1);
    free(b2);
    free(x);
    free(r);
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
}

int main(void) {
    /* the packed size is whole tiles of 32 rows, the file's size when m is a multiple of 32 */
    CHECK(cc_f32_packed_size(GGML_TYPE_F32, 768, 2304) == sizeof(float) * 768 * 2304);
    CHECK(cc_f32_packed_size(GGML_TYPE_F32, 5, 33) == 2 * cc_f32_packed_size(GGML_TYPE_F32, 5, 32));
    /* f16 weights stay f16 (half the bytes); other types are not this product's */
    CHECK(cc_f32_packed_size(GGML_TYPE_F16, 768, 2304) == sizeof(ggml_fp16_t) * 768 * 2304);
    CHECK(cc_f32_packed_size(GGML_TYPE_Q8_0, 768, 2304) == 0);
    /* the packing puts the 32 rows of a tile side by side per input, zeros past m (k and m below,
     * at and above the 16 x 16 blocks the AVX-512 packing transposes) */
    {
        const int k = 3, m = 33;
        float w[33 * 3], p[64 * 3];
        for (int i = 0; i < m * k; i++) w[i] = (float) i;
        cc_f32_pack(GGML_TYPE_F32, w, k, m, p);
        CHECK(p[0] == w[0] && p[1] == w[k] && p[32] == w[1] && p[2 * 32 + 31] == w[31 * k + 2]);
        CHECK(p[3 * 32] == w[32 * k] && p[3 * 32 + 32] == w[32 * k + 1] && p[3 * 32 + 1] == 0.0f &&
              p[3 * 32 + 2 * 32 + 31] == 0.0f);
    }
    {
        const int ks[] = { 16, 35, 64 }, ms[] = { 7, 32, 50 };
        for (int a = 0; a < 3; a++) {
            for (int b = 0; b < 3; b++) {
                const int k = ks[a], m = ms[b], tiles = (m + 31) / 32;
                float * w = malloc(sizeof(float) * (size_t) m * k), * p = malloc(cc_f32_packed_size(GGML_TYPE_F32, k, m));
                ggml_fp16_t * w16 = malloc(sizeof(ggml_fp16_t) * (size_t) m * k);
                ggml_fp16_t * p16 = malloc(cc_f32_packed_size(GGML_TYPE_F16, k, m));
                for (int i = 0; i < m * k; i++) {
                    w[i] = (float) i + 0.5f;
                    w16[i] = ggml_fp32_to_fp16((float) (i % 2000) - 999.5f);
                }
                cc_f32_pack(GGML_TYPE_F32, w, k, m, p);
                cc_f32_pack(GGML_TYPE_F16, w16, k, m, p16);
                int bad = 0, bad16 = 0;
                for (int t = 0; t < tiles; t++)
                    for (int j = 0; j < k; j++)
                        for (int r = 0; r < 32; r++) {
                            const int row = t * 32 + r;
                            bad += p[((size_t) t * k + j) * 32 + r] != (row < m ? w[(size_t) row * k + j] : 0.0f);
                            bad16 += p16[((size_t) t * k + j) * 32 + r] != (row < m ? w16[(size_t) row * k + j] : 0);
                        }
                CHECK_MSG(bad == 0 && bad16 == 0, "packing k %d m %d: %d f32 and %d f16 values misplaced", k, m, bad,
                          bad16);
                free(w);
                free(p);
                free(w16);
                free(p16);
            }
        }
    }
    if (clearclip_backend_load(NULL) != CLEARCLIP_OK) {
        fprintf(stderr, "no CPU backend: %s\n", clearclip_last_error());
        return 1;
    }
    backend = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    CHECK(backend != NULL);
    if (!backend) return test_finish("test_f32_gemm");
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(ggml_backend_get_device(backend));
    set_threads = (void (*)(ggml_backend_t, int)) ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
    CHECK(set_threads != NULL);
    if (!set_threads) return test_finish("test_f32_gemm");

    struct ggml_init_params ip = { (ggml_tensor_overhead() + cc_work_share_room()) * 32, NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * p = ggml_new_tensor_1d(ctx, GGML_TYPE_I8, (int64_t) cc_f32_packed_size(GGML_TYPE_F32, 64, 32));
    struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 64, 4);
    if (!cc_f32_gemm_available()) {
        printf("this CPU or ggml variant has no AVX-512: the f32 kernel was not run\n");
        CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, x, NULL, false, NULL) == NULL);
        ggml_free(ctx);
        ggml_backend_free(backend);
        return test_finish("test_f32_gemm");
    }
    /* products of one tensor share its packing; another tensor gets its own */
    {
        struct ggml_tensor * a = cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, x, NULL, false, NULL);
        struct ggml_tensor * b = cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, x, ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 32), false, NULL);
        struct ggml_tensor * c = cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 64, 4), NULL, false, NULL);
        CHECK(a && b && c && a->src[1] == b->src[1] && c->src[1] != a->src[1] && a->src[1]->src[0] == x);
    }
    /* what it does not take is refused (the caller keeps ggml's product) */
    CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 64, 4, 2), NULL, false, NULL) == NULL);
    CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 48, 4), NULL, false, NULL) == NULL);
    CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 64, 4), NULL, false, NULL) == NULL);
    CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 33, x, NULL, false, NULL) == NULL);
    CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, x, ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 31), false, NULL) == NULL);
    /* a residual of another shape, or one whose values are not contiguous in a row */
    CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, x, NULL, false, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 32, 5)) == NULL);
    CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, x, NULL, false, ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 32, 4, 2)) == NULL);
    CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, x, NULL, false, ggml_transpose(ctx, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 32))) == NULL);
    CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, x, ggml_new_tensor_1d(ctx, GGML_TYPE_F16, 32), false, NULL) == NULL);
    CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_F32, 32, ggml_transpose(ctx, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 64)), NULL, false, NULL) == NULL);
    /* weights of another type, or packed for the other type (half or twice the bytes) */
    CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_Q8_0, 32, x, NULL, false, NULL) == NULL);
    CHECK(cc_f32_mul_mat(ctx, p, GGML_TYPE_F16, 32, x, NULL, false, NULL) == NULL);
    ggml_free(ctx);

    const int ks[] = { 1, 15, 16, 17, 96 };
    const int ms[] = { 1, 17, 32, 33, 64, 100 };
    /* last panels of 1, 2, 13, 14, 3, 4, 5 and 1 rows: every register-row count the tail takes */
    const int ns[] = { 1, 2, 13, 14, 17, 18, 33, 43 };
    int c = 0;
    for (size_t a = 0; a < sizeof(ks) / sizeof(ks[0]); a++)
        for (size_t b = 0; b < sizeof(ms) / sizeof(ms[0]); b++)
            for (size_t d = 0; d < sizeof(ns) / sizeof(ns[0]); d++, c++)
                run_case(ks[a], ms[b], ns[d], (c % 3) * 5, c % 2 == 0, c % 3 == 1, c % 4 < 2, 1 + 2 * (c % 2), false);
    /* ViT-B/16 shapes (a whole 448 window's 785 rows once), next to ggml's own product */
    run_case(768, 96, 785, 0, true, false, false, 2, true);
    run_case(768, 3072 / 32, 50, 0, true, true, false, 2, true);
    run_case(3072, 64, 50, 0, true, false, true, 3, true);
    run_case(768, 45, 77, 16, false, false, true, 2, true);
    /* f16 weights, converted as the kernel loads them: odd sizes, each epilogue, a ViT shape */
    wtype = GGML_TYPE_F16;
    c = 0;
    for (size_t a = 0; a < sizeof(ks) / sizeof(ks[0]); a++)
        for (size_t b = 0; b < sizeof(ms) / sizeof(ms[0]); b++, c++)
            run_case(ks[a], ms[b], ns[c % 8], (c % 3) * 5, c % 2 == 0, c % 3 == 1, c % 4 < 2, 1 + 2 * (c % 2), false);
    run_case(768, 96, 785, 0, true, true, true, 2, false);
    wtype = GGML_TYPE_F32;
    /* fc1 then fc2 through the panels twin: partial tiles (m1 not a multiple of 32 or 16), partial
     * panels, ViT widths */
    run_chain_case(16, 40, 33, 15, 1);
    run_chain_case(37, 17, 64, 29, 3);
    run_chain_case(96, 384, 96, 50, 2);
    /* the LayerNorm: partial panels, k not a multiple of 16, a ViT width */
    run_norm_case(16, 32, 5, 1);
    run_norm_case(37, 33, 29, 3);
    run_norm_case(768, 64, 197, 2);
    /* weights that are not on the host (another device's copies) or not f32 are left to ggml */
    {
        struct ggml_init_params ip2 = { (ggml_tensor_overhead() + cc_work_share_room()) * 8, NULL, true };
        struct ggml_context * c2 = ggml_init(ip2);
        struct ggml_tensor * xt = ggml_new_tensor_2d(c2, GGML_TYPE_F32, 64, 4);
        CHECK(cc_f32_layer_norm(c2, xt, ggml_new_tensor_1d(c2, GGML_TYPE_F32, 64), ggml_new_tensor_1d(c2, GGML_TYPE_F32, 64),
                                1e-5f) == NULL);
        ggml_free(c2);
    }
    ggml_backend_free(backend);
    return test_finish("test_f32_gemm");
}
