/* GGUF metadata and validation: typed key readers, architecture and tower detection,
 * hyperparameters with their limits, LLaVA projector files, every tensor's shape and type. */
#include "model_load.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char * const cc_supported_types = "f32, f16, q8_0, q5_0, q5_1, q4_0, q4_1";

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
clearclip_status cc_get_int(const cc_loader * ld, const char * key, bool required,
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

/* Validates presence, type and shape of one tensor of the table (a cc_tensors_walk visitor). */
static clearclip_status cc_check_tensor(void * arg, const cc_tensor_ref * ref) {
    const cc_loader * ld     = arg;
    const char *      name   = ref->name;
    const int         n_dims = ref->n_dims;
    int64_t id = gguf_find_tensor(ld->gguf, name);
    if (id < 0) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: missing tensor '%s'", ld->path, name);
    }
    const int64_t * expected = ref->ne;
    const int64_t * ne       = gguf_get_tensor_ne(ld->gguf, id);
    bool            same     = true;
    for (int i = 0; i < 4; i++) {
        same = same && ne[i] == expected[i];
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
    if (ref->spec->types == CC_TYPES_FLOAT && type != GGML_TYPE_F32 && type != GGML_TYPE_F16) {
        /* monatis/clip.cpp's quantizer quantizes every 2-D weight, position embeddings included;
         * our converter reads such files and writes those back in f32. */
        bool clip_cpp_quantized = n_dims == 2 && strstr(name, "position_embd") != NULL;
        return cc_error(CLEARCLIP_ERR_UNSUPPORTED,
                        "%s: unsupported tensor type %s for '%s' (supported for vectors and "
                        "embeddings: f32, f16)%s",
                        ld->path, ggml_type_name(type), name,
                        clip_cpp_quantized
                            ? "; files quantized by monatis/clip.cpp quantize the position "
                              "embeddings too: rewrite this one with `clearclip convert FILE -o "
                              "NEW.gguf`, which keeps its type and stores those in f32"
                            : "");
    }
    if (ne[0] % ggml_blck_size(type) != 0) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: tensor '%s' has type %s but its rows (%" PRId64
                        " values) are not a multiple of the block size %" PRId64,
                        ld->path, name, ggml_type_name(type), ne[0], ggml_blck_size(type));
    }
    return CLEARCLIP_OK;
}

