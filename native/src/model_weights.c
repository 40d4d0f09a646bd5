/* Model weights: tensors created for the loaded towers, bound into the file mapping or read into
 * a CPU buffer, named fields bound, small tensors scanned for NaN/Inf, matrices repacked for the
 * CPU backend's faster layout, copies for other devices. */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#  define _DEFAULT_SOURCE /* madvise(MADV_DONTNEED), which POSIX leaves out */
#endif
#include "model_load.h"


#include <errno.h>
#include <stdio.h>
#if defined(_WIN32)
#  include <windows.h>
#else
#  include <pthread.h>
#endif
#include <stdlib.h>
#include <string.h>

#if defined(CC_HAVE_MMAP)
#  include <sys/mman.h>
#  include <unistd.h>
#endif

static bool cc_wanted_tensor(const cc_hparams * hp, const char * name) {
    if (strncmp(name, TN_TEXT ".", 2) == 0 || strcmp(name, TN_TEXT_PROJ) == 0) {
        return hp->has_text;
    }
    if (strncmp(name, TN_VISION ".", 2) == 0 || strcmp(name, TN_VISION_PROJ) == 0) {
        return hp->has_vision;
    }
    return false;
}

static const int64_t * cc_ggml_shape(void * src, const char * name) {
    const struct ggml_tensor * t = ggml_get_tensor(src, name);
    return t ? t->ne : NULL;
}

/* A cc_tensors_walk visitor: points the table's field at the tensor of that name. */
static clearclip_status cc_bind_tensor(void * arg, const cc_tensor_ref * ref) {
    cc_weights * w = arg;
    *cc_tensor_field(w, ref) = ggml_get_tensor(w->ctx, ref->name);
    return CLEARCLIP_OK;
}

/* Binds the fields of w to the tensors of w->ctx, which hold every tensor of the table that the
 * loader checked (or copies of them). */
static clearclip_status cc_weights_bind(const cc_hparams * hp, cc_weights * w) {
    if (hp->has_text && !(w->t_layers = calloc((size_t) hp->text.layers, sizeof(cc_layer)))) {
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (hp->has_vision && !(w->v_layers = calloc((size_t) hp->vision.layers, sizeof(cc_layer)))) {
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    }
    return cc_tensors_walk(hp, cc_ggml_shape, w->ctx, cc_bind_tensor, w);
}

void cc_weights_free(cc_weights * w) {
    if (w->packed_buffer) ggml_backend_buffer_free(w->packed_buffer);
    if (w->packed_ctx) ggml_free(w->packed_ctx);
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
    /* a matrix only: the probe's ggml_mul_mat asserts on anything else */
    if (!dev || ggml_n_dims(t) != 2) return NULL;
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

/* Drops the file pages of a tensor that was copied elsewhere from the process (they stay in the
 * page cache and the mapping, and come back if read again). */
static void cc_drop_pages(const struct ggml_tensor * t) {
    const uintptr_t page = (uintptr_t) sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t) t->data + page - 1) / page * page;
    uintptr_t hi = ((uintptr_t) t->data + ggml_nbytes(t)) / page * page;
    if (hi > lo) madvise((void *) lo, hi - lo, MADV_DONTNEED);
}

/* The matrix [k, m] that weight t is in the products: m rows of its last dimension, each the k
 * values of the dimensions below. A 2-D weight is that matrix; the patch convolution's kernel
 * [p, p, 3, W] is multiplied as [3pp, W] (the patch embedding's im2col product). */
static void cc_matrix_dims(const struct ggml_tensor * t, int64_t * k, int64_t * m) {
    *m = t->ne[ggml_n_dims(t) - 1];
    *k = ggml_nelements(t) / *m;
}

/* The bytes of matrix t packed for one of the engine's own products (q8_gemm.c for q8_0 and
 * q4_0, 2-D only: their blocks run along the rows; f32_gemm.c for f32 and f16) where this CPU
 * runs it, else 0. */
static size_t cc_packed_size(const struct ggml_tensor * t) {
    if (!t || ggml_n_dims(t) < 2 || !ggml_is_contiguous(t)) return 0;
    if (t->type == GGML_TYPE_F32 || t->type == GGML_TYPE_F16) {
        int64_t k, m;
        cc_matrix_dims(t, &k, &m);
        return cc_f32_gemm_available() ? cc_f32_packed_size(t->type, k, m) : 0;
    }
    if ((t->type == GGML_TYPE_Q8_0 || t->type == GGML_TYPE_Q4_0) && ggml_n_dims(t) == 2 && t->ne[0] % 32 == 0 &&
        cc_q8_gemm_available()) {
        return cc_q8_packed_size(t->type, t->ne[0], t->ne[1]);
    }
    return 0;
}

