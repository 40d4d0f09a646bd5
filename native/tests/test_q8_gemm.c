/* The engine's int8 product for q8_0 and q4_0 weights (q8_gemm*.c) against a plain C reference
 * that follows the q8_0 / q4_0 definitions (weights read from ggml's blocks as stored in a file;
 * activations quantized per block of 32 with scale amax / 127 kept as f16, values rounded to
 * nearest even; sum over blocks of dw * dx * integer dot, in double), over odd sizes (partial
 * weight tiles, partial activation tiles, more rows than one chunk), strided activation rows and
 * 1 or 3 threads; and against ggml's own q8_0 / q4_0 product on ViT-sized cases. Every kernel
 * this CPU runs (AVX-512 VNNI, AVX2 + AVX-VNNI, plain AVX2); a kernel it cannot run is skipped
 * with a line saying so. */
#include "clearclip.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "internal.h"
#include "test_common.h"

#include <math.h>

static uint32_t rng_state = 77;
static float rnd(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float) (rng_state >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static ggml_backend_t backend;
static void (*set_threads)(ggml_backend_t, int);

/* ggml's q8_0 block, as the weights are stored in a file */
typedef struct {
    ggml_fp16_t d;
    int8_t      qs[32];
} block_q8_0;

/* ggml's q4_0 block: inputs 0..15 in the low nibbles, 16..31 in the high ones, w = nibble - 8 */
typedef struct {
    ggml_fp16_t d;
    uint8_t     qs[16];
} block_q4_0;

/* Weight e of a block of row i, and the block's scale, for either type. */
static int weight(enum ggml_type type, const void * w, int blocks, int i, int b, int e, float * d) {
    if (type == GGML_TYPE_Q8_0) {
        const block_q8_0 * wb = (const block_q8_0 *) w + (size_t) i * blocks + b;
        *d = ggml_fp16_to_fp32(wb->d);
        return wb->qs[e];
    }
    const block_q4_0 * wb = (const block_q4_0 *) w + (size_t) i * blocks + b;
    *d = ggml_fp16_to_fp32(wb->d);
    return (e < 16 ? wb->qs[e] & 0x0F : wb->qs[e - 16] >> 4) - 8;
}

/* dst[n][m] in double from q8_0 or q4_0 weights w (m rows of k) and f32 activations x (n rows
 * of k). */
static void reference(enum ggml_type type, const void * w, const float * x, size_t x_stride, int k, int m, int n,
                      double * dst) {
    const int blocks = k / 32;
    int8_t * xq = malloc((size_t) k);
    float * dx = malloc(sizeof(float) * (size_t) blocks);
    for (int j = 0; j < n; j++) {
        const float * xr = x + (size_t) j * x_stride;
        for (int b = 0; b < blocks; b++) {
            float amax = 0;
            for (int e = 0; e < 32; e++) amax = fmaxf(amax, fabsf(xr[b * 32 + e]));
            const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
            dx[b] = ggml_fp16_to_fp32(ggml_fp32_to_fp16(amax / 127.0f));
            for (int e = 0; e < 32; e++) xq[b * 32 + e] = (int8_t) nearbyintf(xr[b * 32 + e] * id);
        }
        for (int i = 0; i < m; i++) {
            double acc = 0;
            for (int b = 0; b < blocks; b++) {
                int32_t dot = 0;
                float dw = 0;
                for (int e = 0; e < 32; e++) dot += (int32_t) weight(type, w, blocks, i, b, e, &dw) * xq[b * 32 + e];
                acc += (double) dw * dx[b] * dot;
            }
            dst[(size_t) j * m + i] = acc;
        }
    }
    free(xq);
    free(dx);
}

/* Runs the product (and, when with_ggml, ggml's mul_mat of the same weights) on the CPU
 * backend and checks it against the reference (and ggml's). */
static cc_q8_kernel kernel;
static enum ggml_type wtype;
/* Weights and activations of +-1 in alternation instead of random: every weight at the end of
 * its range (q4_0 nibbles 0 and 15, q8_0 +-127) and every activation at +-127, so the 16-bit
 * sums of the AVX2 kernels reach their largest values (one activation row in two matches the
 * weights' signs, the next the opposite). */
static bool extreme;

static void run_case(int k, int m, int n, int pad, int threads, bool with_ggml) {
    const int blocks = k / 32;
    void * w = malloc(ggml_row_size(wtype, k) * (size_t) m);
    float * wf = malloc(sizeof(float) * (size_t) m * k);
    for (size_t i = 0; i < (size_t) m * k; i++) {
        wf[i] = extreme ? (i % 2 ? 1.0f : -1.0f) : rnd() * (1.0f + (float) (i % 7));
    }
    ggml_quantize_chunk(wtype, wf, w, 0, m, k, NULL);
    const size_t x_stride = (size_t) k + pad;
    float * x = malloc(sizeof(float) * x_stride * n);
    for (size_t i = 0; i < x_stride * n; i++) {
        const size_t row = i / x_stride, col = i % x_stride;
        x[i] = extreme ? ((col % 2) == (row % 2) ? 3.0f : -3.0f) : rnd() * (i % 5 == 0 ? 4.0f : 1.0f);
    }
    /* a block of zeros: scale 0, which must give 0, not NaN */
    if (!extreme && k >= 64 && n > 1) memset(x + x_stride + 32, 0, sizeof(float) * 32);

    struct ggml_init_params ip = { (ggml_tensor_overhead() + cc_work_share_room()) * 16 + ggml_graph_overhead(), NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * packed = ggml_new_tensor_1d(ctx, GGML_TYPE_I8, (int64_t) cc_q8_packed_size(wtype, k, m));
    struct ggml_tensor * wq = ggml_new_tensor_2d(ctx, wtype, k, m);
    struct ggml_tensor * xall = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, (int64_t) x_stride, n);
    struct ggml_tensor * xv = ggml_view_2d(ctx, xall, k, n, xall->nb[1], 0);
    struct ggml_tensor * out = cc_q8_mul_mat_with(ctx, packed, wtype, m, xv, kernel);
    CHECK(out != NULL);
    if (!out) {
        ggml_free(ctx);
        return;
    }
    struct ggml_tensor * out_ggml = with_ggml ? ggml_mul_mat(ctx, wq, ggml_cont(ctx, xv)) : NULL;
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, out);
    if (out_ggml) ggml_build_forward_expand(gf, out_ggml);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors(ctx, backend);
    CHECK(buf != NULL);
    uint8_t * pk = malloc(ggml_nbytes(packed));
    cc_q8_pack(wtype, w, k, m, pk);
    ggml_backend_tensor_set(packed, pk, 0, ggml_nbytes(packed));
    ggml_backend_tensor_set(wq, w, 0, ggml_nbytes(wq));
    ggml_backend_tensor_set(xall, x, 0, ggml_nbytes(xall));
    set_threads(backend, threads);
    /* twice, the output filled with NaNs in between: the threads share the work anew each run
     * (cc_work), and a part the second run missed would keep them */
    CHECK(ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS);
    ggml_backend_tensor_memset(out, 0xFF, 0, ggml_nbytes(out));
    CHECK(ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS);

    float * got = malloc(sizeof(float) * (size_t) m * n);
    ggml_backend_tensor_get(out, got, 0, sizeof(float) * (size_t) m * n);
    double * want = malloc(sizeof(double) * (size_t) m * n);
    reference(wtype, w, x, x_stride, k, m, n, want);
    double scale = 0;
    for (size_t i = 0; i < (size_t) m * n; i++) scale = fmax(scale, fabs(want[i]));
    double worst = 0;
    int nan = 0;
    for (size_t i = 0; i < (size_t) m * n; i++) {
        if (isnan(got[i])) nan++;
        worst = fmax(worst, fabs(got[i] - want[i]));
    }
    /* integer sums are exact; what is left is float rounding of k/32 scaled block sums */
    CHECK_MSG(nan == 0 && worst <= 1e-6 * scale * blocks + 1e-30, "%s kernel %d, k %d m %d n %d pad %d, %d threads: "
              "max abs diff %g (output scale %g), %d NaN", ggml_type_name(wtype), (int) kernel, k, m, n, pad, threads,
              worst, scale, nan);
    if (out_ggml) {
        float * g = malloc(sizeof(float) * (size_t) m * n);
        ggml_backend_tensor_get(out_ggml, g, 0, sizeof(float) * (size_t) m * n);
        double gw = 0;
        for (size_t i = 0; i < (size_t) m * n; i++) gw = fmax(gw, fabs(got[i] - g[i]));
        /* ggml quantizes the activations the same way for both types: only float rounding apart */
        CHECK_MSG(gw <= 1e-5 * scale, "%s kernel %d, k %d m %d n %d: max abs diff to ggml's product %g (scale %g)",
                  ggml_type_name(wtype), (int) kernel, k, m, n, gw, scale);
        free(g);
    }
    free(got);
    free(want);
    free(pk);
    free(w);
    free(wf);
    free(x);
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
}

