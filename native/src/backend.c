/* Loading ggml's backend libraries (GGML_BACKEND_DL builds), describing the CPU variant, and
 * clearclip_system_info (versions, CPU features, devices). */
#if !defined(_WIN32)
/* dladdr: where the ggml library and libclearclip live, the default place of the variants */
#  define _GNU_SOURCE
#endif
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#  include <windows.h>
#else
#  include <dirent.h>
#  include <dlfcn.h>
#  include <pthread.h>
#  include <unistd.h>
#endif

/* ggml's backend registry is process-wide and not thread-safe while backends are registered, so
 * every registration goes through this lock. It is the engine's only process-wide state, and it
 * only ever guards the one-time registry load. */
#if defined(_WIN32)
static SRWLOCK cc_backend_lock = SRWLOCK_INIT;
#  define CC_LOCK()   AcquireSRWLockExclusive(&cc_backend_lock)
#  define CC_UNLOCK() ReleaseSRWLockExclusive(&cc_backend_lock)
#else
static pthread_mutex_t cc_backend_lock = PTHREAD_MUTEX_INITIALIZER;
#  define CC_LOCK()   pthread_mutex_lock(&cc_backend_lock)
#  define CC_UNLOCK() pthread_mutex_unlock(&cc_backend_lock)
#endif

/* The directories the backends were loaded from, recorded with the registry they filled (so
 * under the same lock, once): where a GPU backend's module that did not register is looked for
 * (cc_backend_module_error). */
static char cc_loaded_dirs[2][1024];
static int  cc_n_loaded_dirs;

static void cc_note_loaded_dir(const char * dir) {
    size_t n = strlen(dir);
    if (cc_n_loaded_dirs < 2 && n < sizeof(cc_loaded_dirs[0])) {
        memcpy(cc_loaded_dirs[cc_n_loaded_dirs++], dir, n + 1);
    }
}

static bool cc_devices_loaded; /* the GPU modules of those directories were loaded (same lock) */

static bool cc_have_cpu(void) {
    return ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU) != NULL;
}

/* Directory of the shared object holding addr, or false (static link, Windows). */
static bool cc_dir_of(const void * addr, char * buf, size_t size) {
#if defined(_WIN32)
    (void) addr; (void) buf; (void) size;
    return false;
#else
    Dl_info info;
    if (!dladdr(addr, &info) || !info.dli_fname) return false;
    const char * slash = strrchr(info.dli_fname, '/');
    if (!slash) return false;
    size_t n = (size_t) (slash - info.dli_fname);
    if (n + 1 > size) return false;
    memcpy(buf, info.dli_fname, n);
    buf[n] = '\0';
    return true;
#endif
}

