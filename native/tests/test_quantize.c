/* clearclip_quantize / clearclip_quantized_size: round trip through ggml's own dequantizers
 * with per-type error bounds, a hand-computed q8_0 block, and argument rejection. */
#include "clearclip.h"
#include "ggml.h"
#include "test_common.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* Worst-case rounding step of one block relative to its values, per type. */
static float block_step(clearclip_tensor_type t, float amax, float lo, float hi) {
    switch (t) {
        case CLEARCLIP_TYPE_Q8_0: return amax / 127.0f;
        case CLEARCLIP_TYPE_Q5_0: return amax / 16.0f;
        case CLEARCLIP_TYPE_Q4_0: return amax / 8.0f;
        case CLEARCLIP_TYPE_Q5_1: return (hi - lo) / 31.0f;
        case CLEARCLIP_TYPE_Q4_1: return (hi - lo) / 15.0f;
        default: return 0.0f;
    }
}

static void round_trip(clearclip_tensor_type type) {
    const int64_t rows = 8, cols = 256;
    float * src = malloc(sizeof(float) * rows * cols);
    float * back = malloc(sizeof(float) * rows * cols);
    srand(42);
    for (int64_t i = 0; i < rows * cols; i++) {
        src[i] = ((float) rand() / (float) RAND_MAX - 0.5f) * (float) (1 + i % 7);
    }
    size_t size = 0;
    CHECK(clearclip_quantized_size(type, rows, cols, &size) == CLEARCLIP_OK);
    CHECK(size == ggml_row_size((enum ggml_type) type, cols) * rows);
    void * dst = malloc(size);
    CHECK_MSG(clearclip_quantize(type, src, rows, cols, dst, size) == CLEARCLIP_OK, "%s",
              clearclip_last_error());
    const struct ggml_type_traits * tr = ggml_get_type_traits((enum ggml_type) type);
    for (int64_t r = 0; r < rows && type == CLEARCLIP_TYPE_F32; r++) {
        memcpy(back + r * cols, (const float *) dst + r * cols, sizeof(float) * cols);
    }
    for (int64_t r = 0; r < rows && type != CLEARCLIP_TYPE_F32; r++) {
        tr->to_float((const char *) dst + r * ggml_row_size((enum ggml_type) type, cols),
                     back + r * cols, cols);
    }
    const int64_t blk = ggml_blck_size((enum ggml_type) type);
    float worst = 0.0f;
    for (int64_t b = 0; b < rows * cols; b += blk) {
        float amax = 0.0f, lo = INFINITY, hi = -INFINITY;
        for (int64_t i = b; i < b + blk; i++) {
            amax = fmaxf(amax, fabsf(src[i]));
            lo = fminf(lo, src[i]);
            hi = fmaxf(hi, src[i]);
        }
        /* half a step of rounding, plus the f16-stored scale/min (relative 2^-11 of the
         * block's range) and float slack. q4_0/q5_0 map the block to [-8, 7] / [-16, 15]
         * with the sign of its largest magnitude, so the opposite extreme may clip by a full
         * step. */
        const bool asym = type == CLEARCLIP_TYPE_Q4_0 || type == CLEARCLIP_TYPE_Q5_0;
        float bound = (asym ? 1.0f : 0.5f) * block_step(type, amax, lo, hi) + amax * 2e-3f + 1e-6f;
        if (type == CLEARCLIP_TYPE_F32) bound = 0.0f;
        for (int64_t i = b; i < b + blk; i++) {
            float e = fabsf(back[i] - src[i]);
            if (e > bound) {
                worst = fmaxf(worst, e - bound);
            }
        }
    }
    CHECK_MSG(worst == 0.0f, "%s: round-trip error exceeds the bound by %g",
              ggml_type_name((enum ggml_type) type), worst);
    free(src);
    free(back);
    free(dst);
}

/* amax 127 gives scale 1 exactly, so the int8 values are the inputs themselves. */
static void q8_0_by_hand(void) {
    float x[32];
    x[0] = -127.0f;
    for (int i = 1; i < 32; i++) x[i] = (float) (3 * i - 40);
    uint8_t block[34];
    CHECK(clearclip_quantize(CLEARCLIP_TYPE_Q8_0, x, 1, 32, block, sizeof(block)) == CLEARCLIP_OK);
    CHECK(block[0] == 0x00 && block[1] == 0x3C); /* f16 1.0, little endian */
    for (int i = 0; i < 32; i++) {
        CHECK_MSG((int8_t) block[2 + i] == (int8_t) x[i], "q[%d] = %d, expected %d", i,
                  (int8_t) block[2 + i], (int) x[i]);
    }
}

static void rejections(void) {
    float src[64] = { 0 };
    uint8_t dst[256];
    size_t n = 0;
    CHECK_STATUS(clearclip_quantized_size((clearclip_tensor_type) 10, 1, 256, &n),
                 CLEARCLIP_ERR_UNSUPPORTED, "not supported");
    CHECK_STATUS(clearclip_quantized_size(CLEARCLIP_TYPE_Q4_0, 1, 48, &n),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "multiple");
    CHECK_STATUS(clearclip_quantized_size(CLEARCLIP_TYPE_Q8_0, 0, 32, &n),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "positive");
    CHECK_STATUS(clearclip_quantized_size(CLEARCLIP_TYPE_Q8_0, 1, 32, NULL),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "NULL");
    CHECK_STATUS(clearclip_quantize(CLEARCLIP_TYPE_Q8_0, src, 2, 32, dst, 67),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "too small");
    CHECK_STATUS(clearclip_quantize(CLEARCLIP_TYPE_Q8_0, NULL, 1, 32, dst, sizeof(dst)),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "NULL");
    CHECK_STATUS(clearclip_quantize(CLEARCLIP_TYPE_Q5_1, src, 1, 33, dst, sizeof(dst)),
                 CLEARCLIP_ERR_INVALID_ARGUMENT, "multiple");
    CHECK(clearclip_quantized_size(CLEARCLIP_TYPE_F16, 3, 5, &n) == CLEARCLIP_OK && n == 30);
}

int main(void) {
    const clearclip_tensor_type types[] = { CLEARCLIP_TYPE_F32,  CLEARCLIP_TYPE_F16,
                                            CLEARCLIP_TYPE_Q4_0, CLEARCLIP_TYPE_Q4_1,
                                            CLEARCLIP_TYPE_Q5_0, CLEARCLIP_TYPE_Q5_1,
                                            CLEARCLIP_TYPE_Q8_0 };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) round_trip(types[i]);
    q8_0_by_hand();
    rejections();
    return test_finish("test_quantize");
}
