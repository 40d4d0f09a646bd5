/* Quantization entry points for the converter: ggml's own routines, so blocks match ggml. */
#include "internal.h"

static bool cc_quant_type_ok(clearclip_tensor_type type) {
    switch (type) {
        case CLEARCLIP_TYPE_F32: case CLEARCLIP_TYPE_F16: case CLEARCLIP_TYPE_Q4_0:
        case CLEARCLIP_TYPE_Q4_1: case CLEARCLIP_TYPE_Q5_0: case CLEARCLIP_TYPE_Q5_1:
        case CLEARCLIP_TYPE_Q8_0:
            return true;
    }
    return false;
}

static clearclip_status cc_check_quant_args(clearclip_tensor_type type, int64_t n_rows,
                                            int64_t n_per_row) {
    if (!cc_quant_type_ok(type)) {
        return cc_error(CLEARCLIP_ERR_UNSUPPORTED,
                        "tensor type %d is not supported (supported: f32=0, f16=1, q4_0=2, "
                        "q4_1=3, q5_0=6, q5_1=7, q8_0=8)",
                        (int) type);
    }
    if (n_rows <= 0 || n_per_row <= 0) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "n_rows (%lld) and n_per_row (%lld) must be positive", (long long) n_rows,
                        (long long) n_per_row);
    }
    const int64_t blck = ggml_blck_size((enum ggml_type) type);
    if (n_per_row % blck != 0) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "n_per_row %lld is not a multiple of the %s block size %lld",
                        (long long) n_per_row, ggml_type_name((enum ggml_type) type),
                        (long long) blck);
    }
    /* Keep the byte count representable (and sane) before multiplying. */
    if (n_per_row > (INT64_C(1) << 40) / n_rows) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "tensor of %lld x %lld values is too large",
                        (long long) n_rows, (long long) n_per_row);
    }
    return CLEARCLIP_OK;
}

clearclip_status clearclip_quantized_size(clearclip_tensor_type type, int64_t n_rows,
                                          int64_t n_per_row, size_t * n_bytes) {
    cc_clear_error();
    if (!n_bytes) return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "n_bytes must not be NULL");
    clearclip_status st = cc_check_quant_args(type, n_rows, n_per_row);
    if (st) return st;
    *n_bytes = ggml_row_size((enum ggml_type) type, n_per_row) * (size_t) n_rows;
    return CLEARCLIP_OK;
}

clearclip_status clearclip_quantize(clearclip_tensor_type type, const float * src, int64_t n_rows,
                                    int64_t n_per_row, void * dst, size_t dst_size) {
    cc_clear_error();
    if (!src || !dst) return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "src and dst must not be NULL");
    clearclip_status st = cc_check_quant_args(type, n_rows, n_per_row);
    if (st) return st;
    const size_t need = ggml_row_size((enum ggml_type) type, n_per_row) * (size_t) n_rows;
    if (dst_size < need) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "dst_size %zu is too small: %lld x %lld values of %s need %zu bytes",
                        dst_size, (long long) n_rows, (long long) n_per_row,
                        ggml_type_name((enum ggml_type) type), need);
    }
    ggml_quantize_init((enum ggml_type) type);
    size_t written = ggml_quantize_chunk((enum ggml_type) type, src, dst, 0, n_rows, n_per_row, NULL);
    if (written != need) {
        return cc_error(CLEARCLIP_ERR_BACKEND, "ggml_quantize_chunk wrote %zu bytes, expected %zu",
                        written, need);
    }
    return CLEARCLIP_OK;
}
