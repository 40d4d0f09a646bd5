/* The engine's own product of q8_0 and q4_0 weights with f32 activations on x86 CPUs with AVX2
 * (AVX-512 VNNI, AVX-VNNI or plain AVX2 kernels), as two ggml custom operations: the activations
 * quantized once per product (one row per thread in turn), then the int8 GEMM over weights packed
 * at model load (q8_gemm_kernels.h). ggml's own q8_0 product on x86 runs 256-bit kernels that
 * scale every block of 32 in float; this one keeps up to 32 weight rows x 6 activation rows of
 * integer sums in registers. q4_0 keeps its nibbles packed (about ggml's q4_0 size). */
#include "internal.h"
#include "q8_gemm_kernels.h"

#include <string.h>
#ifdef CC_Q8_X86
#  include <cpuid.h>

/* F16C and AVX-VNNI straight from CPUID: clang 14's __builtin_cpu_supports knows neither name
 * (gcc 12's does). The OS's saving of the YMM/ZMM state is covered by the avx2 / avx512f checks
 * beside them, which __builtin_cpu_supports makes with XGETBV. */
static bool cc_cpu_has_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

static bool cc_cpu_has_avxvnni(void) {
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 4));
}
#endif

bool cc_q8_kernel_cpu_runs(cc_q8_kernel kernel) {
#ifdef CC_Q8_X86
    switch (kernel) {
        case CC_Q8_KERNEL_AVX512:
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni") &&
                   cc_cpu_has_f16c();
        case CC_Q8_KERNEL_AVXVNNI:
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                   cc_cpu_has_f16c() && cc_cpu_has_avxvnni();
        case CC_Q8_KERNEL_AVX2:
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cc_cpu_has_f16c();
        default:
            return false;
    }
#else
    (void) kernel;
    return false;
#endif
}

cc_q8_kernel cc_q8_best_kernel(void) {
    /* the CPU's features, limited to those of the ggml variant in use (cc_cpu_backend_feature) */
    if (cc_q8_kernel_cpu_runs(CC_Q8_KERNEL_AVX512) && cc_cpu_backend_feature("AVX512_VNNI")) {
        return CC_Q8_KERNEL_AVX512;
    }
    if (cc_q8_kernel_cpu_runs(CC_Q8_KERNEL_AVXVNNI) && cc_cpu_backend_feature("AVX_VNNI")) {
        return CC_Q8_KERNEL_AVXVNNI;
    }
    /* ggml's x86 variants with AVX2 all have FMA and F16C (it lists FMA under no name that every
     * build of it shows, so AVX2 and F16C are what is asked) */
    if (cc_q8_kernel_cpu_runs(CC_Q8_KERNEL_AVX2) && cc_cpu_backend_feature("AVX2") && cc_cpu_backend_feature("F16C")) {
        return CC_Q8_KERNEL_AVX2;
    }
    return CC_Q8_KERNEL_NONE;
}

bool cc_q8_gemm_available(void) {
    return cc_q8_best_kernel() != CC_Q8_KERNEL_NONE;
}

size_t cc_q8_packed_size(enum ggml_type type, int64_t k, int64_t m) {
    const int64_t tiles = (m + CC_Q8_TILE_ROWS - 1) / CC_Q8_TILE_ROWS;
    const size_t block_bytes = type == GGML_TYPE_Q8_0   ? CC_Q8_TILE_BLOCK_BYTES
                               : type == GGML_TYPE_Q4_0 ? CC_Q4_TILE_BLOCK_BYTES
                                                        : 0;
    return (size_t) tiles * (size_t) (k / CC_Q8_BLOCK) * block_bytes;
}

/* ggml's q8_0 block: an f16 scale, then 32 signed bytes. */
typedef struct {
    ggml_fp16_t d;
    int8_t      qs[CC_Q8_BLOCK];
} cc_block_q8_0;

static void cc_q8_pack_q8_0(const void * q8_0, int64_t k, int64_t m, uint8_t * out) {
    const int64_t blocks = k / CC_Q8_BLOCK;
    const int64_t tiles = (m + CC_Q8_TILE_ROWS - 1) / CC_Q8_TILE_ROWS;
    const cc_block_q8_0 * w = q8_0;
    for (int64_t t = 0; t < tiles; t++) {
        for (int64_t b = 0; b < blocks; b++) {
            uint8_t * blk = out + ((size_t) t * (size_t) blocks + (size_t) b) * CC_Q8_TILE_BLOCK_BYTES;
            float dw[CC_Q8_TILE_ROWS];
            int32_t corr[CC_Q8_TILE_ROWS];
            for (int r = 0; r < CC_Q8_TILE_ROWS; r++) {
                const int64_t row = t * CC_Q8_TILE_ROWS + r;
                const cc_block_q8_0 * src = row < m ? &w[(size_t) row * (size_t) blocks + (size_t) b] : NULL;
                /* group r / 16, then per step s of 4 inputs: 16 rows x 4 bytes */
                uint8_t * dstg = blk + (size_t) (r / 16) * 512 + (size_t) (r % 16) * 4;
                int32_t sum = 0;
                for (int s = 0; s < 8; s++) {
                    for (int e = 0; e < 4; e++) {
                        const int8_t v = src ? src->qs[s * 4 + e] : 0;
                        dstg[s * 64 + e] = (uint8_t) v;
                        sum += v;
                    }
                }
                dw[r] = src ? ggml_fp16_to_fp32(src->d) : 0.0f;
                corr[r] = 128 * sum;
            }
            memcpy(blk + 1024, dw, sizeof(dw));
            memcpy(blk + 1152, corr, sizeof(corr));
        }
    }
}