/* Packs the matrices among fields that one of the engine's own products takes, and takes them out
 * of fields (NULL) so that they are not repacked for ggml too. Packed q4_0 keeps its nibbles
 * (about the file's size), packed f32 is the file's size, and the file pages they were read from
 * are dropped, so that the resident weights are no larger than with ggml's own repacks. */
static clearclip_status cc_pack_weights(clearclip_model * m, struct ggml_tensor *** fields, size_t n) {
    cc_weights * w = &m->weights;
    size_t n_packed = 0;
    for (size_t i = 0; i < n; i++) {
        if (fields[i] && cc_packed_size(*fields[i])) n_packed++;
    }
    if (n_packed == 0) return CLEARCLIP_OK;
    if (!(w->packed_ctx = cc_new_meta_ctx(n_packed))) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    struct ggml_tensor ** packed = calloc(n, sizeof(*packed));
    if (!packed) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct ggml_tensor * t = fields[i] ? *fields[i] : NULL;
        const size_t size = cc_packed_size(t);
        if (!size) continue;
        packed[i] = ggml_new_tensor_1d(w->packed_ctx, GGML_TYPE_I8, (int64_t) size);
        ggml_format_name(packed[i], "%s.packed", ggml_get_name(t));
    }
    w->packed_buffer = ggml_backend_alloc_ctx_tensors_from_buft(w->packed_ctx, ggml_backend_cpu_buffer_type());
    if (!w->packed_buffer) {
        free(packed);
        return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "%s: cannot allocate the packed weights", m->path);
    }
    ggml_backend_buffer_set_usage(w->packed_buffer, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    for (size_t i = 0; i < n; i++) {
        if (!packed[i]) continue;
        struct ggml_tensor * t = *fields[i];
        if (t->type == GGML_TYPE_F32 || t->type == GGML_TYPE_F16) {
            int64_t k, m;
            cc_matrix_dims(t, &k, &m);
            cc_f32_pack(t->type, t->data, k, m, packed[i]->data);
        } else {
            cc_q8_pack(t->type, t->data, t->ne[0], t->ne[1], (uint8_t *) packed[i]->data);
        }
        cc_drop_pages(t);
        t->extra = packed[i];
        fields[i] = NULL;
    }
    free(packed);
    return CLEARCLIP_OK;
}

/* Copies the block matrices that the CPU backend multiplies faster from another layout into a
 * buffer of that layout and points the model's fields at the copies. The file pages they were
 * read from are dropped from the process again (they stay in the page cache and the mapping). */
static clearclip_status cc_repack_weights(clearclip_model * m) {
    cc_weights * w = &m->weights;
    const cc_hparams * hp = &m->hp;
    const int32_t n_text = hp->has_text ? hp->text.layers : 0;
    const int32_t n_vision = hp->has_vision ? hp->vision.layers : 0;
    const size_t cap = 6 * (size_t) (n_text + n_vision) + 3;
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
    /* the patch embedding's kernel only where the engine's f32 product takes it: it is no matrix
     * for ggml's repacks (nor for their probe, whose product of a 4-D kernel would abort) */
    if (cc_packed_size(w->v_patch_embd)) fields[n++] = &w->v_patch_embd;

    clearclip_status st = cc_pack_weights(m, fields, n);
    if (st) {
        free(fields);
        free(copies);
        return st;
    }
    /* one extra buffer type serves all (the CPU backend offers one that applies) */
    ggml_backend_buffer_type_t buft = NULL;
    size_t n_copies = 0;
    for (size_t i = 0; i < n; i++) {
        if (!fields[i]) continue;
        ggml_backend_buffer_type_t b = cc_repack_buft(*fields[i]);
        if (b && (!buft || b == buft)) {
            buft = b;
            n_copies++;
        } else {
            fields[i] = NULL;
        }
    }
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
    for (size_t i = 0; i < n && !st; i++) {
        if (!fields[i]) continue;
        struct ggml_tensor * src = *fields[i];
        ggml_backend_tensor_set(copies[i], src->data, 0, ggml_nbytes(src));
        cc_drop_pages(src);
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
        if (!vector && !strstr(ggml_get_name(t), "position_embd")) continue; /* TN_*_POS_EMBD */
        if (!cc_all_finite(t)) {
            return cc_error(CLEARCLIP_ERR_MODEL, "%s: tensor '%s' contains NaN or infinity",
                            m->path, ggml_get_name(t));
        }
    }
    return CLEARCLIP_OK;
}

