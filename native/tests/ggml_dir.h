/* Where the ggml in use keeps its libraries, for the tests that build backend folders of their own
 * from its modules. The includer defines _GNU_SOURCE first (for dladdr). */
#ifndef CLEARCLIP_TEST_GGML_DIR_H
#define CLEARCLIP_TEST_GGML_DIR_H

#include "ggml-backend.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>

/* Directory of ggml's library, where a GGML_BACKEND_DL build keeps its backend modules. */
static bool ggml_dir(char * buf, size_t size) {
    Dl_info info;
    if (!dladdr((const void *) ggml_backend_load_all_from_path, &info) || !info.dli_fname) return false;
    const char * slash = strrchr(info.dli_fname, '/');
    if (!slash || (size_t) (slash - info.dli_fname) + 1 > size) return false;
    memcpy(buf, info.dli_fname, (size_t) (slash - info.dli_fname));
    buf[slash - info.dli_fname] = '\0';
    return true;
}

#endif
