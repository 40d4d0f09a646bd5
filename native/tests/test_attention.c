/* The fused CPU attention (attention*.c) against a plain C reference in double precision: every
 * kernel this CPU runs (AVX2, AVX-512), run as the ggml operation on the CPU backend with 1-3
 * threads, over head sizes that exercise every register-tile width (16 .. 128), sequence lengths
 * that leave partial tiles and partial vectors (1, 5, 17, 33, 77, 200), distinct and shared q/k,
 * strided q/k/v views (as a fused QKV product gives), batches with additive masks (causal, one
 * plane per sequence) and a row whose every key is masked (its output must be zero). */
#include "clearclip.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "internal.h"
#include "test_common.h"

#include <math.h>

#include "attention_kernels.h"
#ifdef CC_FUSED_X86
#include "simd_avx512.h"
#endif

static uint32_t rng_state = 2024;
static float rnd(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float) (rng_state >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static ggml_backend_t backend;
static void (*set_threads)(ggml_backend_t, int);

typedef struct attn_case {
    int  heads, hd, nq, nk, batch;
    bool shared_qk;   /* k is q (ClearCLIP's q-q attention) */
    bool strided;     /* q, k, v are column slices of one [3W, n] tensor */
    int  mask;        /* 0 none, 1 causal [nk, nq, 1, 1], 2 per sequence [nk, nq, 1, B] with a fully masked row */
    float scale_mul;  /* scores scaled by scale_mul / sqrt(hd): large values test the softmax shift */
    bool opposed;     /* q >= 0 and k <= 0: every score far below the zeros of the padding keys, which
                       * must not be taken for the row's maximum */
} attn_case;

/* bf16's unit roundoff: 8 significant bits, rounded to nearest. */
#define BF16_U (1.0 / 256.0)

/* out[b][i][h*hd + c] = sum_j softmax_j(scale q.k + mask) v[b][j][h*hd + c], in double; and in
 * bf16_bound what rounding q, k, the probabilities and v to bf16 can move each output by at most:
 * each score by E = 2u scale max_j sum_d |q_d k_jd|, so each weight by a factor within
 * exp(+-2E), then (1 + u)^2 for rounding the weight and the value, on sum_j p_j |v_j|. */
static void reference(const attn_case * c, const float * q, size_t qs, const float * k, size_t ks,
                      const float * v, size_t vs, const float * mask, size_t mask_plane, double scale,
                      double * out, double * bf16_bound) {
    const int W = c->heads * c->hd;
    double * p = malloc(sizeof(double) * (size_t) c->nk);
    for (int b = 0; b < c->batch; b++) {
        const float * qb = q + (size_t) b * c->nq * qs, * kb = k + (size_t) b * c->nk * ks;
        const float * vb = v + (size_t) b * c->nk * vs;
        const float * mb = mask ? mask + (size_t) b * mask_plane : NULL;
        for (int h = 0; h < c->heads; h++) {
            for (int i = 0; i < c->nq; i++) {
                double m = -INFINITY, sum = 0, big = 0;
                for (int j = 0; j < c->nk; j++) {
                    double d = 0, a = 0;
                    for (int e = 0; e < c->hd; e++) {
                        const double t = (double) qb[(size_t) i * qs + h * c->hd + e] * kb[(size_t) j * ks + h * c->hd + e];
                        d += t;
                        a += fabs(t);
                    }
                    big = a > big ? a : big;
                    p[j] = d * scale + (mb ? mb[(size_t) i * c->nk + j] : 0.0);
                    m = p[j] > m ? p[j] : m;
                }
                const double factor = exp(2 * 2 * BF16_U * scale * big) * (1 + BF16_U) * (1 + BF16_U) - 1;
                for (int j = 0; j < c->nk; j++) {
                    p[j] = m == -INFINITY ? 0.0 : exp(p[j] - m);
                    sum += p[j];
                }
                for (int e = 0; e < c->hd; e++) {
                    double o = 0, oa = 0;
                    for (int j = 0; j < c->nk; j++) {
                        o += p[j] * vb[(size_t) j * vs + h * c->hd + e];
                        oa += p[j] * fabs(vb[(size_t) j * vs + h * c->hd + e]);
                    }
                    const size_t at = ((size_t) b * c->nq + i) * W + h * c->hd + e;
                    out[at] = sum > 0 ? o / sum : 0.0;
                    bf16_bound[at] = sum > 0 ? factor * oa / sum : 0.0;
                }
            }
        }
    }
    free(p);
}

/* The largest error of the BF16 kernel as a share of its bf16 bound, over the cases (printed). */
static double bf16_share;

static void run_case(const attn_case * c, cc_attn_kernel kernel, int threads) {
    const int W = c->heads * c->hd, n = c->nq > c->nk ? c->nq : c->nk;
    /* one tensor of [3W, n, B] floats; q, k, v are its thirds when strided, else separate tensors */
    struct ggml_init_params ip = { (ggml_tensor_overhead() + cc_work_share_room()) * 16 + ggml_graph_overhead(), NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * q, * k, * v, * all = NULL;
    if (c->strided) {
        all = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 3 * W, n, c->batch);
        q = ggml_view_3d(ctx, all, W, c->nq, c->batch, all->nb[1], all->nb[2], 0);
        k = ggml_view_3d(ctx, all, W, c->nk, c->batch, all->nb[1], all->nb[2], sizeof(float) * W);
        v = ggml_view_3d(ctx, all, W, c->nk, c->batch, all->nb[1], all->nb[2], sizeof(float) * 2 * W);
    } else {
        q = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, W, c->nq, c->batch);
        k = c->shared_qk ? q : ggml_new_tensor_3d(ctx, GGML_TYPE_F32, W, c->nk, c->batch);
        v = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, W, c->nk, c->batch);
    }
    struct ggml_tensor * mask = c->mask == 0 ? NULL
                                : ggml_new_tensor_4d(ctx, GGML_TYPE_F32, c->nk, c->nq, 1, c->mask == 2 ? c->batch : 1);
    struct ggml_tensor * scratch = cc_fused_attention_scratch(ctx, c->nk, c->hd, threads);
    /* the kernels take the scale as 1/sqrt(hd); a larger spread of q gives larger scores */
    struct ggml_tensor * out = cc_fused_attention_with(ctx, q, k, v, mask, c->heads, scratch, kernel);
    CHECK(out != NULL);
    if (!out) {
        ggml_free(ctx);
        return;
    }
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, out);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, backend);
    CHECK(buf != NULL);

    const size_t n_all = (size_t) 3 * W * n * c->batch;
    float * host = malloc(sizeof(float) * n_all);
    for (size_t i = 0; i < n_all; i++) host[i] = rnd() * c->scale_mul;
    if (c->opposed) {
        CHECK(!c->strided && !c->shared_qk);
        const size_t nq_el = (size_t) W * c->nq * c->batch, nk_el = (size_t) W * c->nk * c->batch;
        for (size_t i = 0; i < nq_el; i++) host[i] = fabsf(host[i]);
        for (size_t i = nq_el; i < nq_el + nk_el; i++) host[i] = -fabsf(host[i]);
    }
    const float * hq, * hk, * hv;
    size_t qs, ks, vs;
    float * hq_own = NULL, * hk_own = NULL, * hv_own = NULL;
    if (c->strided) {
        ggml_backend_tensor_set(all, host, 0, sizeof(float) * n_all);
        hq = host, hk = host + W, hv = host + 2 * W;
        qs = ks = vs = (size_t) 3 * W;
        /* the views' batch stride is that of n rows; the reference walks nq / nk rows per sequence */
        hq_own = malloc(sizeof(float) * (size_t) W * c->nq * c->batch);
        hk_own = malloc(sizeof(float) * (size_t) W * c->nk * c->batch);
        hv_own = malloc(sizeof(float) * (size_t) W * c->nk * c->batch);
        for (int b = 0; b < c->batch; b++) {
            for (int i = 0; i < c->nq; i++)
                memcpy(hq_own + ((size_t) b * c->nq + i) * W, hq + ((size_t) b * n + i) * qs, sizeof(float) * W);
            for (int j = 0; j < c->nk; j++) {
                memcpy(hk_own + ((size_t) b * c->nk + j) * W, hk + ((size_t) b * n + j) * ks, sizeof(float) * W);
                memcpy(hv_own + ((size_t) b * c->nk + j) * W, hv + ((size_t) b * n + j) * vs, sizeof(float) * W);
            }
        }
        hq = hq_own, hk = hk_own, hv = hv_own;
        qs = ks = vs = (size_t) W;
    } else {
        ggml_backend_tensor_set(q, host, 0, ggml_nbytes(q));
        hq = host, qs = (size_t) W;
        if (c->shared_qk) {
            hk = hq, ks = qs;
        } else {
            ggml_backend_tensor_set(k, host + ggml_nelements(q), 0, ggml_nbytes(k));
            hk = host + ggml_nelements(q), ks = (size_t) W;
        }
        hv = host + ggml_nelements(q) + (c->shared_qk ? 0 : ggml_nelements(k));
        ggml_backend_tensor_set(v, hv, 0, ggml_nbytes(v));
        vs = (size_t) W;
    }
    float * hm = NULL;
    size_t plane = (size_t) c->nk * c->nq;
    if (mask) {
        hm = malloc(sizeof(float) * ggml_nelements(mask));
        for (int64_t pl = 0; pl < mask->ne[3]; pl++) {
            for (int i = 0; i < c->nq; i++) {
                for (int j = 0; j < c->nk; j++) {
                    float x = j <= i + (c->nk - c->nq) ? 0.1f * rnd() : -INFINITY;
                    /* the last sequence's second row sees no key at all */
                    if (c->mask == 2 && pl == mask->ne[3] - 1 && i == 1) x = -INFINITY;
                    hm[(size_t) pl * plane + (size_t) i * c->nk + j] = x;
                }
            }
        }
        ggml_backend_tensor_set(mask, hm, 0, ggml_nbytes(mask));
    }
    set_threads(backend, threads);
    /* twice, the output filled with NaNs in between: the threads share the work anew each run
     * (cc_work), and a task the second run missed would keep them */
    CHECK(ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS);
    ggml_backend_tensor_memset(out, 0xFF, 0, ggml_nbytes(out));
    CHECK(ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS);

    float * got = malloc(ggml_nbytes(out));
    ggml_backend_tensor_get(out, got, 0, ggml_nbytes(out));
    double * want = malloc(sizeof(double) * (size_t) W * c->nq * c->batch);
    double * bf16_bound = malloc(sizeof(double) * (size_t) W * c->nq * c->batch);
    reference(c, hq, qs, hk, ks, hv, vs, hm, mask && mask->ne[3] > 1 ? plane : 0,
              1.0 / sqrt((double) c->hd), want, bf16_bound);
    double worst = 0;
    int bad = 0;
    for (size_t i = 0; i < (size_t) W * c->nq * c->batch; i++) {
        const double err = fabs(got[i] - want[i]);
        worst = err > worst ? err : worst;
        /* float accumulation over nk keys of values up to scale_mul in size; scores of about -130
         * carry float errors of about 1e-4 in the exponent, and so in the weights (a maximum taken
         * from the padding keys would make each row the mean of the values, off by units) */
        const double bound = (c->opposed ? 1e-3 * c->scale_mul
                                         : 2e-6 * c->scale_mul * sqrt((double) c->nk) + 1e-6 * fabs(want[i])) +
                             (kernel == CC_ATTN_KERNEL_BF16 ? bf16_bound[i] : 0.0);
        if (!(err <= bound)) bad++;
        if (kernel == CC_ATTN_KERNEL_BF16 && !c->opposed && bf16_bound[i] > 0) {
            bf16_share = fmax(bf16_share, err / bf16_bound[i]);
        }
    }
    CHECK_MSG(bad == 0, "kernel %d, %d threads, heads %d hd %d nq %d nk %d batch %d%s%s mask %d x%g: "
              "%d of %d values off, max abs diff %g", (int) kernel, threads, c->heads, c->hd, c->nq, c->nk,
              c->batch, c->shared_qk ? " q=k" : "", c->strided ? " strided" : "", c->mask, c->scale_mul, bad,
              W * c->nq * c->batch, worst);
    if (c->mask == 2) {
        /* the row that sees no key: exactly zero, not NaN */
        const float * row = got + ((size_t) (c->batch - 1) * c->nq + 1) * W;
        bool zero = true;
        for (int e = 0; e < W; e++) zero = zero && row[e] == 0.0f;
        CHECK_MSG(zero, "kernel %d: a fully masked row is not zero", (int) kernel);
    }
    free(got);
    free(want);
    free(bf16_bound);
    free(host);
    free(hm);
    free(hq_own);
    free(hk_own);
    free(hv_own);
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
}

