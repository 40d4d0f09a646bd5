/* The model object: loading (open the file, check it, read metadata, weights and tokenizer; see
 * model_load.c and model_weights.c), freeing, information and tokenizing. */
#include "model_load.h"
#include "bpe_rebuild.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if !defined(_WIN32)
#  include <fcntl.h>
#  include <sys/mman.h>
#  include <unistd.h>
#endif

/* ---- tokenizer ------------------------------------------------------------ */

static clearclip_status cc_load_tokenizer(clearclip_model * m, const cc_loader * ld) {
    clearclip_status st = CLEARCLIP_OK;
    m->bos_id = CC_DEFAULT_BOS;
    m->eos_id = CC_DEFAULT_EOS;
    if ((st = cc_get_int(ld, KEY_BOS_ID, false, 0, &m->bos_id))) return st;
    if ((st = cc_get_int(ld, KEY_EOS_ID, false, 0, &m->eos_id))) return st;
    /* The text graph looks the ids up in the token embedding (ggml asserts on a row outside it),
     * and the EOT row is not checked again per call. */
    if (m->hp.has_text && (m->bos_id >= m->hp.vocab_size || m->eos_id >= m->hp.vocab_size)) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: %s %d is outside the vocabulary of %d tokens (" TN_TOKEN_EMBD ")",
                        ld->path, m->bos_id >= m->hp.vocab_size ? KEY_BOS_ID : KEY_EOS_ID,
                        m->bos_id >= m->hp.vocab_size ? m->bos_id : m->eos_id, m->hp.vocab_size);
    }
    int64_t tok_id   = gguf_find_key(ld->gguf, KEY_TOKENS);
    int64_t merge_id = gguf_find_key(ld->gguf, KEY_MERGES);
    if (tok_id < 0) {
        return CLEARCLIP_OK; /* a vision-only file, or ids-only use of the text tower */
    }
    if (gguf_get_kv_type(ld->gguf, tok_id) != GGUF_TYPE_ARRAY ||
        gguf_get_arr_type(ld->gguf, tok_id) != GGUF_TYPE_STRING) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: " KEY_TOKENS " must be a string array",
                        ld->path);
    }
    if (merge_id >= 0 && (gguf_get_kv_type(ld->gguf, merge_id) != GGUF_TYPE_ARRAY ||
                          gguf_get_arr_type(ld->gguf, merge_id) != GGUF_TYPE_STRING)) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: " KEY_MERGES " is not a string array", ld->path);
    }
    size_t n_tok = gguf_get_arr_n(ld->gguf, tok_id);
    size_t n_merge = merge_id >= 0 ? gguf_get_arr_n(ld->gguf, merge_id) : 0;
    if (n_tok > INT32_MAX || n_merge > INT32_MAX) {
        return cc_error(CLEARCLIP_ERR_MODEL, "%s: tokenizer is too large", ld->path);
    }
    if (m->hp.has_text && (int64_t) n_tok != m->hp.vocab_size) {
        return cc_error(CLEARCLIP_ERR_MODEL,
                        "%s: tokenizer has %zu tokens but " TN_TOKEN_EMBD " has %d rows",
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
    char ** rebuilt = NULL;
    if (merge_id < 0) {
        /* monatis/clip.cpp's files store the vocabulary without merges; CLIP's vocabulary order
         * determines them (bpe_rebuild.h). */
        int32_t n_rebuilt = 0;
        rebuilt = clip_bpe_rebuild_merges(toks, (int32_t) n_tok, &n_rebuilt, err, sizeof(err));
        if (!rebuilt) {
            free(toks);
            free(merges);
            return cc_error(CLEARCLIP_ERR_MODEL,
                            "%s: " KEY_TOKENS " comes without " KEY_MERGES " and the merges cannot be "
                            "rebuilt from it: %s",
                            ld->path, err);
        }
        cc_log(CLEARCLIP_LOG_INFO,
               "clearclip: %s: no " KEY_MERGES "; rebuilt %d BPE merges from the order of " KEY_TOKENS,
               ld->path, n_rebuilt);
        n_merge = (size_t) n_rebuilt;
    }
    m->tokenizer = cc_tokenizer_init(toks, (int32_t) n_tok,
                                       rebuilt ? (const char * const *) rebuilt : merges,
                                       (int32_t) n_merge, m->bos_id, m->eos_id, err, sizeof(err));
    free(toks);
    free(merges);
    free(rebuilt);
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
    if (model->tokenizer) cc_tokenizer_free(model->tokenizer);
    free(model->path);
    free(model);
}

clearclip_status clearclip_model_load(const char * path, clearclip_model_params params,
                                      clearclip_model ** out) {
    cc_clear_error();
    if (!out) return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "out must not be NULL");
    *out = NULL;
    if (!path) return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "path must not be NULL");
    /* The repack probe (model_weights.c) asks the CPU device, which a GGML_BACKEND_DL build
     * registers only once its backend libraries are loaded. */
    clearclip_status loaded = cc_backend_ensure();
    if (loaded) return loaded;

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
    if (cc_tokenizer_encode(model->tokenizer, text_utf8, tokens, max_tokens, n_tokens, err,
                              sizeof(err)) != 0) {
        return cc_error(CLEARCLIP_ERR_INVALID_ARGUMENT, "cannot tokenize: %s", err);
    }
    return CLEARCLIP_OK;
}
