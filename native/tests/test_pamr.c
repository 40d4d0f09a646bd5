/* clearclip_pamr against the plain implementation of pamr_naive.h, its invariants and its
 * argument errors; NACLIP's Gaussian bias (cc_naclip_bias) against its formula. */
#include "clearclip.h"
#include "internal.h"
#include "pamr_naive.h"
#include "test_common.h"

#include <math.h>

static uint32_t rng_state = 12345;
static float rnd(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float) (rng_state >> 8) / 16777216.0f;
}

static void check_against_naive(int W, int H, int C, int steps, const int * dil, int nd) {
    float * img = malloc(sizeof(float) * 3 * W * H);
    float * got = malloc(sizeof(float) * C * W * H), * want = malloc(sizeof(float) * C * W * H);
    /* flat regions with an edge and noise, so that affinities range widely */
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                img[(c * H + y) * W + x] = (x > W / 2 ? 1.5f : -0.5f) + (float) c * 0.1f + 0.2f * rnd();
    for (int i = 0; i < C * W * H; i++) got[i] = want[i] = 4.0f * rnd() - 2.0f;
    CHECK_MSG(clearclip_pamr(img, W, H, got, C, steps, dil, nd) == CLEARCLIP_OK, "%s",
              clearclip_last_error());
    pamr_naive(img, W, H, want, C, steps, dil, nd);
    float worst = 0;
    for (int i = 0; i < C * W * H; i++) worst = fmaxf(worst, fabsf(got[i] - want[i]));
    CHECK_MSG(worst < 1e-5f, "%dx%d C=%d steps=%d: max abs diff %g", W, H, C, steps, worst);
    free(img);
    free(got);
    free(want);
}

static void check_bias(int gw, int gh, int n_rows, float std) {
    float * b = malloc(sizeof(float) * n_rows * n_rows);
    cc_naclip_bias(gw, gh, n_rows, std, b);
    int bad = 0;
    for (int i = 0; i < n_rows; i++) {
        for (int j = 0; j < n_rows; j++) {
            const float v = b[i * n_rows + j];
            float want;
            if (j > gw * gh) {
                bad += !(isinf(v) && v < 0);
                continue;
            }
            if (i == 0 || j == 0 || i > gw * gh) {
                want = 0.0f;
            } else {
                const int pi = i - 1, pj = j - 1;
                const double dr = pi / gw - pj / gw, dc = pi % gw - pj % gw;
                want = (float) exp(-(dr * dr + dc * dc) / (2.0 * std * std));
            }
            bad += fabsf(v - want) > 1e-7f;
        }
    }
    CHECK_MSG(bad == 0, "bias %dx%d std %g: %d entries wrong", gw, gh, std, bad);
    /* the diagonal of patches is exp(0) = 1, the nearest neighbour exp(-1/(2 std^2)) */
    if (gw > 1) {
        CHECK(fabsf(b[1 * n_rows + 1] - 1.0f) < 1e-7f);
        CHECK(fabsf(b[1 * n_rows + 2] - expf(-1.0f / (2 * std * std))) < 1e-6f);
    }
    free(b);
}

int main(void) {
    const int d816[2] = { 8, 16 }, d125[3] = { 1, 2, 5 }, d1[1] = { 1 };
    check_against_naive(40, 30, 5, 10, d816, 2);
    check_against_naive(23, 17, 3, 3, d125, 3);
    check_against_naive(7, 5, 2, 4, d1, 1);
    check_against_naive(1, 1, 1, 2, d1, 1);     /* every neighbour is the pixel itself */
    check_against_naive(50, 3, 2, 2, d816, 2);  /* dilations beyond the picture */

    /* a constant logit plane stays constant (the weights sum to one) */
    {
        const int W = 19, H = 13;
        float img[3 * 19 * 13], lg[19 * 13];
        for (int i = 0; i < 3 * W * H; i++) img[i] = rnd();
        for (int i = 0; i < W * H; i++) lg[i] = 0.75f;
        CHECK(clearclip_pamr(img, W, H, lg, 1, 10, d816, 2) == CLEARCLIP_OK);
        int bad = 0;
        for (int i = 0; i < W * H; i++) bad += fabsf(lg[i] - 0.75f) > 1e-5f; /* float sums of 16 weights, 10 times */
        CHECK(bad == 0);
        /* steps 0: unchanged */
        lg[5] = 3.0f;
        CHECK(clearclip_pamr(img, W, H, lg, 1, 0, d816, 2) == CLEARCLIP_OK);
        CHECK(lg[5] == 3.0f);
    }

    float img[12] = { 0 }, lg[4] = { 0 };
    const int d0[1] = { 0 };
    CHECK_STATUS(clearclip_pamr(NULL, 2, 2, lg, 1, 1, d1, 1), CLEARCLIP_ERR_INVALID_ARGUMENT, "NULL");
    CHECK_STATUS(clearclip_pamr(img, 0, 2, lg, 1, 1, d1, 1), CLEARCLIP_ERR_INVALID_ARGUMENT, "0x2");
    CHECK_STATUS(clearclip_pamr(img, 2, 2, lg, 0, 1, d1, 1), CLEARCLIP_ERR_INVALID_ARGUMENT, "n_channels");
    CHECK_STATUS(clearclip_pamr(img, 2, 2, lg, 1, -1, d1, 1), CLEARCLIP_ERR_INVALID_ARGUMENT, "steps");
    CHECK_STATUS(clearclip_pamr(img, 2, 2, lg, 1, 1, d1, 0), CLEARCLIP_ERR_INVALID_ARGUMENT, "dilations");
    CHECK_STATUS(clearclip_pamr(img, 2, 2, lg, 1, 1, d1, 5), CLEARCLIP_ERR_INVALID_ARGUMENT, "dilations");
    CHECK_STATUS(clearclip_pamr(img, 2, 2, lg, 1, 1, d0, 1), CLEARCLIP_ERR_INVALID_ARGUMENT, "dilation 0 is 0");
    img[7] = NAN;
    CHECK_STATUS(clearclip_pamr(img, 2, 2, lg, 1, 1, d1, 1), CLEARCLIP_ERR_INVALID_ARGUMENT, "image[7]");

    check_bias(3, 2, 7, 5.0f);
    check_bias(4, 3, 32, 1.5f);   /* padded to 32 rows as the plain attention path does */
    check_bias(28, 28, 785, 5.0f);
    return test_finish("test_pamr");
}
