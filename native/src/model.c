/* GGUF loading and validation: metadata, tensor shapes/types/bounds, weight mapping, tokenizer. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#  define _DEFAULT_SOURCE /* madvise(MADV_DONTNEED), which POSIX leaves out */
#endif
#include "internal.h"

#include "ggml-cpu.h"
#include "gguf.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if !defined(_WIN32)
#  include <fcntl.h>
#  include <pthread.h>
#  include <sys/mman.h>
#  include <unistd.h>
#  define CC_HAVE_MMAP 1
#endif

static const char * const cc_supported_types = "f32, f16, q8_0, q5_0, q5_1, q4_0, q4_1";

/* How a tensor may be stored: vectors, norms and position/class embeddings are read as plain
 * floats on the host or added element-wise, so they must be f32 or f16; matrices feed mul_mat /
 * get_rows, which handle the block quantizations too. */
enum cc_tensor_kind { CC_VEC, CC_MAT };

typedef struct cc_loader {
    const char *          path;
    struct gguf_context * gguf;
    int                   fd;   /* the file, opened once: checked, parsed, mapped or read */
    FILE *                file; /* stdio stream over fd for gguf_init_from_file_ptr */
    size_t                file_size;
    size_t                data_offset;
} cc_loader;

/* Upper bounds of hyperparameters, far above any CLIP (ViT-bigG: width 1664, 48 blocks, FFN
 * 8192; context 77; images up to a few hundred pixels): they give a clear message before any
 * size computation or allocation, the tensor shapes then pin the exact values. */
#define CC_MAX_WIDTH   65536
#define CC_MAX_FFN     (1 << 20)
#define CC_MAX_LAYERS  1024
#define CC_MAX_CONTEXT 65536
#define CC_MAX_IMAGE   65536

/* ---- metadata helpers ---------------------------------------------------- */

static bool cc_is_int_type(enum gguf_type t) {
    switch (t) {
        case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16:
        case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64:
            return true;
        default:
            return false;
    }
}

/* Converters write integers as u32, others as i32 or u64: accept every integer type. */
static clearclip_status cc_get_int_in(const cc_loader * ld, const char * key, bool required,
                                      int64_t min_value, int64_t max_value, int32_t * out) {
    int64_t id = gguf_find_key(ld->gguf, key);
    if (id < 0) {
        if (required) {
            return cc_error(CLEARCLIP_ERR_MODEL, "%s: missing key '%s'", ld->path, key);
        }
        return CLEARCLIP_OK;
    }
    enum gguf_type t = gguf_get_kv_type(ld->gguf, id);
    if (!cc_is_int_type(t)) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: key '%s' has type %s, expected an integer",
                        ld->path, key, gguf_type_name(t));
    }
    int64_t v = 0;
    switch (t) {
        case GGUF_TYPE_UINT8:  v = gguf_get_val_u8(ld->gguf, id); break;
        case GGUF_TYPE_INT8:   v = gguf_get_val_i8(ld->gguf, id); break;
        case GGUF_TYPE_UINT16: v = gguf_get_val_u16(ld->gguf, id); break;
        case GGUF_TYPE_INT16:  v = gguf_get_val_i16(ld->gguf, id); break;
        case GGUF_TYPE_UINT32: v = gguf_get_val_u32(ld->gguf, id); break;
        case GGUF_TYPE_INT32:  v = gguf_get_val_i32(ld->gguf, id); break;
        case GGUF_TYPE_UINT64: {
            uint64_t u = gguf_get_val_u64(ld->gguf, id);
            v = u > (uint64_t) INT64_MAX ? INT64_MAX : (int64_t) u;
            break;
        }
        case GGUF_TYPE_INT64:  v = gguf_get_val_i64(ld->gguf, id); break;
        default: break;
    }
    if (v < min_value || v > INT32_MAX) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: key '%s' = %" PRId64 " is out of range", ld->path,
                        key, v);
    }
    if (max_value > 0 && v > max_value) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: key '%s' = %" PRId64 " is out of range (at most %" PRId64 ")",
                        ld->path, key, v, max_value);
    }
    *out = (int32_t) v;
    return CLEARCLIP_OK;
}

/* max_value <= 0: no bound beyond int32. */
static clearclip_status cc_get_int(const cc_loader * ld, const char * key, bool required,
                                   int64_t min_value, int32_t * out) {
    return cc_get_int_in(ld, key, required, min_value, 0, out);
}

static clearclip_status cc_get_float(const cc_loader * ld, const char * key, float * out) {
    int64_t id = gguf_find_key(ld->gguf, key);
    if (id < 0) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: missing key '%s'", ld->path, key);
    }
    enum gguf_type t = gguf_get_kv_type(ld->gguf, id);
    if (t == GGUF_TYPE_FLOAT32) {
        *out = gguf_get_val_f32(ld->gguf, id);
    } else if (t == GGUF_TYPE_FLOAT64) {
        *out = (float) gguf_get_val_f64(ld->gguf, id);
    } else {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: key '%s' has type %s, expected a float",
                        ld->path, key, gguf_type_name(t));
    }
    if (!isfinite(*out)) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: key '%s' is %g, must be finite", ld->path, key,
                        (double) *out);
    }
    return CLEARCLIP_OK;
}

/* Returns -1 if absent, else the boolean value; non-bool values are an error (*st set). */
static int cc_get_bool(const cc_loader * ld, const char * key, clearclip_status * st) {
    int64_t id = gguf_find_key(ld->gguf, key);
    if (id < 0) {
        return -1;
    }
    enum gguf_type t = gguf_get_kv_type(ld->gguf, id);
    if (t == GGUF_TYPE_BOOL) {
        return gguf_get_val_bool(ld->gguf, id) ? 1 : 0;
    }
    if (cc_is_int_type(t)) {
        int32_t v = 0;
        *st = cc_get_int(ld, key, true, 0, &v);
        return v != 0;
    }
    *st = cc_error(CLEARCLIP_ERR_MODEL, "%s: key '%s' has type %s, expected a bool", ld->path, key,
                   gguf_type_name(t));
    return -1;
}