#ifdef CC_FUSED_X86
static __attribute__((target("avx512f"))) void exp2_avx512(const float * t, float * out) {
    _mm512_storeu_ps(out, cc_exp2_nonpos(_mm512_loadu_ps(t)));
}

/* The softmax's 2^t against exp2 in double: within 2e-7 relative wherever the result is a normal
 * float (t >= -125), and at most 2^-126 below (-inf included). */
static void test_exp2(void) {
    if (!__builtin_cpu_supports("avx512f")) {
        printf("exp2: this CPU has no AVX-512, skipped\n");
        return;
    }
    double worst = 0;
    int bad = 0;
    for (int i = 0; i < 160000; i += 16) {
        float t[16], got[16];
        for (int l = 0; l < 16; l++) t[l] = i + l == 0 ? -INFINITY : -130.0f + (float) (i + l) * (130.0f / 159999.0f);
        exp2_avx512(t, got);
        for (int l = 0; l < 16; l++) {
            if (t[l] >= -125.0f) {
                const double want = exp2((double) t[l]), rel = fabs(got[l] - want) / want;
                worst = rel > worst ? rel : worst;
                if (!(rel <= 2e-7)) bad++;
            } else if (t[l] <= -126.0f && !(got[l] >= 0.0f && got[l] <= 0x1p-126f)) {
                bad++;
            }
        }
    }
    CHECK_MSG(bad == 0, "exp2: %d values off, worst relative error %g", bad, worst);
    printf("exp2: worst relative error %.3g\n", worst);
}
#endif

