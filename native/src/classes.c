/* Class sets: the name embeddings and the name -> class map of a segmentation, checked and
 * copied once, then used by any number of clearclip_segment calls. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Far above any CLIP projection (ViT-bigG: 1280); the model's projection_dim is checked per call. */
#define CC_MAX_DIM 65536

clearclip_status clearclip_classes_init(const float * name_embeddings, int32_t n_names, int32_t dim,
                                        const int32_t * name_class, int32_t n_classes,
                                        clearclip_classes ** out) {
    cc_clear_error();
    if (!out) return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "out must not be NULL");
    *out = NULL;
    if (!name_embeddings) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "name_embeddings must not be NULL");
    }
    if (n_names <= 0 || n_classes <= 0) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "n_names (%d) and n_classes (%d) must be positive", n_names, n_classes);
    }
    if (dim <= 0 || dim > CC_MAX_DIM) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "dim %d must be within 1..%d", dim,
                        CC_MAX_DIM);
    }
    if (!name_class && n_names != n_classes) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "name_class is NULL, so n_names (%d) must equal n_classes (%d)", n_names,
                        n_classes);
    }
    for (int32_t i = 0; name_class && i < n_names; i++) {
        if (name_class[i] < 0 || name_class[i] >= n_classes) {
            return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                            "name_class[%d] = %d is outside 0..%d", i, name_class[i],
                            n_classes - 1);
        }
    }
    const size_t n = (size_t) n_names * (size_t) dim;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(name_embeddings[i])) {
            return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                            "name_embeddings[%zu] (name %zu, element %zu) is %g, must be finite", i,
                            i / (size_t) dim, i % (size_t) dim, (double) name_embeddings[i]);
        }
    }
    clearclip_classes * c = calloc(1, sizeof(*c));
    if (c) {
        c->embeddings = malloc(n * sizeof(float));
        c->name_class = malloc((size_t) n_names * sizeof(int32_t));
    }
    if (!c || !c->embeddings || !c->name_class) {
        clearclip_classes_free(c);
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory for %d names of %d floats",
                        n_names, dim);
    }
    memcpy(c->embeddings, name_embeddings, n * sizeof(float));
    for (int32_t i = 0; i < n_names; i++) c->name_class[i] = name_class ? name_class[i] : i;
    c->n_names   = n_names;
    c->n_classes = n_classes;
    c->dim       = dim;
    *out = c;
    return CLEARCLIP_OK;
}

void clearclip_classes_free(clearclip_classes * classes) {
    if (!classes) return;
    free(classes->embeddings);
    free(classes->name_class);
    free(classes);
}

int32_t clearclip_classes_n_classes(const clearclip_classes * classes) {
    return classes ? classes->n_classes : 0;
}

int32_t clearclip_classes_n_names(const clearclip_classes * classes) {
    return classes ? classes->n_names : 0;
}
