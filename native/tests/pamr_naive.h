/* PAMR (Araslanov & Roth, CVPR 2020) written plainly from its definition, as the tests'
 * independent reference: per pixel and neighbour, in double, border coordinates clamped, the
 * spread as an unbiased two-pass standard deviation, a fresh copy of the logits per step. */
#ifndef CLEARCLIP_TEST_PAMR_NAIVE_H
#define CLEARCLIP_TEST_PAMR_NAIVE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int naive_clamp(int v, int n) {
    return v < 0 ? 0 : v >= n ? n - 1 : v;
}

/* image [3][H][W], logits [C][H][W] refined in place. */
static void pamr_naive(const float * image, int W, int H, float * logits, int C, int steps,
                       const int * dil, int nd) {
    const int K = 8 * nd;
    int dy[32], dx[32];
    for (int i = 0, j = 0; i < nd; i++) {
        for (int a = -1; a <= 1; a++)
            for (int b = -1; b <= 1; b++)
                if (a || b) {
                    dy[j] = a * dil[i];
                    dx[j] = b * dil[i];
                    j++;
                }
    }
    double * w = malloc(sizeof(double) * (size_t) K * W * H);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            double a[32] = { 0 };
            for (int c = 0; c < 3; c++) {
                const float * I = image + (size_t) c * W * H;
                double t[36], mean = 0, var = 0;
                int n = 0;
                for (int i = 0; i < nd; i++)
                    for (int u = -1; u <= 1; u++)
                        for (int v = -1; v <= 1; v++)
                            t[n++] = I[naive_clamp(y + u * dil[i], H) * W + naive_clamp(x + v * dil[i], W)];
                for (int i = 0; i < n; i++) mean += t[i] / n;
                for (int i = 0; i < n; i++) var += (t[i] - mean) * (t[i] - mean) / (n - 1);
                for (int j = 0; j < K; j++) {
                    double nb = I[naive_clamp(y + dy[j], H) * W + naive_clamp(x + dx[j], W)];
                    a[j] += -fabs(I[y * W + x] - nb) / (1e-8 + 0.1 * sqrt(var)) / 3.0;
                }
            }
            double z = 0;
            for (int j = 0; j < K; j++) z += exp(a[j]);
            for (int j = 0; j < K; j++) w[((size_t) j * H + y) * W + x] = exp(a[j]) / z;
        }
    }
    double * cur = malloc(sizeof(double) * (size_t) C * W * H);
    double * nxt = malloc(sizeof(double) * (size_t) C * W * H);
    for (size_t i = 0; i < (size_t) C * W * H; i++) cur[i] = logits[i];
    for (int s = 0; s < steps; s++) {
        for (int c = 0; c < C; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    double acc = 0;
                    for (int j = 0; j < K; j++)
                        acc += w[((size_t) j * H + y) * W + x] *
                               cur[((size_t) c * H + naive_clamp(y + dy[j], H)) * W + naive_clamp(x + dx[j], W)];
                    nxt[((size_t) c * H + y) * W + x] = acc;
                }
        memcpy(cur, nxt, sizeof(double) * (size_t) C * W * H);
    }
    for (size_t i = 0; i < (size_t) C * W * H; i++) logits[i] = (float) cur[i];
    free(w);
    free(cur);
    free(nxt);
}

#endif
