/* Hostile model files: every way a GGUF can be malformed (structure, metadata types and values,
 * non-finite weights, files that are not regular files) must give the right status and a message
 * naming the problem: no abort inside ggml, no hang, nothing printed by ggml.
 *
 * Structural cases are written byte by byte by a small GGUF writer of this test (ggml's writer
 * cannot write broken files); metadata cases edit the tiny CLIP model of tiny_model.h.
 *
 * Longer than our ~600-line guide on purpose: it is a catalogue, one short case per rule of
 * gguf_check.c and per key the loader reads, next to the byte writer those cases share; split
 * up, the writer would have to become a header of its own and the catalogue would be harder to
 * hold against the rules in models/README.md. */
#include "clearclip.h"
#include "test_common.h"
#include "tiny_model.h"
#include "segment_call.h"

#if defined(__GNUC__)
#  define CC_TEST_PRINTF __attribute__((format(printf, 1, 2)))
#else
#  define CC_TEST_PRINTF
#endif

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

static char path_buf[1024];
static const char * tmp_path(const char * name) {
    snprintf(path_buf, sizeof(path_buf), "%s/hostile-%s", test_tmp_dir(), name);
    return path_buf;
}

static clearclip_status load(const char * p, clearclip_model ** m) {
    *m = NULL;
    return clearclip_model_load(p, clearclip_model_default_params(), m);
}

/* ---- a byte-level GGUF writer --------------------------------------------- */

typedef struct gb {
    uint8_t * p;
    size_t    n, cap;
} gb;

