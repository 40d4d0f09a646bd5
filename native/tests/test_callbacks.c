/* Abort and progress callbacks of contexts and segmentation, and the log callback, on the CPU
 * backend: it assumes the CPU's behaviour (an abort within a graph, between nodes; the log line of
 * a CPU context), so it asks for "cpu" rather than auto, which takes a GPU where there is one.
 * test_device_parity checks the abort on a GPU device. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#  define _GNU_SOURCE   /* sched_getaffinity, sched_setaffinity */
#endif
#include "clearclip.h"
#include "test_common.h"
#include "tiny_model.h"
#include "segment_call.h"

#include "ggml.h"
#include "gguf.h"

#include <math.h>
#include <stdint.h>
#if defined(__linux__)
#  include <sched.h>
#endif

/* ---- logging ------------------------------------------------------------ */

typedef struct log_record {
    int  n, n_error, n_context_lines, n_gguf_errors, n_unterminated;
    int  bad_level;
    int  threads_seen;   /* the thread count of the last "context on CPU" line */
} log_record;

static void record_log(clearclip_log_level level, const char * text, void * ud) {
    log_record * r = ud;
    r->n++;
    if (level < CLEARCLIP_LOG_DEBUG || level > CLEARCLIP_LOG_ERROR) r->bad_level++;
    if (level == CLEARCLIP_LOG_ERROR) r->n_error++;
    if (level == CLEARCLIP_LOG_DEBUG && strstr(text, "clearclip: context on CPU")) {
        r->n_context_lines++;
        const char * t = strstr(text, " threads,");
        while (t && t > text && t[-1] >= '0' && t[-1] <= '9') t--;
        r->threads_seen = t ? atoi(t) : -1;
    }
    /* ggml's GGUF reader names its function first, e.g. "gguf_init_from_file_impl: ..." */
    if (level == CLEARCLIP_LOG_ERROR && strncmp(text, "gguf_", 5) == 0) r->n_gguf_errors++;
    size_t len = strlen(text);
    if (strstr(text, "clearclip:") == text && (len == 0 || text[len - 1] != '\n')) r->n_unterminated++;
}

/* ggml's own GGUF reader on a cut file: it reports the failure through ggml's logger. The engine
 * never hands ggml such a file (gguf_check.c refuses it first), so the test calls ggml directly to
 * make ggml log something. */
static void ggml_reads(const char * path) {
    struct gguf_init_params gp = { .no_alloc = true, .ctx = NULL };
    struct gguf_context * g = gguf_init_from_file(path, gp);
    CHECK_MSG(g == NULL, "ggml accepted the cut file %s", path);
    if (g) gguf_free(g);
}

/* A logger the application gave ggml itself: the engine must leave it in place. */
static int app_ggml_lines;
static void app_ggml_logger(enum ggml_log_level level, const char * text, void * ud) {
    (void) level;
    (void) text;
    (void) ud;
    app_ggml_lines++;
}

static void write_truncated_copy(const char * src, const char * dst, long keep) {
    FILE * f = fopen(src, "rb");
    char * data = malloc((size_t) keep);
    size_t got = f ? fread(data, 1, (size_t) keep, f) : 0;
    if (f) fclose(f);
    FILE * o = fopen(dst, "wb");
    if (o) {
        fwrite(data, 1, got, o);
        fclose(o);
    }
    free(data);
}