int main(void) {
    /* the packed size is whole tiles of 32 rows x blocks of 32 inputs */
    CHECK(cc_q8_packed_size(GGML_TYPE_Q8_0, 64, 1) == 2 * (size_t) (32 * 32 + 32 * 8));
    CHECK(cc_q8_packed_size(GGML_TYPE_Q8_0, 64, 33) == 2 * cc_q8_packed_size(GGML_TYPE_Q8_0, 64, 32));
    /* q4_0 stays at ggml's size: 16 bytes of nibbles and an f16 scale per row and block */
    CHECK(cc_q8_packed_size(GGML_TYPE_Q4_0, 768, 2304) == ggml_row_size(GGML_TYPE_Q4_0, 768) * 2304);
    CHECK(cc_q8_packed_size(GGML_TYPE_Q4_0, 64, 33) == 2 * cc_q8_packed_size(GGML_TYPE_Q4_0, 64, 32));
    CHECK(cc_q8_packed_size(GGML_TYPE_Q4_1, 64, 32) == 0);
    if (clearclip_backend_load(NULL) != CLEARCLIP_OK) {
        fprintf(stderr, "no CPU backend: %s\n", clearclip_last_error());
        return 1;
    }
    backend = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    CHECK(backend != NULL);
    if (!backend) return test_finish("test_q8_gemm");
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(ggml_backend_get_device(backend));
    set_threads = (void (*)(ggml_backend_t, int)) ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
    CHECK(set_threads != NULL);
    if (!set_threads) return test_finish("test_q8_gemm");

    const int ks[] = { 32, 96, 768 };
    const int ms[] = { 1, 9, 17, 32, 45, 100 };
    const int ns[] = { 1, 2, 4, 5, 6, 7, 13, 97 };
    const cc_q8_kernel kernels[] = { CC_Q8_KERNEL_AVX512, CC_Q8_KERNEL_AVXVNNI, CC_Q8_KERNEL_AVX2 };
    const enum ggml_type types[] = { GGML_TYPE_Q8_0, GGML_TYPE_Q4_0 };
    int ran = 0;
    for (size_t kk = 0; kk < sizeof(kernels) / sizeof(kernels[0]); kk++) {
        kernel = kernels[kk];
        if (!cc_q8_kernel_cpu_runs(kernel)) {
            printf("kernel %d: this CPU does not run it, skipped\n", (int) kernel);
            continue;
        }
        ran++;
        for (size_t tt = 0; tt < sizeof(types) / sizeof(types[0]); tt++) {
            wtype = types[tt];
            for (size_t a = 0; a < sizeof(ks) / sizeof(ks[0]); a++)
                for (size_t b = 0; b < sizeof(ms) / sizeof(ms[0]); b++)
                    for (size_t c = 0; c < sizeof(ns) / sizeof(ns[0]); c++)
                        run_case(ks[a], ms[b], ns[c], (int) (c % 2) * 3, 1 + 2 * (int) ((a + b + c) % 2), false);
            /* ViT-B/16 shapes (a whole 448 window's 785 rows once), next to ggml's own product */
            run_case(768, 96, 50, 0, 2, true);
            run_case(3072, 64, 13, 0, 3, true);
            run_case(768, 45, 785, 0, 2, true);
            extreme = true;
            run_case(96, 45, 7, 0, 1, true);
            run_case(768, 32, 6, 0, 2, true);
            extreme = false;
        }
    }
    printf("best kernel with this CPU and ggml variant: %d; kernels tested: %d\n", (int) cc_q8_best_kernel(), ran);
    kernel = cc_q8_best_kernel() != CC_Q8_KERNEL_NONE ? cc_q8_best_kernel() : CC_Q8_KERNEL_AVX512;
    /* activations that are not 2-D f32 rows are refused (the caller keeps ggml's product) */
    {
        struct ggml_init_params ip = { (ggml_tensor_overhead() + cc_work_share_room()) * 8, NULL, true };
        struct ggml_context * ctx = ggml_init(ip);
        struct ggml_tensor * p = ggml_new_tensor_1d(ctx, GGML_TYPE_I8, (int64_t) cc_q8_packed_size(GGML_TYPE_Q8_0, 64, 32));
        const enum ggml_type q8 = GGML_TYPE_Q8_0;
        CHECK(cc_q8_mul_mat_with(ctx, p, q8, 32, ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 64, 4, 2), kernel) == NULL);
        CHECK(cc_q8_mul_mat_with(ctx, p, q8, 32, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 48, 4), kernel) == NULL);
        CHECK(cc_q8_mul_mat_with(ctx, p, q8, 32, ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 64, 4), kernel) == NULL);
        CHECK(cc_q8_mul_mat_with(ctx, p, q8, 33, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 64, 4), kernel) == NULL);
        CHECK(cc_q8_mul_mat_with(ctx, p, q8, 32, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 64, 4), CC_Q8_KERNEL_NONE) == NULL);
        /* the q8_0 packing's size is not q4_0's, and other types are not taken */
        CHECK(cc_q8_mul_mat_with(ctx, p, GGML_TYPE_Q4_0, 32, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 64, 4), kernel) == NULL);
        CHECK(cc_q8_mul_mat_with(ctx, p, GGML_TYPE_Q4_1, 32, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 64, 4), kernel) == NULL);
        ggml_free(ctx);
    }
    ggml_backend_free(backend);
    return test_finish("test_q8_gemm");
}
