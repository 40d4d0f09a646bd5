/* Whether the backend "auto" looks for a GPU at all. Loading ggml's GPU modules is not free:
 * the Vulkan one makes the Vulkan loader start every installed driver, 57 MB of resident memory
 * with Mesa's (lavapipe, llvmpipe and the hardware drivers, installed on many machines without a
 * GPU), and ggml then offers no device anyway where the only Vulkan devices are CPUs. On Linux a
 * GPU that any of ggml's backends can drive shows up as a device node, so where there is none,
 * "auto" is the CPU without loading the modules. Kept apart from backend.c, with the folder to look
 * in as a parameter, so that a unit test can run it on folders of its own making. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#if defined(__linux__)
#  include <dirent.h>

static bool cc_is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* A node of dev (not of dev/dri) that a GPU driver creates: NVIDIA's nvidia<N> (one per GPU; the
 * driver's nvidiactl and nvidia-uvm exist without one), AMD's compute node kfd, WSL2's dxg (CUDA
 * and Vulkan through the Windows driver), Qualcomm's kgsl-3d<N> and Arm's mali<N> (Android and
 * boards with the vendors' own drivers, which have no render node). */
static bool cc_gpu_node(const char * n) {
    return (strncmp(n, "nvidia", 6) == 0 && cc_is_digit(n[6])) || strcmp(n, "kfd") == 0 ||
           strcmp(n, "dxg") == 0 || strncmp(n, "kgsl-3d", 7) == 0 ||
           (strncmp(n, "mali", 4) == 0 && cc_is_digit(n[4]));
}

/* Whether dir holds an entry that match accepts; a folder that cannot be read holds none. */
static bool cc_dir_has(const char * dir, bool (*match)(const char * name)) {
    DIR * d = opendir(dir);
    if (!d) return false;
    bool found = false;
    for (struct dirent * e; !found && (e = readdir(d)) != NULL;) found = match(e->d_name);
    closedir(d);
    return found;
}

/* The kernel's DRM render nodes, renderD128 and up: every Mesa driver of a real GPU (Intel, AMD,
 * Qualcomm's freedreno, Broadcom, Arm's panfrost, virtio-gpu) and NVIDIA's nvidia-drm have one; a
 * display-only device (simpledrm, a VM's framebuffer) has a card<N> node and no render node. */
static bool cc_render_node(const char * n) {
    return strncmp(n, "renderD", 7) == 0;
}

static bool cc_probe(const char * dev_dir, char * why, size_t size) {
    char dri[1100];
    snprintf(dri, sizeof(dri), "%s/dri", dev_dir);
    if (cc_dir_has(dri, cc_render_node)) {
        snprintf(why, size, "a GPU render node in %s", dri);
        return true;
    }
    if (cc_dir_has(dev_dir, cc_gpu_node)) {
        snprintf(why, size, "a GPU device node in %s", dev_dir);
        return true;
    }
    snprintf(why, size,
             "no GPU device node in %s (dri/renderD*, nvidia<N>, kfd, dxg, kgsl-3d*, mali<N>); "
             CC_AUTO_GPU_ENV "=1 looks for a GPU anyway",
             dev_dir);
    return false;
}
#else
static bool cc_probe(const char * dev_dir, char * why, size_t size) {
    (void) dev_dir;
    /* Metal, and Windows' drivers, have no device nodes to look at */
    snprintf(why, size, "%s", "no device nodes to look at on this system");
    return true;
}
#endif

bool cc_auto_gpu(const char * setting, const char * dev_dir, bool * gpu, char * why, size_t size) {
    if (setting == NULL || setting[0] == '\0' || strcmp(setting, "probe") == 0) {
        *gpu = cc_probe(dev_dir, why, size);
        return true;
    }
    if (strcmp(setting, "1") == 0 || strcmp(setting, "0") == 0) {
        *gpu = setting[0] == '1';
        snprintf(why, size, "%s=%s", CC_AUTO_GPU_ENV, setting);
        return true;
    }
    *gpu = false;
    snprintf(why, size,
             "%s is '%.64s'; it takes 1 (auto looks for a GPU), 0 (auto is the CPU) or probe (auto looks "
             "for a GPU where the system has a GPU device node; the default)",
             CC_AUTO_GPU_ENV, setting);
    return false;
}