int main(void) {
    if (clearclip_backend_load(NULL) != CLEARCLIP_OK) {
        fprintf(stderr, "no CPU backend: %s\n", clearclip_last_error());
        return 1;
    }
    backend = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    CHECK(backend != NULL);
    if (!backend) return test_finish("test_attention");
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(ggml_backend_get_device(backend));
    set_threads = (void (*)(ggml_backend_t, int)) ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
    CHECK(set_threads != NULL);
    if (!set_threads) return test_finish("test_attention");

    const attn_case cases[] = {
        /* heads, hd, nq, nk, batch, shared_qk, strided, mask, scale_mul */
        { 2, 64, 200, 200, 1, false, false, 0, 1.0f },    /* ViT-like head size, 4 tasks + a tail */
        { 2, 64, 197, 197, 1, true,  false, 0, 1.0f },    /* ClearCLIP's q-q attention */
        { 3, 16, 17, 33, 1, false, false, 0, 1.0f },      /* one-vector tiles, partial keys */
        { 1, 32, 5, 1, 1, false, false, 0, 1.0f },        /* a single key */
        { 1, 48, 1, 5, 1, false, false, 0, 1.0f },        /* a single query; 32 + 16 columns */
        { 2, 80, 50, 77, 2, false, false, 0, 1.0f },      /* 64 + 16 columns, a batch */
        { 1, 128, 49, 100, 1, false, true, 0, 1.0f },     /* two 64-column tiles; strided views */
        { 2, 64, 77, 77, 3, false, true, 1, 1.0f },       /* text tower: causal mask shared by the batch */
        { 2, 64, 33, 33, 2, false, false, 2, 1.0f },      /* one mask plane per sequence, a row fully masked */
        { 2, 64, 61, 61, 1, true, false, 0, 6.0f },       /* large scores: the softmax's shift matters */
        { 2, 64, 30, 61, 1, false, false, 0, 8.0f, true }, /* scores about -130 and below, keys padded */
        { 1, 64, 20, 96, 1, false, false, 0, 1.0f },     /* keys a multiple of the softmax's 32: no last partial step */
    };
#ifdef CC_FUSED_X86
    test_exp2();
#endif
    cc_attn_kernel kernels[] = { CC_ATTN_KERNEL_AVX2, CC_ATTN_KERNEL_AVX512, CC_ATTN_KERNEL_BF16 };
    int ran = 0;
    for (size_t kk = 0; kk < sizeof(kernels) / sizeof(kernels[0]); kk++) {
        if (!cc_fused_attention_kernel_runs(kernels[kk])) {
            printf("kernel %d: this CPU does not run it, skipped\n", (int) kernels[kk]);
            continue;
        }
        ran++;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            for (int threads = 1; threads <= 3; threads += 2) run_case(&cases[i], kernels[kk], threads);
        }
    }
    printf("best kernel on this CPU: %d; kernels tested: %d; bf16 kernel: worst error %.2f of its bound\n",
           (int) cc_fused_attention_best_kernel(), ran, bf16_share);
    /* the operation refuses a head size that is not a multiple of 16 and an unknown kernel */
    {
        struct ggml_init_params ip = { (ggml_tensor_overhead() + cc_work_share_room()) * 8, NULL, true };
        struct ggml_context * ctx = ggml_init(ip);
        struct ggml_tensor * q = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 24, 4);
        struct ggml_tensor * s = cc_fused_attention_scratch(ctx, 4, 24, 1);
        CHECK(cc_fused_attention_with(ctx, q, q, q, NULL, 1, s, cc_fused_attention_best_kernel()) == NULL);
        struct ggml_tensor * q2 = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 32, 4);
        CHECK(cc_fused_attention_with(ctx, q2, q2, q2, NULL, 2, s, CC_ATTN_KERNEL_NONE) == NULL);
        CHECK(!cc_fused_attention_available(24));
        ggml_free(ctx);
    }
    ggml_backend_free(backend);
    return test_finish("test_attention");
}
