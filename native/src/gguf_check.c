/* Structural GGUF check, run on the open file before gguf_init_from_file_ptr.
 *
 * ggml's GGUF reader says only "failed" (the reason goes to its log), and several of its
 * accessors assert on values a hostile file controls. So we walk the header ourselves first: every
 * count, length, type, dimension and offset is checked against the file size and the limits in
 * internal.h, and a failure names the key or tensor and the byte offset. A file that passes is
 * one gguf_init accepts (its checks are a subset of these), so ggml never logs a complaint.
 * The rules are written down for other readers in models/README.md ("What a loader accepts"). */
#include "gguf_names.h"
#include "internal.h"

#include "gguf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CC_RD_BUF (64u * 1024u)

/* Buffered reads at increasing positions through pread (the fd's own offset stays at 0 for the
 * stdio stream that gguf_init reads from afterwards). */
typedef struct cc_reader {
    int          fd;
    const char * path;
    uint64_t     size;      /* file size */
    uint64_t     pos;       /* next byte to read */
    uint8_t *    buf;
    uint64_t     buf_start; /* file offset of buf[0] */
    size_t       buf_len;
} cc_reader;

static clearclip_status cc_truncated(const cc_reader * r, const char * what, uint64_t need) {
    return cc_error(CLEARCLIP_ERR_FORMAT,
                    "%s: truncated GGUF header: %s at byte %" PRIu64 " needs %" PRIu64
                    " bytes but the file has only %" PRIu64,
                    r->path, what, r->pos, need, r->size);
}

static clearclip_status cc_rd(cc_reader * r, void * dst, size_t n, const char * what) {
    if (n > r->size - r->pos) return cc_truncated(r, what, n);
    uint8_t * out = dst;
    while (n > 0) {
        if (r->pos >= r->buf_start && r->pos < r->buf_start + r->buf_len) {
            size_t off = (size_t) (r->pos - r->buf_start);
            size_t k = r->buf_len - off < n ? r->buf_len - off : n;
            memcpy(out, r->buf + off, k);
            out += k;
            r->pos += k;
            n -= k;
            continue;
        }
        uint64_t left = r->size - r->pos;
        size_t want = left < CC_RD_BUF ? (size_t) left : CC_RD_BUF;
        ssize_t got;
        do {
            got = pread(r->fd, r->buf, want, (off_t) r->pos);
        } while (got < 0 && errno == EINTR);
        if (got < 0) {
            return cc_error(CLEARCLIP_ERR_IO, "%s: cannot read: %s", r->path, strerror(errno));
        }
        if (got == 0) { /* the file shrank after fstat */
            r->size = r->pos;
            return cc_truncated(r, what, n);
        }
        r->buf_start = r->pos;
        r->buf_len   = (size_t) got;
    }
    return CLEARCLIP_OK;
}

static clearclip_status cc_skip(cc_reader * r, uint64_t n, const char * what) {
    if (n > r->size - r->pos) return cc_truncated(r, what, n);
    r->pos += n;
    return CLEARCLIP_OK;
}

#define CC_RD_SCALAR(name, type)                                                      \
    static clearclip_status name(cc_reader * r, type * v, const char * what) {        \
        return cc_rd(r, v, sizeof(*v), what);                                         \
    }
CC_RD_SCALAR(cc_rd_u32, uint32_t)
CC_RD_SCALAR(cc_rd_i32, int32_t)
CC_RD_SCALAR(cc_rd_u64, uint64_t)
CC_RD_SCALAR(cc_rd_i64, int64_t)
#undef CC_RD_SCALAR

/* Reads a string's length (at most max bytes) and then the string into out (when out_cap > 0,
 * NUL-terminated; max < out_cap) or skips it. */
static clearclip_status cc_rd_string(cc_reader * r, const char * what, uint64_t max, char * out,
                                     size_t out_cap, uint64_t * len_out) {
    uint64_t at = r->pos, len = 0;
    clearclip_status st = cc_rd_u64(r, &len, what);
    if (st) return st;
    if (len > max) {
        return cc_error(CLEARCLIP_ERR_FORMAT,
                        "%s: %s at byte %" PRIu64 " is %" PRIu64
                        " bytes long, more than the limit of %" PRIu64,
                        r->path, what, at, len, max);
    }
    if (len_out) *len_out = len;
    if (out_cap == 0) return cc_skip(r, len, what);
    st = cc_rd(r, out, (size_t) len, what);
    out[st ? 0 : len] = '\0';
    return st;
}