static clearclip_status cc_get_float3(const cc_loader * ld, const char * key, float out[3]) {
    int64_t id = gguf_find_key(ld->gguf, key);
    if (id < 0) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: missing key '%s'", ld->path, key);
    }
    enum gguf_type t = gguf_get_kv_type(ld->gguf, id);
    if (t != GGUF_TYPE_ARRAY) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: key '%s' has type %s, expected an array of 3 floats", ld->path, key,
                        gguf_type_name(t));
    }
    /* The element type first: gguf_get_arr_data asserts (aborts) on a string array. */
    enum gguf_type at = gguf_get_arr_type(ld->gguf, id);
    if (at != GGUF_TYPE_FLOAT32 && at != GGUF_TYPE_FLOAT64) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: key '%s' is an array of %s, expected an array of 3 floats", ld->path,
                        key, gguf_type_name(at));
    }
    size_t n = gguf_get_arr_n(ld->gguf, id);
    if (n != 3) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: key '%s' has %zu elements, expected an array of 3 floats", ld->path,
                        key, n);
    }
    const void * data = gguf_get_arr_data(ld->gguf, id);
    for (int i = 0; i < 3; i++) {
        double v = at == GGUF_TYPE_FLOAT32 ? ((const float *) data)[i]
                                           : ((const double *) data)[i];
        out[i] = (float) v;
        if (!isfinite(out[i])) {
            return cc_error(CLEARCLIP_ERR_MODEL, "%s: key '%s' element %d is %g, must be finite",
                            ld->path, key, i, v);
        }
    }
    return CLEARCLIP_OK;
}

/* ---- tensor validation --------------------------------------------------- */

static void cc_format_shape(char * buf, size_t size, const int64_t * ne, int n_dims) {
    size_t pos = 0;
    pos += (size_t) snprintf(buf + pos, size - pos, "[");
    for (int i = 0; i < n_dims && pos < size; i++) {
        pos += (size_t) snprintf(buf + pos, size - pos, "%s%" PRId64, i ? ", " : "", ne[i]);
    }
    if (pos < size) {
        snprintf(buf + pos, size - pos, "]");
    }
}

static bool cc_type_supported(enum ggml_type t) {
    switch (t) {
        case GGML_TYPE_F32: case GGML_TYPE_F16: case GGML_TYPE_Q8_0: case GGML_TYPE_Q5_0:
        case GGML_TYPE_Q5_1: case GGML_TYPE_Q4_0: case GGML_TYPE_Q4_1:
            return true;
        default:
            return false;
    }
}

/* Validates presence, type and shape of one tensor; n_dims/ne give the expected ggml shape. */
static clearclip_status cc_check_tensor(const cc_loader * ld, const char * name, int kind,
                                        int n_dims, int64_t ne0, int64_t ne1, int64_t ne2,
                                        int64_t ne3) {
    int64_t id = gguf_find_tensor(ld->gguf, name);
    if (id < 0) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: missing tensor '%s'", ld->path, name);
    }
    const int64_t   expected[4] = { ne0, ne1, ne2, ne3 };
    const int64_t * ne          = gguf_get_tensor_ne(ld->gguf, id);
    bool            same        = true;
    for (int i = 0; i < 4; i++) {
        same = same && ne[i] == (i < n_dims ? expected[i] : 1);
    }
    if (!same) {
        int actual_dims = 4;
        while (actual_dims > 1 && ne[actual_dims - 1] == 1) {
            actual_dims--;
        }
        char got[96], want[96];
        cc_format_shape(got, sizeof(got), ne, actual_dims > n_dims ? actual_dims : n_dims);
        cc_format_shape(want, sizeof(want), expected, n_dims);
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: tensor '%s' has shape %s, expected %s", ld->path,
                        name, got, want);
    }
    enum ggml_type type = gguf_get_tensor_type(ld->gguf, id);
    if (!cc_type_supported(type)) {
        return cc_error(CLEARCLIP_ERR_UNSUPPORTED,
                        "%s: unsupported tensor type %s for '%s' (supported: %s)", ld->path,
                        ggml_type_name(type), name, cc_supported_types);
    }
    if (kind == CC_VEC && type != GGML_TYPE_F32 && type != GGML_TYPE_F16) {
        return cc_error(CLEARCLIP_ERR_UNSUPPORTED,
                        "%s: unsupported tensor type %s for '%s' (supported for vectors and "
                        "embeddings: f32, f16)",
                        ld->path, ggml_type_name(type), name);
    }
    if (ne[0] % ggml_blck_size(type) != 0) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: tensor '%s' has type %s but its rows (%" PRId64
                        " values) are not a multiple of the block size %" PRId64,
                        ld->path, name, ggml_type_name(type), ne[0], ggml_blck_size(type));
    }
    return CLEARCLIP_OK;
}

/* fc1 must map W -> F. Returns whether the file uses clip.cpp's naming (fc1 under ffn_down),
 * which is only distinguishable when W != F; equal sizes are read with our convention. */
static clearclip_status cc_check_ffn(const cc_loader * ld, const char * prefix, int blk, int32_t w,
                                     int32_t f) {
    char up[96], down[96];
    snprintf(up, sizeof(up), "%s.blk.%d.ffn_up.weight", prefix, blk);
    snprintf(down, sizeof(down), "%s.blk.%d.ffn_down.weight", prefix, blk);
    int64_t id_up = gguf_find_tensor(ld->gguf, up);
    bool swapped = false;
    if (id_up >= 0 && w != f) {
        const int64_t * ne = gguf_get_tensor_ne(ld->gguf, id_up);
        swapped = ne[0] == f && ne[1] == w;
    }
    char name[96];
    clearclip_status st;
    st = cc_check_tensor(ld, up, CC_MAT, 2, swapped ? f : w, swapped ? w : f, 1, 1);
    if (st) return st;
    st = cc_check_tensor(ld, down, CC_MAT, 2, swapped ? w : f, swapped ? f : w, 1, 1);
    if (st) return st;
    snprintf(name, sizeof(name), "%s.blk.%d.ffn_up.bias", prefix, blk);
    st = cc_check_tensor(ld, name, CC_VEC, 1, swapped ? w : f, 1, 1, 1);
    if (st) return st;
    snprintf(name, sizeof(name), "%s.blk.%d.ffn_down.bias", prefix, blk);
    return cc_check_tensor(ld, name, CC_VEC, 1, swapped ? f : w, 1, 1, 1);
}

static clearclip_status cc_check_blocks(const cc_loader * ld, const char * prefix,
                                        const cc_tower_hparams * hp) {
    static const char * const vec_names[] = { "ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias",
                                              "attn_q.bias", "attn_k.bias", "attn_v.bias",
                                              "attn_out.bias" };
    static const char * const mat_names[] = { "attn_q.weight", "attn_k.weight", "attn_v.weight",
                                              "attn_out.weight" };
    char name[96];
    for (int i = 0; i < hp->layers; i++) {
        for (size_t j = 0; j < sizeof(mat_names) / sizeof(mat_names[0]); j++) {
            snprintf(name, sizeof(name), "%s.blk.%d.%s", prefix, i, mat_names[j]);
            clearclip_status st = cc_check_tensor(ld, name, CC_MAT, 2, hp->width, hp->width, 1, 1);
            if (st) return st;
        }
        for (size_t j = 0; j < sizeof(vec_names) / sizeof(vec_names[0]); j++) {
            snprintf(name, sizeof(name), "%s.blk.%d.%s", prefix, i, vec_names[j]);
            clearclip_status st = cc_check_tensor(ld, name, CC_VEC, 1, hp->width, 1, 1, 1);
            if (st) return st;
        }
        clearclip_status st = cc_check_ffn(ld, prefix, i, hp->width, hp->ffn);
        if (st) return st;
    }
    return CLEARCLIP_OK;
}

