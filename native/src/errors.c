/* Thread-local error reporting, status names and the engine's version and ABI. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Per thread so that concurrent contexts never see each other's messages. */
static _Thread_local char cc_last_error[1024];

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

int32_t clearclip_abi_version(void) {
    return CLEARCLIP_ABI_VERSION;
}