static bool cc_gguf_type_valid(int32_t t) {
    return t >= 0 && t < GGUF_TYPE_COUNT;
}

static const char * cc_gguf_type_str(int32_t t) {
    return cc_gguf_type_valid(t) ? gguf_type_name((enum gguf_type) t) : "invalid";
}

/* Size in the file of one value of a fixed-size type (not string, not array). */
static size_t cc_gguf_scalar_size(int32_t t) {
    switch (t) {
        case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
        case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
        case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
        case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
        default: return 0;
    }
}

typedef struct cc_tinfo {
    char     name[CC_GGUF_MAX_TENSOR_NAME + 1];
    int64_t  ne[4];
    int32_t  type;
    uint64_t offset, nbytes, at;
} cc_tinfo;

static int cc_by_name(const void * a, const void * b) {
    return strcmp((*(const cc_tinfo * const *) a)->name, (*(const cc_tinfo * const *) b)->name);
}

static clearclip_status cc_check_kvs(cc_reader * r, int64_t n_kv, uint32_t * alignment) {
    char ** keys = calloc((size_t) n_kv + 1, sizeof(char *));
    if (!keys) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    char key[CC_GGUF_MAX_KEY + 1];
    char what[CC_GGUF_MAX_KEY + 64];
    clearclip_status st = CLEARCLIP_OK;
    int64_t i = 0;
    for (; i < n_kv && !st; i++) {
        const uint64_t at = r->pos;
        snprintf(what, sizeof(what), "the name of key %" PRId64, i);
        uint64_t key_len = 0;
        if ((st = cc_rd_string(r, what, CC_GGUF_MAX_KEY, key, sizeof(key), &key_len))) break;
        if (!key[0]) {
            st = cc_error(CLEARCLIP_ERR_FORMAT, "%s: key %" PRId64 " at byte %" PRIu64 " is empty",
                          r->path, i, at);
            break;
        }
        if (strlen(key) != key_len) {
            st = cc_error(CLEARCLIP_ERR_FORMAT,
                          "%s: key '%s' (key %" PRId64 ") at byte %" PRIu64 " contains a NUL byte",
                          r->path, key, i, at);
            break;
        }
        for (int64_t j = 0; j < i; j++) {
            if (strcmp(keys[j], key) == 0) {
                st = cc_error(CLEARCLIP_ERR_FORMAT,
                              "%s: duplicate key '%s' at byte %" PRIu64 " (keys %" PRId64
                              " and %" PRId64 ")",
                              r->path, key, at, j, i);
                break;
            }
        }
        if (st) break;
        if (!(keys[i] = strdup(key))) {
            st = cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        snprintf(what, sizeof(what), "the type of key '%s'", key);
        int32_t type = 0;
        if ((st = cc_rd_i32(r, &type, what))) break;
        if (type == GGUF_TYPE_ARRAY) {
            int32_t et = 0;
            uint64_t n = 0;
            snprintf(what, sizeof(what), "the element type of key '%s'", key);
            if ((st = cc_rd_i32(r, &et, what))) break;
            snprintf(what, sizeof(what), "the element count of key '%s'", key);
            if ((st = cc_rd_u64(r, &n, what))) break;
            if (et == GGUF_TYPE_ARRAY) {
                st = cc_error(CLEARCLIP_ERR_FORMAT,
                              "%s: key '%s' at byte %" PRIu64 " is an array of arrays "
                              "(not supported)",
                              r->path, key, at);
                break;
            }
            if (!cc_gguf_type_valid(et)) {
                st = cc_error(CLEARCLIP_ERR_FORMAT,
                              "%s: key '%s' at byte %" PRIu64 " has invalid array element type %d",
                              r->path, key, at, et);
                break;
            }
            if (n > CC_GGUF_MAX_ARRAY) {
                st = cc_error(CLEARCLIP_ERR_FORMAT,
                              "%s: key '%s' at byte %" PRIu64 " is an array of %" PRIu64
                              " elements, more than the limit of %u",
                              r->path, key, at, n, (unsigned) CC_GGUF_MAX_ARRAY);
                break;
            }
            snprintf(what, sizeof(what), "the values of key '%s'", key);
            if (et == GGUF_TYPE_STRING) {
                /* each string has at least its 8-byte length: a cheap bound before walking */
                if (n * 8 > r->size - r->pos) {
                    st = cc_truncated(r, what, n * 8);
                    break;
                }
                /* A tokenizer has ~50,000 strings: label them only when one is bad, by reading
                 * it again with its name (the same bytes give the same error). */
                for (uint64_t k = 0; k < n && !st; k++) {
                    const uint64_t str_at = r->pos;
                    uint64_t len = 0;
                    if (r->size - r->pos >= 8 && !cc_rd_u64(r, &len, "") &&
                        len <= CC_GGUF_MAX_STRING && len <= r->size - r->pos) {
                        r->pos += len;
                        continue;
                    }
                    r->pos = str_at;
                    snprintf(what, sizeof(what), "string %" PRIu64 " of key '%s'", k, key);
                    st = cc_rd_string(r, what, CC_GGUF_MAX_STRING, NULL, 0, NULL);
                }
            } else {
                st = cc_skip(r, n * cc_gguf_scalar_size(et), what);
            }
            if (!st && strcmp(key, KEY_GENERAL_ALIGNMENT) == 0) {
                st = cc_error(CLEARCLIP_ERR_FORMAT,
                              "%s: key '" KEY_GENERAL_ALIGNMENT "' is an array, must be a uint32", r->path);
            }
            continue;
        }
        if (!cc_gguf_type_valid(type)) {
            st = cc_error(CLEARCLIP_ERR_FORMAT, "%s: key '%s' at byte %" PRIu64
                          " has invalid type %d", r->path, key, at, type);
            break;
        }
        snprintf(what, sizeof(what), "the value of key '%s'", key);
        bool is_alignment = strcmp(key, KEY_GENERAL_ALIGNMENT) == 0;
        if (is_alignment && type != GGUF_TYPE_UINT32) {
            st = cc_error(CLEARCLIP_ERR_FORMAT,
                          "%s: key '" KEY_GENERAL_ALIGNMENT "' has type %s, must be a uint32", r->path,
                          cc_gguf_type_str(type));
            break;
        }
        if (type == GGUF_TYPE_STRING) {
            st = cc_rd_string(r, what, CC_GGUF_MAX_STRING, NULL, 0, NULL);
        } else if (is_alignment) {
            uint32_t a = 0;
            if ((st = cc_rd_u32(r, &a, what))) break;
            if (a < 8 || a > CC_GGUF_MAX_ALIGNMENT || (a & (a - 1)) != 0) {
                st = cc_error(CLEARCLIP_ERR_FORMAT,
                              "%s: " KEY_GENERAL_ALIGNMENT " is %u; it must be a power of two from 8 to "
                              "%u",
                              r->path, a, (unsigned) CC_GGUF_MAX_ALIGNMENT);
                break;
            }
            *alignment = a;
        } else {
            st = cc_skip(r, cc_gguf_scalar_size(type), what);
        }
    }
    for (int64_t j = 0; j < n_kv; j++) free(keys[j]);
    free(keys);
    return st;
}

static clearclip_status cc_check_tensor_info(cc_reader * r, int64_t i, cc_tinfo * t) {
    char what[CC_GGUF_MAX_TENSOR_NAME + 64];
    clearclip_status st;
    t->at = r->pos;
    snprintf(what, sizeof(what), "the name of tensor %" PRId64, i);
    uint64_t len = 0;
    if ((st = cc_rd_string(r, what, CC_GGUF_MAX_TENSOR_NAME, t->name, sizeof(t->name), &len))) {
        return st;
    }
    if (len == 0 || strlen(t->name) != len) {
        return cc_error(CLEARCLIP_ERR_FORMAT,
                        "%s: tensor %" PRId64 " at byte %" PRIu64 " has an empty name or one "
                        "with a NUL byte",
                        r->path, i, t->at);
    }
    snprintf(what, sizeof(what), "the dimension count of tensor '%s'", t->name);
    uint32_t n_dims = 0;
    if ((st = cc_rd_u32(r, &n_dims, what))) return st;
    if (n_dims < 1 || n_dims > 4) {
        return cc_error(CLEARCLIP_ERR_FORMAT,
                        "%s: tensor '%s' at byte %" PRIu64 " has %u dimensions (1 to 4 allowed)",
                        r->path, t->name, t->at, n_dims);
    }
    int64_t n_elem = 1;
    bool overflow = false;
    for (uint32_t d = 0; d < 4; d++) {
        t->ne[d] = 1;
        if (d >= n_dims) continue;
        snprintf(what, sizeof(what), "dimension %u of tensor '%s'", d, t->name);
        if ((st = cc_rd_i64(r, &t->ne[d], what))) return st;
        if (t->ne[d] <= 0) {
            return cc_error(CLEARCLIP_ERR_FORMAT,
                            "%s: tensor '%s' at byte %" PRIu64 " has dimension %u = %" PRId64
                            " (must be positive)",
                            r->path, t->name, t->at, d, t->ne[d]);
        }
        overflow = overflow || __builtin_mul_overflow(n_elem, t->ne[d], &n_elem);
    }
    if (overflow) {
        return cc_error(CLEARCLIP_ERR_FORMAT,
                        "%s: tensor '%s' at byte %" PRIu64 " has dimensions [%" PRId64 ", %" PRId64
                        ", %" PRId64 ", %" PRId64 "] whose element count overflows 64 bits",
                        r->path, t->name, t->at, t->ne[0], t->ne[1], t->ne[2], t->ne[3]);
    }
    snprintf(what, sizeof(what), "the type of tensor '%s'", t->name);
    if ((st = cc_rd_i32(r, &t->type, what))) return st;
    /* types ggml removed keep their number but have block size 0 (and no name) */
    if (t->type < 0 || t->type >= GGML_TYPE_COUNT || ggml_blck_size(t->type) == 0) {
        return cc_error(CLEARCLIP_ERR_FORMAT,
                        "%s: tensor '%s' at byte %" PRIu64 " has unknown ggml type %d", r->path,
                        t->name, t->at, t->type);
    }
    const int64_t blck = ggml_blck_size(t->type);
    if (t->ne[0] % blck != 0) {
        return cc_error(CLEARCLIP_ERR_FORMAT,
                        "%s: tensor '%s' has type %s but its rows (%" PRId64
                        " values) are not a multiple of the block size %" PRId64,
                        r->path, t->name, ggml_type_name(t->type), t->ne[0], blck);
    }
    if (__builtin_mul_overflow((uint64_t) (n_elem / blck), (uint64_t) ggml_type_size(t->type),
                               &t->nbytes)) {
        return cc_error(CLEARCLIP_ERR_FORMAT,
                        "%s: tensor '%s' at byte %" PRIu64 " has a size in bytes that overflows "
                        "64 bits",
                        r->path, t->name, t->at);
    }
    snprintf(what, sizeof(what), "the data offset of tensor '%s'", t->name);
    return cc_rd_u64(r, &t->offset, what);
}

/* Tensor data must be stored back to back, in the order of the infos, each at a multiple of the
 * alignment (what ggml's reader requires), and lie inside the file. */
static clearclip_status cc_check_layout(const cc_reader * r, cc_tinfo * ti, int64_t n,
                                        uint32_t alignment, uint64_t data_offset) {
    uint64_t expected = 0;
    for (int64_t i = 0; i < n; i++) {
        const cc_tinfo * t = &ti[i];
        if (t->offset % alignment != 0) {
            return cc_error(CLEARCLIP_ERR_FORMAT,
                            "%s: tensor '%s' has data offset %" PRIu64
                            ", not a multiple of the alignment %u",
                            r->path, t->name, t->offset, alignment);
        }
        if (t->offset < expected) {
            return cc_error(CLEARCLIP_ERR_FORMAT,
                            "%s: tensor '%s' (data offset %" PRIu64 ") overlaps tensor '%s' "
                            "(data offsets %" PRIu64 " to %" PRIu64 ")",
                            r->path, t->name, t->offset, ti[i - 1].name, ti[i - 1].offset,
                            ti[i - 1].offset + ti[i - 1].nbytes);
        }
        if (t->offset > expected) {
            return cc_error(CLEARCLIP_ERR_FORMAT,
                            "%s: tensor '%s' has data offset %" PRIu64 " but tensors must be "
                            "stored back to back in order: expected %" PRIu64,
                            r->path, t->name, t->offset, expected);
        }
        uint64_t end = 0;
        if (__builtin_add_overflow(data_offset, t->offset, &end) ||
            __builtin_add_overflow(end, t->nbytes, &end)) {
            return cc_error(CLEARCLIP_ERR_FORMAT,
                            "%s: tensor '%s' data would end beyond byte 2^64 (%" PRIu64
                            " bytes at data offset %" PRIu64 ")",
                            r->path, t->name, t->nbytes, t->offset);
        }
        if (end > r->size) {
            return cc_error(CLEARCLIP_ERR_FORMAT,
                            "%s: file truncated: tensor '%s' data ends at byte %" PRIu64
                            " but file has %" PRIu64 " bytes",
                            r->path, t->name, end, r->size);
        }
        expected = t->offset + (t->nbytes + alignment - 1) / alignment * alignment;
    }
    return CLEARCLIP_OK;
}

clearclip_status cc_gguf_check(int fd, const char * path, uint64_t file_size,
                               uint64_t * data_offset) {
    cc_reader r = { .fd = fd, .path = path, .size = file_size };
    if (file_size == 0) {
        return cc_error(CLEARCLIP_ERR_FORMAT, "%s: not a GGUF file (the file is empty)", path);
    }
    if (!(r.buf = malloc(CC_RD_BUF))) return cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
    clearclip_status st;
    cc_tinfo * ti = NULL;
    cc_tinfo ** order = NULL;
    char magic[4] = { 0 };
    uint32_t version = 0, alignment = GGUF_DEFAULT_ALIGNMENT;
    int64_t n_tensors = 0, n_kv = 0;
    if (file_size < 4 || (st = cc_rd(&r, magic, 4, "the magic")) || memcmp(magic, "GGUF", 4) != 0) {
        st = cc_error(CLEARCLIP_ERR_FORMAT, "%s: not a GGUF file (bad magic)", path);
        goto done;
    }
    if ((st = cc_rd_u32(&r, &version, "the version"))) goto done;
    if (version != 2 && version != 3) {
        st = cc_error(CLEARCLIP_ERR_FORMAT,
                      "%s: unsupported GGUF version %u (2 and 3 are read%s)", path, version,
                      (version & 0xFFFFu) == 0 ? "; the file may be big-endian" : "");
        goto done;
    }
    if ((st = cc_rd_i64(&r, &n_tensors, "the tensor count"))) goto done;
    if (n_tensors < 0 || n_tensors > CC_GGUF_MAX_TENSORS) {
        st = cc_error(CLEARCLIP_ERR_FORMAT,
                      "%s: tensor count %" PRId64 " at byte 8 is out of range (0 to %d)", path,
                      n_tensors, CC_GGUF_MAX_TENSORS);
        goto done;
    }
    if ((st = cc_rd_i64(&r, &n_kv, "the key count"))) goto done;
    if (n_kv < 0 || n_kv > CC_GGUF_MAX_KV) {
        st = cc_error(CLEARCLIP_ERR_FORMAT,
                      "%s: key count %" PRId64 " at byte 16 is out of range (0 to %d)", path, n_kv,
                      CC_GGUF_MAX_KV);
        goto done;
    }
    if ((st = cc_check_kvs(&r, n_kv, &alignment))) goto done;
    ti = calloc((size_t) n_tensors + 1, sizeof(*ti));
    order = calloc((size_t) n_tensors + 1, sizeof(*order));
    if (!ti || !order) {
        st = cc_error(CLEARCLIP_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < n_tensors; i++) {
        if ((st = cc_check_tensor_info(&r, i, &ti[i]))) goto done;
        order[i] = &ti[i];
    }
    qsort(order, (size_t) n_tensors, sizeof(*order), cc_by_name);
    for (int64_t i = 1; i < n_tensors; i++) {
        if (strcmp(order[i - 1]->name, order[i]->name) == 0) {
            const cc_tinfo * a = order[i - 1] < order[i] ? order[i - 1] : order[i];
            const cc_tinfo * b = order[i - 1] < order[i] ? order[i] : order[i - 1];
            st = cc_error(CLEARCLIP_ERR_FORMAT,
                          "%s: duplicate tensor name '%s' (tensors at bytes %" PRIu64 " and %"
                          PRIu64 ")",
                          path, a->name, a->at, b->at);
            goto done;
        }
    }
    uint64_t start = r.pos;
    if (n_tensors > 0) {
        start = (r.pos + alignment - 1) / alignment * alignment;
        if (start > file_size) {
            st = cc_error(CLEARCLIP_ERR_FORMAT,
                          "%s: truncated GGUF file: the tensor data would start at byte %" PRIu64
                          " but the file has only %" PRIu64,
                          path, start, file_size);
            goto done;
        }
    }
    if ((st = cc_check_layout(&r, ti, n_tensors, alignment, start))) goto done;
    *data_offset = start;
done:
    free(order);
    free(ti);
    free(r.buf);
    return st;
}