static clearclip_status cc_read_tower_hparams(const cc_loader * ld, const char * tower,
                                              cc_tower_hparams * hp) {
    char key[96];
    clearclip_status st;
#define CC_INT(field, suffix, max)                                                \
    snprintf(key, sizeof(key), "clip.%s.%s", tower, suffix);                      \
    if ((st = cc_get_int_in(ld, key, true, 1, max, &hp->field)) != CLEARCLIP_OK) { \
        return st;                                                                \
    }
    CC_INT(width, "embedding_length", CC_MAX_WIDTH);
    CC_INT(ffn, "feed_forward_length", CC_MAX_FFN);
    CC_INT(layers, "block_count", CC_MAX_LAYERS);
    CC_INT(proj_dim, "projection_dim", CC_MAX_WIDTH);
    CC_INT(heads, "attention.head_count", CC_MAX_WIDTH);
#undef CC_INT
    snprintf(key, sizeof(key), "clip.%s.attention.layer_norm_epsilon", tower);
    if ((st = cc_get_float(ld, key, &hp->eps)) != CLEARCLIP_OK) {
        return st;
    }
    if (!(hp->eps > 0.0f)) { /* finite was checked by cc_get_float */
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: key '%s' is %g, must be positive", ld->path, key,
                        (double) hp->eps);
    }
    if (hp->width % hp->heads != 0) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: %s width %d is not divisible by its %d attention heads", ld->path,
                        tower, hp->width, hp->heads);
    }
    return CLEARCLIP_OK;
}

/* llama.cpp's LLaVA "mmproj" files also say architecture "clip" but stop before what ClearCLIP
 * changes, so they are recognised explicitly rather than failing on some missing tensor. */
static clearclip_status cc_llava_error(const cc_loader * ld, const char * why) {
    return cc_error(CLEARCLIP_ERR_MODEL,
                    "%s: this is a LLaVA projector (mmproj) file (%s); it lacks the final vision "
                    "block, post-LN and visual projection that ClearCLIP needs. Convert the "
                    "original CLIP checkpoint instead.",
                    ld->path, why);
}

static clearclip_status cc_check_llava_keys(const cc_loader * ld) {
    clearclip_status st = CLEARCLIP_OK;
    if (cc_get_bool(ld, "clip.has_llava_projector", &st) == 1) {
        return cc_llava_error(ld, "clip.has_llava_projector is set");
    }
    if (gguf_find_key(ld->gguf, "clip.projector_type") >= 0) {
        return cc_llava_error(ld, "it has clip.projector_type");
    }
    return st;
}

static clearclip_status cc_check_llava_tensors(const cc_loader * ld, const cc_hparams * hp) {
    if (hp->vision.layers == 0) {
        return CLEARCLIP_OK; /* no vision tower in the file */
    }
    char name[96];
    snprintf(name, sizeof(name), "v.blk.%d.attn_q.weight", hp->vision.layers - 1);
    if (gguf_find_tensor(ld->gguf, name) < 0) {
        snprintf(name, sizeof(name), "v.blk.%d.attn_q.weight", hp->vision.layers - 2);
        if (hp->vision.layers >= 2 && gguf_find_tensor(ld->gguf, name) >= 0) {
            return cc_llava_error(ld, "the vision tower has no last block");
        }
    }
    bool has_post = gguf_find_tensor(ld->gguf, "v.post_ln.weight") >= 0;
    bool has_proj = gguf_find_tensor(ld->gguf, "visual_projection.weight") >= 0;
    bool has_mm   = false;
    for (int64_t i = 0; i < gguf_get_n_tensors(ld->gguf); i++) {
        if (strncmp(gguf_get_tensor_name(ld->gguf, i), "mm.", 3) == 0) {
            has_mm = true;
            break;
        }
    }
    if (has_mm && (!has_post || !has_proj)) {
        return cc_llava_error(ld, "it has mm.* projector tensors and no visual projection");
    }
    if (!has_post && !has_proj) {
        return cc_llava_error(ld, "the vision tower has neither v.post_ln nor visual_projection");
    }
    return CLEARCLIP_OK;
}

