/* A GPU backend module that is there but does not load (a CUDA build of ggml on a machine without
 * the CUDA runtime) is named in the "not available" error with the dynamic loader's own reason;
 * ggml's loader skips it without a word. A module that loads but offers no device is not blamed,
 * the CPU works from the same directory, and a CPU context loads no GPU module at all.
 *
 * The backends come from a directory of this test's making: the CPU variants and the Vulkan
 * module of the ggml in use (symbolic links) and a libggml-cuda.so that is no shared library. The
 * reason the error must carry comes from dlopen on that file here, not from a string written down. */
#define _GNU_SOURCE
#include "internal.h"
#include "test_common.h"
#include "tiny_model.h"
#include "ggml_dir.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

/* Links dir's libggml-cpu-*.so and libggml-vulkan.so into dest; returns the number of CPU modules. */
static int link_modules(const char * dir, const char * dest, bool * vulkan) {
    DIR * d = opendir(dir);
    if (!d) return 0;
    int n_cpu = 0;
    *vulkan = false;
    for (struct dirent * e; (e = readdir(d)) != NULL;) {
        bool cpu = strncmp(e->d_name, "libggml-cpu-", 12) == 0 && strstr(e->d_name, ".so");
        bool vk = strcmp(e->d_name, "libggml-vulkan.so") == 0;
        if (!cpu && !vk) continue;
        char from[2048], to[2048];
        snprintf(from, sizeof(from), "%s/%s", dir, e->d_name);
        snprintf(to, sizeof(to), "%s/%s", dest, e->d_name);
        CHECK_MSG(symlink(from, to) == 0, "symlink %s", to);
        n_cpu += cpu;
        *vulkan |= vk;
    }
    closedir(d);
    return n_cpu;
}

