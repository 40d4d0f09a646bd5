/* Host image helpers against hand-computed values: bilinear resampling (PyTorch/OpenCV sample
 * placement) and CLIP normalisation. */
#include "internal.h"
#include "test_common.h"

#include <math.h>

int main(void) {
    /* 2 -> 4 samples: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (upper tap clamped) */
    int32_t i0[4], i1[4];
    float w1[4];
    cc_bilinear_coords(2, 4, i0, i1, w1);
    CHECK(i0[0] == 0 && w1[0] == 0.0f);
    CHECK(i0[1] == 0 && i1[1] == 1 && w1[1] == 0.25f);
    CHECK(i0[2] == 0 && i1[2] == 1 && w1[2] == 0.75f);
    CHECK(i0[3] == 1 && i1[3] == 1);

    /* a 2x1 image [0, 100] (all channels) upscaled to 4x1: 0, 25, 75, 100 */
    const uint8_t src[6] = { 0, 0, 0, 100, 100, 100 };
    uint8_t dst[12];
    CHECK(cc_resize_rgb_bilinear(src, 2, 1, 6, dst, 4, 1));
    const uint8_t want[4] = { 0, 25, 75, 100 };
    for (int x = 0; x < 4; x++) {
        for (int c = 0; c < 3; c++) CHECK_MSG(dst[x * 3 + c] == want[x], "x=%d: %d", x, dst[x * 3 + c]);
    }
    /* 3 -> 2 samples at 0.25 and 1.75: 12.5 -> 13, 27.5 -> 28 (halves up, like OpenCV) */
    const uint8_t row[9] = { 10, 10, 10, 20, 20, 20, 30, 30, 30 };
    CHECK(cc_resize_rgb_bilinear(row, 3, 1, 9, dst, 2, 1));
    CHECK(dst[0] == 13 && dst[3] == 28);

    /* normalisation: (v / 255 - mean) / std per channel, planar output, row stride honoured */
    const float mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f };
    const float std[3]  = { 0.26862954f, 0.26130258f, 0.27577711f };
    const uint8_t img[2 * 8] = { 255, 0, 128, 0, 0, 0, 9, 9, /* row 0 + 2 bytes of padding */
                                 1, 2, 3, 4, 5, 6, 9, 9 };
    float out[3 * 2 * 2];
    cc_normalize_rgb(mean, std, img, 2, 2, 8, out);
    CHECK(fabsf(out[0] - (1.0f - 0.48145466f) / 0.26862954f) < 1e-6f);
    CHECK(fabsf(out[4 + 0] - (0.0f - 0.4578275f) / 0.26130258f) < 1e-6f);
    CHECK(fabsf(out[8 + 0] - (128.0f / 255.0f - 0.40821073f) / 0.27577711f) < 1e-6f);
    CHECK(fabsf(out[3] - (4.0f / 255.0f - 0.48145466f) / 0.26862954f) < 1e-6f);   /* R of (1,1) */
    CHECK(fabsf(out[8 + 2] - (3.0f / 255.0f - 0.40821073f) / 0.27577711f) < 1e-6f); /* B of (0,1) */
    return test_finish("test_image");
}