static clearclip_status cc_read_tower_hparams(const cc_loader * ld, const char * tower,
                                              cc_tower_hparams * hp) {
    char key[96];
    clearclip_status st;
#define CC_INT(field, key_fmt, max)                                                  \
    snprintf(key, sizeof(key), key_fmt, tower);                                 \
    if ((st = cc_get_int_in(ld, key, true, 1, max, &hp->field)) != CLEARCLIP_OK) { \
        return st;                                                                \
    }
    CC_INT(width, KEY_TOWER_WIDTH, CC_MAX_WIDTH);
    CC_INT(ffn, KEY_TOWER_FFN, CC_MAX_FFN);
    CC_INT(layers, KEY_TOWER_LAYERS, CC_MAX_LAYERS);
    CC_INT(proj_dim, KEY_TOWER_PROJ_DIM, CC_MAX_WIDTH);
    CC_INT(heads, KEY_TOWER_HEADS, CC_MAX_WIDTH);
#undef CC_INT
    snprintf(key, sizeof(key), KEY_TOWER_EPS, tower);
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

/* monatis/clip.cpp's converter writes clip.*.projection_dim from the config's tower sections,
 * which transformers fills with 512 whatever the model's projection is (ViT-L/14 projects to
 * 768). Its files are otherwise consistent, so where the projection tensor is a [width, P]
 * matrix its P is used, and the disagreement is logged for --verbose. */
static void cc_trust_projection_shape(const cc_loader * ld, const char * tower,
                                      const char * tensor, cc_tower_hparams * hp) {
    int64_t id = gguf_find_tensor(ld->gguf, tensor);
    if (id < 0) {
        return; /* the tensor check names it as missing */
    }
    const int64_t * ne = gguf_get_tensor_ne(ld->gguf, id);
    if (ne[0] != hp->width || ne[1] < 1 || ne[1] > CC_MAX_WIDTH || ne[2] != 1 || ne[3] != 1) {
        return; /* not a projection of this tower: the tensor check reports it */
    }
    if (ne[1] != hp->proj_dim) {
        cc_log(CLEARCLIP_LOG_INFO,
               "clearclip: %s: clip.%s.projection_dim says %d but %s is [%" PRId64 ", %" PRId64
               "]; using %" PRId64 " (monatis/clip.cpp's converter writes 512 whatever the "
               "projection is)",
               ld->path, tower, hp->proj_dim, tensor, ne[0], ne[1], ne[1]);
        hp->proj_dim = (int32_t) ne[1];
    }
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
    if (cc_get_bool(ld, KEY_LLAVA_HAS_PROJECTOR, &st) == 1) {
        return cc_llava_error(ld, KEY_LLAVA_HAS_PROJECTOR " is set");
    }
    if (gguf_find_key(ld->gguf, KEY_LLAVA_PROJECTOR_TYPE) >= 0) {
        return cc_llava_error(ld, "it has " KEY_LLAVA_PROJECTOR_TYPE);
    }
    return st;
}

static clearclip_status cc_check_llava_tensors(const cc_loader * ld, const cc_hparams * hp) {
    if (hp->vision.layers == 0) {
        return CLEARCLIP_OK; /* no vision tower in the file */
    }
    char name[96];
    snprintf(name, sizeof(name), TN_BLK, TN_VISION, hp->vision.layers - 1, TN_BLK_Q_W);
    if (gguf_find_tensor(ld->gguf, name) < 0) {
        snprintf(name, sizeof(name), TN_BLK, TN_VISION, hp->vision.layers - 2, TN_BLK_Q_W);
        if (hp->vision.layers >= 2 && gguf_find_tensor(ld->gguf, name) >= 0) {
            return cc_llava_error(ld, "the vision tower has no last block");
        }
    }
    bool has_post = gguf_find_tensor(ld->gguf, TN_VISION_POST_LN_W) >= 0;
    bool has_proj = gguf_find_tensor(ld->gguf, TN_VISION_PROJ) >= 0;
    bool has_mm   = false;
    for (int64_t i = 0; i < gguf_get_n_tensors(ld->gguf); i++) {
        const char * tn = gguf_get_tensor_name(ld->gguf, i);
        if (strncmp(tn, TN_LLAVA_MM_PREFIX, strlen(TN_LLAVA_MM_PREFIX)) == 0) {
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

clearclip_status cc_read_hparams(const cc_loader * ld, const clearclip_model_params * mp,
                                        cc_hparams * hp) {
    clearclip_status st = CLEARCLIP_OK;
    int64_t arch = gguf_find_key(ld->gguf, KEY_GENERAL_ARCHITECTURE);
    if (arch < 0) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: missing key '" KEY_GENERAL_ARCHITECTURE "'", ld->path);
    }
    if (gguf_get_kv_type(ld->gguf, arch) != GGUF_TYPE_STRING) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: key '" KEY_GENERAL_ARCHITECTURE "' has type %s, expected a string", ld->path,
                        gguf_type_name(gguf_get_kv_type(ld->gguf, arch)));
    }
    const char * arch_name = gguf_get_val_str(ld->gguf, arch);
    if (strcmp(arch_name, CC_ARCH_CLIP) != 0) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: " KEY_GENERAL_ARCHITECTURE " is '%s', expected '" CC_ARCH_CLIP "'", ld->path, arch_name);
    }
    int has_text   = cc_get_bool(ld, KEY_HAS_TEXT, &st);
    int has_vision = cc_get_bool(ld, KEY_HAS_VISION, &st);
    int use_gelu   = cc_get_bool(ld, KEY_USE_GELU, &st);
    if (st) return st;
    /* Older writers omit the tower flags; the towers' embedding tensors tell the same. */
    if (has_text < 0) has_text = gguf_find_tensor(ld->gguf, TN_TOKEN_EMBD) >= 0;
    if (has_vision < 0) has_vision = gguf_find_tensor(ld->gguf, TN_PATCH_EMBD) >= 0;
    if ((st = cc_check_llava_keys(ld))) return st;
    if (use_gelu < 0) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: missing key '" KEY_USE_GELU "'", ld->path);
    }
    hp->has_text   = has_text && mp->load_text;
    hp->has_vision = has_vision && mp->load_vision;
    hp->use_gelu   = use_gelu;
    if ((st = cc_get_int(ld, KEY_GENERAL_FILE_TYPE, false, 0, &hp->file_type))) return st;
    int64_t name = gguf_find_key(ld->gguf, KEY_GENERAL_NAME);
    if (name >= 0) {
        if (gguf_get_kv_type(ld->gguf, name) != GGUF_TYPE_STRING) {
            return cc_error(CLEARCLIP_ERR_MODEL,
                            "%s: key '" KEY_GENERAL_NAME "' has type %s, expected a string", ld->path,
                            gguf_type_name(gguf_get_kv_type(ld->gguf, name)));
        }
        snprintf(hp->name, sizeof(hp->name), "%s", gguf_get_val_str(ld->gguf, name));
    }
    if (has_vision) {
        /* Read even when not loaded, so an mmproj file is still recognised as such. */
        if ((st = cc_read_tower_hparams(ld, CC_TOWER_VISION, &hp->vision))) return st;
    }
    if ((st = cc_check_llava_tensors(ld, hp))) return st;
    if (!hp->has_text && !hp->has_vision) {
        /* A model that can compute nothing is a caller's mistake or a useless file: say which. */
        return cc_error(CLEARCLIP_ERR_NO_TOWER,
                        "%s: nothing to load: the file has %s and %s, and the load asked for %s",
                        ld->path, has_text ? "a text tower" : "no text tower",
                        has_vision ? "a vision tower" : "no vision tower",
                        mp->load_text && mp->load_vision ? "both towers"
                        : mp->load_text ? "the text tower only"
                        : mp->load_vision ? "the vision tower only" : "neither tower");
    }
    if (hp->has_text) {
        if ((st = cc_read_tower_hparams(ld, CC_TOWER_TEXT, &hp->text))) return st;
        if ((st = cc_get_int_in(ld, KEY_CONTEXT_LENGTH, true, 2, CC_MAX_CONTEXT,
                                &hp->context_length))) {
            return st;
        }
    }
    if (hp->has_vision) {
        if ((st = cc_get_int_in(ld, KEY_IMAGE_SIZE, true, 1, CC_MAX_IMAGE,
                                &hp->image_size))) {
            return st;
        }
        if ((st = cc_get_int_in(ld, KEY_PATCH_SIZE, true, 1, CC_MAX_IMAGE,
                                &hp->patch_size))) {
            return st;
        }
        if ((st = cc_get_float3(ld, KEY_IMAGE_MEAN, hp->image_mean))) return st;
        if ((st = cc_get_float3(ld, KEY_IMAGE_STD, hp->image_std))) return st;
        if (hp->image_size % hp->patch_size != 0) {
            return cc_error(CLEARCLIP_ERR_MODEL,
                            "%s: image size %d is not a multiple of the patch size %d", ld->path,
                            hp->image_size, hp->patch_size);
        }
        for (int i = 0; i < 3; i++) {
            if (!(hp->image_std[i] > 0.0f)) {
                return cc_error(CLEARCLIP_ERR_MODEL,
                                "%s: " KEY_IMAGE_STD " element %d is %g, must be positive",
                                ld->path, i, (double) hp->image_std[i]);
            }
        }
    } else {
        memset(&hp->vision, 0, sizeof(hp->vision));
    }
    if (hp->has_text) {
        cc_trust_projection_shape(ld, CC_TOWER_TEXT, TN_TEXT_PROJ, &hp->text);
    }
    if (hp->has_vision) {
        cc_trust_projection_shape(ld, CC_TOWER_VISION, TN_VISION_PROJ, &hp->vision);
    }
    if (hp->has_text && hp->has_vision && hp->text.proj_dim != hp->vision.proj_dim) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: text projection_dim %d differs from vision projection_dim %d",
                        ld->path, hp->text.proj_dim, hp->vision.proj_dim);
    }
    return CLEARCLIP_OK;
}

static const int64_t * cc_gguf_shape(void * src, const char * name) {
    const struct gguf_context * gguf = src;
    int64_t id = gguf_find_tensor(gguf, name);
    return id < 0 ? NULL : gguf_get_tensor_ne(gguf, id);
}

clearclip_status cc_check_tensors(const cc_loader * ld, cc_hparams * hp) {
    if (hp->has_text) {
        /* the vocabulary size is the one dimension only the file says */
        int64_t id = gguf_find_tensor(ld->gguf, TN_TOKEN_EMBD);
        if (id < 0) {
            return cc_error(CLEARCLIP_ERR_MODEL, "%s: missing tensor '" TN_TOKEN_EMBD "'",
                            ld->path);
        }
        int64_t vocab = gguf_get_tensor_ne(ld->gguf, id)[1];
        if (vocab < 1 || vocab > INT32_MAX) {
            return cc_error(CLEARCLIP_ERR_MODEL, "%s: bad vocabulary size %" PRId64, ld->path,
                            vocab);
        }
        hp->vocab_size = (int32_t) vocab;
    }
    return cc_tensors_walk(hp, cc_gguf_shape, ld->gguf, cc_check_tensor, (void *) ld);
}