int main(void) {
    char src[1024];
    CHECK(ggml_dir(src, sizeof(src)));
    char dir[1100];
    snprintf(dir, sizeof(dir), "%s/backend-modules-XXXXXX", test_tmp_dir());
    CHECK(mkdtemp(dir) != NULL);
    bool have_vulkan = false;
    if (link_modules(src, dir, &have_vulkan) == 0) {
        /* a ggml with its CPU backend linked in loads no modules: nothing to name */
        printf("test_backend_modules: %s holds no libggml-cpu-*.so (CPU backend linked in); "
               "module errors do not arise\n", src);
        return test_finish("test_backend_modules");
    }
    char cuda[1200];
    snprintf(cuda, sizeof(cuda), "%s/libggml-cuda.so", dir);
    FILE * f = fopen(cuda, "w");
    CHECK(f != NULL);
    fputs("not a shared library\n", f);
    fclose(f);
    /* lavapipe is a CPU device, which ggml's Vulkan backend offers only when named here: without
     * it the Vulkan module loads and finds no device (or finds a real GPU) */
    unsetenv("GGML_VK_VISIBLE_DEVICES");

    CHECK(clearclip_backend_load(dir) == CLEARCLIP_OK);

    char model_path[1024];
    snprintf(model_path, sizeof(model_path), "%s/backend-modules-tiny.gguf", test_tmp_dir());
    tiny_variant v = { .tokenizer = true };
    CHECK(write_tiny_model(model_path, &v));
    clearclip_model * m = NULL;
    CHECK(clearclip_model_load(model_path, clearclip_model_default_params(), &m) == CLEARCLIP_OK);

    /* a CPU context starts no GPU module: the Vulkan one is loaded only when a device is asked for */
    clearclip_context_params p = clearclip_context_default_params();
    clearclip_context * c = NULL;
    p.backend = "cpu";
    CHECK(clearclip_context_init(m, p, &c) == CLEARCLIP_OK);
    clearclip_context_free(c);
    c = NULL;
    CHECK_MSG(ggml_backend_reg_by_name("Vulkan") == NULL, "a CPU context loaded the Vulkan module");

    /* "auto" loads the GPU modules only where it looks for a GPU (CLEARCLIP_AUTO_GPU, else the
     * probe of /dev; test_auto_gpu tests the probe itself on folders of its own) */
    const char * autos[] = { NULL, "auto" };
    for (int i = 0; i < 2; i++) {
        p.backend = autos[i];
        setenv("CLEARCLIP_AUTO_GPU", "0", 1);
        CHECK(clearclip_context_init(m, p, &c) == CLEARCLIP_OK);
        CHECK(c && strcmp(clearclip_context_backend_name(c), "CPU") == 0);
        clearclip_context_free(c);
        c = NULL;
        CHECK_MSG(ggml_backend_reg_by_name("Vulkan") == NULL, "auto with CLEARCLIP_AUTO_GPU=0 loaded the Vulkan module");

        /* a value it does not take is an error naming the variable, not a guess; cpu does not read it */
        setenv("CLEARCLIP_AUTO_GPU", "yes", 1);
        CHECK_STATUS(clearclip_context_init(m, p, &c), CLEARCLIP_ERR_INVALID_ARGUMENT, "CLEARCLIP_AUTO_GPU is 'yes'");
        CHECK(c == NULL);
        p.backend = "cpu";
        CHECK(clearclip_context_init(m, p, &c) == CLEARCLIP_OK);
        clearclip_context_free(c);
        c = NULL;
        CHECK(ggml_backend_reg_by_name("Vulkan") == NULL);
    }
    unsetenv("CLEARCLIP_AUTO_GPU");
    bool node = false;
    char why[512];
    CHECK(cc_auto_gpu(NULL, "/dev", &node, why, sizeof(why)));
    p.backend = "auto";
    CHECK(clearclip_context_init(m, p, &c) == CLEARCLIP_OK);
    printf("  --backend auto with this machine's /dev (%s): %s\n", why, clearclip_context_backend_name(c));
    clearclip_context_free(c);
    c = NULL;
    if (!node) {
        CHECK_MSG(ggml_backend_reg_by_name("Vulkan") == NULL, "auto loaded the Vulkan module without a GPU node");
    }
    /* 1 looks for a GPU without a node: the GPU modules load (the Vulkan backend registers where a
     * Vulkan driver starts; without GGML_VK_VISIBLE_DEVICES lavapipe offers no device: the CPU) */
    setenv("CLEARCLIP_AUTO_GPU", "1", 1);
    CHECK(clearclip_context_init(m, p, &c) == CLEARCLIP_OK);
    bool vulkan_after_auto = ggml_backend_reg_by_name("Vulkan") != NULL;
    printf("  --backend auto with CLEARCLIP_AUTO_GPU=1: %s (Vulkan backend %s)\n", clearclip_context_backend_name(c),
           vulkan_after_auto ? "registered" : "not registered");
    clearclip_context_free(c);
    c = NULL;
    unsetenv("CLEARCLIP_AUTO_GPU");
    /* clearclip_system_info lists every device, and says what auto takes and why */
    const char * info = clearclip_system_info();
    CHECK_MSG(node || strstr(info, "auto: CPU (no GPU device node in /dev") != NULL, "%s", info);
    /* with the modules loaded, auto still follows the probe */
    p.backend = NULL;
    CHECK(clearclip_context_init(m, p, &c) == CLEARCLIP_OK);
    CHECK(node || strcmp(clearclip_context_backend_name(c), "CPU") == 0);
    clearclip_context_free(c);
    c = NULL;

    /* the reason, as the dynamic loader gives it for that file */
    CHECK(dlopen(cuda, RTLD_NOW | RTLD_LOCAL) == NULL);
    char reason[1024];
    snprintf(reason, sizeof(reason), "%s", dlerror());
    char expected[2400];
    snprintf(expected, sizeof(expected), "%s did not load: %s", cuda, reason);

    const char * names[] = { "cuda", "CUDA0" };
    for (int i = 0; i < 2; i++) {
        p.backend = names[i];
        CHECK(clearclip_context_init(m, p, &c) == CLEARCLIP_ERR_BACKEND && c == NULL);
        const char * err = clearclip_last_error();
        printf("  --backend %s: %s\n", names[i], err);
        CHECK_MSG(strstr(err, expected) != NULL, "error for %s lacks \"%s\"", names[i], expected);
        CHECK_MSG(strstr(err, "libcudart.so.13") != NULL, "error for %s does not say what CUDA needs", names[i]);
    }

    /* a module that loads is not blamed */
    p.backend = "vulkan";
    clearclip_status st = clearclip_context_init(m, p, &c);
    if (st == CLEARCLIP_OK) {
        printf("  --backend vulkan: a real Vulkan device answers (%s)\n", clearclip_context_backend_name(c));
        clearclip_context_free(c);
        c = NULL;
    } else {
        const char * err = clearclip_last_error();
        printf("  --backend vulkan: %s\n", err);
        CHECK(st == CLEARCLIP_ERR_BACKEND);
        CHECK_MSG(strstr(err, "did not load") == NULL, "the Vulkan module loads, yet: %s", err);
        /* ggml registers its Vulkan backend when a Vulkan driver starts: then it found no usable
         * device; where no driver is installed (the sanitizer build) the module is named as
         * loading with a backend that did not start; without the module, the general hint */
        bool registered = ggml_backend_reg_by_name("Vulkan") != NULL;
        CHECK_MSG(!registered || have_vulkan, "a Vulkan backend registered from nowhere");
        const char * hint = registered ? "found no usable device"
                          : have_vulkan ? "libggml-vulkan.so loads but its backend did not start"
                                        : "GPU backends come from the ggml build";
        CHECK_MSG(strstr(err, hint) != NULL, "unexpected Vulkan hint: %s", err);
    }

    /* the GPU modules were loaded once, by auto with CLEARCLIP_AUTO_GPU=1: what registered then is
     * all there is (had that context not loaded them, the requests above would have) */
    CHECK_MSG((ggml_backend_reg_by_name("Vulkan") != NULL) == vulkan_after_auto,
              "CLEARCLIP_AUTO_GPU=1 did not load the GPU modules");

    /* and the CPU from the same directory works */
    p.backend = "cpu";
    CHECK(clearclip_context_init(m, p, &c) == CLEARCLIP_OK);
    const char * text = "a";
    float emb[TINY_P];
    CHECK(clearclip_encode_text(c, &text, 1, emb) == CLEARCLIP_OK);
    clearclip_context_free(c);
    clearclip_model_free(m);
    return test_finish("test_backend_modules");
}