static clearclip_status cc_read_hparams(const cc_loader * ld, const clearclip_model_params * mp,
                                        cc_hparams * hp) {
    clearclip_status st = CLEARCLIP_OK;
    int64_t arch = gguf_find_key(ld->gguf, "general.architecture");
    if (arch < 0) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: missing key 'general.architecture'", ld->path);
    }
    if (gguf_get_kv_type(ld->gguf, arch) != GGUF_TYPE_STRING) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: key 'general.architecture' has type %s, expected a string", ld->path,
                        gguf_type_name(gguf_get_kv_type(ld->gguf, arch)));
    }
    const char * arch_name = gguf_get_val_str(ld->gguf, arch);
    if (strcmp(arch_name, "clip") != 0) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: general.architecture is '%s', expected 'clip'", ld->path, arch_name);
    }
    int has_text   = cc_get_bool(ld, "clip.has_text_encoder", &st);
    int has_vision = cc_get_bool(ld, "clip.has_vision_encoder", &st);
    int use_gelu   = cc_get_bool(ld, "clip.use_gelu", &st);
    if (st) return st;
    /* Older writers omit the tower flags; the towers' embedding tensors tell the same. */
    if (has_text < 0) has_text = gguf_find_tensor(ld->gguf, "t.token_embd.weight") >= 0;
    if (has_vision < 0) has_vision = gguf_find_tensor(ld->gguf, "v.patch_embd.weight") >= 0;
    if ((st = cc_check_llava_keys(ld))) return st;
    if (use_gelu < 0) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: missing key 'clip.use_gelu'", ld->path);
    }
    hp->has_text   = has_text && mp->load_text;
    hp->has_vision = has_vision && mp->load_vision;
    hp->use_gelu   = use_gelu;
    if ((st = cc_get_int(ld, "general.file_type", false, 0, &hp->file_type))) return st;
    int64_t name = gguf_find_key(ld->gguf, "general.name");
    if (name >= 0) {
        if (gguf_get_kv_type(ld->gguf, name) != GGUF_TYPE_STRING) {
            return cc_error(CLEARCLIP_ERR_MODEL,
                            "%s: key 'general.name' has type %s, expected a string", ld->path,
                            gguf_type_name(gguf_get_kv_type(ld->gguf, name)));
        }
        snprintf(hp->name, sizeof(hp->name), "%s", gguf_get_val_str(ld->gguf, name));
    }
    if (has_vision) {
        /* Read even when not loaded, so an mmproj file is still recognised as such. */
        if ((st = cc_read_tower_hparams(ld, "vision", &hp->vision))) return st;
    }
    if ((st = cc_check_llava_tensors(ld, hp))) return st;
    if (hp->has_text) {
        if ((st = cc_read_tower_hparams(ld, "text", &hp->text))) return st;
        if ((st = cc_get_int_in(ld, "clip.text.context_length", true, 2, CC_MAX_CONTEXT,
                                &hp->context_length))) {
            return st;
        }
    }
    if (hp->has_vision) {
        if ((st = cc_get_int_in(ld, "clip.vision.image_size", true, 1, CC_MAX_IMAGE,
                                &hp->image_size))) {
            return st;
        }
        if ((st = cc_get_int_in(ld, "clip.vision.patch_size", true, 1, CC_MAX_IMAGE,
                                &hp->patch_size))) {
            return st;
        }
        if ((st = cc_get_float3(ld, "clip.vision.image_mean", hp->image_mean))) return st;
        if ((st = cc_get_float3(ld, "clip.vision.image_std", hp->image_std))) return st;
        if (hp->image_size % hp->patch_size != 0) {
            return cc_error(CLEARCLIP_ERR_MODEL,
                            "%s: image size %d is not a multiple of the patch size %d", ld->path,
                            hp->image_size, hp->patch_size);
        }
        for (int i = 0; i < 3; i++) {
            if (!(hp->image_std[i] > 0.0f)) {
                return cc_error(CLEARCLIP_ERR_MODEL,
                                "%s: clip.vision.image_std element %d is %g, must be positive",
                                ld->path, i, (double) hp->image_std[i]);
            }
        }
    } else {
        memset(&hp->vision, 0, sizeof(hp->vision));
    }
    if (hp->has_text && hp->has_vision && hp->text.proj_dim != hp->vision.proj_dim) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: text projection_dim %d differs from vision projection_dim %d",
                        ld->path, hp->text.proj_dim, hp->vision.proj_dim);
    }
    return CLEARCLIP_OK;
}

static clearclip_status cc_check_tensors(const cc_loader * ld, cc_hparams * hp) {
    clearclip_status st;
    if (hp->has_text) {
        const cc_tower_hparams * t = &hp->text;
        int64_t id = gguf_find_tensor(ld->gguf, "t.token_embd.weight");
        if (id < 0) {
            return cc_error(CLEARCLIP_ERR_MODEL, "%s: missing tensor 't.token_embd.weight'",
                            ld->path);
        }
        int64_t vocab = gguf_get_tensor_ne(ld->gguf, id)[1];
        if (vocab < 1 || vocab > INT32_MAX) {
            return cc_error(CLEARCLIP_ERR_MODEL, "%s: bad vocabulary size %" PRId64, ld->path,
                            vocab);
        }
        hp->vocab_size = (int32_t) vocab;
        if ((st = cc_check_tensor(ld, "t.token_embd.weight", CC_MAT, 2, t->width, vocab, 1, 1)) ||
            (st = cc_check_tensor(ld, "t.position_embd.weight", CC_VEC, 2, t->width,
                                  hp->context_length, 1, 1)) ||
            (st = cc_check_blocks(ld, "t", t)) ||
            (st = cc_check_tensor(ld, "t.post_ln.weight", CC_VEC, 1, t->width, 1, 1, 1)) ||
            (st = cc_check_tensor(ld, "t.post_ln.bias", CC_VEC, 1, t->width, 1, 1, 1)) ||
            (st = cc_check_tensor(ld, "text_projection.weight", CC_MAT, 2, t->width, t->proj_dim,
                                  1, 1))) {
            return st;
        }
    }
    if (hp->has_vision) {
        const cc_tower_hparams * v = &hp->vision;
        int64_t g0 = hp->image_size / hp->patch_size;
        if ((st = cc_check_tensor(ld, "v.class_embd", CC_VEC, 1, v->width, 1, 1, 1)) ||
            (st = cc_check_tensor(ld, "v.patch_embd.weight", CC_MAT, 4, hp->patch_size,
                                  hp->patch_size, 3, v->width)) ||
            (st = cc_check_tensor(ld, "v.position_embd.weight", CC_VEC, 2, v->width, g0 * g0 + 1,
                                  1, 1)) ||
            (st = cc_check_tensor(ld, "v.pre_ln.weight", CC_VEC, 1, v->width, 1, 1, 1)) ||
            (st = cc_check_tensor(ld, "v.pre_ln.bias", CC_VEC, 1, v->width, 1, 1, 1)) ||
            (st = cc_check_blocks(ld, "v", v)) ||
            (st = cc_check_tensor(ld, "v.post_ln.weight", CC_VEC, 1, v->width, 1, 1, 1)) ||
            (st = cc_check_tensor(ld, "v.post_ln.bias", CC_VEC, 1, v->width, 1, 1, 1)) ||
            (st = cc_check_tensor(ld, "visual_projection.weight", CC_MAT, 2, v->width,
                                  v->proj_dim, 1, 1))) {
            return st;
        }
    }
    return CLEARCLIP_OK;
}

/* ---- weights -------------------------------------------------------------- */

static bool cc_wanted_tensor(const cc_hparams * hp, const char * name) {
    if (strncmp(name, "t.", 2) == 0 || strcmp(name, "text_projection.weight") == 0) {
        return hp->has_text;
    }
    if (strncmp(name, "v.", 2) == 0 || strcmp(name, "visual_projection.weight") == 0) {
        return hp->has_vision;
    }
    return false;
}

static struct ggml_tensor * cc_get(struct ggml_context * ctx, const char * fmt, const char * prefix,
                                   int blk, const char * what) {
    char name[96];
    snprintf(name, sizeof(name), fmt, prefix, blk, what);
    return ggml_get_tensor(ctx, name);
}