/* ggml's q4_0 block: an f16 scale, then 16 bytes holding inputs 0..15 in their low nibbles and
 * 16..31 in their high ones (w = nibble - 8). */
typedef struct {
    ggml_fp16_t d;
    uint8_t     qs[CC_Q8_BLOCK / 2];
} cc_block_q4_0;

/* The packed byte of row r, step pair p, input e (q8_gemm_kernels.h) holds inputs 4p+e (low) and
 * 16+4p+e (high): ggml's byte qs[4p+e] as it is, so packing only moves bytes. */
static void cc_q8_pack_q4_0(const void * q4_0, int64_t k, int64_t m, uint8_t * out) {
    const int64_t blocks = k / CC_Q8_BLOCK;
    const int64_t tiles = (m + CC_Q8_TILE_ROWS - 1) / CC_Q8_TILE_ROWS;
    const cc_block_q4_0 * w = q4_0;
    for (int64_t t = 0; t < tiles; t++) {
        for (int64_t b = 0; b < blocks; b++) {
            uint8_t * blk = out + ((size_t) t * (size_t) blocks + (size_t) b) * CC_Q4_TILE_BLOCK_BYTES;
            ggml_fp16_t dw[CC_Q8_TILE_ROWS];
            for (int r = 0; r < CC_Q8_TILE_ROWS; r++) {
                const int64_t row = t * CC_Q8_TILE_ROWS + r;
                const cc_block_q4_0 * src = row < m ? &w[(size_t) row * (size_t) blocks + (size_t) b] : NULL;
                uint8_t * dstg = blk + (size_t) (r / 16) * 256 + (size_t) (r % 16) * 4;
                for (int p = 0; p < 4; p++) {
                    /* rows past m: nibbles 8 (w = 0) and scale 0 */
                    for (int e = 0; e < 4; e++) dstg[p * 64 + e] = src ? src->qs[p * 4 + e] : 0x88;
                }
                dw[r] = src ? src->d : ggml_fp32_to_fp16(0.0f);
            }
            memcpy(blk + CC_Q8_TILE_ROWS * CC_Q8_BLOCK / 2, dw, sizeof(dw));
        }
    }
}

void cc_q8_pack(enum ggml_type type, const void * data, int64_t k, int64_t m, uint8_t * out) {
    if (type == GGML_TYPE_Q8_0) cc_q8_pack_q8_0(data, k, m, out);
    if (type == GGML_TYPE_Q4_0) cc_q8_pack_q4_0(data, k, m, out);
}

#ifdef CC_Q8_X86

/* What the operations' userdata carries: k | kernel << 48 | q4 << 56 (q4: q4_0 weights). */
#define CC_Q8_K_BITS 48
#define CC_Q8_Q4_BIT 56

/* Whether the kernel multiplies x + 128 (the VNNI kernels' q8_0 products) or signed x. */
static bool cc_q8_offset(cc_q8_kernel kernel, bool q4) {
    return !q4 && (kernel == CC_Q8_KERNEL_AVX512 || kernel == CC_Q8_KERNEL_AVXVNNI);
}

/* Activation rows the threads share the quantization in. */
#define CC_Q8_QUANTIZE_ROWS 16

/* src[0] x [k, n] f32 (rows contiguous, any row stride) -> dst [row bytes, n] int8, shared between
 * the threads in blocks of rows. */
static void cc_q8_quantize_op(struct ggml_tensor * dst, int ith, int nth, void * userdata) {
    const struct ggml_tensor * x = dst->src[0];
    const int64_t n = x->ne[1];
    const int64_t data = (int64_t) cc_work_share_data(userdata);
    const cc_q8_kernel kernel = (cc_q8_kernel) ((data >> CC_Q8_K_BITS) & 0xFF);
    const bool offset = cc_q8_offset(kernel, (data >> CC_Q8_Q4_BIT) & 1);
    void (*quantize)(const float *, size_t, int64_t, int64_t, int64_t, uint8_t *, bool) =
        kernel == CC_Q8_KERNEL_AVX512 ? cc_q8_quantize_avx512 : cc_q8_quantize_avx2;
    cc_work w;
    cc_work_begin(&w, userdata, ith, nth, (n + CC_Q8_QUANTIZE_ROWS - 1) / CC_Q8_QUANTIZE_ROWS);
    for (int64_t b; (b = cc_work_next(&w)) >= 0;) {
        const int64_t r0 = b * CC_Q8_QUANTIZE_ROWS;
        quantize((const float *) x->data, x->nb[1] / sizeof(float), x->ne[0], r0,
                 r0 + CC_Q8_QUANTIZE_ROWS < n ? r0 + CC_Q8_QUANTIZE_ROWS : n, (uint8_t *) dst->data, offset);
    }
}

