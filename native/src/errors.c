/* Thread-local error reporting and library-level queries. */
#include "internal.h"


#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Per thread so that concurrent contexts never see each other's messages. */
static _Thread_local char cc_last_error[1024];
/* clearclip_system_info returns a string the caller may read until its next call. */
static _Thread_local char cc_sysinfo[2048];

clearclip_status cc_error(clearclip_status status, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cc_last_error, sizeof(cc_last_error), fmt, ap);
    va_end(ap);
    return status;
}

void cc_clear_error(void) {
    cc_last_error[0] = '\0';
}

const char * clearclip_last_error(void) {
    return cc_last_error;
}

const char * clearclip_status_name(clearclip_status status) {
    switch (status) {
        case CLEARCLIP_OK:                   return "CLEARCLIP_OK";
        case CLEARCLIP_ERR_INVALID_ARGUMENT: return "CLEARCLIP_ERR_INVALID_ARGUMENT";
        case CLEARCLIP_ERR_IO:               return "CLEARCLIP_ERR_IO";
        case CLEARCLIP_ERR_FORMAT:           return "CLEARCLIP_ERR_FORMAT";
        case CLEARCLIP_ERR_MODEL:            return "CLEARCLIP_ERR_MODEL";
        case CLEARCLIP_ERR_UNSUPPORTED:      return "CLEARCLIP_ERR_UNSUPPORTED";
        case CLEARCLIP_ERR_NO_TOWER:         return "CLEARCLIP_ERR_NO_TOWER";
        case CLEARCLIP_ERR_BACKEND:          return "CLEARCLIP_ERR_BACKEND";
        case CLEARCLIP_ERR_OUT_OF_MEMORY:    return "CLEARCLIP_ERR_OUT_OF_MEMORY";
        case CLEARCLIP_ERR_ABORTED:          return "CLEARCLIP_ERR_ABORTED";
    }
    return "CLEARCLIP_ERR_UNKNOWN";
}

const char * clearclip_version(void) {
    return CC_VERSION;
}

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
    CC_APPEND("; devices:");
    size_t n_dev = ggml_backend_dev_count();
    for (size_t i = 0; i < n_dev; i++) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        CC_APPEND("%s %s (%s)", i ? "," : "", ggml_backend_dev_name(dev),
                  ggml_backend_dev_description(dev));
    }
#undef CC_APPEND
    return cc_sysinfo;
}