static void cc_bind_layers(struct ggml_context * ctx, const char * prefix, int n, int32_t width,
                           cc_layer * layers) {
    const char * f = "%s.blk.%d.%s";
    for (int i = 0; i < n; i++) {
        cc_layer * l = &layers[i];
        l->ln1_w = cc_get(ctx, f, prefix, i, "ln1.weight");
        l->ln1_b = cc_get(ctx, f, prefix, i, "ln1.bias");
        l->ln2_w = cc_get(ctx, f, prefix, i, "ln2.weight");
        l->ln2_b = cc_get(ctx, f, prefix, i, "ln2.bias");
        l->q_w   = cc_get(ctx, f, prefix, i, "attn_q.weight");
        l->q_b   = cc_get(ctx, f, prefix, i, "attn_q.bias");
        l->k_w   = cc_get(ctx, f, prefix, i, "attn_k.weight");
        l->k_b   = cc_get(ctx, f, prefix, i, "attn_k.bias");
        l->v_w   = cc_get(ctx, f, prefix, i, "attn_v.weight");
        l->v_b   = cc_get(ctx, f, prefix, i, "attn_v.bias");
        l->o_w   = cc_get(ctx, f, prefix, i, "attn_out.weight");
        l->o_b   = cc_get(ctx, f, prefix, i, "attn_out.bias");
        struct ggml_tensor * up_w   = cc_get(ctx, f, prefix, i, "ffn_up.weight");
        struct ggml_tensor * up_b   = cc_get(ctx, f, prefix, i, "ffn_up.bias");
        struct ggml_tensor * down_w = cc_get(ctx, f, prefix, i, "ffn_down.weight");
        struct ggml_tensor * down_b = cc_get(ctx, f, prefix, i, "ffn_down.bias");
        /* fc1 is the matrix consuming the tower width (validated in cc_check_ffn). */
        bool swapped = up_w->ne[0] != width;
        l->fc1_w = swapped ? down_w : up_w;
        l->fc1_b = swapped ? down_b : up_b;
        l->fc2_w = swapped ? up_w : down_w;
        l->fc2_b = swapped ? up_b : down_b;
    }
}

static clearclip_status cc_weights_bind(const cc_hparams * hp, cc_weights * w) {
    struct ggml_context * c = w->ctx;
    if (hp->has_text) {
        w->t_layers = calloc((size_t) hp->text.layers, sizeof(cc_layer));
        if (!w->t_layers) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
        w->t_token_embd = ggml_get_tensor(c, "t.token_embd.weight");
        w->t_pos_embd   = ggml_get_tensor(c, "t.position_embd.weight");
        w->t_post_ln_w  = ggml_get_tensor(c, "t.post_ln.weight");
        w->t_post_ln_b  = ggml_get_tensor(c, "t.post_ln.bias");
        w->t_proj       = ggml_get_tensor(c, "text_projection.weight");
        cc_bind_layers(c, "t", hp->text.layers, hp->text.width, w->t_layers);
    }
    if (hp->has_vision) {
        w->v_layers = calloc((size_t) hp->vision.layers, sizeof(cc_layer));
        if (!w->v_layers) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
        w->v_class_embd = ggml_get_tensor(c, "v.class_embd");
        w->v_patch_embd = ggml_get_tensor(c, "v.patch_embd.weight");
        w->v_pos_embd   = ggml_get_tensor(c, "v.position_embd.weight");
        w->v_pre_ln_w   = ggml_get_tensor(c, "v.pre_ln.weight");
        w->v_pre_ln_b   = ggml_get_tensor(c, "v.pre_ln.bias");
        w->v_post_ln_w  = ggml_get_tensor(c, "v.post_ln.weight");
        w->v_post_ln_b  = ggml_get_tensor(c, "v.post_ln.bias");
        w->v_proj       = ggml_get_tensor(c, "visual_projection.weight");
        cc_bind_layers(c, "v", hp->vision.layers, hp->vision.width, w->v_layers);
    }
    return CLEARCLIP_OK;
}

void cc_weights_free(cc_weights * w) {
    if (w->repack_buffer) ggml_backend_buffer_free(w->repack_buffer);
    if (w->repack_ctx) ggml_free(w->repack_ctx);
    if (w->buffer) ggml_backend_buffer_free(w->buffer);
    if (w->ctx) ggml_free(w->ctx);
    free(w->t_layers);
    free(w->v_layers);
    memset(w, 0, sizeof(*w));
}

static struct ggml_context * cc_new_meta_ctx(size_t n_tensors) {
    struct ggml_init_params ip = {
        .mem_size   = (n_tensors + 1) * ggml_tensor_overhead(),
        .mem_buffer = NULL,
        .no_alloc   = true,
    };
    return ggml_init(ip);
}

#ifdef CC_HAVE_MMAP
/* The extra buffer type of ggml's CPU backend that can run mul_mat(t, f32 activations) from a
 * re-laid-out copy of t (e.g. "CPU_REPACK": q4_0 in interleaved 8x8 blocks on AVX2, whose GEMM
 * kernels are markedly faster than the plain layout's), or NULL. Asked the way ggml's users do:
 * a mul_mat node whose weight sits in a (zero-size) buffer of that type. */
static ggml_backend_buffer_type_t cc_repack_buft(struct ggml_tensor * t) {
    ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!dev) return NULL;
    ggml_backend_dev_get_extra_bufts_t get_extra = (ggml_backend_dev_get_extra_bufts_t)
        ggml_backend_reg_get_proc_address(ggml_backend_dev_backend_reg(dev),
                                          "ggml_backend_dev_get_extra_bufts");
    if (!get_extra) return NULL;
    struct ggml_context * c = cc_new_meta_ctx(3);
    if (!c) return NULL;
    struct ggml_tensor * w = ggml_dup_tensor(c, t);
    struct ggml_tensor * op = ggml_mul_mat(c, w, ggml_new_tensor_2d(c, GGML_TYPE_F32, t->ne[0], 64));
    ggml_backend_buffer_type_t found = NULL;
    for (ggml_backend_buffer_type_t * b = get_extra(dev); b && *b && !found; b++) {
        ggml_backend_buffer_t probe = ggml_backend_buft_alloc_buffer(*b, 0);
        if (!probe) continue;
        w->buffer = probe;
        if (ggml_backend_dev_supports_op(dev, op)) found = *b;
        w->buffer = NULL;
        ggml_backend_buffer_free(probe);
    }
    ggml_free(c);
    return found;
}

/* ggml logs each repacked tensor at debug level, and its default logger prints every level:
 * keep warnings and errors only. */
static void cc_quiet_log(enum ggml_log_level level, const char * text, void * user_data) {
    (void) user_data;
    if (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) {
        fputs(text, stderr);
    }
}

static void cc_install_log(void) {
    ggml_log_set(cc_quiet_log, NULL);
}

/* Copies the block matrices that the CPU backend multiplies faster from another layout into a
 * buffer of that layout and points the model's fields at the copies. The file pages they were
 * read from are dropped from the process again (they stay in the page cache and the mapping). */
