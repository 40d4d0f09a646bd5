/*
 * CLIP byte-level BPE tokenizer with the semantics of open_clip's SimpleTokenizer
 * (open_clip_torch 3.3.0):
 *
 *   text -> ftfy.fix_text -> html.unescape twice -> strip -> whitespace collapse -> lower()
 *        -> split by the CLIP pattern -> UTF-8 bytes of each piece as byte symbols -> BPE -> ids
 *
 * Every stage works on code points (uint32) and reproduces what the Python step does, using the
 * tables generated from the reference environment into unicode_data.c. Stages that change the
 * length reserve their worst case up front, so the inner loops never allocate; the buffers
 * belong to one encode call, which keeps the tokenizer read-only and thread-safe after init.
 *
 * Not reproduced: ftfy's mojibake repair (fix_encoding: re-decoding text it judges to be UTF-8
 * read as Latin-1/Windows-125x/MacRoman). Text that ftfy does not judge to be mojibake -- all
 * ordinary text -- is unaffected by that step.
 */
#include "tokenizer.h"

#include "text_normalize.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- tokenizer object ------------------------------------------------------------------------ */

struct cc_tokenizer {
    int32_t n_tokens;
    int32_t bos, eos;
    int32_t byte_id[256];     /* id of the byte's character */
    int32_t byte_end_id[256]; /* id of the byte's character + "</w>" (a word's last symbol) */
    /* merge ranks: open addressing on (left id, right id) */
    uint64_t * merge_keys;
    int32_t * merge_rank;
    int32_t * merge_result;
    uint64_t merge_mask;
    uint8_t ascii_class[128];
};

#define EMPTY_KEY UINT64_MAX

void cc_format_err(char * err, size_t err_size, const char * fmt, ...) {
    if (!err || err_size == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}


static uint64_t pair_key(int32_t left, int32_t right) {
    return ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
}

/* Rank of merging (left, right), or -1; *result receives the merged token's id. */
static int32_t merge_lookup(const cc_tokenizer * tok, int32_t left, int32_t right, int32_t * result) {
    uint64_t key = pair_key(left, right);
    for (uint64_t i = cc_mix64(key) & tok->merge_mask;; i = (i + 1) & tok->merge_mask) {
        if (tok->merge_keys[i] == key) {
            *result = tok->merge_result[i];
            return tok->merge_rank[i];
        }
        if (tok->merge_keys[i] == EMPTY_KEY) {
            return -1;
        }
    }
}

/* CLIP's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the others are
 * numbered from U+0100 in byte order. */
static void byte_characters(uint32_t out[256]) {
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        out[b] = printable ? (uint32_t)b : next++;
    }
}