static cc_q8_gemm_fn cc_q8_gemm_kernel(cc_q8_kernel kernel, bool q4) {
    switch (kernel) {
        case CC_Q8_KERNEL_AVX512:  return q4 ? cc_q4_gemm_avx512 : cc_q8_gemm_avx512;
        case CC_Q8_KERNEL_AVXVNNI: return q4 ? cc_q4_gemm_avxvnni : cc_q8_gemm_avxvnni;
        default:                   return q4 ? cc_q4_gemm_avx2 : cc_q8_gemm_avx2;
    }
}

/* Weight tiles per share of the product's work: 2 (64 rows) ran a ViT-B/16 window's q8_0 products
 * 4% faster than 1 or 4 on 2 threads of a Zen 5. */
#define CC_Q8_GROUP_TILES 2

/* src[0] packed weights, src[1] quantized activations -> dst [m, n] f32. The threads share the
 * work in groups of weight tiles, each streaming its group's weights once per chunk of
 * activation rows. */
static void cc_q8_gemm_op(struct ggml_tensor * dst, int ith, int nth, void * userdata) {
    const int64_t data = (int64_t) cc_work_share_data(userdata);
    const int64_t k = data & (((int64_t) 1 << CC_Q8_K_BITS) - 1);
    const int64_t m = dst->ne[0], n = dst->ne[1];
    const int64_t tiles = (m + CC_Q8_TILE_ROWS - 1) / CC_Q8_TILE_ROWS;
    const cc_q8_gemm_fn gemm = cc_q8_gemm_kernel((cc_q8_kernel) ((data >> CC_Q8_K_BITS) & 0xFF),
                                                 (data >> CC_Q8_Q4_BIT) & 1);
    const int64_t group = CC_Q8_GROUP_TILES;
    cc_work w;
    cc_work_begin(&w, userdata, ith, nth, (tiles + group - 1) / group);
    for (int64_t g; (g = cc_work_next(&w)) >= 0;) {
        gemm((const uint8_t *) dst->src[0]->data, k, m, (const uint8_t *) dst->src[1]->data, n, (float *) dst->data,
             dst->nb[1] / sizeof(float), g * group, g * group + group < tiles ? g * group + group : tiles);
    }
}

struct ggml_tensor * cc_q8_mul_mat_with(struct ggml_context * ctx, struct ggml_tensor * packed, enum ggml_type type,
                                        int64_t m, struct ggml_tensor * x, cc_q8_kernel kernel) {
    const int64_t k = x->ne[0], n = x->ne[1];
    if (!cc_q8_kernel_cpu_runs(kernel) || (type != GGML_TYPE_Q8_0 && type != GGML_TYPE_Q4_0) ||
        x->type != GGML_TYPE_F32 || x->ne[2] != 1 || x->ne[3] != 1 || k % CC_Q8_BLOCK != 0 ||
        k >= ((int64_t) 1 << CC_Q8_K_BITS) || x->nb[0] != sizeof(float) ||
        ggml_nbytes(packed) != cc_q8_packed_size(type, k, m)) {
        return NULL;
    }
    const int64_t data = k | ((int64_t) kernel << CC_Q8_K_BITS) | ((int64_t) (type == GGML_TYPE_Q4_0) << CC_Q8_Q4_BIT);
    cc_work_share * quantize_share = cc_work_share_new(ctx, (intptr_t) data);
    cc_work_share * gemm_share = quantize_share ? cc_work_share_new(ctx, (intptr_t) data) : NULL;
    if (!gemm_share) return NULL;
    struct ggml_tensor * xq = ggml_custom_4d(ctx, GGML_TYPE_I8, (int64_t) cc_q8_act_row_bytes(k), n, 1, 1,
                                             &x, 1, cc_q8_quantize_op, GGML_N_TASKS_MAX, quantize_share);
    struct ggml_tensor * args[2] = { packed, xq };
    return ggml_custom_4d(ctx, GGML_TYPE_F32, m, n, 1, 1, args, 2, cc_q8_gemm_op, GGML_N_TASKS_MAX, gemm_share);
}

#else

struct ggml_tensor * cc_q8_mul_mat_with(struct ggml_context * ctx, struct ggml_tensor * packed, enum ggml_type type,
                                        int64_t m, struct ggml_tensor * x, cc_q8_kernel kernel) {
    (void) ctx; (void) packed; (void) type; (void) m; (void) x; (void) kernel;
    return NULL;
}

#endif

struct ggml_tensor * cc_q8_mul_mat(struct ggml_context * ctx, struct ggml_tensor * packed, enum ggml_type type,
                                   int64_t m, struct ggml_tensor * x) {
    return cc_q8_mul_mat_with(ctx, packed, type, m, x, cc_q8_best_kernel());
}
