/* Internal to the model loader (model.c, model_load.c, model_weights.c): the file being loaded
 * and the steps that turn it into a clearclip_model. */
#ifndef CLEARCLIP_MODEL_LOAD_H
#define CLEARCLIP_MODEL_LOAD_H

#include "gguf_names.h"
#include "internal.h"

#include "gguf.h"

#include <stdio.h>

#if !defined(_WIN32)
#  define CC_HAVE_MMAP 1
#endif

typedef struct cc_loader {
    const char *          path;
    struct gguf_context * gguf;
    int                   fd;   /* the file, opened once: checked, parsed, mapped or read */
    FILE *                file; /* stdio stream over fd for gguf_init_from_file_ptr */
    size_t                file_size;
    size_t                data_offset;
} cc_loader;

/* Reads an integer key of any GGUF integer type; min_value..INT32_MAX, absent is an error only
 * when required (then *out is left as it was). */
clearclip_status cc_get_int(const cc_loader * ld, const char * key, bool required,
                            int64_t min_value, int32_t * out);

/* model_load.c: the metadata (architecture, towers, hyperparameters; LLaVA projector files
 * recognised) and then every tensor's presence, shape and type, before any data is touched. */
clearclip_status cc_read_hparams(const cc_loader * ld, const clearclip_model_params * mp,
                                 cc_hparams * hp);
clearclip_status cc_check_tensors(const cc_loader * ld, cc_hparams * hp);

/* model_weights.c: creates the weight tensors of the loaded towers and points them into the file
 * data, either straight into the mapping (m->mapping) or into a CPU buffer filled by reading the
 * file; binds them to m->weights, scans the small ones for NaN/Inf, repacks for the CPU. */
clearclip_status cc_load_weights(clearclip_model * m, const cc_loader * ld, bool use_mmap);

#endif