clearclip_status cc_load_weights(clearclip_model * m, const cc_loader * ld, bool use_mmap) {
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

/* Creates tensors named like the model's in a new context, allocates them in buft and uploads
 * the data (the file's layout, not the CPU repacks). */
static clearclip_status cc_weights_upload(const clearclip_model * model,
                                          ggml_backend_buffer_type_t buft, cc_weights * out) {
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
        char why[256] = "";
        if (!cc_guarded_tensor_set(ggml_get_tensor(out->ctx, ggml_get_name(t)), t->data, 0,
                                   ggml_nbytes(t), why, sizeof(why))) {
            cc_weights_free(out);
            return cc_error(CLEARCLIP_ERR_BACKEND, "cannot upload tensor '%s' to %s: %s",
                            ggml_get_name(t), ggml_backend_buft_name(buft), why);
        }
    }
    clearclip_status st = cc_weights_bind(&model->hp, out);
    if (st) cc_weights_free(out);
    return st;
}

/* One lock for every model's device table: contexts on a new device are rare, and holding it
 * during the upload makes a second context on the same device wait for the first's copy instead
 * of making its own. */
#if defined(_WIN32)
static SRWLOCK cc_device_weights_lock = SRWLOCK_INIT;
#  define CC_DW_LOCK()   AcquireSRWLockExclusive(&cc_device_weights_lock)
#  define CC_DW_UNLOCK() ReleaseSRWLockExclusive(&cc_device_weights_lock)
#else
static pthread_mutex_t cc_device_weights_lock = PTHREAD_MUTEX_INITIALIZER;
#  define CC_DW_LOCK()   pthread_mutex_lock(&cc_device_weights_lock)
#  define CC_DW_UNLOCK() pthread_mutex_unlock(&cc_device_weights_lock)
#endif

clearclip_status cc_device_weights_acquire(clearclip_model * model,
                                           ggml_backend_buffer_type_t buft,
                                           const cc_weights ** out) {
    clearclip_status st = CLEARCLIP_OK;
    CC_DW_LOCK();
    cc_device_weights * slot = NULL;
    for (int i = 0; i < CC_MAX_DEVICES; i++) {
        cc_device_weights * d = &model->device_weights[i];
        if (d->buft == buft) {
            slot = d;
            break;
        }
        if (!slot && !d->buft) slot = d;
    }
    if (!slot) {
        st = cc_error(CLEARCLIP_ERR_BACKEND, "%s: the model is on %d devices already (at most %d)",
                      model->path, CC_MAX_DEVICES, CC_MAX_DEVICES);
    } else if (!slot->buft) {
        st = cc_weights_upload(model, buft, &slot->w);
        if (!st) {
            slot->buft = buft;
            cc_log(CLEARCLIP_LOG_DEBUG, "clearclip: %s: weights uploaded to %s (%zu MiB)",
                   model->path, ggml_backend_buft_name(buft),
                   slot->w.buffer ? ggml_backend_buffer_get_size(slot->w.buffer) >> 20 : 0);
        }
    }
    if (!st) {
        slot->refs++;
        *out = &slot->w;
    }
    CC_DW_UNLOCK();
    return st;
}

void cc_device_weights_release(clearclip_model * model, const cc_weights * w) {
    CC_DW_LOCK();
    for (int i = 0; i < CC_MAX_DEVICES; i++) {
        cc_device_weights * d = &model->device_weights[i];
        if (d->buft && &d->w == w && --d->refs == 0) {
            cc_weights_free(&d->w);
            d->buft = NULL;
        }
    }
    CC_DW_UNLOCK();
}

void cc_tensor_to_f32_host(const struct ggml_tensor * t, float * dst) {
    int64_t n = ggml_nelements(t);
    if (t->type == GGML_TYPE_F32) {
        memcpy(dst, t->data, (size_t) n * sizeof(float));
    } else {
        ggml_get_type_traits(t->type)->to_float(t->data, dst, n);
    }
}
