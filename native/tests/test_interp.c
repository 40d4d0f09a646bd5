/* Bicubic position-embedding interpolation against PyTorch's F.interpolate (see
 * gen_interp_reference.py, which generated interp_reference.h). */
#include "internal.h"
#include "interp_reference.h"
#include "test_common.h"

#include <math.h>

int main(void) {
    for (int c = 0; c < INTERP_N_CASES; c++) {
        const int gh = interp_cases[c][0], gw = interp_cases[c][1];
        const int n = (1 + gh * gw) * INTERP_WIDTH;
        float * out = malloc(sizeof(float) * n);
        cc_interp_pos_embd(interp_src, INTERP_WIDTH, INTERP_G0, gh, gw, out);
        float max_err = 0.0f;
        for (int i = 0; i < n; i++) {
            float e = fabsf(out[i] - interp_expected[c][i]);
            if (e > max_err) max_err = e;
        }
        CHECK_MSG(max_err < 2e-6f, "grid %dx%d: max abs error %g vs PyTorch", gh, gw, max_err);
        free(out);
    }
    return test_finish("test_interp");
}