static void gb_put(gb * b, const void * d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p   = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void gb_u32(gb * b, uint32_t v) { gb_put(b, &v, 4); }
static void gb_i32(gb * b, int32_t v) { gb_put(b, &v, 4); }
static void gb_u64(gb * b, uint64_t v) { gb_put(b, &v, 8); }
static void gb_i64(gb * b, int64_t v) { gb_put(b, &v, 8); }
static void gb_str(gb * b, const char * s) {
    gb_u64(b, strlen(s));
    gb_put(b, s, strlen(s));
}
static void gb_zeros(gb * b, size_t n) {
    for (size_t i = 0; i < n; i++) gb_put(b, "", 1);
}

/* KV writers (append to a blob that is spliced into the header) */
static void kv_str(gb * b, const char * key, const char * val) {
    gb_str(b, key);
    gb_i32(b, GGUF_TYPE_STRING);
    gb_str(b, val);
}
static void kv_u32(gb * b, const char * key, uint32_t val) {
    gb_str(b, key);
    gb_i32(b, GGUF_TYPE_UINT32);
    gb_u32(b, val);
}

typedef struct rt { /* one tensor info */
    const char * name;
    uint32_t     n_dims;
    int64_t      ne[4];
    int32_t      type;
    uint64_t     offset;
} rt;

typedef struct spec {
    uint32_t version;
    int64_t  n_tensors, n_kv; /* as written in the header; -99: the real counts */
    const gb * kvs;           /* extra key-value pairs after general.architecture */
    int64_t  n_extra_kv;
    rt       t[3];
    int      nt;
    uint32_t align;           /* padding before the data (general.alignment is set via kvs) */
    size_t   data_bytes;
} spec;

/* A valid file: general.architecture = "raw", tensors a [8] f32 and b [4, 2] f32, 64 data bytes. */
static spec base_spec(void) {
    spec s = { .version = 3, .n_tensors = -99, .n_kv = -99, .nt = 2, .align = 32,
               .data_bytes = 64 };
    s.t[0] = (rt) { "a", 1, { 8, 1, 1, 1 }, GGML_TYPE_F32, 0 };
    s.t[1] = (rt) { "b", 2, { 4, 2, 1, 1 }, GGML_TYPE_F32, 32 };
    return s;
}

static gb build(const spec * s) {
    gb b = { 0 };
    gb_put(&b, "GGUF", 4);
    gb_u32(&b, s->version);
    gb_i64(&b, s->n_tensors == -99 ? s->nt : s->n_tensors);
    gb_i64(&b, s->n_kv == -99 ? 1 + s->n_extra_kv : s->n_kv);
    kv_str(&b, "general.architecture", "raw");
    if (s->kvs) gb_put(&b, s->kvs->p, s->kvs->n);
    for (int i = 0; i < s->nt; i++) {
        const rt * t = &s->t[i];
        gb_str(&b, t->name);
        gb_u32(&b, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims && d < 8; d++) gb_i64(&b, t->ne[d < 4 ? d : 3]);
        gb_i32(&b, t->type);
        gb_u64(&b, t->offset);
    }
    if (s->nt > 0) {
        while (b.n % s->align) gb_put(&b, "", 1);
    }
    gb_zeros(&b, s->data_bytes);
    return b;
}

static void write_bytes(const char * p, const void * d, size_t n) {
    /* a fresh file each time: rewriting one in place makes ext4 flush it (auto_da_alloc), which
     * took seconds over the thousands of truncated files */
    unlink(p);
    FILE * f = fopen(p, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(fwrite(d, 1, n, f) == n);
    fclose(f);
}

#define EXPECT_FILE(bytes, n, name, status, needle)                       \
    do {                                                                  \
        const char * p_ = tmp_path(name);                                 \
        write_bytes(p_, (bytes), (n));                                    \
        clearclip_model * m_ = NULL;                                      \
        CHECK_STATUS(load(p_, &m_), (status), (needle));                  \
        CHECK(m_ == NULL);                                                \
        clearclip_model_free(m_);                                         \
    } while (0)

#define EXPECT_SPEC(s, name, status, needle)                              \
    do {                                                                  \
        gb b_ = build(&(s));                                              \
        EXPECT_FILE(b_.p, b_.n, name, status, needle);                    \
        free(b_.p);                                                       \
    } while (0)

/* Formats a needle into one of a few rotating buffers. */
static const char * F(const char * fmt, ...) CC_TEST_PRINTF;
static const char * F(const char * fmt, ...) {
    static char bufs[4][512];
    static int next;
    char * b = bufs[next++ % 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, 512, fmt, ap);
    va_end(ap);
    return b;
}

/* Where things start in files of the base spec, from the format's field sizes: the header
 * (magic, version, two counts), then general.architecture = "raw" (key, type, value). */
static const size_t KV_AT = 4 + 4 + 8 + 8 + (8 + 20) + 4 + (8 + 3);
/* tensor infos follow the keys: name, n_dims, dims, type, offset */
static size_t tinfo_size(size_t name_len, size_t n_dims) {
    return 8 + name_len + 4 + 8 * n_dims + 4 + 8;
}
#define T0_AT KV_AT
#define T1_AT (KV_AT + tinfo_size(1, 1))
#define HDR_END (T1_AT + tinfo_size(1, 2))
#define DATA_AT ((HDR_END + 31) / 32 * 32)

/* ---- not regular files ----------------------------------------------------- */

static void special_files(void) {
    clearclip_model * m = NULL;
    const char * fifo = tmp_path("fifo.gguf");
    unlink(fifo);
    CHECK(mkfifo(fifo, 0600) == 0);
    /* used to block in open() forever; the alarm turns a regression into a failure, not a hang */
    alarm(20);
    CHECK_STATUS(load(fifo, &m), CLEARCLIP_ERR_IO, "is a FIFO, not a regular file");
    alarm(0);
    unlink(fifo);

    const char * dir = tmp_path("dir.gguf");
    rmdir(dir);
    CHECK(mkdir(dir, 0700) == 0);
    CHECK_STATUS(load(dir, &m), CLEARCLIP_ERR_IO, "is a directory, not a regular file");
    rmdir(dir);

    CHECK_STATUS(load("/dev/zero", &m), CLEARCLIP_ERR_IO,
                 "/dev/zero: is a character device, not a regular file");
    CHECK(m == NULL);

    EXPECT_FILE("", 0, "empty.gguf", CLEARCLIP_ERR_FORMAT, "not a GGUF file (the file is empty)");
    EXPECT_FILE("GG", 2, "two-bytes.gguf", CLEARCLIP_ERR_FORMAT, "not a GGUF file (bad magic)");
}

/* ---- header, counts ---------------------------------------------------------- */

static void header_and_counts(void) {
    spec s = base_spec();
    /* the base file passes the structure check: it fails only on what it describes */
    EXPECT_SPEC(s, "base.gguf", CLEARCLIP_ERR_MODEL, "general.architecture is 'raw'");

    s.version = 1;
    EXPECT_SPEC(s, "v1.gguf", CLEARCLIP_ERR_FORMAT, "unsupported GGUF version 1");
    s.version = 4;
    EXPECT_SPEC(s, "v4.gguf", CLEARCLIP_ERR_FORMAT, "unsupported GGUF version 4");
    s.version = 0x03000000u;
    EXPECT_SPEC(s, "big-endian.gguf", CLEARCLIP_ERR_FORMAT, "may be big-endian");
    s = base_spec();
    s.version = 2; /* same layout as 3 */
    EXPECT_SPEC(s, "v2.gguf", CLEARCLIP_ERR_MODEL, "general.architecture is 'raw'");

    s = base_spec();
    s.n_tensors = -1;
    EXPECT_SPEC(s, "tensors-neg.gguf", CLEARCLIP_ERR_FORMAT, "tensor count -1 at byte 8 is out of range");
    s.n_tensors = (int64_t) 1 << 40;
    EXPECT_SPEC(s, "tensors-huge.gguf", CLEARCLIP_ERR_FORMAT,
                "tensor count 1099511627776 at byte 8 is out of range (0 to 8192)");
    s = base_spec();
    s.n_kv = INT64_MAX;
    EXPECT_SPEC(s, "kv-huge.gguf", CLEARCLIP_ERR_FORMAT, "key count 9223372036854775807 at byte 16");
    s.n_kv = -5;
    EXPECT_SPEC(s, "kv-neg.gguf", CLEARCLIP_ERR_FORMAT, "key count -5 at byte 16 is out of range");
    s = base_spec();
    s.n_kv = 3; /* claims more keys than there are: the tensor infos are read as keys */
    /* key 'a' (INT8, the n_dims byte), then an empty key name */
    EXPECT_SPEC(s, "kv-more.gguf", CLEARCLIP_ERR_FORMAT,
                F("key 2 at byte %zu is empty", KV_AT + (8 + 1) + 4 + 1));
}

/* ---- key-value pairs --------------------------------------------------------- */

static void key_values(void) {
    spec s = base_spec();
    gb k = { 0 };
    s.kvs = &k;
    s.n_extra_kv = 1;

#define KV_CASE(name, status, needle) \
    EXPECT_SPEC(s, name, status, needle); \
    k.n = 0;

    kv_str(&k, "", "x");
    KV_CASE("key-empty.gguf", CLEARCLIP_ERR_FORMAT, F("key 1 at byte %zu is empty", KV_AT));
    kv_str(&k, "general.architecture", "clip");
    KV_CASE("key-dup.gguf", CLEARCLIP_ERR_FORMAT,
            F("duplicate key 'general.architecture' at byte %zu (keys 0 and 1)", KV_AT));
    gb_u64(&k, 5);
    gb_put(&k, "ab\0cd", 5);
    gb_i32(&k, GGUF_TYPE_UINT8);
    gb_put(&k, "", 1);
    KV_CASE("key-nul.gguf", CLEARCLIP_ERR_FORMAT,
            F("key 'ab' (key 1) at byte %zu contains a NUL byte", KV_AT));
    gb_u64(&k, 2000);
    gb_zeros(&k, 2000);
    gb_i32(&k, GGUF_TYPE_UINT8);
    gb_put(&k, "", 1);
    KV_CASE("key-long.gguf", CLEARCLIP_ERR_FORMAT,
            F("the name of key 1 at byte %zu is 2000 bytes long, more than the limit of 1024", KV_AT));
    gb_str(&k, "k.type");
    gb_i32(&k, 99);
    KV_CASE("type-bad.gguf", CLEARCLIP_ERR_FORMAT, F("key 'k.type' at byte %zu has invalid type 99", KV_AT));
    gb_str(&k, "k.type");
    gb_i32(&k, -1);
    KV_CASE("type-neg.gguf", CLEARCLIP_ERR_FORMAT, F("key 'k.type' at byte %zu has invalid type -1", KV_AT));

    /* arrays */
    gb_str(&k, "k.nested");
    gb_i32(&k, GGUF_TYPE_ARRAY);
    gb_i32(&k, GGUF_TYPE_ARRAY);
    gb_u64(&k, 1);
    KV_CASE("arr-nested.gguf", CLEARCLIP_ERR_FORMAT, F("key 'k.nested' at byte %zu is an array of arrays", KV_AT));
    gb_str(&k, "k.arr");
    gb_i32(&k, GGUF_TYPE_ARRAY);
    gb_i32(&k, 13);
    gb_u64(&k, 1);
    KV_CASE("arr-elem.gguf", CLEARCLIP_ERR_FORMAT, F("key 'k.arr' at byte %zu has invalid array element type 13", KV_AT));
    gb_str(&k, "k.arr");
    gb_i32(&k, GGUF_TYPE_ARRAY);
    gb_i32(&k, GGUF_TYPE_UINT8);
    gb_u64(&k, (uint64_t) 1 << 40);
    KV_CASE("arr-huge.gguf", CLEARCLIP_ERR_FORMAT,
            F("key 'k.arr' at byte %zu is an array of 1099511627776 elements, more than the limit of "
              "2097152", KV_AT));
    gb_str(&k, "k.arr");
    gb_i32(&k, GGUF_TYPE_ARRAY);
    gb_i32(&k, GGUF_TYPE_STRING);
    gb_u64(&k, (uint64_t) 1 << 20); /* below the limit, but 8 MiB of lengths the file lacks */
    KV_CASE("arr-str-count.gguf", CLEARCLIP_ERR_FORMAT,
            "truncated GGUF header: the values of key 'k.arr'");
    gb_str(&k, "k.arr");
    gb_i32(&k, GGUF_TYPE_ARRAY);
    gb_i32(&k, GGUF_TYPE_STRING);
    gb_u64(&k, 2);
    gb_str(&k, "ok");
    gb_u64(&k, (uint64_t) 1 << 33);
    KV_CASE("arr-str-len.gguf", CLEARCLIP_ERR_FORMAT,
            F("string 1 of key 'k.arr' at byte %zu is 8589934592 bytes long, more than the limit "
              "of 1048576", KV_AT + (8 + 5) + 4 + 4 + 8 + (8 + 2)));
    /* strings */
    gb_str(&k, "k.str");
    gb_i32(&k, GGUF_TYPE_STRING);
    gb_u64(&k, UINT64_MAX);
    KV_CASE("str-huge.gguf", CLEARCLIP_ERR_FORMAT,
            F("the value of key 'k.str' at byte %zu is 18446744073709551615 bytes long",
              KV_AT + (8 + 5) + 4));
    /* array / string values longer than the rest of the file (no tensors follow) */
    s.nt = 0;
    s.data_bytes = 0;
    gb_str(&k, "k.arr");
    gb_i32(&k, GGUF_TYPE_ARRAY);
    gb_i32(&k, GGUF_TYPE_FLOAT32);
    gb_u64(&k, 1000);
    KV_CASE("arr-past-end.gguf", CLEARCLIP_ERR_FORMAT,
            F("truncated GGUF header: the values of key 'k.arr' at byte %zu needs 4000 bytes but the "
              "file has only %zu", KV_AT + 29, KV_AT + 29));
    gb_str(&k, "k.str");
    gb_i32(&k, GGUF_TYPE_STRING);
    gb_u64(&k, 5000);
    KV_CASE("str-past-end.gguf", CLEARCLIP_ERR_FORMAT,
            F("truncated GGUF header: the value of key 'k.str' at byte %zu needs 5000 bytes",
              KV_AT + 25));
    s = base_spec();
    s.kvs = &k;
    s.n_extra_kv = 1;

    /* general.alignment */
    kv_str(&k, "general.alignment", "32");
    KV_CASE("align-str.gguf", CLEARCLIP_ERR_FORMAT,
            "key 'general.alignment' has type str, must be a uint32");
    gb_str(&k, "general.alignment");
    gb_i32(&k, GGUF_TYPE_UINT64);
    gb_u64(&k, 32);
    KV_CASE("align-u64.gguf", CLEARCLIP_ERR_FORMAT,
            "key 'general.alignment' has type u64, must be a uint32");
    gb_str(&k, "general.alignment");
    gb_i32(&k, GGUF_TYPE_ARRAY);
    gb_i32(&k, GGUF_TYPE_UINT32);
    gb_u64(&k, 1);
    gb_u32(&k, 32);
    KV_CASE("align-arr.gguf", CLEARCLIP_ERR_FORMAT, "key 'general.alignment' is an array");
    const uint32_t bad_align[] = { 0, 3, 4, 48, 1u << 20 };
    for (size_t i = 0; i < sizeof(bad_align) / sizeof(bad_align[0]); i++) {
        kv_u32(&k, "general.alignment", bad_align[i]);
        char needle[96];
        snprintf(needle, sizeof(needle), "general.alignment is %u; it must be a power of two",
                 bad_align[i]);
        KV_CASE("align-bad.gguf", CLEARCLIP_ERR_FORMAT, needle);
    }
    /* a valid alignment other than 32 is honoured */
    kv_u32(&k, "general.alignment", 64);
    s.align = 64;
    s.t[1].offset = 64;
    s.data_bytes = 96;
    KV_CASE("align-64.gguf", CLEARCLIP_ERR_MODEL, "general.architecture is 'raw'");
#undef KV_CASE
    free(k.p);
}

/* ---- tensor infos and layout -------------------------------------------------- */

static void tensors(void) {
    spec s;
#define T_CASE(edit, name, status, needle) \
    s = base_spec();                       \
    edit;                                  \
    EXPECT_SPEC(s, name, status, needle);

    T_CASE(s.t[1].name = "", "name-empty.gguf", CLEARCLIP_ERR_FORMAT,
           F("tensor 1 at byte %zu has an empty name", T1_AT));
    T_CASE(s.t[1].name = "0123456789012345678901234567890123456789012345678901234567890123",
           "name-long.gguf", CLEARCLIP_ERR_FORMAT,
           F("the name of tensor 1 at byte %zu is 64 bytes long, more than the limit of 63", T1_AT));
    T_CASE(s.t[1].name = "a", "name-dup.gguf", CLEARCLIP_ERR_FORMAT,
           F("duplicate tensor name 'a' (tensors at bytes %zu and %zu)", T0_AT, T1_AT));
    T_CASE(s.t[0].n_dims = 0, "dims-0.gguf", CLEARCLIP_ERR_FORMAT,
           F("tensor 'a' at byte %zu has 0 dimensions (1 to 4 allowed)", T0_AT));
    T_CASE(s.t[0].n_dims = 5, "dims-5.gguf", CLEARCLIP_ERR_FORMAT,
           F("tensor 'a' at byte %zu has 5 dimensions (1 to 4 allowed)", T0_AT));
    T_CASE(s.t[1].ne[1] = 0, "dim-zero.gguf", CLEARCLIP_ERR_FORMAT,
           F("tensor 'b' at byte %zu has dimension 1 = 0 (must be positive)", T1_AT));
    T_CASE(s.t[1].ne[0] = -4, "dim-neg.gguf", CLEARCLIP_ERR_FORMAT,
           F("tensor 'b' at byte %zu has dimension 0 = -4 (must be positive)", T1_AT));
    T_CASE((s.t[1].n_dims = 3, s.t[1].ne[0] = (int64_t) 1 << 32, s.t[1].ne[1] = (int64_t) 1 << 32,
            s.t[1].ne[2] = 2),
           "dim-overflow.gguf", CLEARCLIP_ERR_FORMAT,
           F("tensor 'b' at byte %zu has dimensions [4294967296, 4294967296, 2, 1] whose element "
           "count overflows 64 bits", T1_AT));
    T_CASE((s.t[1].ne[0] = (int64_t) 1 << 31, s.t[1].ne[1] = (int64_t) 1 << 31), "bytes-overflow.gguf",
           CLEARCLIP_ERR_FORMAT,
           F("tensor 'b' at byte %zu has a size in bytes that overflows 64 bits", T1_AT));
    T_CASE((s.t[1].ne[0] = (int64_t) 1 << 30, s.t[1].ne[1] = (int64_t) 1 << 30), "dim-big.gguf",
           CLEARCLIP_ERR_FORMAT,
           F("file truncated: tensor 'b' data ends at byte %zu but file has %zu bytes",
             DATA_AT + 32 + ((size_t) 1 << 62), DATA_AT + 64));
    T_CASE(s.t[1].type = 4 /* Q4_2, removed from ggml */, "type-removed.gguf",
           CLEARCLIP_ERR_FORMAT, F("tensor 'b' at byte %zu has unknown ggml type 4", T1_AT));
    T_CASE(s.t[1].type = 1000, "type-big.gguf", CLEARCLIP_ERR_FORMAT,
           F("tensor 'b' at byte %zu has unknown ggml type 1000", T1_AT));
    T_CASE(s.t[1].type = -1, "type-neg.gguf", CLEARCLIP_ERR_FORMAT,
           F("tensor 'b' at byte %zu has unknown ggml type -1", T1_AT));
    T_CASE((s.t[1].type = GGML_TYPE_Q8_0, s.t[1].ne[0] = 33, s.t[1].ne[1] = 1), "row-block.gguf",
           CLEARCLIP_ERR_FORMAT,
           "tensor 'b' has type q8_0 but its rows (33 values) are not a multiple of the block "
           "size 32");

    /* layout */
    T_CASE(s.t[1].offset = 16, "misaligned.gguf", CLEARCLIP_ERR_FORMAT,
           "tensor 'b' has data offset 16, not a multiple of the alignment 32");
    T_CASE(s.t[1].offset = 0, "overlap.gguf", CLEARCLIP_ERR_FORMAT,
           "tensor 'b' (data offset 0) overlaps tensor 'a' (data offsets 0 to 32)");
    T_CASE((s.t[0].ne[0] = 16, s.t[1].offset = 32), "overlap-part.gguf", CLEARCLIP_ERR_FORMAT,
           "tensor 'b' (data offset 32) overlaps tensor 'a' (data offsets 0 to 64)");
    T_CASE(s.t[1].offset = 64, "gap.gguf", CLEARCLIP_ERR_FORMAT,
           "tensor 'b' has data offset 64 but tensors must be stored back to back in order: "
           "expected 32");
    T_CASE(s.t[1].offset = UINT64_MAX - 31, "offset-huge.gguf", CLEARCLIP_ERR_FORMAT,
           "tensor 'b' has data offset 18446744073709551584 but tensors must be stored back to "
           "back");
    T_CASE(s.data_bytes = 40, "data-short.gguf", CLEARCLIP_ERR_FORMAT,
           F("file truncated: tensor 'b' data ends at byte %zu but file has %zu bytes",
             DATA_AT + 64, DATA_AT + 40));
    T_CASE((s.data_bytes = 0, s.align = 1), "data-none.gguf", CLEARCLIP_ERR_FORMAT,
           F("truncated GGUF file: the tensor data would start at byte %zu but the file has only "
             "%zu", DATA_AT, HDR_END));
#undef T_CASE
}

/* Every prefix of a valid file is refused as truncated: each field of the header, the padding
 * and the data of each tensor. */
static void truncations(void) {
    spec s = base_spec();
    gb b = build(&s);
    int bad = 0;
    /* written once, then cut shorter and shorter (cheaper than thousands of new files) */
    const char * p = tmp_path("cut.gguf");
    write_bytes(p, b.p, b.n);
    for (size_t cut = b.n; cut-- > 0;) {
        CHECK(truncate(p, (off_t) cut) == 0);
        clearclip_model * m = NULL;
        clearclip_status st = load(p, &m);
        const char * msg = clearclip_last_error();
        if (st != CLEARCLIP_ERR_FORMAT ||
            (!strstr(msg, "truncated") && !strstr(msg, "not a GGUF file")) || m) {
            if (bad++ < 5) {
                fprintf(stderr, "cut at %zu of %zu: %s: %s\n", cut, b.n,
                        clearclip_status_name(st), msg);
            }
        }
        clearclip_model_free(m);
    }
    CHECK(bad == 0);
    free(b.p);

    /* the tiny CLIP model: every cut inside the header, and in each tensor's data (ggml's own
     * reader of the intact file tells where each tensor ends) */
    const char * full = tmp_path("tiny-full.gguf");
    tiny_variant v = { 0 };
    CHECK(write_tiny_model(full, &v));
    FILE * f = fopen(full, "rb");
    fseek(f, 0, SEEK_END);
    size_t size = (size_t) ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t * data = malloc(size);
    CHECK(fread(data, 1, size, f) == size);
    fclose(f);
    struct gguf_init_params gp = { .no_alloc = true, .ctx = NULL };
    struct gguf_context * g = gguf_init_from_file(full, gp);
    CHECK(g != NULL);
    if (!g) return;
    size_t data_offset = gguf_get_data_offset(g);
    bad = 0;
    write_bytes(p, data, data_offset + 1);
    for (size_t cut = data_offset + 1; cut-- > 0;) {
        CHECK(truncate(p, (off_t) cut) == 0);
        clearclip_model * m = NULL;
        clearclip_status st = load(p, &m);
        const char * msg = clearclip_last_error();
        if (st != CLEARCLIP_ERR_FORMAT ||
            (!strstr(msg, "truncated") && !strstr(msg, "not a GGUF file")) || m) {
            if (bad++ < 5) fprintf(stderr, "tiny cut at %zu: %s\n", cut, msg);
        }
        clearclip_model_free(m);
    }
    CHECK(bad == 0);
    bad = 0;
    for (int64_t i = 0; i < gguf_get_n_tensors(g); i++) {
        size_t end = data_offset + gguf_get_tensor_offset(g, i) + gguf_get_tensor_size(g, i);
        write_bytes(p, data, end - 1);
        clearclip_model * m = NULL;
        char needle[160];
        snprintf(needle, sizeof(needle), "file truncated: tensor '%s' data ends at byte %zu",
                 gguf_get_tensor_name(g, i), end);
        clearclip_status st = load(p, &m);
        if (st != CLEARCLIP_ERR_FORMAT || !strstr(clearclip_last_error(), needle)) {
            if (bad++ < 5) fprintf(stderr, "%s: %s\n", needle, clearclip_last_error());
        }
        clearclip_model_free(m);
    }
    CHECK(bad == 0);
    gguf_free(g);
    free(data);
}

/* ---- metadata of the tiny CLIP model: wrong types and values of each key ---------- */

enum edit_kind { E_STR, E_STR_ARR, E_F32_ARR, E_U32, E_F32, E_I64, E_F32_ARR2,
                 E_TOKENIZER /* 3 tokens and 3 merges, then edit_key set to a u32 */ };
static const char * edit_key;
static enum edit_kind edit_kind;
static double edit_value;

static void apply_edit(struct gguf_context * g) {
    const char * strs[3] = { "a", "b", "c" };
    const float f3[3] = { (float) edit_value, 0.5f, 0.5f };
    switch (edit_kind) {
        case E_STR:      gguf_set_val_str(g, edit_key, "text"); break;
        case E_STR_ARR:  gguf_set_arr_str(g, edit_key, strs, 3); break;
        case E_F32_ARR:  gguf_set_arr_data(g, edit_key, GGUF_TYPE_FLOAT32, f3, 3); break;
        case E_F32_ARR2: gguf_set_arr_data(g, edit_key, GGUF_TYPE_FLOAT32, f3, 2); break;
        case E_U32:      gguf_set_val_u32(g, edit_key, (uint32_t) edit_value); break;
        case E_F32:      gguf_set_val_f32(g, edit_key, (float) edit_value); break;
        case E_I64:      gguf_set_val_i64(g, edit_key, (int64_t) edit_value); break;
        case E_TOKENIZER:
            gguf_set_arr_str(g, "tokenizer.ggml.tokens", strs, 3);
            gguf_set_arr_str(g, "tokenizer.ggml.merges", strs, 3);
            if (edit_key) gguf_set_val_u32(g, edit_key, 7);
            break;
    }
}

static void expect_edit(const char * key, enum edit_kind kind, double value,
                        clearclip_status status, const char * needle) {
    edit_key   = key;
    edit_kind  = kind;
    edit_value = value;
    tiny_variant v = { .edit = apply_edit };
    const char * p = tmp_path("edited.gguf");
    CHECK(write_tiny_model(p, &v));
    clearclip_model * m = NULL;
    clearclip_status st = load(p, &m);
    const char * msg = clearclip_last_error();
    CHECK_MSG(st == status && strstr(msg, needle) != NULL,
              "%s edited (kind %d, %g): got %s \"%s\", expected %s \"%s\"", key ? key : "-",
              (int) kind, value,
              clearclip_status_name(st), msg, clearclip_status_name(status), needle);
    CHECK(m == NULL);
    clearclip_model_free(m);
}

static void metadata(void) {
    /* every key the loader reads, given a value of the wrong kind */
    static const char * const scalar_keys[] = {
        "general.architecture", "general.name", "general.file_type", "clip.has_text_encoder",
        "clip.has_vision_encoder", "clip.use_gelu", "clip.has_llava_projector",
        "clip.text.embedding_length", "clip.text.feed_forward_length", "clip.text.block_count",
        "clip.text.projection_dim", "clip.text.attention.head_count",
        "clip.text.attention.layer_norm_epsilon", "clip.text.context_length",
        "clip.vision.embedding_length", "clip.vision.feed_forward_length",
        "clip.vision.block_count", "clip.vision.projection_dim",
        "clip.vision.attention.head_count", "clip.vision.attention.layer_norm_epsilon",
        "clip.vision.image_size", "clip.vision.patch_size", "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id",
    };
    for (size_t i = 0; i < sizeof(scalar_keys) / sizeof(scalar_keys[0]); i++) {
        const char * k = scalar_keys[i];
        const bool is_str = strncmp(k, "general.a", 9) == 0 || strcmp(k, "general.name") == 0;
        char needle[128];
        snprintf(needle, sizeof(needle), "'%s'", k);
        if (!is_str) expect_edit(k, E_STR, 0, CLEARCLIP_ERR_MODEL, needle);
        expect_edit(k, E_STR_ARR, 0, CLEARCLIP_ERR_MODEL, needle);
        expect_edit(k, E_F32_ARR, 1, CLEARCLIP_ERR_MODEL, needle);
        if (is_str) expect_edit(k, E_U32, 1, CLEARCLIP_ERR_MODEL, needle);
    }
    expect_edit("clip.text.attention.layer_norm_epsilon", E_U32, 1, CLEARCLIP_ERR_MODEL,
                "key 'clip.text.attention.layer_norm_epsilon' has type u32, expected a float");

    /* the arrays: the abort (a string array reached gguf_get_arr_data), and the rest */
    static const char * const arr_keys[] = { "clip.vision.image_mean", "clip.vision.image_std" };
    for (int i = 0; i < 2; i++) {
        char needle[160];
        snprintf(needle, sizeof(needle), "key '%s' is an array of str, expected an array of 3 floats",
                 arr_keys[i]);
        expect_edit(arr_keys[i], E_STR_ARR, 0, CLEARCLIP_ERR_MODEL, needle);
        snprintf(needle, sizeof(needle), "key '%s' has type str, expected an array of 3 floats",
                 arr_keys[i]);
        expect_edit(arr_keys[i], E_STR, 0, CLEARCLIP_ERR_MODEL, needle);
        snprintf(needle, sizeof(needle), "key '%s' has type f32, expected an array", arr_keys[i]);
        expect_edit(arr_keys[i], E_F32, 0.5, CLEARCLIP_ERR_MODEL, needle);
        snprintf(needle, sizeof(needle), "key '%s' has 2 elements, expected an array of 3 floats",
                 arr_keys[i]);
        expect_edit(arr_keys[i], E_F32_ARR2, 0.5, CLEARCLIP_ERR_MODEL, needle);
        snprintf(needle, sizeof(needle), "key '%s' element 0 is nan, must be finite", arr_keys[i]);
        expect_edit(arr_keys[i], E_F32_ARR, NAN, CLEARCLIP_ERR_MODEL, needle);
        snprintf(needle, sizeof(needle), "key '%s' element 0 is inf, must be finite", arr_keys[i]);
        expect_edit(arr_keys[i], E_F32_ARR, INFINITY, CLEARCLIP_ERR_MODEL, needle);
    }
    expect_edit("clip.vision.image_std", E_F32_ARR, 0, CLEARCLIP_ERR_MODEL,
                "clip.vision.image_std element 0 is 0, must be positive");
    expect_edit("clip.vision.image_std", E_F32_ARR, -0.2, CLEARCLIP_ERR_MODEL,
                "clip.vision.image_std element 0 is -0.2, must be positive");
    expect_edit("tokenizer.ggml.tokens", E_U32, 3, CLEARCLIP_ERR_MODEL,
                "tokenizer.ggml.tokens must be a string array");
    expect_edit("tokenizer.ggml.merges", E_TOKENIZER, 0, CLEARCLIP_ERR_MODEL,
                "tokenizer.ggml.merges is not a string array");
    expect_edit(NULL, E_TOKENIZER, 0, CLEARCLIP_ERR_MODEL,
                "tokenizer has 3 tokens but t.token_embd.weight has 16 rows");

    /* values */
    const char * eps = "clip.vision.attention.layer_norm_epsilon";
    expect_edit(eps, E_F32, NAN, CLEARCLIP_ERR_MODEL, "layer_norm_epsilon' is nan, must be finite");
    expect_edit(eps, E_F32, INFINITY, CLEARCLIP_ERR_MODEL, "layer_norm_epsilon' is inf, must be finite");
    expect_edit(eps, E_F32, 0, CLEARCLIP_ERR_MODEL, "layer_norm_epsilon' is 0, must be positive");
    expect_edit(eps, E_F32, -1e-5, CLEARCLIP_ERR_MODEL, "layer_norm_epsilon' is -1e-05, must be positive");
    expect_edit("clip.text.block_count", E_U32, 100000, CLEARCLIP_ERR_MODEL,
                "key 'clip.text.block_count' = 100000 is out of range (at most 1024)");
    expect_edit("clip.vision.embedding_length", E_I64, 1e12, CLEARCLIP_ERR_MODEL,
                "key 'clip.vision.embedding_length' = 1000000000000 is out of range");
    expect_edit("clip.vision.embedding_length", E_I64, -32, CLEARCLIP_ERR_MODEL,
                "key 'clip.vision.embedding_length' = -32 is out of range");
    expect_edit("clip.vision.attention.head_count", E_U32, 0, CLEARCLIP_ERR_MODEL,
                "key 'clip.vision.attention.head_count' = 0 is out of range");
    expect_edit("clip.vision.attention.head_count", E_U32, 3, CLEARCLIP_ERR_MODEL,
                "vision width 32 is not divisible by its 3 attention heads");
    expect_edit("clip.text.context_length", E_U32, 1, CLEARCLIP_ERR_MODEL,
                "key 'clip.text.context_length' = 1 is out of range");
    expect_edit("clip.text.context_length", E_U32, 4000000, CLEARCLIP_ERR_MODEL,
                "key 'clip.text.context_length' = 4000000 is out of range (at most 65536)");
    expect_edit("clip.vision.patch_size", E_U32, 7, CLEARCLIP_ERR_MODEL,
                "image size 32 is not a multiple of the patch size 7");
    expect_edit("clip.vision.image_size", E_U32, 48, CLEARCLIP_ERR_MODEL,
                "tensor 'v.position_embd.weight' has shape [32, 5], expected [32, 10]");
    expect_edit("clip.text.feed_forward_length", E_U32, 128, CLEARCLIP_ERR_MODEL,
                "tensor 't.blk.0.ffn_up.weight' has shape [32, 256], expected [32, 128]");
    expect_edit("tokenizer.ggml.eos_token_id", E_U32, TINY_VOCAB, CLEARCLIP_ERR_MODEL,
                "tokenizer.ggml.eos_token_id 16 is outside the vocabulary of 16 tokens");
    expect_edit("tokenizer.ggml.bos_token_id", E_U32, 70000, CLEARCLIP_ERR_MODEL,
                "tokenizer.ggml.bos_token_id 70000 is outside the vocabulary of 16 tokens");
}

/* ---- non-finite weights --------------------------------------------------------- */

static void non_finite_weights(void) {
    static const char * const small[] = { "v.blk.0.attn_q.bias", "v.position_embd.weight",
                                          "v.class_embd", "t.post_ln.weight",
                                          "t.position_embd.weight", "v.pre_ln.bias" };
    for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
        tiny_variant v = { .poison_tensor = small[i], .poison_value = i % 2 ? INFINITY : NAN };
        const char * p = tmp_path("poison-small.gguf");
        CHECK(write_tiny_model(p, &v));
        char needle[128];
        snprintf(needle, sizeof(needle), "tensor '%s' contains NaN or infinity", small[i]);
        clearclip_model * m = NULL;
        CHECK_STATUS(load(p, &m), CLEARCLIP_ERR_MODEL, needle);
        clearclip_model_params mp = clearclip_model_default_params();
        mp.use_mmap = false; /* the read-into-memory path checks too */
        CHECK_STATUS(clearclip_model_load(p, mp, &m), CLEARCLIP_ERR_MODEL, needle);
        CHECK(m == NULL);
    }

    /* a matrix: too large to scan at load; every output of the tower fails instead */
    const char * const needle = "model produced non-finite values; the weights of ";
    tiny_variant v = { .poison_tensor = "v.blk.0.attn_v.weight", .poison_value = NAN };
    const char * p = tmp_path("poison-vision.gguf");
    CHECK(write_tiny_model(p, &v));
    clearclip_model * m = NULL;
    CHECK_MSG(load(p, &m) == CLEARCLIP_OK, "%s", clearclip_last_error());
    if (m) {
        clearclip_context_params cp = clearclip_context_default_params();
        cp.n_threads = 1;
        cp.backend = "cpu";
        clearclip_context * c = NULL;
        CHECK(clearclip_context_init(m, cp, &c) == CLEARCLIP_OK);
        float px[3 * 32 * 32];
        for (int i = 0; i < 3 * 32 * 32; i++) px[i] = (float) (i % 7) / 7.0f - 0.5f;
        float out[TINY_P * 16];
        CHECK_STATUS(clearclip_encode_image(c, px, 32, 32, out), CLEARCLIP_ERR_MODEL, needle);
        CHECK(strstr(clearclip_last_error(), "poison-vision.gguf") != NULL);
        CHECK_STATUS(clearclip_dense_features(c, px, 32, 32, CLEARCLIP_MODE_CLEARCLIP, out),
                     CLEARCLIP_ERR_MODEL, needle);
        uint8_t rgb[32 * 32 * 3];
        for (int i = 0; i < 32 * 32 * 3; i++) rgb[i] = (uint8_t) (i * 37);
        float emb[2 * TINY_P] = { 0 };
        emb[0] = 1;
        emb[TINY_P + 1] = 1;
        int32_t labels[32 * 32];
        clearclip_segment_params sp = clearclip_segment_default_params();
        sp.short_side = 0;
        sp.crop = 32;
        sp.stride = 16;
        CHECK_STATUS(segment_call(TINY_P, c, rgb, 32, 32, 32 * 3, emb, 2, NULL, 2, sp, labels, NULL),
                     CLEARCLIP_ERR_MODEL, needle);
        /* the text tower is intact and still works */
        const int32_t ids[3] = { TINY_BOS, 3, TINY_EOS };
        CHECK_MSG(clearclip_encode_tokens(c, ids, 1, 3, out) == CLEARCLIP_OK, "%s",
                  clearclip_last_error());
        /* a NaN pixel is the caller's, not the model's */
        px[5] = NAN;
        CHECK_STATUS(clearclip_encode_image(c, px, 32, 32, out), CLEARCLIP_ERR_INVALID_ARGUMENT,
                     "pixels[5] is nan, must be finite");
        clearclip_context_free(c);
        clearclip_model_free(m);
    }
    v = (tiny_variant) { .poison_tensor = "t.blk.0.ffn_up.weight", .poison_value = INFINITY };
    p = tmp_path("poison-text.gguf");
    CHECK(write_tiny_model(p, &v));
    CHECK_MSG(load(p, &m) == CLEARCLIP_OK, "%s", clearclip_last_error());
    if (m) {
        clearclip_context * c = NULL;
        CHECK(clearclip_context_init(m, clearclip_context_default_params(), &c) == CLEARCLIP_OK);
        const int32_t ids[2][4] = { { TINY_BOS, 3, TINY_EOS, 0 }, { TINY_BOS, 5, 6, TINY_EOS } };
        float out[2 * TINY_P];
        CHECK_STATUS(clearclip_encode_tokens(c, &ids[0][0], 2, 4, out), CLEARCLIP_ERR_MODEL,
                     needle);
        clearclip_context_free(c);
        clearclip_model_free(m);
    }
}

int main(void) {
    /* ggml must print nothing for any of these files: its log goes to stderr, which is
     * captured here and must stay empty (our own check failures land there too and are then
     * shown). */
    /* A GGML_BACKEND_DL build announces the CPU variant it loads, once per process (ggml's
     * default logger, left alone by the engine): that line is about the machine, not about a
     * file, so the backends are loaded before stderr is watched; so are the GPU modules, which
     * the first context on "auto" loads (and ggml's Vulkan backend reports the devices it finds). */
    CHECK(clearclip_backend_load(NULL) == CLEARCLIP_OK);
    CHECK(clearclip_system_info() != NULL);
    char cap_path[1024];
    snprintf(cap_path, sizeof(cap_path), "%s/hostile-stderr.txt", test_tmp_dir());
    fflush(stderr);
    int saved = dup(2);
    int cap = open(cap_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(saved >= 0 && cap >= 0);
    dup2(cap, 2);
    close(cap);

    special_files();
    header_and_counts();
    key_values();
    tensors();
    truncations();
    metadata();
    non_finite_weights();

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE * f = fopen(cap_path, "r");
    char line[1024];
    int n_lines = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (n_lines++ < 60) fputs(line, stderr);
    }
    if (f) fclose(f);
    CHECK_MSG(n_lines == 0, "%d line(s) were printed to stderr (shown above)", n_lines);
    return test_finish("test_model_hostile");
}
