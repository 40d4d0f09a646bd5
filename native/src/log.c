/* The log callback: the engine's own messages and, once a callback is set, ggml's.
 *
 * This is the library's one piece of process-wide mutable state, because ggml's logger is
 * process-wide: a per-context logger could not receive ggml's messages. */
#include "internal.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

/* A spin lock guards the (callback, user_data) pair so a reader never sees the callback of one
 * clearclip_log_set with the user data of another; it is held only to copy the pair, never
 * while a callback runs (a callback may log or call clearclip_log_set itself). */
static atomic_flag            cc_log_lock = ATOMIC_FLAG_INIT;
static clearclip_log_callback cc_log_cb;
static void *                 cc_log_ud;

static void cc_log_get(clearclip_log_callback * cb, void ** ud) {
    while (atomic_flag_test_and_set_explicit(&cc_log_lock, memory_order_acquire)) {
    }
    *cb = cc_log_cb;
    *ud = cc_log_ud;
    atomic_flag_clear_explicit(&cc_log_lock, memory_order_release);
}

/* ggml continues a message with GGML_LOG_LEVEL_CONT; the continuation gets the level of the
 * message it continues, which was logged on the same thread. */
static _Thread_local clearclip_log_level cc_last_level = CLEARCLIP_LOG_INFO;

static void cc_ggml_log(enum ggml_log_level level, const char * text, void * user_data) {
    (void) user_data;
    clearclip_log_callback cb;
    void * ud;
    cc_log_get(&cb, &ud);
    if (!cb || !text) return;
    clearclip_log_level l;
    switch (level) {
        case GGML_LOG_LEVEL_DEBUG: l = CLEARCLIP_LOG_DEBUG; break;
        case GGML_LOG_LEVEL_WARN:  l = CLEARCLIP_LOG_WARN; break;
        case GGML_LOG_LEVEL_ERROR: l = CLEARCLIP_LOG_ERROR; break;
        case GGML_LOG_LEVEL_CONT:  l = cc_last_level; break;
        default:                   l = CLEARCLIP_LOG_INFO; break;
    }
    cc_last_level = l;
    cb(l, text, ud);
}

void clearclip_log_set(clearclip_log_callback callback, void * user_data) {
    while (atomic_flag_test_and_set_explicit(&cc_log_lock, memory_order_acquire)) {
    }
    cc_log_cb = callback;
    cc_log_ud = callback ? user_data : NULL;
    atomic_flag_clear_explicit(&cc_log_lock, memory_order_release);
    /* ggml_log_set(NULL, NULL) puts back ggml's default logger (stderr). */
    if (callback) {
        ggml_log_set(cc_ggml_log, NULL);
    } else {
        ggml_log_set(NULL, NULL);
    }
}

void cc_log(clearclip_log_level level, const char * fmt, ...) {
    clearclip_log_callback cb;
    void * ud;
    cc_log_get(&cb, &ud);
    if (!cb) return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t) n < sizeof(text) - 2 ? (size_t) n : sizeof(text) - 2;
    /* one message per line, newline-terminated like ggml's */
    text[len]     = '\n';
    text[len + 1] = '\0';
    cb(level, text, ud);
}
