/*
 * Runs a harness's LLVMFuzzerTestOneInput over files and directories without libFuzzer, for
 * builds that have no libFuzzer (gcc, or a sanitizer build without CLEARCLIP_FUZZ): the committed
 * seeds and the crashers kept as regression inputs then run as ordinary ctest tests. A sanitizer
 * report or a broken invariant ends the process with a failure, as under libFuzzer.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);
int LLVMFuzzerInitialize(int * argc, char *** argv) __attribute__((weak));

static int run_file(const char * path) {
    FILE * f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t * buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t * grown = realloc(buf, cap *= 2);
            if (!grown) free(buf);
            buf = grown;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "out of memory reading %s\n", path);
        return -1;
    }
    /* an exact-size copy, so that reading past the input is caught by ASan as under libFuzzer */
    uint8_t * exact = malloc(n ? n : 1);
    memcpy(exact, buf, n);
    free(buf);
    fprintf(stderr, "running %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 1;
}

static int run_path(const char * path) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "cannot stat %s\n", path);
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) return run_file(path);
    DIR * d = opendir(path);
    if (!d) {
        fprintf(stderr, "cannot open directory %s\n", path);
        return -1;
    }
    int count = 0;
    for (struct dirent * e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char child[4096];
        snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
        int k = run_path(child);
        if (k < 0) {
            count = -1;
            break;
        }
        count += k;
    }
    closedir(d);
    return count;
}

int main(int argc, char ** argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    int total = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') continue; /* libFuzzer flags, accepted and ignored */
        int k = run_path(argv[i]);
        if (k < 0) return 1;
        total += k;
    }
    /* an empty corpus would make the test pass without running anything */
    if (total == 0) {
        fprintf(stderr, "no input was run\n");
        return 1;
    }
    printf("%d input(s) ran without a finding\n", total);
    return 0;
}