static void logging(const char * model_path) {
    char cut[1024];
    snprintf(cut, sizeof(cut), "%s/callbacks-cut.gguf", test_tmp_dir());
    write_truncated_copy(model_path, cut, 200);
    clearclip_context_params cp = clearclip_context_default_params();
    cp.n_threads = 1;
    cp.backend = "cpu";

    /* Before clearclip_log_set: ggml's logger stays the application's. */
    ggml_log_set(app_ggml_logger, NULL);
    clearclip_model * m = NULL;
    CHECK(clearclip_model_load(model_path, clearclip_model_default_params(), &m) == CLEARCLIP_OK);
    clearclip_context * c = NULL;
    CHECK(clearclip_context_init(m, cp, &c) == CLEARCLIP_OK);
    clearclip_context_free(c);
    clearclip_model * bad = NULL;
    CHECK(clearclip_model_load(cut, clearclip_model_default_params(), &bad) == CLEARCLIP_ERR_FORMAT);
    CHECK(bad == NULL);
    CHECK_MSG(app_ggml_lines == 0, "the engine let ggml log %d lines about the cut file", app_ggml_lines);
    ggml_reads(cut);
    ggml_log_callback cb = NULL;
    void * ud = NULL;
    ggml_log_get(&cb, &ud);
    CHECK_MSG(cb == app_ggml_logger, "the engine replaced ggml's logger without being asked");
    CHECK_MSG(app_ggml_lines > 0, "ggml's error lines for the cut file did not reach ggml's logger");
    clearclip_model_free(m);

    /* With a callback: the engine's lines and ggml's arrive there, with their levels. */
    log_record r = { 0 };
    clearclip_log_set(record_log, &r);
    const int app_before = app_ggml_lines;
    m = NULL;
    CHECK(clearclip_model_load(model_path, clearclip_model_default_params(), &m) == CLEARCLIP_OK);
    c = NULL;
    CHECK(clearclip_context_init(m, cp, &c) == CLEARCLIP_OK);
    CHECK_MSG(r.n_context_lines == 1, "%d 'context on CPU' lines", r.n_context_lines);
    bad = NULL;
    CHECK_STATUS(clearclip_model_load(cut, clearclip_model_default_params(), &bad),
                 CLEARCLIP_ERR_FORMAT, "callbacks-cut.gguf");
    CHECK_MSG(r.n_gguf_errors == 0, "the engine let ggml log about the cut file (%d lines)", r.n_gguf_errors);
    ggml_reads(cut);
    CHECK_MSG(r.n_gguf_errors > 0, "ggml's GGUF errors did not reach the callback (%d lines)", r.n);
    CHECK(r.bad_level == 0);
    CHECK(r.n_unterminated == 0);
    CHECK_MSG(app_ggml_lines == app_before, "ggml still logged to the old logger");

#if defined(__linux__)
    /* The default thread count is the CPUs the process may run on, not the machine's: pinned to
     * one CPU, a context takes 1 thread (ggml's threads spin at each barrier, so more than the
     * CPUs runs many times slower). */
    {
        cpu_set_t all, one;
        if (sched_getaffinity(0, sizeof(all), &all) == 0 && CPU_COUNT(&all) > 1) {
            CPU_ZERO(&one);
            for (int i = 0; i < CPU_SETSIZE; i++) {
                if (CPU_ISSET(i, &all)) {
                    CPU_SET(i, &one);
                    break;
                }
            }
            CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
            clearclip_context_params dp = clearclip_context_default_params();
            dp.backend = "cpu";
            r.threads_seen = -1;
            clearclip_context * pinned = NULL;
            CHECK(clearclip_context_init(m, dp, &pinned) == CLEARCLIP_OK);
            CHECK_MSG(r.threads_seen == 1, "pinned to one CPU, the default context took %d threads", r.threads_seen);
            clearclip_context_free(pinned);
            CHECK(sched_setaffinity(0, sizeof(all), &all) == 0);
            r.threads_seen = -1;
            CHECK(clearclip_context_init(m, dp, &pinned) == CLEARCLIP_OK);
            CHECK_MSG(r.threads_seen == CPU_COUNT(&all), "%d threads on %d CPUs", r.threads_seen, CPU_COUNT(&all));
            clearclip_context_free(pinned);
        } else {
            printf("one CPU only: the default thread count under a narrower affinity was not checked\n");
        }
    }
#endif

    /* NULL: back to ggml's default logger, the engine's lines dropped. */
    clearclip_log_set(NULL, NULL);
    const int n_before = r.n;
    clearclip_context * c2 = NULL;
    CHECK(clearclip_context_init(m, cp, &c2) == CLEARCLIP_OK);
    CHECK(r.n == n_before);
    ggml_log_get(&cb, &ud);
    CHECK(cb != app_ggml_logger && cb != NULL);
    clearclip_context_free(c2);
    clearclip_context_free(c);
    clearclip_model_free(m);
}