static size_t utf8_put(uint32_t cp, char * dst) {
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xC0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xE0 | (cp >> 12));
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        dst[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    dst[0] = (char)(0xF0 | (cp >> 18));
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    dst[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- vocabulary map used while building (string -> id) --------------------------------------- */

typedef struct {
    const char * const * tokens;
    size_t * lengths;
    int32_t * slots; /* token id or -1 */
    uint64_t mask;
} vocab_map;

static int32_t vocab_find(const vocab_map * m, const char * s, size_t n) {
    for (uint64_t i = cc_hash_bytes(s, n) & m->mask;; i = (i + 1) & m->mask) {
        int32_t id = m->slots[i];
        if (id < 0) {
            return -1;
        }
        if (m->lengths[id] == n && memcmp(m->tokens[id], s, n) == 0) {
            return id;
        }
    }
}

static uint64_t pow2_at_least(uint64_t n) {
    uint64_t p = 16;
    while (p < n) {
        p <<= 1;
    }
    return p;
}

cc_tokenizer * cc_tokenizer_init(const char * const * tokens, int32_t n_tokens,
                                     const char * const * merges, int32_t n_merges,
                                     int32_t bos_id, int32_t eos_id,
                                     char * err, size_t err_size) {
    if (!tokens || n_tokens <= 0 || n_merges < 0 || (n_merges > 0 && !merges)) {
        cc_format_err(err, err_size, "tokenizer: empty vocabulary or missing merges");
        return NULL;
    }
    if (bos_id < 0 || bos_id >= n_tokens || eos_id < 0 || eos_id >= n_tokens) {
        cc_format_err(err, err_size, "tokenizer: special token ids %d/%d outside the vocabulary of %d",
                bos_id, eos_id, n_tokens);
        return NULL;
    }
    for (int32_t i = 0; i < n_tokens; i++) {
        if (!tokens[i]) {
            cc_format_err(err, err_size, "tokenizer: token %d is missing", i);
            return NULL;
        }
    }

    cc_tokenizer * tok = calloc(1, sizeof(*tok));
    vocab_map vm = {tokens, NULL, NULL, pow2_at_least((uint64_t)n_tokens * 2) - 1};
    vm.lengths = malloc(sizeof(size_t) * (size_t)n_tokens);
    vm.slots = malloc(sizeof(int32_t) * (size_t)(vm.mask + 1));
    uint64_t merge_cap = pow2_at_least((uint64_t)n_merges * 2);
    if (tok) {
        tok->merge_mask = merge_cap - 1;
        tok->merge_keys = malloc(sizeof(uint64_t) * merge_cap);
        tok->merge_rank = malloc(sizeof(int32_t) * merge_cap);
        tok->merge_result = malloc(sizeof(int32_t) * merge_cap);
    }
    if (!tok || !vm.lengths || !vm.slots || !tok->merge_keys || !tok->merge_rank || !tok->merge_result) {
        cc_format_err(err, err_size, "tokenizer: out of memory");
        goto fail;
    }
    tok->n_tokens = n_tokens;
    tok->bos = bos_id;
    tok->eos = eos_id;

    /* Like Python's dict(zip(vocab, range(...))), a repeated string keeps its last id. */
    memset(vm.slots, 0xFF, sizeof(int32_t) * (size_t)(vm.mask + 1));
    for (int32_t id = 0; id < n_tokens; id++) {
        size_t n = strlen(tokens[id]);
        vm.lengths[id] = n;
        for (uint64_t i = cc_hash_bytes(tokens[id], n) & vm.mask;; i = (i + 1) & vm.mask) {
            int32_t other = vm.slots[i];
            if (other < 0 || (vm.lengths[other] == n && memcmp(tokens[other], tokens[id], n) == 0)) {
                vm.slots[i] = id;
                break;
            }
        }
    }

    uint32_t chars[256];
    byte_characters(chars);
    for (int b = 0; b < 256; b++) {
        char buf[16];
        size_t n = utf8_put(chars[b], buf);
        tok->byte_id[b] = vocab_find(&vm, buf, n);
        memcpy(buf + n, "</w>", 4);
        tok->byte_end_id[b] = vocab_find(&vm, buf, n + 4);
        if (tok->byte_id[b] < 0 || tok->byte_end_id[b] < 0) {
            cc_format_err(err, err_size,
                    "tokenizer: the vocabulary lacks the byte token for 0x%02X (or it with </w>): "
                    "not a CLIP byte-level BPE vocabulary", b);
            goto fail;
        }
    }

    for (uint64_t i = 0; i < merge_cap; i++) {
        tok->merge_keys[i] = EMPTY_KEY;
    }
    size_t cat_cap = 0;
    char * cat = NULL;
    for (int32_t rank = 0; rank < n_merges; rank++) {
        const char * m = merges[rank];
        const char * sp = m ? strchr(m, ' ') : NULL;
        if (!sp || sp == m || sp[1] == '\0' || strchr(sp + 1, ' ')) {
            cc_format_err(err, err_size, "tokenizer: merge %d is not \"left right\": \"%s\"", rank, m ? m : "(null)");
            free(cat);
            goto fail;
        }
        size_t nl = (size_t)(sp - m), nr = strlen(sp + 1);
        if (nl + nr > cat_cap) {
            cat_cap = (nl + nr) * 2;
            char * grown = realloc(cat, cat_cap);
            if (!grown) {
                free(cat);
                cc_format_err(err, err_size, "tokenizer: out of memory");
                goto fail;
            }
            cat = grown;
        }
        memcpy(cat, m, nl);
        memcpy(cat + nl, sp + 1, nr);
        int32_t left = vocab_find(&vm, m, nl);
        int32_t right = vocab_find(&vm, sp + 1, nr);
        int32_t merged = vocab_find(&vm, cat, nl + nr);
        if (left < 0 || right < 0 || merged < 0) {
            cc_format_err(err, err_size, "tokenizer: merge %d \"%s\" uses or makes a token that is not in the vocabulary",
                    rank, m);
            free(cat);
            goto fail;
        }
        /* Like dict(zip(merges, range(...))): a repeated merge keeps its last rank. */
        uint64_t key = pair_key(left, right);
        uint64_t i = cc_mix64(key) & tok->merge_mask;
        while (tok->merge_keys[i] != EMPTY_KEY && tok->merge_keys[i] != key) {
            i = (i + 1) & tok->merge_mask;
        }
        tok->merge_keys[i] = key;
        tok->merge_rank[i] = rank;
        tok->merge_result[i] = merged;
    }
    free(cat);

    for (uint32_t c = 0; c < 128; c++) {
        uint8_t cls = UNICODE_CLASS_OTHER;
        for (size_t r = 0; r < ARRAY_LEN(unicode_class_runs) && unicode_class_runs[r].start <= c; r++) {
            cls = unicode_class_runs[r].cls;
        }
        tok->ascii_class[c] = cls;
    }

    free(vm.lengths);
    free(vm.slots);
    return tok;

fail:
    free(vm.lengths);
    free(vm.slots);
    cc_tokenizer_free(tok);
    return NULL;
}

void cc_tokenizer_free(cc_tokenizer * tok) {
    if (!tok) {
        return;
    }
    free(tok->merge_keys);
    free(tok->merge_rank);
    free(tok->merge_result);
    free(tok);
}

int32_t cc_tokenizer_vocab_size(const cc_tokenizer * tok) { return tok->n_tokens; }
int32_t cc_tokenizer_bos(const cc_tokenizer * tok) { return tok->bos; }
int32_t cc_tokenizer_eos(const cc_tokenizer * tok) { return tok->eos; }

/* ---- BPE ----------------------------------------------------------------------------------------- */

typedef struct {
    int32_t rank, pos, left, right, merged;
} bpe_cand;

/* Per-call BPE arrays, one allocation sized for the longest piece so far. */
typedef struct {
    size_t cap;         /* symbols (bytes of a piece) */
    void * block;
    uint8_t * bytes;
    int32_t * id;       /* -1 once merged into the symbol on its left */
    int32_t * prev;
    int32_t * next;
    bpe_cand * heap;    /* 3 * cap: the initial pairs plus two per merge */
    bpe_cand * pending; /* 2 * cap */
} bpe_scratch;

static bool bpe_scratch_reserve(bpe_scratch * b, size_t n) {
    if (n <= b->cap) {
        return true;
    }
    size_t cap = n < 64 ? 64 : n + n / 2;
    free(b->block);
    b->block = malloc(cap * (5 * sizeof(bpe_cand) + 3 * sizeof(int32_t) + 1));
    if (!b->block) {
        b->cap = 0;
        return false;
    }
    b->heap = b->block;
    b->pending = b->heap + 3 * cap;
    b->id = (int32_t *)(b->pending + 2 * cap);
    b->prev = b->id + cap;
    b->next = b->prev + cap;
    b->bytes = (uint8_t *)(b->next + cap);
    b->cap = cap;
    return true;
}

static bool cand_before(const bpe_cand * a, const bpe_cand * b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(bpe_cand * h, size_t * n, bpe_cand c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!cand_before(&c, &h[parent])) {
            break;
        }
        h[i] = h[parent];
        i = parent;
    }
    h[i] = c;
}

static bpe_cand heap_pop(bpe_cand * h, size_t * n) {
    bpe_cand top = h[0], last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= *n) {
            break;
        }
        if (child + 1 < *n && cand_before(&h[child + 1], &h[child])) {
            child++;
        }
        if (!cand_before(&h[child], &last)) {
            break;
        }
        h[i] = h[child];
        i = child;
    }
    if (*n > 0) {
        h[i] = last;
    }
    return top;
}