#if !defined(_WIN32)
/* dlopen without registering: whether a module loads here at all */
static void * cc_dlopen(const char * path) {
    return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

/* Calls visit with the path and the open handle of each libggml-*.so of dir that is a CPU
 * module (cpu) or a GPU one (!cpu: not a CPU variant, not libggml-base) and loads here. */
static void cc_each_module(const char * dir, bool cpu,
                           void (*visit)(const char * path, void * handle, void * arg), void * arg) {
    DIR * d = opendir(dir);
    if (!d) return;
    for (struct dirent * e; (e = readdir(d)) != NULL;) {
        const char * n = e->d_name;
        if (strncmp(n, "libggml-", 8) != 0 || !strstr(n, ".so") || strncmp(n, "libggml-base", 12) == 0 ||
            (strncmp(n, "libggml-cpu", 11) == 0) != cpu) {
            continue;
        }
        char path[1280];
        snprintf(path, sizeof(path), "%s/%s", dir, n);
        void * h = cc_dlopen(path);
        if (!h) continue;
        visit(path, h, arg);
        dlclose(h);
    }
    closedir(d);
}

typedef struct cc_best_cpu {
    char path[1280];
    int  score;
} cc_best_cpu;

static void cc_score_cpu(const char * path, void * handle, void * arg) {
    cc_best_cpu * best = arg;
    int (*score)(void) = NULL;
    *(void **) &score = dlsym(handle, "ggml_backend_score");
    int s = score ? score() : 1; /* a build with one CPU module has no score to give */
    if (s > best->score) {
        best->score = s;
        snprintf(best->path, sizeof(best->path), "%s", path);
    }
}

/* ggml's own choice of CPU variant, without the rest of ggml_backend_load_all_from_path: the
 * libggml-cpu* module of dir whose ggml_backend_score is highest on this CPU (0: it cannot run
 * here). The GPU modules wait until a context asks for a device (cc_backend_ensure_devices), and
 * "auto" asks only where the system may have a GPU (auto_gpu.c): loading ggml's Vulkan module makes
 * the Vulkan loader start every installed driver, 57 MB of resident memory with Mesa's (a q4_0
 * `clearclip segment` peaked at 263 MB, 201 MB without), which a process that only ever uses the
 * CPU should not pay. */
static void cc_load_best_cpu(const char * dir) {
    cc_best_cpu best = { .path = "", .score = 0 };
    cc_each_module(dir, true, cc_score_cpu, &best);
    if (best.path[0]) ggml_backend_load(best.path);
}

static void cc_register_module(const char * path, void * handle, void * arg) {
    (void) handle;
    (void) arg;
    ggml_backend_load(path);
}

/* The GPU modules of dir (libggml-vulkan.so, libggml-cuda.so, ...), those that load: one that
 * does not is explained when a context asks for it (cc_backend_module_error) instead of in an
 * error line from ggml on every run. */
static void cc_load_device_modules(const char * dir) {
    cc_each_module(dir, false, cc_register_module, NULL);
}
#else
static void cc_load_best_cpu(const char * dir) {
    ggml_backend_load_all_from_path(dir);
}

static void cc_load_device_modules(const char * dir) {
    (void) dir; /* loaded with the CPU's by ggml_backend_load_all_from_path */
}
#endif

static clearclip_status cc_backend_load_locked(const char * dir) {
    if (cc_have_cpu()) return CLEARCLIP_OK;
    char tried[2 * 1024 + 8] = "";
    if (dir) {
        cc_load_best_cpu(dir);
        cc_note_loaded_dir(dir);
        snprintf(tried, sizeof(tried), "%s", dir);
    } else {
        /* Beside ggml itself (its pip or CMake install), then beside libclearclip (the jar's
         * extraction directory, an installed lib/). Not the current directory: loading code from
         * wherever the process happens to run is not a default we want. */
        char dirs[2][1024];
        int n = 0;
        if (cc_dir_of((const void *) ggml_backend_load_all_from_path, dirs[n], sizeof(dirs[n]))) n++;
        if (cc_dir_of((const void *) clearclip_backend_load, dirs[n], sizeof(dirs[n])) &&
            (n == 0 || strcmp(dirs[0], dirs[n]) != 0)) {
            n++;
        }
        for (int i = 0; i < n && !cc_have_cpu(); i++) {
            cc_load_best_cpu(dirs[i]);
            cc_note_loaded_dir(dirs[i]);
            size_t len = strlen(tried);
            snprintf(tried + len, sizeof(tried) - len, "%s%s", i ? ", " : "", dirs[i]);
        }
    }
    if (!cc_have_cpu()) {
        return cc_error(CLEARCLIP_ERR_BACKEND,
                        "no CPU backend could be loaded: this ggml keeps its backends in separate "
                        "libraries (GGML_BACKEND_DL) and none of [%s] holds a libggml-cpu-*"
                        " this CPU can run; pass their directory to clearclip_backend_load",
                        tried[0] ? tried : "no directory found");
    }
    cc_log(CLEARCLIP_LOG_DEBUG, "clearclip: backends loaded from %s", tried);
    return CLEARCLIP_OK;
}

clearclip_status clearclip_backend_load(const char * dir) {
    cc_clear_error();
    CC_LOCK();
    clearclip_status st = cc_backend_load_locked(dir);
    CC_UNLOCK();
    return st;
}

clearclip_status cc_backend_ensure(void) {
    CC_LOCK();
    clearclip_status st = cc_backend_load_locked(NULL);
    CC_UNLOCK();
    return st;
}

void cc_backend_ensure_devices(void) {
    CC_LOCK();
    if (!cc_devices_loaded) {
        for (int i = 0; i < cc_n_loaded_dirs; i++) cc_load_device_modules(cc_loaded_dirs[i]);
        cc_devices_loaded = true;
    }
    CC_UNLOCK();
}

clearclip_status cc_auto_device(ggml_backend_dev_t * out, char * why, size_t size) {
    char reason[512];
    bool gpu = false;
    *out = NULL;
    if (!cc_auto_gpu(getenv(CC_AUTO_GPU_ENV), "/dev", &gpu, reason, sizeof(reason))) {
        if (why) snprintf(why, size, "%s", reason);
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "backend 'auto': %s", reason);
    }
    if (gpu) {
        cc_backend_ensure_devices();
        *out = cc_find_device("auto");
    } else {
        *out = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    }
    if (why) snprintf(why, size, "%s", reason);
    return CLEARCLIP_OK;
}

void cc_backend_module_error(const char * kind, char * buf, size_t size) {
    buf[0] = '\0';
#if !defined(_WIN32)
    CC_LOCK();
    for (int i = 0; i < cc_n_loaded_dirs && !buf[0]; i++) {
        char path[1280];
        snprintf(path, sizeof(path), "%.1023s/libggml-%.32s.so", cc_loaded_dirs[i], kind);
        if (access(path, F_OK) != 0) continue;
        /* ggml's loader already failed on it, silently; asking again is the one way to learn why */
        void * h = cc_dlopen(path);
        if (h) {
            dlclose(h);
            /* it loads, yet registered nothing: its init gave up (Vulkan: no driver installed) */
            if (!ggml_backend_reg_by_name(kind)) {
                snprintf(buf, size, "%s loads but its backend did not start", path);
            }
        } else {
            const char * why = dlerror();
            snprintf(buf, size, "%s did not load: %s", path, why ? why : "unknown reason");
        }
    }
    CC_UNLOCK();
#else
    (void) kind;
    (void) size;
#endif
}

