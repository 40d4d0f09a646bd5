/* Backend loading and the CPU variant: the first load with a directory holding no CPU backend
 * fails clearly (on a GGML_BACKEND_DL build), the default search then finds one, loading is
 * idempotent from many threads, and the variant chosen matches what /proc/cpuinfo says this CPU
 * can run (an AVX-512 variant where avx512f is present, an AVX2 one where only avx2 is). */
#include "clearclip.h"
#include "test_common.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Whether the first "flags" line of /proc/cpuinfo lists flag; -1 when there is no such file
 * (not Linux) or no flags line (not x86). */
static int cpu_flag(const char * flag) {
    FILE * f = fopen("/proc/cpuinfo", "r");
    if (!f) return -1;
    static char line[16384];
    int found = -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        found = 0;
        size_t n = strlen(flag);
        for (char * p = strstr(line, flag); p; p = strstr(p + 1, flag)) {
            if ((p[-1] == ' ' || p[-1] == '\t') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0')) {
                found = 1;
                break;
            }
        }
        break;
    }
    fclose(f);
    return found;
}

static bool has_feature(const clearclip_backend_info * bi, const char * name) {
    size_t n = strlen(name);
    for (const char * p = strstr(bi->features, name); p; p = strstr(p + 1, name)) {
        bool start = p == bi->features || p[-1] == ' ';
        if (start && (p[n] == ' ' || p[n] == '\0')) return true;
    }
    return false;
}

static void * load_in_thread(void * arg) {
    (void) arg;
    return (void *) (intptr_t) clearclip_backend_load(NULL);
}

int main(void) {
    char missing[1024];
    snprintf(missing, sizeof(missing), "%s/no-backends-here", test_tmp_dir());
    clearclip_status first = clearclip_backend_load(missing);
    clearclip_backend_info bi;
    if (first != CLEARCLIP_OK) {
        /* a DL build: nothing in that directory, and the message says where it looked */
        CHECK_STATUS(clearclip_backend_load(missing), CLEARCLIP_ERR_BACKEND, missing);
        CHECK(strstr(clearclip_last_error(), "libggml-cpu-") != NULL);
    }

    /* the default search (beside ggml, beside libclearclip) finds one, from every thread */
    pthread_t threads[8];
    for (int i = 0; i < 8; i++) CHECK(pthread_create(&threads[i], NULL, load_in_thread, NULL) == 0);
    for (int i = 0; i < 8; i++) {
        void * st = NULL;
        pthread_join(threads[i], &st);
        CHECK_MSG((intptr_t) st == CLEARCLIP_OK, "thread %d: %s", i, clearclip_last_error());
    }
    /* once a CPU backend is there, another directory changes nothing */
    CHECK(clearclip_backend_load(missing) == CLEARCLIP_OK);
    CHECK(clearclip_backend_get_info(NULL) == CLEARCLIP_ERR_INVALID_ARGUMENT);

    CHECK_MSG(clearclip_backend_get_info(&bi) == CLEARCLIP_OK, "%s", clearclip_last_error());
    printf("variant %s (%s), CPU %s\nfeatures: %s\n", bi.variant, bi.library, bi.cpu, bi.features);
    CHECK(bi.variant[0] != '\0');
    CHECK(bi.features[0] != '\0');
    if (first != CLEARCLIP_OK) {
        CHECK_MSG(strcmp(bi.variant, "builtin") != 0 && strstr(bi.library, "libggml-cpu-") != NULL,
                  "a DL build loaded %s from %s", bi.variant, bi.library);
    }

#if defined(__x86_64__) || defined(_M_X64)
    int avx512 = cpu_flag("avx512f"), avx2 = cpu_flag("avx2");
#else
    /* another architecture (e.g. the aarch64 build under qemu-user, which shows the x86 host's
       /proc/cpuinfo): the x86 flags say nothing about what this build can run */
    int avx512 = 0, avx2 = 0;
#endif
    if (avx512 == 1) {
        CHECK_MSG(has_feature(&bi, "AVX512"),
                  "this CPU has avx512f but variant %s (%s) is not an AVX-512 one", bi.variant,
                  bi.features);
    } else if (avx2 == 1) {
        CHECK_MSG(has_feature(&bi, "AVX2") && !has_feature(&bi, "AVX512"),
                  "this CPU has avx2 and no avx512f but variant %s has: %s", bi.variant,
                  bi.features);
    } else {
        printf("not an x86-64 build, or no avx2/avx512f flags in /proc/cpuinfo: variant not checked against them\n");
    }

    /* the system info names the same variant */
    CHECK(strstr(clearclip_system_info(), bi.variant) != NULL);
    return test_finish("test_backend");
}
