/* The engine with the CPU backend forced to ggml's plain AVX2 variant (a folder holding only
 * libggml-cpu-haswell.so, as bench/README's AVX2 figures are taken): what an AVX2-only CPU gets.
 * The engine's AVX-512 products do not run there, so f32 and f16 matrices go to ggml's product
 * and the 4-D patch-embedding kernel must not reach ggml's repack probe (whose product of a 4-D
 * kernel once aborted the process at load on such CPUs and on arm64). f32, f16 and q8_0 models
 * load and run, and a mapped model gives what a model read into memory gives (read models are
 * never repacked: ggml's plain products throughout). Skipped where ggml has no haswell module
 * (arm64, a CPU backend linked in). */
#define _GNU_SOURCE
#include "clearclip.h"
#include "test_common.h"
#include "tiny_model.h"
#include "ggml_dir.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

/* The global embedding and the ClearCLIP dense features of one picture, mapped or read. */
static bool run_model(const char * path, bool mmap, float * global, float * dense) {
    clearclip_model_params mp = clearclip_model_default_params();
    mp.use_mmap = mmap;
    clearclip_model * m = NULL;
    clearclip_context * c = NULL;
    bool ok = clearclip_model_load(path, mp, &m) == CLEARCLIP_OK;
    CHECK_MSG(ok, "%s: %s", path, clearclip_last_error());
    clearclip_context_params cp = clearclip_context_default_params();
    cp.backend = "cpu";
    ok = ok && clearclip_context_init(m, cp, &c) == CLEARCLIP_OK;
    float px[3 * TINY_IMAGE * TINY_IMAGE];
    for (int i = 0; i < 3 * TINY_IMAGE * TINY_IMAGE; i++) px[i] = (float) ((i * 37) % 101) / 50.0f - 1.0f;
    ok = ok && clearclip_encode_image(c, px, TINY_IMAGE, TINY_IMAGE, global) == CLEARCLIP_OK;
    ok = ok && clearclip_dense_features(c, px, TINY_IMAGE, TINY_IMAGE, CLEARCLIP_MODE_CLEARCLIP, dense) ==
                   CLEARCLIP_OK;
    CHECK_MSG(ok, "%s (%s): %s", path, mmap ? "mapped" : "read", clearclip_last_error());
    clearclip_context_free(c);
    clearclip_model_free(m);
    return ok;
}

int main(void) {
    char src[1024], module[1200];
    CHECK(ggml_dir(src, sizeof(src)));
    snprintf(module, sizeof(module), "%s/libggml-cpu-haswell.so", src);
    if (access(module, R_OK) != 0) {
        printf("test_forced_variant: no %s (not x86, or the CPU backend linked in): skipped\n", module);
        return test_finish("test_forced_variant");
    }
    char dir[1100], link[1300];
    snprintf(dir, sizeof(dir), "%s/forced-variant-XXXXXX", test_tmp_dir());
    CHECK(mkdtemp(dir) != NULL);
    snprintf(link, sizeof(link), "%s/libggml-cpu-haswell.so", dir);
    CHECK_MSG(symlink(module, link) == 0, "symlink %s", link);
    CHECK(clearclip_backend_load(dir) == CLEARCLIP_OK);
    clearclip_backend_info info;
    CHECK(clearclip_backend_get_info(&info) == CLEARCLIP_OK);
    CHECK_MSG(strcmp(info.variant, "haswell") == 0, "variant %s", info.variant);

    const enum ggml_type types[] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q8_0 };
    const int grid = TINY_IMAGE / TINY_PATCH, dense_n = grid * grid * TINY_P;
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
        /* the patch kernel in the matrices' type where it is a float type (quantized files keep it f16) */
        tiny_variant v = { .no_text = true, .mat_type = types[t], .retype_tensor = "v.patch_embd.weight",
                           .retype = types[t] == GGML_TYPE_Q8_0 ? GGML_TYPE_F16 : types[t] };
        char path[1200];
        snprintf(path, sizeof(path), "%s/forced-%s.gguf", test_tmp_dir(), ggml_type_name(types[t]));
        CHECK(write_tiny_model(path, &v));
        float g_map[TINY_P], g_read[TINY_P], d_map[4 * TINY_P], d_read[4 * TINY_P];
        if (!run_model(path, true, g_map, d_map) || !run_model(path, false, g_read, d_read)) continue;
        /* ggml's products either way, on repacked or plain weights: the same values up to the order
         * of float sums */
        double worst = 0;
        for (int i = 0; i < TINY_P; i++) worst = fmax(worst, fabs((double) g_map[i] - g_read[i]));
        for (int i = 0; i < dense_n; i++) worst = fmax(worst, fabs((double) d_map[i] - d_read[i]));
        CHECK_MSG(worst <= 1e-5, "%s: mapped and read differ by %g", ggml_type_name(types[t]), worst);
        bool finite = true;
        for (int i = 0; i < dense_n; i++) finite = finite && isfinite(d_map[i]);
        CHECK_MSG(finite, "%s: non-finite dense features", ggml_type_name(types[t]));
        printf("  %s on haswell: mapped and read agree to %.2g\n", ggml_type_name(types[t]), worst);
    }
    return test_finish("test_forced_variant");
}
