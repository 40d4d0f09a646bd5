/*
 * Shared helpers of the libFuzzer harnesses: a byte reader that turns the fuzzer's input into
 * bounded parameters, and the tiny model (written once per process with the test suite's
 * tiny_model.h, into a temporary directory).
 */
#ifndef CLEARCLIP_FUZZ_COMMON_H
#define CLEARCLIP_FUZZ_COMMON_H

#include "clearclip.h"
#include "tiny_model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A harness stops the process on a broken invariant: libFuzzer (or the seed runner) then reports
 * the input as a crash, like a sanitizer finding. */
#define FUZZ_ASSERT(cond, ...)                                                          \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: invariant broken: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                               \
            fputc('\n', stderr);                                                        \
            abort();                                                                    \
        }                                                                               \
    } while (0)

typedef struct fuzz_reader {
    const uint8_t * data;
    size_t          size, pos;
} fuzz_reader;

/* Next byte, 0 once the input is used up (so short inputs still give valid parameters). */
static uint8_t fuzz_u8(fuzz_reader * r) { return r->pos < r->size ? r->data[r->pos++] : 0; }

static uint16_t fuzz_u16(fuzz_reader * r) {
    uint16_t lo = fuzz_u8(r);
    return (uint16_t) (lo | (uint16_t) fuzz_u8(r) << 8);
}

static uint32_t fuzz_u32(fuzz_reader * r) {
    uint32_t lo = fuzz_u16(r);
    return lo | (uint32_t) fuzz_u16(r) << 16;
}

/* An integer in [lo, hi]. */
static int32_t fuzz_range(fuzz_reader * r, int32_t lo, int32_t hi) {
    return lo + (int32_t) (fuzz_u16(r) % (uint32_t) (hi - lo + 1));
}

/* Any float bit pattern, NaN and infinities included. */
static float fuzz_float_bits(fuzz_reader * r) {
    uint32_t u = fuzz_u32(r);
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

/* Ordinary finite values most of the time, arbitrary bits now and then. */
static float fuzz_float(fuzz_reader * r, float lo, float hi) {
    uint8_t kind = fuzz_u8(r);
    if (kind >= 0xF0) return fuzz_float_bits(r);
    return lo + (hi - lo) * (float) fuzz_u16(r) / 65535.0f;
}

/* Writes a variant of the tiny test model to a fresh temporary file; the path is malloc'd. */
static char * fuzz_write_tiny_model(const tiny_variant * v) {
    const char * dir = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/clearclip-fuzz-XXXXXX", dir && dir[0] ? dir : "/tmp");
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        perror("fuzz: mkstemp");
        abort();
    }
    close(fd);
    if (!write_tiny_model(tmpl, v)) {
        fprintf(stderr, "fuzz: cannot write the tiny model to %s\n", tmpl);
        abort();
    }
    return strdup(tmpl);
}

/* Loads the tiny model variant; the temporary file is removed once the model is loaded
 * (mmap keeps the data alive). */
static clearclip_model * fuzz_load_tiny_model(const tiny_variant * v) {
    char * path = fuzz_write_tiny_model(v);
    clearclip_model * model = NULL;
    clearclip_status st = clearclip_model_load(path, clearclip_model_default_params(), &model);
    if (st != CLEARCLIP_OK) {
        fprintf(stderr, "fuzz: tiny model refused: %s\n", clearclip_last_error());
        abort();
    }
    unlink(path);
    free(path);
    return model;
}

/* One CPU thread: the fuzzers run single-process on shared machines. */
static clearclip_context * fuzz_context(clearclip_model * model) {
    clearclip_context_params cp = clearclip_context_default_params();
    cp.n_threads = 1;
    cp.backend = "cpu";
    clearclip_context * ctx = NULL;
    if (clearclip_context_init(model, cp, &ctx) != CLEARCLIP_OK) {
        fprintf(stderr, "fuzz: context refused: %s\n", clearclip_last_error());
        abort();
    }
    return ctx;
}

/* CLEARCLIP_FUZZ_VERBOSE: print each call and its outcome (to see what a corpus exercises). */
static bool fuzz_verbose(void) {
    static int v = -1;
    if (v < 0) {
        const char * s = getenv("CLEARCLIP_FUZZ_VERBOSE");
        v = s && s[0] && strcmp(s, "0") != 0;
    }
    return v;
}

/* A failed call must say why. */
static void fuzz_check_error(clearclip_status st, const char * call) {
    const char * msg = clearclip_last_error();
    FUZZ_ASSERT(msg && msg[0], "%s returned %s with an empty last error", call,
                clearclip_status_name(st));
    FUZZ_ASSERT(strcmp(clearclip_status_name(st), "CLEARCLIP_ERR_UNKNOWN") != 0,
                "%s: unknown status %d", call, (int) st);
}

#endif