clearclip_status clearclip_backend_get_info(clearclip_backend_info * out) {
    cc_clear_error();
    if (!out) return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "out must not be NULL");
    memset(out, 0, sizeof(*out));
    clearclip_status st = cc_backend_ensure();
    if (st) return st;
    ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
    snprintf(out->cpu, sizeof(out->cpu), "%s", ggml_backend_dev_description(dev));

    ggml_backend_get_features_t get_features =
        (ggml_backend_get_features_t) ggml_backend_reg_get_proc_address(reg,
                                                                         "ggml_backend_get_features");
    size_t pos = 0;
    for (struct ggml_backend_feature * f = get_features ? get_features(reg) : NULL; f && f->name;
         f++) {
        /* flags come as NAME=1; valued ones (e.g. a thread count) keep their value */
        bool flag = f->value && strcmp(f->value, "1") == 0;
        int k = snprintf(out->features + pos, sizeof(out->features) - pos, "%s%s%s%s",
                         pos ? " " : "", f->name, flag ? "" : "=", flag ? "" : f->value);
        if (k < 0 || (size_t) k >= sizeof(out->features) - pos) break;
        pos += (size_t) k;
    }

    /* The variant is not in the registry's vocabulary; it is in the file name the registry
     * loaded: libggml-cpu-<variant>.so. Any other file (libggml-cpu.so, libggml.so) means the CPU
     * backend is linked in. */
    snprintf(out->variant, sizeof(out->variant), "builtin");
#if !defined(_WIN32)
    Dl_info info;
    const void * addr = get_features ? (const void *) get_features
                                     : (const void *) ggml_backend_dev_backend_reg;
    if (dladdr(addr, &info) && info.dli_fname) {
        snprintf(out->library, sizeof(out->library), "%s", info.dli_fname);
        const char * base = strrchr(info.dli_fname, '/');
        base = base ? base + 1 : info.dli_fname;
        static const char prefix[] = "libggml-cpu-";
        if (strncmp(base, prefix, sizeof(prefix) - 1) == 0) {
            const char * v   = base + sizeof(prefix) - 1;
            /* ".so" is searched, not the first dot: arm variants are named like armv8.2_1 */
            const char * ext = strstr(v, ".so");
            if (!ext) ext = strstr(v, ".dylib");
            size_t n = ext ? (size_t) (ext - v) : strlen(v);
            if (n > 0 && n < sizeof(out->variant)) {
                memcpy(out->variant, v, n);
                out->variant[n] = '\0';
            }
        }
    }
#endif
    return CLEARCLIP_OK;
}

/* clearclip_system_info returns a string the caller may read until its next call on this thread. */
static _Thread_local char cc_sysinfo[2048];

const char * clearclip_system_info(void) {
    char * p = cc_sysinfo;
    size_t left = sizeof(cc_sysinfo);
#define CC_APPEND(...)                                              \
    do {                                                            \
        int n_ = snprintf(p, left, __VA_ARGS__);                    \
        if (n_ > 0 && (size_t) n_ < left) { p += n_; left -= n_; } \
    } while (0)

    CC_APPEND("clearclip %s; ggml %s (%s); ", CC_VERSION, ggml_version(), ggml_commit());
    /* The CPU features are those of the loaded CPU variant (ggml_cpu_has_* lives in the variant
     * libraries of a GGML_BACKEND_DL build, out of reach of a direct link). */
    clearclip_backend_info bi;
    if (clearclip_backend_get_info(&bi) == CLEARCLIP_OK) {
        CC_APPEND("CPU variant %s: %s", bi.variant, bi.features);
    } else {
        CC_APPEND("CPU backend not loaded (%s)", clearclip_last_error());
    }
    cc_backend_ensure_devices();
    CC_APPEND("; devices:");
    size_t n_dev = ggml_backend_dev_count();
    for (size_t i = 0; i < n_dev; i++) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        CC_APPEND("%s %s (%s)", i ? "," : "", ggml_backend_dev_name(dev),
                  ggml_backend_dev_description(dev));
    }
    /* what a context on "auto" would take, and why: the list above may hold a GPU that auto leaves
     * alone (CLEARCLIP_AUTO_GPU=0, or a machine without GPU device nodes) */
    ggml_backend_dev_t chosen = NULL;
    char why[512];
    if (cc_auto_device(&chosen, why, sizeof(why)) != CLEARCLIP_OK) {
        CC_APPEND("; auto: not usable (%s)", why);
    } else if (chosen) {
        CC_APPEND("; auto: %s (%s)", ggml_backend_dev_name(chosen), why);
    }
#undef CC_APPEND
    return cc_sysinfo;
}