static clearclip_status cc_repack_weights(clearclip_model * m) {
    static pthread_once_t log_once = PTHREAD_ONCE_INIT;
    pthread_once(&log_once, cc_install_log);
    cc_weights * w = &m->weights;
    const cc_hparams * hp = &m->hp;
    const int32_t n_text = hp->has_text ? hp->text.layers : 0;
    const int32_t n_vision = hp->has_vision ? hp->vision.layers : 0;
    const size_t cap = 6 * (size_t) (n_text + n_vision) + 2;
    struct ggml_tensor *** fields = malloc(cap * sizeof(*fields));
    struct ggml_tensor ** copies = calloc(cap, sizeof(*copies));
    if (!fields || !copies) {
        free(fields);
        free(copies);
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    size_t n = 0;
    for (int32_t i = 0; i < n_text + n_vision; i++) {
        cc_layer * l = i < n_text ? &w->t_layers[i] : &w->v_layers[i - n_text];
        fields[n++] = &l->q_w;
        fields[n++] = &l->k_w;
        fields[n++] = &l->v_w;
        fields[n++] = &l->o_w;
        fields[n++] = &l->fc1_w;
        fields[n++] = &l->fc2_w;
    }
    if (w->t_proj) fields[n++] = &w->t_proj;
    if (w->v_proj) fields[n++] = &w->v_proj;

    /* one extra buffer type serves all (the CPU backend offers one that applies) */
    ggml_backend_buffer_type_t buft = NULL;
    size_t n_copies = 0;
    for (size_t i = 0; i < n; i++) {
        ggml_backend_buffer_type_t b = cc_repack_buft(*fields[i]);
        if (b && (!buft || b == buft)) {
            buft = b;
            n_copies++;
        } else {
            fields[i] = NULL;
        }
    }
    clearclip_status st = CLEARCLIP_OK;
    if (n_copies > 0 && !(w->repack_ctx = cc_new_meta_ctx(n_copies))) {
        st = cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < n && !st; i++) {
        if (!fields[i]) continue;
        copies[i] = ggml_dup_tensor(w->repack_ctx, *fields[i]);
        ggml_set_name(copies[i], ggml_get_name(*fields[i]));
    }
    if (n_copies > 0 && !st) {
        w->repack_buffer = ggml_backend_alloc_ctx_tensors_from_buft(w->repack_ctx, buft);
        if (!w->repack_buffer) {
            st = cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "%s: cannot allocate %s weights", m->path,
                          ggml_backend_buft_name(buft));
        } else {
            ggml_backend_buffer_set_usage(w->repack_buffer, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
        }
    }
    const uintptr_t page = (uintptr_t) sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < n && !st; i++) {
        if (!fields[i]) continue;
        struct ggml_tensor * src = *fields[i];
        ggml_backend_tensor_set(copies[i], src->data, 0, ggml_nbytes(src));
        uintptr_t lo = ((uintptr_t) src->data + page - 1) / page * page;
        uintptr_t hi = ((uintptr_t) src->data + ggml_nbytes(src)) / page * page;
        if (hi > lo) madvise((void *) lo, hi - lo, MADV_DONTNEED);
        *fields[i] = copies[i];
    }
    free(fields);
    free(copies);
    return st;
}
#endif

/* Whether n values of an f32 or f16 tensor are all finite: exponent bits not all ones. */
static bool cc_all_finite(const struct ggml_tensor * t) {
    const int64_t n = ggml_nelements(t);
    if (t->type == GGML_TYPE_F32) {
        const uint32_t * v = t->data;
        uint32_t bad = 0;
        for (int64_t i = 0; i < n; i++) bad |= (uint32_t) ((v[i] & 0x7F800000u) == 0x7F800000u);
        return !bad;
    }
    if (t->type == GGML_TYPE_F16) {
        const uint16_t * v = t->data;
        uint32_t bad = 0;
        for (int64_t i = 0; i < n; i++) bad |= (uint32_t) ((v[i] & 0x7C00u) == 0x7C00u);
        return !bad;
    }
    return true;
}

/* The vectors and embeddings (norms, biases, class and position embeddings: the f32/f16 tensors
 * that are not matrices) are few and small, so a NaN or infinity in them is caught at load with
 * the tensor's name; the matrices are too large to scan on every load, and a non-finite value in
 * them shows in the output, which every encoder checks (cc_check_output). */
static clearclip_status cc_check_finite(const clearclip_model * m, const cc_weights * w) {
    for (struct ggml_tensor * t = ggml_get_first_tensor(w->ctx); t;
         t = ggml_get_next_tensor(w->ctx, t)) {
        const bool vector = t->ne[1] == 1 && t->ne[2] == 1 && t->ne[3] == 1;
        if (!vector && !strstr(ggml_get_name(t), "position_embd")) continue;
        if (!cc_all_finite(t)) {
            return cc_error(CLEARCLIP_ERR_MODEL, "%s: tensor '%s' contains NaN or infinity",
                            m->path, ggml_get_name(t));
        }
    }
    return CLEARCLIP_OK;
}

/* Creates the weight tensors of the loaded towers and points them into the file data, either
 * straight into the mapping or into a CPU buffer filled by reading the file. */
static clearclip_status cc_load_weights(clearclip_model * m, const cc_loader * ld, bool use_mmap) {
    cc_weights * w = &m->weights;
    int64_t n = gguf_get_n_tensors(ld->gguf);
    w->ctx = cc_new_meta_ctx((size_t) n);
    if (!w->ctx) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        const char * name = gguf_get_tensor_name(ld->gguf, i);
        if (!cc_wanted_tensor(&m->hp, name)) continue;
        const int64_t * ne = gguf_get_tensor_ne(ld->gguf, i);
        struct ggml_tensor * t = ggml_new_tensor(w->ctx, gguf_get_tensor_type(ld->gguf, i), 4, ne);
        ggml_set_name(t, name);
    }
#ifdef CC_HAVE_MMAP
    if (use_mmap && ld->file_size > 0) {
        void * addr = mmap(NULL, ld->file_size, PROT_READ, MAP_SHARED, ld->fd, 0);
        if (addr == MAP_FAILED) {
            return cc_error(CLEARCLIP_ERR_IO, "%s: cannot map: %s", m->path, strerror(errno));
        }
        m->mapping      = addr;
        m->mapping_size = ld->file_size;
        /* Graphs only read weights, so the CPU backend can use the read-only mapping directly. */
        w->buffer = ggml_backend_cpu_buffer_from_ptr(addr, ld->file_size);
        if (!w->buffer) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "cannot wrap the mapping");
        ggml_backend_buffer_set_usage(w->buffer, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
        for (struct ggml_tensor * t = ggml_get_first_tensor(w->ctx); t;
             t = ggml_get_next_tensor(w->ctx, t)) {
            int64_t id = gguf_find_tensor(ld->gguf, ggml_get_name(t));
            char * data = (char *) addr + ld->data_offset + gguf_get_tensor_offset(ld->gguf, id);
            if (ggml_backend_tensor_alloc(w->buffer, t, data) != GGML_STATUS_SUCCESS) {
                return cc_error(CLEARCLIP_ERR_BACKEND, "cannot bind tensor '%s'", ggml_get_name(t));
            }
        }
        clearclip_status st = cc_weights_bind(&m->hp, w);
        if (!st) st = cc_check_finite(m, w);
        return st ? st : cc_repack_weights(m);
    }
