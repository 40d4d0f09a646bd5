/* The tests' segmentation call with the classes spelled out as arrays: makes the class set
 * (a refusal is returned as it is, its message in clearclip_last_error), segments one image held
 * as tight RGB rows of row_stride bytes, frees the set. */
#ifndef CLEARCLIP_TEST_SEGMENT_CALL_H
#define CLEARCLIP_TEST_SEGMENT_CALL_H

#include "clearclip.h"

static clearclip_status segment_call(int32_t dim, clearclip_context * ctx, const uint8_t * rgb,
                                     int32_t width, int32_t height, int32_t row_stride,
                                     const float * emb, int32_t n_names,
                                     const int32_t * name_class, int32_t n_classes,
                                     clearclip_segment_params params, int32_t * labels,
                                     float * class_probs) {
    clearclip_classes * classes = NULL;
    clearclip_status st = clearclip_classes_init(emb, n_names, dim, name_class, n_classes, &classes);
    if (st != CLEARCLIP_OK) return st;
    const clearclip_image image = { rgb, width, height, row_stride };
    st = clearclip_segment(ctx, &image, classes, params, labels, class_probs);
    clearclip_classes_free(classes);
    return st;
}

#endif
