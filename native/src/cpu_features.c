/* What the CPU backend in use was built for, asked by the engine's own kernels (attention*.c,
 * q8_gemm*.c) so that they never use a wider instruction set than the ggml variant in use. Kept
 * apart from backend.c so that the kernels' unit tests link it alone. */
#include "internal.h"

#include <string.h>

bool cc_cpu_backend_feature(const char * name) {
    ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!dev) return false;
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
    ggml_backend_get_features_t get_features =
        (ggml_backend_get_features_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
    struct ggml_backend_feature * f = get_features ? get_features(reg) : NULL;
    /* a CPU backend that lists nothing does not limit the engine's kernels */
    if (!f || !f->name) return true;
    for (; f->name; f++) {
        if (strcmp(f->name, name) == 0) return f->value && strcmp(f->value, "1") == 0;
    }
    return false;
}