#else
    (void) use_mmap;
#endif
    w->buffer = ggml_backend_alloc_ctx_tensors_from_buft(w->ctx, ggml_backend_cpu_buffer_type());
    if (!w->buffer && ggml_get_first_tensor(w->ctx)) {
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "%s: cannot allocate the weights", m->path);
    }
    if (w->buffer) ggml_backend_buffer_set_usage(w->buffer, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    for (struct ggml_tensor * t = ggml_get_first_tensor(w->ctx); t;
         t = ggml_get_next_tensor(w->ctx, t)) {
        int64_t id = gguf_find_tensor(ld->gguf, ggml_get_name(t));
        size_t off = ld->data_offset + gguf_get_tensor_offset(ld->gguf, id);
        size_t size = ggml_nbytes(t), done = 0;
        while (done < size) {
            ssize_t got = pread(ld->fd, (char *) t->data + done, size - done, (off_t) (off + done));
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                return cc_error(CLEARCLIP_ERR_IO, "%s: cannot read tensor '%s': %s", m->path,
                                ggml_get_name(t), got < 0 ? strerror(errno) : "unexpected end");
            }
            done += (size_t) got;
        }
    }
    clearclip_status st = cc_weights_bind(&m->hp, w);
    return st ? st : cc_check_finite(m, w);
}

clearclip_status cc_weights_copy(const clearclip_model * model, ggml_backend_buffer_type_t buft,
                                 cc_weights * out) {
    memset(out, 0, sizeof(*out));
    const cc_weights * src = &model->weights;
    size_t n = 0;
    for (struct ggml_tensor * t = ggml_get_first_tensor(src->ctx); t;
         t = ggml_get_next_tensor(src->ctx, t)) {
        n++;
    }
    out->ctx = cc_new_meta_ctx(n);
    if (!out->ctx) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    for (struct ggml_tensor * t = ggml_get_first_tensor(src->ctx); t;
         t = ggml_get_next_tensor(src->ctx, t)) {
        struct ggml_tensor * d = ggml_dup_tensor(out->ctx, t);
        ggml_set_name(d, ggml_get_name(t));
    }
    if (n > 0) {
        out->buffer = ggml_backend_alloc_ctx_tensors_from_buft(out->ctx, buft);
        if (!out->buffer) {
            cc_weights_free(out);
            return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY,
                            "cannot allocate %zu MiB of weights in %s memory",
                            ggml_backend_alloc_ctx_tensors_from_buft_size(src->ctx, buft) >> 20,
                            ggml_backend_buft_name(buft));
        }
        ggml_backend_buffer_set_usage(out->buffer, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    }
    for (struct ggml_tensor * t = ggml_get_first_tensor(src->ctx); t;
         t = ggml_get_next_tensor(src->ctx, t)) {
        ggml_backend_tensor_set(ggml_get_tensor(out->ctx, ggml_get_name(t)), t->data, 0,
                                ggml_nbytes(t));
    }
    clearclip_status st = cc_weights_bind(&model->hp, out);
    if (st) cc_weights_free(out);
    return st;
}

void cc_tensor_to_f32_host(const struct ggml_tensor * t, float * dst) {
    int64_t n = ggml_nelements(t);
    if (t->type == GGML_TYPE_F32) {
        memcpy(dst, t->data, (size_t) n * sizeof(float));
    } else {
        ggml_get_type_traits(t->type)->to_float(t->data, dst, n);
    }
}

/* ---- tokenizer ------------------------------------------------------------ */

static clearclip_status cc_load_tokenizer(clearclip_model * m, const cc_loader * ld) {
    clearclip_status st = CLEARCLIP_OK;
    m->bos_id = CC_DEFAULT_BOS;
    m->eos_id = CC_DEFAULT_EOS;
    if ((st = cc_get_int(ld, "tokenizer.ggml.bos_token_id", false, 0, &m->bos_id))) return st;
    if ((st = cc_get_int(ld, "tokenizer.ggml.eos_token_id", false, 0, &m->eos_id))) return st;
    /* The text graph looks the ids up in the token embedding (ggml asserts on a row outside it),
     * and the EOT row is not checked again per call. */
    if (m->hp.has_text && (m->bos_id >= m->hp.vocab_size || m->eos_id >= m->hp.vocab_size)) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: tokenizer.ggml.%s_token_id %d is outside the vocabulary of %d tokens "
                        "(t.token_embd.weight)",
                        ld->path, m->bos_id >= m->hp.vocab_size ? "bos" : "eos",
                        m->bos_id >= m->hp.vocab_size ? m->bos_id : m->eos_id, m->hp.vocab_size);
    }
    int64_t tok_id   = gguf_find_key(ld->gguf, "tokenizer.ggml.tokens");
    int64_t merge_id = gguf_find_key(ld->gguf, "tokenizer.ggml.merges");
    if (tok_id < 0) {
        return CLEARCLIP_OK; /* a vision-only file, or ids-only use of the text tower */
    }
    if (gguf_get_kv_type(ld->gguf, tok_id) != GGUF_TYPE_ARRAY ||
        gguf_get_arr_type(ld->gguf, tok_id) != GGUF_TYPE_STRING) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: tokenizer.ggml.tokens must be a string array",
                        ld->path);
    }
    if (merge_id < 0 || gguf_get_kv_type(ld->gguf, merge_id) != GGUF_TYPE_ARRAY ||
        gguf_get_arr_type(ld->gguf, merge_id) != GGUF_TYPE_STRING) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: tokenizer.ggml.merges is missing or not a string array", ld->path);
    }
    size_t n_tok = gguf_get_arr_n(ld->gguf, tok_id);
    size_t n_merge = gguf_get_arr_n(ld->gguf, merge_id);
    if (n_tok > INT32_MAX || n_merge > INT32_MAX) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: tokenizer is too large", ld->path);
    }
    if (m->hp.has_text && (int64_t) n_tok != m->hp.vocab_size) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: tokenizer has %zu tokens but t.token_embd.weight has %d rows",
                        ld->path, n_tok, m->hp.vocab_size);
    }
    const char ** toks = malloc((n_tok + 1) * sizeof(char *));
    const char ** merges = malloc((n_merge + 1) * sizeof(char *));
    if (!toks || !merges) {
        free(toks);
        free(merges);
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < n_tok; i++) toks[i] = gguf_get_arr_str(ld->gguf, tok_id, i);
    for (size_t i = 0; i < n_merge; i++) merges[i] = gguf_get_arr_str(ld->gguf, merge_id, i);
    char err[512] = "";
    m->tokenizer = clip_tokenizer_init(toks, (int32_t) n_tok, merges, (int32_t) n_merge, m->bos_id,
                                       m->eos_id, err, sizeof(err));
    free(toks);
    free(merges);
    if (!m->tokenizer) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: invalid tokenizer: %s", ld->path, err);
    }
    return CLEARCLIP_OK;
}