/*
 * Byte-pair encoding of one piece (b->bytes[0..n)) with SimpleTokenizer.bpe's semantics: each
 * round takes the lowest-ranked pair present and merges all its occurrences left to right; pairs
 * a round creates take part from the next round on. A heap keyed by (rank, position) gives the
 * same order in O(n log n): a round's new pairs of a higher rank simply wait in the heap, those
 * of a lower rank wait in `pending` until the round ends (a round cannot recreate its own pair).
 * Symbols are identified by the position of their first byte; the first symbol stays at 0.
 */
static void bpe_piece(const cc_tokenizer * tok, bpe_scratch * b, size_t n) {
    int32_t * id = b->id, * prev = b->prev, * next = b->next;
    for (size_t i = 0; i < n; i++) {
        id[i] = tok->byte_id[b->bytes[i]];
        prev[i] = (int32_t)i - 1;
        next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    id[n - 1] = tok->byte_end_id[b->bytes[n - 1]];

    size_t n_heap = 0, n_pending = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        int32_t merged;
        int32_t rank = merge_lookup(tok, id[i], id[i + 1], &merged);
        if (rank >= 0) {
            heap_push(b->heap, &n_heap, (bpe_cand){rank, (int32_t)i, id[i], id[i + 1], merged});
        }
    }
    int32_t round = -1;
    for (;;) {
        if (n_heap == 0 || b->heap[0].rank != round) {
            if (n_pending > 0) {
                while (n_pending > 0) {
                    heap_push(b->heap, &n_heap, b->pending[--n_pending]);
                }
                continue;
            }
            if (n_heap == 0) {
                break;
            }
            round = b->heap[0].rank;
        }
        bpe_cand c = heap_pop(b->heap, &n_heap);
        int32_t left = c.pos, right = next[left];
        if (id[left] != c.left || right < 0 || id[right] != c.right) {
            continue; /* stale: one of its symbols has been merged since */
        }
        id[left] = c.merged;
        id[right] = -1;
        int32_t after = next[right];
        next[left] = after;
        if (after >= 0) {
            prev[after] = left;
        }
        int32_t neighbours[2][2] = {{prev[left], left}, {left, after}};
        for (int k = 0; k < 2; k++) {
            int32_t p = neighbours[k][0], q = neighbours[k][1];
            if (p < 0 || q < 0) {
                continue;
            }
            int32_t merged;
            int32_t rank = merge_lookup(tok, id[p], id[q], &merged);
            if (rank < 0) {
                continue;
            }
            bpe_cand nc = {rank, p, id[p], id[q], merged};
            if (rank < round) {
                b->pending[n_pending++] = nc;
            } else {
                heap_push(b->heap, &n_heap, nc);
            }
        }
    }
}

