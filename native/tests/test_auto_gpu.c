/* Whether the backend "auto" looks for a GPU (auto_gpu.c): CLEARCLIP_AUTO_GPU's values, and the
 * probe for GPU device nodes run on folders made here, empty ones and ones with fake nodes (empty
 * files named like them: the probe looks at names only, so no real device is needed). */
#define _GNU_SOURCE
#include "internal.h"
#include "test_common.h"

#include <sys/stat.h>
#include <unistd.h>

/* dir/name as an empty file (a fake device node), with dir/dri created when name is under it. */
static void touch(const char * dir, const char * name) {
    char path[1400];
    if (strncmp(name, "dri/", 4) == 0) {
        snprintf(path, sizeof(path), "%s/dri", dir);
        mkdir(path, 0700);
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE * f = fopen(path, "w");
    CHECK_MSG(f != NULL, "cannot create %s", path);
    if (f) fclose(f);
}

/* A fresh folder under the test's tmp dir, holding the given fake nodes (NULL-terminated). */
static void make_dev(char * dir, size_t size, const char * const * nodes) {
    snprintf(dir, size, "%s/auto-gpu-XXXXXX", test_tmp_dir());
    CHECK(mkdtemp(dir) != NULL);
    for (; *nodes; nodes++) touch(dir, *nodes);
}

/* What cc_auto_gpu decides for setting on a folder holding nodes; false when it refuses. */
static bool decide(const char * setting, const char * const * nodes, bool * gpu, char * why, size_t size) {
    char dir[1100];
    make_dev(dir, sizeof(dir), nodes);
    return cc_auto_gpu(setting, dir, gpu, why, size);
}

int main(void) {
    static const char * const none[] = { NULL };
    char why[512];
    bool gpu = false;

#if defined(__linux__)
    /* each node a GPU driver makes is enough, alone */
    static const char * const gpu_nodes[] = { "dri/renderD128", "dri/renderD129", "nvidia0", "nvidia3",
                                              "kfd", "dxg", "kgsl-3d0", "mali0" };
    for (size_t i = 0; i < sizeof(gpu_nodes) / sizeof(gpu_nodes[0]); i++) {
        const char * const nodes[] = { gpu_nodes[i], NULL };
        CHECK(decide(NULL, nodes, &gpu, why, sizeof(why)));
        CHECK_MSG(gpu, "%s is a GPU node: %s", gpu_nodes[i], why);
        CHECK_MSG(strstr(why, "GPU") != NULL, "%s", why);
    }
    /* nodes that exist without a GPU: a display-only DRM device, NVIDIA's control nodes, the CPU's
     * own devices; and the render node's name outside dri/ */
    static const char * const not_gpu[] = { "dri/card0", "nvidiactl", "nvidia-uvm", "nvidia-modeset", "kfd0",
                                            "dxgkrnl", "mali", "renderD128", "cpu", "null", "zero" };
    for (size_t i = 0; i < sizeof(not_gpu) / sizeof(not_gpu[0]); i++) {
        const char * const nodes[] = { not_gpu[i], NULL };
        CHECK(decide(NULL, nodes, &gpu, why, sizeof(why)));
        CHECK_MSG(!gpu, "%s alone is no GPU node", not_gpu[i]);
    }
    const char * const all_not_gpu[] = { "dri/card0", "dri/card1", "nvidiactl", "nvidia-uvm", "cpu", NULL };
    CHECK(decide(NULL, all_not_gpu, &gpu, why, sizeof(why)));
    CHECK(!gpu);
    /* the reason names the folder, the nodes looked for and the way around it */
    CHECK_MSG(strstr(why, "no GPU device node in ") != NULL && strstr(why, "renderD") != NULL &&
                  strstr(why, "CLEARCLIP_AUTO_GPU=1") != NULL,
              "%s", why);

    /* an empty folder, and one that does not exist, hold no GPU */
    CHECK(decide(NULL, none, &gpu, why, sizeof(why)));
    CHECK(!gpu);
    char missing[1100];
    snprintf(missing, sizeof(missing), "%s/auto-gpu-no-such-folder", test_tmp_dir());
    CHECK(cc_auto_gpu(NULL, missing, &gpu, why, sizeof(why)));
    CHECK(!gpu);

    /* "probe" and the empty value are the default */
    const char * const render[] = { "dri/card0", "dri/renderD128", NULL };
    for (int i = 0; i < 2; i++) {
        const char * setting = i ? "probe" : "";
        CHECK(decide(setting, render, &gpu, why, sizeof(why)));
        CHECK_MSG(gpu, "'%s' with a render node", setting);
        CHECK(decide(setting, none, &gpu, why, sizeof(why)));
        CHECK_MSG(!gpu, "'%s' without a node", setting);
    }
#else
    /* no device nodes to look at: auto looks for a GPU (Metal, Windows' drivers) */
    CHECK(cc_auto_gpu(NULL, "/dev", &gpu, why, sizeof(why)) && gpu);
#endif

    /* 1 looks without a node, 0 never looks, even with one */
    CHECK(decide("1", none, &gpu, why, sizeof(why)));
    CHECK(gpu);
    CHECK_MSG(strcmp(why, "CLEARCLIP_AUTO_GPU=1") == 0, "%s", why);
    const char * const nvidia[] = { "nvidia0", "dri/renderD128", NULL };
    CHECK(decide("0", nvidia, &gpu, why, sizeof(why)));
    CHECK(!gpu);
    CHECK_MSG(strcmp(why, "CLEARCLIP_AUTO_GPU=0") == 0, "%s", why);

    /* anything else is refused with what the variable takes, never read as yes or no */
    static const char * const bad[] = { "yes", "true", "2", "01", " 1", "1 ", "PROBE", "auto", "-1" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gpu = true;
        CHECK_MSG(!decide(bad[i], nvidia, &gpu, why, sizeof(why)), "'%s' accepted", bad[i]);
        CHECK_MSG(!gpu, "'%s' refused, yet gpu is set", bad[i]);
        char quoted[80];
        snprintf(quoted, sizeof(quoted), "CLEARCLIP_AUTO_GPU is '%s'", bad[i]);
        CHECK_MSG(strstr(why, quoted) != NULL && strstr(why, "1 (") != NULL && strstr(why, "0 (") != NULL &&
                      strstr(why, "probe") != NULL,
                  "%s", why);
    }
    /* a long value is cut in the message, which stays within its buffer */
    char long_value[600];
    memset(long_value, 'x', sizeof(long_value) - 1);
    long_value[sizeof(long_value) - 1] = '\0';
    char small[40];
    CHECK(!cc_auto_gpu(long_value, "/dev", &gpu, small, sizeof(small)));
    CHECK(strlen(small) == sizeof(small) - 1);
    return test_finish("test_auto_gpu");
}