/* ---- public --------------------------------------------------------------- */

clearclip_model_params clearclip_model_default_params(void) {
    clearclip_model_params p = { .use_mmap = true, .load_text = true, .load_vision = true };
    return p;
}

/* Opens the file once without blocking (a FIFO would block an ordinary open until a writer
 * appears) and refuses anything that is not a regular file, then checks its whole GGUF structure
 * (gguf_check.c) before ggml parses it. */
static clearclip_status cc_open_file(cc_loader * ld) {
    const char * path = ld->path;
    ld->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (ld->fd < 0) {
        return cc_error(CLEARCLIP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(ld->fd, &sb) != 0) {
        return cc_error(CLEARCLIP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (!S_ISREG(sb.st_mode)) {
        const char * what = S_ISDIR(sb.st_mode)    ? "a directory"
                            : S_ISFIFO(sb.st_mode) ? "a FIFO"
                            : S_ISCHR(sb.st_mode)  ? "a character device"
                            : S_ISBLK(sb.st_mode)  ? "a block device"
                            : S_ISSOCK(sb.st_mode) ? "a socket"
                                                   : "a special file";
        return cc_error(CLEARCLIP_ERR_IO, "%s: is %s, not a regular file", path, what);
    }
    ld->file_size = (size_t) sb.st_size;
    uint64_t data_offset = 0;
    clearclip_status st = cc_gguf_check(ld->fd, path, (uint64_t) sb.st_size, &data_offset);
    if (st) return st;
    ld->data_offset = (size_t) data_offset;
    if (!(ld->file = fdopen(ld->fd, "rb"))) {
        return cc_error(CLEARCLIP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    return CLEARCLIP_OK;
}

static void cc_close_file(cc_loader * ld) {
    if (ld->gguf) gguf_free(ld->gguf);
    if (ld->file) {
        fclose(ld->file); /* closes fd too */
    } else if (ld->fd >= 0) {
        close(ld->fd);
    }
}

void clearclip_model_free(clearclip_model * model) {
    if (!model) return;
    cc_weights_free(&model->weights);
#ifdef CC_HAVE_MMAP
    if (model->mapping) munmap(model->mapping, model->mapping_size);
#endif
    if (model->tokenizer) clip_tokenizer_free(model->tokenizer);
    free(model->path);
    free(model);
}

clearclip_status clearclip_model_load(const char * path, clearclip_model_params params,
                                      clearclip_model ** out) {
    cc_clear_error();
    if (!out) return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "out must not be NULL");
    *out = NULL;
    if (!path) return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "path must not be NULL");

    cc_loader ld = { .path = path, .fd = -1 };
    clearclip_status st = cc_open_file(&ld);
    if (st) {
        cc_close_file(&ld);
        return st;
    }
    struct gguf_init_params gp = { .no_alloc = true, .ctx = NULL };
    ld.gguf = gguf_init_from_file_ptr(ld.file, gp);
    if (!ld.gguf || gguf_get_data_offset(ld.gguf) != ld.data_offset) {
        /* cc_gguf_check accepts only what ggml's reader accepts: the file changed meanwhile */
        cc_close_file(&ld);
        return cc_error(CLEARCLIP_ERR_FORMAT,
                        "%s: ggml's GGUF reader rejected the file after it passed the structure "
                        "check (was it modified while loading?)",
                        path);
    }

    clearclip_model * m = calloc(1, sizeof(*m));
    if (!m || !(m->path = strdup(path))) {
        free(m);
        cc_close_file(&ld);
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (!(st = cc_read_hparams(&ld, &params, &m->hp)) && !(st = cc_check_tensors(&ld, &m->hp)) &&
        !(st = cc_load_weights(m, &ld, params.use_mmap))) {
        st = cc_load_tokenizer(m, &ld);
    }
    cc_close_file(&ld);
    if (st) {
        clearclip_model_free(m);
        return st;
    }
    *out = m;
    return CLEARCLIP_OK;
}

clearclip_status clearclip_model_get_info(const clearclip_model * model,
                                          clearclip_model_info * out) {
    cc_clear_error();
    if (!model || !out) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "model and out must not be NULL");
    }
    const cc_hparams * hp = &model->hp;
    memset(out, 0, sizeof(*out));
    out->has_text       = hp->has_text;
    out->has_vision     = hp->has_vision;
    out->use_gelu       = hp->use_gelu;
    out->file_type      = hp->file_type;
    out->projection_dim = hp->has_text ? hp->text.proj_dim : hp->vision.proj_dim;
    if (hp->has_text) {
        out->text_width     = hp->text.width;
        out->text_layers    = hp->text.layers;
        out->text_heads     = hp->text.heads;
        out->text_ffn       = hp->text.ffn;
        out->context_length = hp->context_length;
        out->vocab_size     = hp->vocab_size;
    }
    if (hp->has_vision) {
        out->vision_width  = hp->vision.width;
        out->vision_layers = hp->vision.layers;
        out->vision_heads  = hp->vision.heads;
        out->vision_ffn    = hp->vision.ffn;
        out->image_size    = hp->image_size;
        out->patch_size    = hp->patch_size;
        memcpy(out->image_mean, hp->image_mean, sizeof(out->image_mean));
        memcpy(out->image_std, hp->image_std, sizeof(out->image_std));
    }
    snprintf(out->name, sizeof(out->name), "%s", hp->name);
    return CLEARCLIP_OK;
}

clearclip_status clearclip_tokenize(const clearclip_model * model, const char * text_utf8,
                                    int32_t * tokens, int32_t max_tokens, int32_t * n_tokens) {
    cc_clear_error();
    if (!model || !text_utf8 || !tokens || !n_tokens) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT,
                        "model, text_utf8, tokens and n_tokens must not be NULL");
    }
    if (max_tokens < 2) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "max_tokens must be >= 2, got %d",
                        max_tokens);
    }
    if (!model->tokenizer) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: the file carries no tokenizer", model->path);
    }
    char err[256] = "";
    if (clip_tokenizer_encode(model->tokenizer, text_utf8, tokens, max_tokens, n_tokens, err,
                              sizeof(err)) != 0) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "cannot tokenize: %s", err);
    }
    return CLEARCLIP_OK;
}