/* ---- pieces to ids ----------------------------------------------------------------------------- */

typedef struct {
    int32_t * ids;
    int32_t count; /* BPE tokens written after BOS */
    int32_t limit; /* BPE tokens that fit before EOS */
} token_sink;

static bool sink_full(const token_sink * out) { return out->count >= out->limit; }

static void sink_put(token_sink * out, int32_t id) {
    if (out->count < out->limit) {
        out->ids[1 + out->count++] = id;
    }
}

static bool encode_piece(const cc_tokenizer * tok, bpe_scratch * b, const uint32_t * s, size_t len, token_sink * out) {
    if (!bpe_scratch_reserve(b, len * 4)) {
        return false;
    }
    size_t n = 0;
    for (size_t k = 0; k < len; k++) {
        n += utf8_put(s[k], (char *)b->bytes + n);
    }
    bpe_piece(tok, b, n);
    for (int32_t p = 0; p >= 0 && !sink_full(out); p = b->next[p]) {
        sink_put(out, b->id[p]);
    }
    return true;
}

/* Each piece of the pre-tokenizer byte-pair encoded, until the output is full. */
static bool split_and_encode(const cc_tokenizer * tok, const cpbuf * text, bpe_scratch * b, token_sink * out) {
    size_t i = 0, len = 0;
    while (!sink_full(out)) {
        int kind = cc_pretok_next(tok->ascii_class, text->v, text->n, &i, &len);
        if (kind == CC_PIECE_END) {
            break;
        }
        if (kind == CC_PIECE_TEXT) {
            if (!encode_piece(tok, b, text->v + i, len, out)) {
                return false;
            }
        } else {
            sink_put(out, kind == CC_PIECE_BOS ? tok->bos : tok->eos);
        }
        i += len;
    }
    return true;
}

/* ---- encode ---------------------------------------------------------------------------------------- */

int cc_tokenizer_encode(const cc_tokenizer * tok, const char * text,
                          int32_t * ids, int32_t max_ids, int32_t * n_ids,
                          char * err, size_t err_size) {
    if (n_ids) {
        *n_ids = 0;
    }
    if (!tok || !text || !ids || !n_ids || max_ids < 2) {
        cc_format_err(err, err_size, "tokenizer: invalid arguments (max_ids must be >= 2)");
        return -1;
    }
    size_t len = strlen(text);
    cpbuf a = {0}, b = {0}, c = {0}, d = {0}, e = {0};
    bpe_scratch bs = {0};
    int rc = -1;
    if (!cb_reserve(&a, len + 1)) {
        goto oom;
    }
    size_t bad = cc_utf8_decode((const uint8_t *)text, len, &a);
    if (bad != (size_t)-1) {
        cc_format_err(err, err_size, "tokenizer: invalid UTF-8 at byte offset %zu (byte 0x%02X)", bad,
                (unsigned)(uint8_t)text[bad]);
        goto done;
    }
    /* basic_clean: ftfy.fix_text, html.unescape twice; then whitespace_clean and lower() */
    if (!cc_ftfy_fix_text(&a, &b, &c, &d, &e)) {
        goto oom;
    }
    for (int k = 0; k < 2; k++) {
        if (cc_has_ampersand(&b)) {
            if (!cc_html_unescape(&b, &a)) {
                goto oom;
            }
            cb_swap(&a, &b);
        }
    }
    if (!cc_collapse_whitespace(&b, &a) || !cc_lowercase(&a, &b)) {
        goto oom;
    }
    token_sink sink = {ids, 0, max_ids - 2};
    ids[0] = tok->bos;
    if (!split_and_encode(tok, &b, &bs, &sink)) {
        goto oom;
    }
    ids[1 + sink.count] = tok->eos;
    *n_ids = sink.count + 2;
    rc = 0;
    goto done;
oom:
    cc_format_err(err, err_size, "tokenizer: out of memory");
done:
    free(a.v);
    free(b.v);
    free(c.v);
    free(d.v);
    free(e.v);
    free(bs.block);
    return rc;
}
