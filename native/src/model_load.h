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

/* ---- the tensor table (model_tensors.c) ----------------------------------- */

/* A dimension of an expected shape, resolved from the hyperparameters of the tensor's tower. */
enum cc_spec_dim {
    CC_DIM_1,          /* (unused dimensions) */
    CC_DIM_WIDTH,      /* the tower's width W */
    CC_DIM_FFN,        /* its FFN width F */
    CC_DIM_PROJ,       /* its projection P */
    CC_DIM_VOCAB,      /* rows of the token embedding (read from the file) */
    CC_DIM_CONTEXT,    /* the text context length */
    CC_DIM_POSITIONS,  /* 1 + (image_size / patch_size)^2 */
    CC_DIM_PATCH,      /* the patch size */
    CC_DIM_RGB,        /* 3 */
};

/* The types a tensor may have: vectors, norms and position/class embeddings are read as plain
 * floats on the host or added element-wise, so they must be f32 or f16; matrices feed mul_mat /
 * get_rows, which handle the block quantizations too. */
enum cc_spec_types { CC_TYPES_FLOAT, CC_TYPES_ANY };

/* cc_tensor_spec.flags: the towers a row belongs to, and whether it is a block tensor (its name
 * then a TN_BLK_* suffix, its field one of cc_layer). */
#define CC_SPEC_TEXT   1u
#define CC_SPEC_VISION 2u
#define CC_SPEC_BLOCK  4u

typedef struct cc_tensor_spec {
    const char * name;     /* TN_* name, or TN_BLK_* suffix of a block tensor */
    uint8_t      flags;    /* CC_SPEC_* */
    uint8_t      types;    /* enum cc_spec_types */
    uint8_t      n_dims;
    uint8_t      ne[4];    /* enum cc_spec_dim of each of the n_dims dimensions (ggml order) */
    int8_t       swap;     /* FFN rows: offset of the row whose role this tensor plays in a block
                              stored with fc1 and fc2 the other way round, else 0 */
    size_t       field;    /* offsetof in cc_weights, or in cc_layer for a block tensor */
} cc_tensor_spec;

extern const cc_tensor_spec cc_tensor_specs[];
extern const size_t         cc_n_tensor_specs;

/* One tensor of a loaded tower as the walk meets it: the name in the file, the row of the role it
 * plays (types, field) and its expected shape. */
typedef struct cc_tensor_ref {
    const cc_tensor_spec * spec;
    char                   name[64];
    bool                   vision;  /* the tower */
    int32_t                block;   /* block index, -1 outside the blocks */
    int                    n_dims;
    int64_t                ne[4];   /* 1 beyond n_dims */
} cc_tensor_ref;

/* The shape (ne[4]) of the tensor named so in src (a GGUF file or a ggml context), NULL when
 * absent: what tells a block's fc1 from its fc2. */
typedef const int64_t * (*cc_tensor_shape_fn)(void * src, const char * name);
typedef clearclip_status (*cc_tensor_visit_fn)(void * arg, const cc_tensor_ref * ref);

/* Calls visit for every tensor of the towers hp loads (text, then vision, each in table order,
 * block rows once per block), stopping at the first status that is not CLEARCLIP_OK. */
clearclip_status cc_tensors_walk(const cc_hparams * hp, cc_tensor_shape_fn shape, void * src,
                                 cc_tensor_visit_fn visit, void * arg);
/* The field of w (its t_layers / v_layers allocated for a block tensor) that ref binds to. */
struct ggml_tensor ** cc_tensor_field(cc_weights * w, const cc_tensor_ref * ref);

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
