/* Minimal assertion helpers shared by the C tests. */
#ifndef CLEARCLIP_TEST_COMMON_H
#define CLEARCLIP_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            test_failures++;                                                         \
        }                                                                            \
    } while (0)

#define CHECK_MSG(cond, ...)                                                         \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
            test_failures++;                                                         \
        }                                                                            \
    } while (0)

/* A call's status and the thread's last error must both name the problem. */
#define CHECK_STATUS(call, expected, needle)                                               \
    do {                                                                                   \
        clearclip_status st_ = (call);                                                     \
        const char * msg_ = clearclip_last_error();                                        \
        CHECK_MSG(st_ == (expected), "%s returned %s, expected %s (%s)", #call,            \
                  clearclip_status_name(st_), clearclip_status_name(expected), msg_);      \
        CHECK_MSG(strstr(msg_, (needle)) != NULL, "message \"%s\" lacks \"%s\"", msg_,     \
                  (needle));                                                               \
    } while (0)

static int test_finish(const char * name) {
    if (test_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, test_failures);
        return 1;
    }
    printf("%s: all checks passed\n", name);
    return 0;
}

/* Directory for files a test writes (the build tree's tests dir under ctest). */
static const char * test_tmp_dir(void) {
    const char * d = getenv("CLEARCLIP_TEST_TMP");
    return d && d[0] ? d : ".";
}

/* Fixture-based tests call this first: a missing fixtures directory is a failure, never a
 * silent skip. */
static const char * test_fixtures_dir(void) {
    const char * d = getenv("CLEARCLIP_FIXTURES");
    if (!d || !d[0]) {
        fprintf(stderr, "CLEARCLIP_FIXTURES is not set: configure with "
                        "-DCLEARCLIP_FIXTURES=<repo>/build/fixtures (made by "
                        "gguf-tools/reference/make_fixtures.py)\n");
        exit(1);
    }
    return d;
}

#endif