/* ---- abort and progress ------------------------------------------------- */

typedef struct progress_record {
    int32_t calls, last_done, total, out_of_order;
    int32_t abort_after; /* windows; < 0: never */
} progress_record;

static void record_progress(int32_t done, int32_t total, void * ud) {
    progress_record * r = ud;
    if (done != r->last_done + 1 || (r->total && total != r->total)) r->out_of_order++;
    r->calls++;
    r->last_done = done;
    r->total = total;
}

static bool abort_after_windows(void * ud) {
    const progress_record * r = ud;
    return r->abort_after >= 0 && r->last_done >= r->abort_after;
}

/* Counts calls and asks to stop from the n-th on. */
typedef struct abort_counter {
    int calls, stop_at;
} abort_counter;

static bool abort_at_call(void * ud) {
    abort_counter * a = ud;
    return ++a->calls >= a->stop_at;
}

/* Windows along one axis as mmseg's slide inference counts them:
 * max(size - crop + stride - 1, 0) / stride + 1. */
static int spec_windows(int size, int crop, int stride) {
    int d = size - crop + stride - 1;
    return (d > 0 ? d : 0) / stride + 1;
}

static void abort_and_progress(const char * model_path) {
    clearclip_model * m = NULL;
    CHECK(clearclip_model_load(model_path, clearclip_model_default_params(), &m) == CLEARCLIP_OK);
    clearclip_context_params cp = clearclip_context_default_params();
    cp.n_threads = 1;
    cp.backend = "cpu";
    clearclip_context * c = NULL;
    CHECK(clearclip_context_init(m, cp, &c) == CLEARCLIP_OK);
    if (!c) return;

    const int W = 150, H = 90;
    uint8_t * rgb = malloc(W * H * 3);
    for (int i = 0; i < W * H * 3; i++) rgb[i] = (uint8_t) ((i * 53 + (i / 450) * 7) % 256);
    float emb[2 * TINY_P];
    for (int j = 0; j < 2 * TINY_P; j++) emb[j] = (j % 3 == 0 ? 1.0f : -0.5f) * (j < TINY_P ? 1 : -1);
    for (int k = 0; k < 2; k++) {
        float n = 0;
        for (int j = 0; j < TINY_P; j++) n += emb[k * TINY_P + j] * emb[k * TINY_P + j];
        for (int j = 0; j < TINY_P; j++) emb[k * TINY_P + j] /= sqrtf(n);
    }
    clearclip_segment_params p = clearclip_segment_default_params();
    CHECK(p.progress == NULL && p.progress_user_data == NULL);
    p.short_side = 0;
    p.crop = 32;
    p.stride = 16;
    const int n_windows = spec_windows(W, 32, 16) * spec_windows(H, 32, 16);
    int32_t * full = malloc(sizeof(int32_t) * W * H);
    int32_t * again = malloc(sizeof(int32_t) * W * H);

    /* progress: one call per window, in order, ending at the window count */
    progress_record pr = { .abort_after = -1 };
    p.progress = record_progress;
    p.progress_user_data = &pr;
    CHECK(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 2, NULL, 2, p, full, NULL) == CLEARCLIP_OK);
    CHECK_MSG(pr.calls == n_windows && pr.total == n_windows && pr.last_done == n_windows,
              "%d progress calls, total %d, last %d; the reference grid has %d windows", pr.calls,
              pr.total, pr.last_done, n_windows);
    CHECK(pr.out_of_order == 0);

    /* abort after 5 windows: ERR_ABORTED before the 6th */
    progress_record ab = { .abort_after = 5 };
    p.progress_user_data = &ab;
    clearclip_context_set_abort_callback(c, abort_after_windows, &ab);
    CHECK_STATUS(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 2, NULL, 2, p, again, NULL),
                 CLEARCLIP_ERR_ABORTED, "aborted by the caller");
    CHECK_MSG(ab.calls == 5, "%d windows ran before the abort took effect", ab.calls);
    CHECK(strcmp(clearclip_status_name(CLEARCLIP_ERR_ABORTED), "CLEARCLIP_ERR_ABORTED") == 0);

    /* the context stays usable: with the callback cleared the same result as before */
    clearclip_context_set_abort_callback(c, NULL, NULL);
    p.progress = NULL;
    CHECK(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 2, NULL, 2, p, again, NULL) == CLEARCLIP_OK);
    CHECK(memcmp(full, again, sizeof(int32_t) * W * H) == 0);

    /* a callback that never asks to stop changes nothing */
    ab = (progress_record) { .abort_after = -1 };
    clearclip_context_set_abort_callback(c, abort_after_windows, &ab);
    CHECK(segment_call(TINY_P, c, rgb, W, H, W * 3, emb, 2, NULL, 2, p, again, NULL) == CLEARCLIP_OK);
    CHECK(memcmp(full, again, sizeof(int32_t) * W * H) == 0);

    /* inside one graph: the first call is the engine's check before the graph, later ones are
     * ggml's between nodes; stopping at the second shows the graph itself was stopped */
    float * px = malloc(sizeof(float) * 3 * 64 * 64);
    float feats_ref[TINY_P], feats[TINY_P];
    CHECK(clearclip_image_normalize(m, rgb, 64, 64, W * 3, px) == CLEARCLIP_OK);
    clearclip_context_set_abort_callback(c, NULL, NULL);
    CHECK(clearclip_encode_image(c, px, 64, 64, feats_ref) == CLEARCLIP_OK);
    abort_counter ac = { .stop_at = 2 };
    clearclip_context_set_abort_callback(c, abort_at_call, &ac);
    CHECK_STATUS(clearclip_encode_image(c, px, 64, 64, feats), CLEARCLIP_ERR_ABORTED,
                 "aborted by the caller");
    CHECK_MSG(ac.calls == 2, "abort callback called %d times", ac.calls);
    clearclip_context_set_abort_callback(c, NULL, NULL);
    CHECK(clearclip_encode_image(c, px, 64, 64, feats) == CLEARCLIP_OK);
    CHECK(memcmp(feats, feats_ref, sizeof(feats)) == 0);

    /* text batches (the tiny file has no vocabulary: token ids) */
    const int32_t tokens[] = { TINY_BOS, 3, 4, TINY_EOS, TINY_BOS, 5, TINY_EOS, 0 };
    float text_emb[2 * TINY_P];
    ac = (abort_counter) { .stop_at = 1 };
    clearclip_context_set_abort_callback(c, abort_at_call, &ac);
    CHECK_STATUS(clearclip_encode_tokens(c, tokens, 2, 4, text_emb), CLEARCLIP_ERR_ABORTED,
                 "aborted by the caller");
    clearclip_context_set_abort_callback(c, NULL, NULL);
    CHECK(clearclip_encode_tokens(c, tokens, 2, 4, text_emb) == CLEARCLIP_OK);
    clearclip_context_set_abort_callback(NULL, abort_at_call, &ac); /* ignored, no crash */

    free(px);
    free(full);
    free(again);
    free(rgb);
    clearclip_context_free(c);
    clearclip_model_free(m);
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/callbacks-tiny.gguf", test_tmp_dir());
    tiny_variant v = { 0 };
    CHECK(write_tiny_model(path, &v));
    abort_and_progress(path);
    logging(path);
    return test_finish("test_callbacks");
}
