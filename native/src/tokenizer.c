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

#include "unicode_data.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* open_clip 3.3.0 names its specials <start_of_text>/<end_of_text>, and only these spellings in
 * the text become the BOS/EOS ids, whatever the vocabulary calls those tokens: an HF-style
 * vocabulary spells them <|startoftext|>/<|endoftext|>, which open_clip tokenizes as text. */
static const char * const SPECIAL_LITERALS[2] = {"<start_of_text>", "<end_of_text>"};

/* ftfy.fix_text works on chunks of at most this many code points (max_decode_length). */
#define FTFY_MAX_SEGMENT 1000000

/* ---- tokenizer object ------------------------------------------------------------------------ */

struct clip_tokenizer {
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

static void set_err(char * err, size_t err_size, const char * fmt, ...) {
    if (!err || err_size == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t pair_key(int32_t left, int32_t right) {
    return ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
}

/* Rank of merging (left, right), or -1; *result receives the merged token's id. */
static int32_t merge_lookup(const clip_tokenizer * tok, int32_t left, int32_t right, int32_t * result) {
    uint64_t key = pair_key(left, right);
    for (uint64_t i = mix64(key) & tok->merge_mask;; i = (i + 1) & tok->merge_mask) {
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

static uint64_t hash_bytes(const char * s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
    }
    return mix64(h);
}

static int32_t vocab_find(const vocab_map * m, const char * s, size_t n) {
    for (uint64_t i = hash_bytes(s, n) & m->mask;; i = (i + 1) & m->mask) {
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

clip_tokenizer * clip_tokenizer_init(const char * const * tokens, int32_t n_tokens,
                                     const char * const * merges, int32_t n_merges,
                                     int32_t bos_id, int32_t eos_id,
                                     char * err, size_t err_size) {
    if (!tokens || n_tokens <= 0 || n_merges < 0 || (n_merges > 0 && !merges)) {
        set_err(err, err_size, "tokenizer: empty vocabulary or missing merges");
        return NULL;
    }
    if (bos_id < 0 || bos_id >= n_tokens || eos_id < 0 || eos_id >= n_tokens) {
        set_err(err, err_size, "tokenizer: special token ids %d/%d outside the vocabulary of %d",
                bos_id, eos_id, n_tokens);
        return NULL;
    }
    for (int32_t i = 0; i < n_tokens; i++) {
        if (!tokens[i]) {
            set_err(err, err_size, "tokenizer: token %d is missing", i);
            return NULL;
        }
    }

    clip_tokenizer * tok = calloc(1, sizeof(*tok));
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
        set_err(err, err_size, "tokenizer: out of memory");
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
        for (uint64_t i = hash_bytes(tokens[id], n) & vm.mask;; i = (i + 1) & vm.mask) {
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
            set_err(err, err_size,
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
            set_err(err, err_size, "tokenizer: merge %d is not \"left right\": \"%s\"", rank, m ? m : "(null)");
            free(cat);
            goto fail;
        }
        size_t nl = (size_t)(sp - m), nr = strlen(sp + 1);
        if (nl + nr > cat_cap) {
            cat_cap = (nl + nr) * 2;
            char * grown = realloc(cat, cat_cap);
            if (!grown) {
                free(cat);
                set_err(err, err_size, "tokenizer: out of memory");
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
            set_err(err, err_size, "tokenizer: merge %d \"%s\" uses or makes a token that is not in the vocabulary",
                    rank, m);
            free(cat);
            goto fail;
        }
        /* Like dict(zip(merges, range(...))): a repeated merge keeps its last rank. */
        uint64_t key = pair_key(left, right);
        uint64_t i = mix64(key) & tok->merge_mask;
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
    clip_tokenizer_free(tok);
    return NULL;
}

void clip_tokenizer_free(clip_tokenizer * tok) {
    if (!tok) {
        return;
    }
    free(tok->merge_keys);
    free(tok->merge_rank);
    free(tok->merge_result);
    free(tok);
}

int32_t clip_tokenizer_vocab_size(const clip_tokenizer * tok) { return tok->n_tokens; }
int32_t clip_tokenizer_bos(const clip_tokenizer * tok) { return tok->bos; }
int32_t clip_tokenizer_eos(const clip_tokenizer * tok) { return tok->eos; }

/* ---- table lookups ----------------------------------------------------------------------------- */

static bool in_ranges(const unicode_range * r, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid].first) {
            hi = mid;
        } else if (cp > r[mid].last) {
            lo = mid + 1;
        } else {
            return true;
        }
    }
    return false;
}

#define IN_TABLE(table, cp) in_ranges(table, ARRAY_LEN(table), cp)

static const unicode_map_entry * map_find(const unicode_map_entry * t, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < t[mid].cp) {
            hi = mid;
        } else if (cp > t[mid].cp) {
            lo = mid + 1;
        } else {
            return &t[mid];
        }
    }
    return NULL;
}

static int token_class(const clip_tokenizer * tok, uint32_t cp) {
    if (cp < 128) {
        return tok->ascii_class[cp];
    }
    size_t lo = 0, hi = ARRAY_LEN(unicode_class_runs); /* last run starting at or before cp */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (unicode_class_runs[mid].start <= cp) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return unicode_class_runs[lo].cls;
}

static bool is_space(uint32_t cp) {
    if (cp < 128) {
        return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
    }
    return IN_TABLE(unicode_space_ranges, cp);
}

static int ccc_of(uint32_t cp) {
    if (cp < 0x300) {
        return 0;
    }
    size_t lo = 0, hi = ARRAY_LEN(unicode_ccc_ranges);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < unicode_ccc_ranges[mid].first) {
            hi = mid;
        } else if (cp > unicode_ccc_ranges[mid].last) {
            lo = mid + 1;
        } else {
            return unicode_ccc_ranges[mid].ccc;
        }
    }
    return 0;
}

static const unicode_decomp_entry * decomp_of(uint32_t cp) {
    size_t lo = 0, hi = ARRAY_LEN(unicode_decomps);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < unicode_decomps[mid].cp) {
            hi = mid;
        } else if (cp > unicode_decomps[mid].cp) {
            lo = mid + 1;
        } else {
            return &unicode_decomps[mid];
        }
    }
    return NULL;
}

enum { HANGUL_S = 0xAC00, HANGUL_L = 0x1100, HANGUL_V = 0x1161, HANGUL_T = 0x11A7,
       HANGUL_LCOUNT = 19, HANGUL_VCOUNT = 21, HANGUL_TCOUNT = 28,
       HANGUL_NCOUNT = HANGUL_VCOUNT * HANGUL_TCOUNT, HANGUL_SCOUNT = HANGUL_LCOUNT * HANGUL_NCOUNT };

/* Primary composite of (a, b), or 0. */
static uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= HANGUL_L && a < HANGUL_L + HANGUL_LCOUNT && b >= HANGUL_V && b < HANGUL_V + HANGUL_VCOUNT) {
        return HANGUL_S + ((a - HANGUL_L) * HANGUL_VCOUNT + (b - HANGUL_V)) * HANGUL_TCOUNT;
    }
    if (a >= HANGUL_S && a < HANGUL_S + HANGUL_SCOUNT && (a - HANGUL_S) % HANGUL_TCOUNT == 0 &&
        b > HANGUL_T && b < HANGUL_T + HANGUL_TCOUNT) {
        return a + (b - HANGUL_T);
    }
    size_t lo = 0, hi = ARRAY_LEN(unicode_comps);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const unicode_comp_pair * p = &unicode_comps[mid];
        if (a < p->first || (a == p->first && b < p->second)) {
            hi = mid;
        } else if (a > p->first || b > p->second) {
            lo = mid + 1;
        } else {
            return p->composite;
        }
    }
    return 0;
}

/* html.entities.html5-style table lookup of name[0..n) (bytes order, shorter first). */
static const unicode_entity * entity_find(const unicode_entity * t, size_t count, const char * name, size_t n) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strncmp(t[mid].name, name, n);
        if (c == 0) {
            c = t[mid].name[n] != '\0'; /* the table name is longer */
        }
        if (c > 0) {
            hi = mid;
        } else if (c < 0) {
            lo = mid + 1;
        } else {
            return &t[mid];
        }
    }
    return NULL;
}

/* ---- code point buffers -------------------------------------------------------------------- */

typedef struct {
    uint32_t * v;
    size_t n, cap;
} cpbuf;

/* Makes room for `need` code points, discarding the contents. */
static bool cb_reserve(cpbuf * b, size_t need) {
    b->n = 0;
    /* Always leave a buffer behind, even for need == 0: callers memcpy into b->v, and a NULL
     * destination is undefined behaviour even with a zero size (a text that cleans up to
     * nothing, like "&#7;", took that path). */
    if (b->v && need <= b->cap) {
        return true;
    }
    size_t cap = need + need / 2 + 16;
    uint32_t * v = realloc(b->v, cap * sizeof(uint32_t));
    if (!v) {
        return false;
    }
    b->v = v;
    b->cap = cap;
    return true;
}

static void cb_swap(cpbuf * a, cpbuf * b) {
    cpbuf t = *a;
    *a = *b;
    *b = t;
}

static bool cb_equal(const cpbuf * a, const cpbuf * b) {
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(uint32_t)) == 0);
}

/* ---- UTF-8 decoding (strict, as Python's codec) ------------------------------------------------- */

/* Returns the byte offset of the first invalid sequence, or (size_t)-1 when the text is valid. */
static size_t utf8_decode(const uint8_t * s, size_t len, cpbuf * out) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            out->v[out->n++] = c;
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (i + n > len) {
            return i;
        }
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return i;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return i;
        }
        out->v[out->n++] = cp;
        i += n;
    }
    return (size_t)-1;
}

/* ---- HTML character references ------------------------------------------------------------------ */

static bool is_ascii_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static bool is_ascii_alpha(uint32_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_ascii_alnum(uint32_t c) { return is_ascii_digit(c) || is_ascii_alpha(c); }
static bool is_ascii_hex(uint32_t c) { return is_ascii_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

static uint32_t hex_value(uint32_t c) { return is_ascii_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

/* Parses digits of s[i..end) in `base`, saturating above U+10FFFF (Python has big integers). */
static uint32_t parse_number(const uint32_t * s, size_t i, size_t end, uint32_t base) {
    uint32_t num = 0;
    for (; i < end; i++) {
        num = num * base + hex_value(s[i]);
        if (num > 0x10FFFF) {
            num = 0x110000;
        }
    }
    return num;
}

/* html.unescape's numeric reference replacement (_replace_charref). */
static void emit_charref(uint32_t num, cpbuf * out) {
    const unicode_map_entry * inv = map_find(unicode_html_invalid_charrefs, ARRAY_LEN(unicode_html_invalid_charrefs), num);
    if (inv) {
        for (int k = 0; k < inv->n; k++) {
            out->v[out->n++] = inv->cps[k];
        }
    } else if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
        out->v[out->n++] = 0xFFFD;
    } else if (!IN_TABLE(unicode_html_invalid_codepoint_ranges, num)) {
        out->v[out->n++] = num;
    }
}

static void emit_entity(const unicode_entity * e, cpbuf * out) {
    for (int k = 0; k < e->n; k++) {
        out->v[out->n++] = e->cps[k];
    }
}

static bool has_ampersand(const cpbuf * b) {
    for (size_t i = 0; i < b->n; i++) {
        if (b->v[i] == '&') {
            return true;
        }
    }
    return false;
}

/* Python's html.unescape. A reference never expands: the shortest ("&lt") has three code points
 * and no value has more than two. */
static bool html_unescape(const cpbuf * in, cpbuf * out) {
    if (!cb_reserve(out, in->n)) {
        return false;
    }
    const uint32_t * s = in->v;
    size_t n = in->n, i = 0;
    while (i < n) {
        if (s[i] != '&') {
            out->v[out->n++] = s[i++];
            continue;
        }
        size_t j = i + 1;
        if (j < n && s[j] == '#') {
            size_t k = j + 1, end;
            uint32_t num;
            if (k < n && is_ascii_digit(s[k])) {
                for (end = k; end < n && is_ascii_digit(s[end]); end++) {}
                num = parse_number(s, k, end, 10);
            } else if (k + 1 < n && (s[k] == 'x' || s[k] == 'X') && is_ascii_hex(s[k + 1])) {
                for (end = k + 1; end < n && is_ascii_hex(s[end]); end++) {}
                num = parse_number(s, k + 1, end, 16);
            } else {
                out->v[out->n++] = s[i++];
                continue;
            }
            emit_charref(num, out);
            i = end < n && s[end] == ';' ? end + 1 : end;
            continue;
        }
        /* named: [^\t\n\f <&#;]{1,32};? then the longest known prefix */
        size_t k = j;
        while (k < n && k - j < 32) {
            uint32_t c = s[k];
            if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';') {
                break;
            }
            k++;
        }
        if (k == j) {
            out->v[out->n++] = s[i++];
            continue;
        }
        size_t end = k < n && s[k] == ';' ? k + 1 : k;
        char name[40];
        size_t ascii = 0; /* the names are ASCII: only an ASCII prefix can match */
        while (j + ascii < end && s[j + ascii] < 0x80) {
            name[ascii] = (char)s[j + ascii];
            ascii++;
        }
        size_t len = end - j;
        const unicode_entity * e = NULL;
        size_t used = 0;
        if (ascii == len) {
            e = entity_find(unicode_html5_entities, ARRAY_LEN(unicode_html5_entities), name, len);
            used = len;
        }
        for (size_t x = len - 1; !e && x >= 2; x--) {
            if (x <= ascii) {
                e = entity_find(unicode_html5_entities, ARRAY_LEN(unicode_html5_entities), name, x);
                used = x;
            }
        }
        if (e) {
            emit_entity(e, out);
            for (size_t r = j + used; r < end; r++) {
                out->v[out->n++] = s[r];
            }
        } else {
            for (size_t r = i; r < end; r++) {
                out->v[out->n++] = s[r];
            }
        }
        i = end;
    }
    return true;
}

/* ftfy's unescape_html: only `&#?[0-9A-Za-z]{1,24};`, named references that end in ';' plus
 * upper-cased names, and numeric references html.unescape consumes completely. */
static bool ftfy_unescape(const cpbuf * in, cpbuf * out) {
    if (!cb_reserve(out, in->n)) {
        return false;
    }
    const uint32_t * s = in->v;
    size_t n = in->n, i = 0;
    while (i < n) {
        if (s[i] != '&') {
            out->v[out->n++] = s[i++];
            continue;
        }
        bool numeric = i + 1 < n && s[i + 1] == '#';
        size_t j = i + 1 + numeric, k = j;
        while (k < n && is_ascii_alnum(s[k])) {
            k++;
        }
        if (k == j || k - j > 24 || k >= n || s[k] != ';') {
            out->v[out->n++] = s[i++];
            continue;
        }
        bool replaced = false;
        if (numeric) {
            bool hex = s[j] == 'x' || s[j] == 'X';
            size_t d = j + hex;
            bool digits = d < k;
            for (size_t r = d; r < k && digits; r++) {
                digits = hex ? is_ascii_hex(s[r]) : is_ascii_digit(s[r]);
            }
            if (digits) {
                uint32_t num = parse_number(s, d, k, hex ? 16 : 10);
                /* ftfy keeps the reference when the decoded text contains ';' */
                if (num != ';') {
                    emit_charref(num, out);
                    replaced = true;
                }
            }
        } else {
            char name[32];
            size_t len = k - j + 1;
            for (size_t r = 0; r < len; r++) {
                name[r] = (char)s[j + r];
            }
            const unicode_entity * e = entity_find(unicode_html5_entities, ARRAY_LEN(unicode_html5_entities), name, len);
            if (!e) {
                e = entity_find(unicode_ftfy_upper_entities, ARRAY_LEN(unicode_ftfy_upper_entities), name, len);
            }
            if (e) {
                emit_entity(e, out);
                replaced = true;
            }
        }
        if (!replaced) {
            for (size_t r = i; r <= k; r++) {
                out->v[out->n++] = s[r];
            }
        }
        i = k + 1;
    }
    return true;
}

/* ---- ftfy.fix_text ------------------------------------------------------------------------------- */

/* One code point through fix_c1_controls, fix_latin_ligatures, fix_character_width and
 * uncurl_quotes (all context-free maps, applied in ftfy's order). */
static void ftfy_map_char(uint32_t c, cpbuf * out) {
    if (c >= 0x80 && c <= 0x9F) {
        c = unicode_ftfy_c1[c - 0x80];
    }
    uint32_t lig[3] = {c};
    int n_lig = 1;
    const unicode_map_entry * e = c >= 0x132 ? map_find(unicode_ftfy_ligatures, ARRAY_LEN(unicode_ftfy_ligatures), c) : NULL;
    if (e) {
        n_lig = e->n;
        memcpy(lig, e->cps, sizeof(lig));
    }
    for (int a = 0; a < n_lig; a++) {
        uint32_t w[3] = {lig[a]};
        int n_w = 1;
        const unicode_map_entry * we = lig[a] >= 0x3000 ? map_find(unicode_ftfy_widths, ARRAY_LEN(unicode_ftfy_widths), lig[a]) : NULL;
        if (we) {
            n_w = we->n;
            memcpy(w, we->cps, sizeof(w));
        }
        for (int b = 0; b < n_w; b++) {
            uint32_t q = w[b];
            if (q >= 0x2BC) {
                if (IN_TABLE(unicode_ftfy_single_quote_ranges, q)) {
                    q = '\'';
                } else if (IN_TABLE(unicode_ftfy_double_quote_ranges, q)) {
                    q = '"';
                }
            }
            out->v[out->n++] = q;
        }
    }
}

/* The character maps plus fix_line_breaks. No map produces or deletes a line break, so "\r\n"
 * pairs are the same before and after them; U+0085 is already "…" by then (fix_c1_controls). */
static bool ftfy_map_pass(const cpbuf * in, cpbuf * out) {
    if (!cb_reserve(out, in->n * 3)) { /* ligatures give up to three, widths up to two */
        return false;
    }
    const uint32_t * s = in->v;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = s[i];
        if (c >= 0x20 && c < 0x7F) {
            out->v[out->n++] = c;
        } else if (c == '\r') {
            out->v[out->n++] = '\n';
            if (i + 1 < in->n && s[i + 1] == '\n') {
                i++;
            }
        } else if (c == 0x2028 || c == 0x2029) {
            out->v[out->n++] = '\n';
        } else {
            ftfy_map_char(c, out);
        }
    }
    return true;
}

static bool is_decimal(uint32_t c) {
    return c < 128 ? is_ascii_digit(c) : IN_TABLE(unicode_decimal_ranges, c);
}

/* remove_terminal_escapes (ESC '[' (\d|;)* [a-zA-Z]) then remove_control_chars. */
static bool ftfy_strip_pass(const cpbuf * in, cpbuf * out) {
    if (!cb_reserve(out, in->n)) {
        return false;
    }
    const uint32_t * s = in->v;
    size_t n = in->n;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = s[i];
        if (c >= 0x20 && c < 0x7F) {
            out->v[out->n++] = c;
            continue;
        }
        if (c == 0x1B && i + 1 < n && s[i + 1] == '[') {
            size_t k = i + 2;
            while (k < n && (s[k] == ';' || is_decimal(s[k]))) {
                k++;
            }
            if (k < n && is_ascii_alpha(s[k])) {
                i = k;
                continue;
            }
        }
        if (!IN_TABLE(unicode_ftfy_control_ranges, c)) {
            out->v[out->n++] = c;
        }
    }
    return true;
}

/* Canonical composition (NFC) as unicodedata.normalize does it. Combining classes travel in the
 * top bits of the decomposed code points (21 bits suffice for a code point). */
#define CCC_SHIFT 21
#define CP_MASK ((1u << CCC_SHIFT) - 1)

static bool nfc(const cpbuf * in, cpbuf * out) {
    bool simple = true; /* below U+0300 every string is already NFC */
    for (size_t i = 0; i < in->n && simple; i++) {
        simple = in->v[i] < 0x300;
    }
    if (!cb_reserve(out, simple ? in->n : in->n * 4)) { /* decompositions have at most four */
        return false;
    }
    if (simple) {
        memcpy(out->v, in->v, in->n * sizeof(uint32_t));
        out->n = in->n;
        return true;
    }
    uint32_t * d = out->v;
    size_t m = 0;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->v[i];
        if (c >= HANGUL_S && c < HANGUL_S + HANGUL_SCOUNT) {
            uint32_t si = c - HANGUL_S;
            d[m++] = HANGUL_L + si / HANGUL_NCOUNT;
            d[m++] = HANGUL_V + (si % HANGUL_NCOUNT) / HANGUL_TCOUNT;
            if (si % HANGUL_TCOUNT) {
                d[m++] = HANGUL_T + si % HANGUL_TCOUNT;
            }
            continue;
        }
        const unicode_decomp_entry * e = c >= 0xC0 ? decomp_of(c) : NULL;
        if (e) {
            for (int k = 0; k < e->n; k++) {
                uint32_t p = unicode_decomp_pool[e->offset + k];
                d[m++] = p | ((uint32_t)ccc_of(p) << CCC_SHIFT);
            }
        } else {
            d[m++] = c | ((uint32_t)ccc_of(c) << CCC_SHIFT);
        }
    }
    /* canonical ordering: stable sort of each run of non-starters by class */
    for (size_t i = 1; i < m; i++) {
        uint32_t x = d[i], cc = x >> CCC_SHIFT;
        if (cc == 0) {
            continue;
        }
        size_t j = i;
        while (j > 0 && (d[j - 1] >> CCC_SHIFT) > cc) {
            d[j] = d[j - 1];
            j--;
        }
        d[j] = x;
    }
    /* composition, in place */
    size_t w = 0;
    size_t starter = SIZE_MAX;
    uint32_t last_cc = 0;
    for (size_t r = 0; r < m; r++) {
        uint32_t c = d[r] & CP_MASK, cc = d[r] >> CCC_SHIFT;
        if (starter != SIZE_MAX) {
            bool adjacent = w == starter + 1;
            if (adjacent || (last_cc != 0 && last_cc < cc)) {
                uint32_t comp = compose_pair(d[starter], c);
                if (comp) {
                    d[starter] = comp;
                    continue;
                }
            }
        }
        if (cc == 0) {
            starter = w;
        }
        last_cc = cc;
        d[w++] = c;
    }
    out->n = w;
    return true;
}

static bool contains_lt(const uint32_t * s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '<') {
            return true;
        }
    }
    return false;
}

/* ftfy.fix_text with its default configuration (mojibake repair aside): the text is fixed in
 * segments that end after each '\n'; each segment goes through the fixers until it stops
 * changing. Once a segment contains '<' (taken as HTML), entities stay escaped from there on. */
static bool ftfy_fix_text(const cpbuf * in, cpbuf * out, cpbuf * cur, cpbuf * t1, cpbuf * t2) {
    if (!cb_reserve(out, in->n)) {
        return false;
    }
    bool unescape = true;
    size_t pos = 0;
    while (pos < in->n) {
        size_t end = pos;
        while (end < in->n && in->v[end] != '\n') {
            end++;
        }
        end = end < in->n ? end + 1 : end;
        if (end - pos > FTFY_MAX_SEGMENT) {
            end = pos + FTFY_MAX_SEGMENT;
        }
        if (unescape && contains_lt(in->v + pos, end - pos)) {
            unescape = false;
        }
        if (!cb_reserve(cur, end - pos)) {
            return false;
        }
        memcpy(cur->v, in->v + pos, (end - pos) * sizeof(uint32_t));
        cur->n = end - pos;
        for (;;) {
            const cpbuf * src = cur;
            if (unescape && has_ampersand(cur)) {
                if (!ftfy_unescape(cur, t2)) {
                    return false;
                }
                src = t2;
            }
            if (!ftfy_map_pass(src, t1) || !ftfy_strip_pass(t1, t2) || !nfc(t2, t1)) {
                return false;
            }
            if (cb_equal(t1, cur)) {
                break;
            }
            cb_swap(cur, t1);
        }
        size_t need = out->n + cur->n;
        if (need > out->cap) {
            uint32_t * v = realloc(out->v, need * sizeof(uint32_t));
            if (!v) {
                return false;
            }
            out->v = v;
            out->cap = need;
        }
        memcpy(out->v + out->n, cur->v, cur->n * sizeof(uint32_t));
        out->n += cur->n;
        pos = end;
    }
    return true;
}

/* ---- whitespace and case ------------------------------------------------------------------------ */

/* " ".join(text.split()): str.strip() before it changes nothing. */
static bool collapse_whitespace(const cpbuf * in, cpbuf * out) {
    if (!cb_reserve(out, in->n)) {
        return false;
    }
    bool pending_space = false;
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->v[i];
        if (is_space(c)) {
            pending_space = out->n > 0;
            continue;
        }
        if (pending_space) {
            out->v[out->n++] = ' ';
            pending_space = false;
        }
        out->v[out->n++] = c;
    }
    return true;
}

static bool is_case_ignorable(uint32_t c) { return IN_TABLE(unicode_case_ignorable_ranges, c); }
static bool is_cased(uint32_t c) { return IN_TABLE(unicode_cased_ranges, c); }

/* str.lower() maps U+03A3 to final sigma after a cased letter that no cased letter follows,
 * case-ignorable characters skipped on both sides. */
static uint32_t lower_sigma(const uint32_t * s, size_t n, size_t i) {
    size_t j = i;
    while (j > 0 && is_case_ignorable(s[j - 1])) {
        j--;
    }
    if (j == 0 || !is_cased(s[j - 1])) {
        return 0x3C3;
    }
    for (j = i + 1; j < n && is_case_ignorable(s[j]); j++) {}
    return j < n && is_cased(s[j]) ? 0x3C3 : 0x3C2;
}

static bool lowercase(const cpbuf * in, cpbuf * out) {
    if (!cb_reserve(out, in->n * 2)) { /* U+0130 becomes two code points */
        return false;
    }
    for (size_t i = 0; i < in->n; i++) {
        uint32_t c = in->v[i];
        if (c < 0x80) {
            out->v[out->n++] = c >= 'A' && c <= 'Z' ? c + 32 : c;
            continue;
        }
        if (c == 0x3A3) {
            out->v[out->n++] = lower_sigma(in->v, in->n, i);
            continue;
        }
        bool done = false;
        for (size_t k = 0; k < ARRAY_LEN(unicode_lower_multis) && !done; k++) {
            if (unicode_lower_multis[k].cp == c) {
                for (int a = 0; a < unicode_lower_multis[k].n; a++) {
                    out->v[out->n++] = unicode_lower_multis[k].cps[a];
                }
                done = true;
            }
        }
        if (done) {
            continue;
        }
        size_t lo = 0, hi = ARRAY_LEN(unicode_lower_pairs);
        uint32_t low = c;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (c < unicode_lower_pairs[mid].cp) {
                hi = mid;
            } else if (c > unicode_lower_pairs[mid].cp) {
                lo = mid + 1;
            } else {
                low = unicode_lower_pairs[mid].lower;
                break;
            }
        }
        out->v[out->n++] = low;
    }
    return true;
}

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
static void bpe_piece(const clip_tokenizer * tok, bpe_scratch * b, size_t n) {
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

/* ---- pre-tokenizer ------------------------------------------------------------------------------- */

/* regex IGNORECASE equality of a text code point with an ASCII pattern character. */
static bool matches_ascii_ci(uint32_t c, char p) {
    if (c == (uint8_t)p) {
        return true;
    }
    if (c < 0x80) {
        return is_ascii_alpha(c) && is_ascii_alpha((uint8_t)p) && (c | 0x20) == ((uint8_t)p | 0x20);
    }
    for (size_t k = 0; k < ARRAY_LEN(unicode_ascii_fold_pairs); k++) {
        if (unicode_ascii_fold_pairs[k].cp == c && unicode_ascii_fold_pairs[k].ascii == (uint8_t)p) {
            return true;
        }
    }
    return false;
}

/* Length of the case-insensitive match of `lit` at s[i], or 0; *exact tells whether the text
 * spells it exactly (only then does SimpleTokenizer's cache map it to the special id). */
static size_t match_literal(const uint32_t * s, size_t n, size_t i, const char * lit, bool * exact) {
    size_t len = strlen(lit);
    if (n - i < len) {
        return 0;
    }
    *exact = true;
    for (size_t k = 0; k < len; k++) {
        if (!matches_ascii_ci(s[i + k], lit[k])) {
            return 0;
        }
        *exact = *exact && s[i + k] == (uint8_t)lit[k];
    }
    return len;
}

/* 's 't 're 've 'm 'll 'd (IGNORECASE) at s[i]: the match length or 0. */
static size_t match_contraction(const uint32_t * s, size_t n, size_t i) {
    static const char * const suffixes[] = {"s", "t", "re", "ve", "m", "ll", "d"};
    if (s[i] != '\'') {
        return 0;
    }
    for (size_t k = 0; k < ARRAY_LEN(suffixes); k++) {
        size_t len = strlen(suffixes[k]);
        if (n - i - 1 < len) {
            continue;
        }
        bool ok = true;
        for (size_t a = 0; a < len && ok; a++) {
            ok = matches_ascii_ci(s[i + 1 + a], suffixes[k][a]);
        }
        if (ok) {
            return len + 1;
        }
    }
    return 0;
}

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

static bool encode_piece(const clip_tokenizer * tok, bpe_scratch * b, const uint32_t * s, size_t len, token_sink * out) {
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

/* re.findall of `special|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+` (IGNORECASE),
 * each piece byte-pair encoded, until the output is full. */
static bool split_and_encode(const clip_tokenizer * tok, const cpbuf * text, bpe_scratch * b, token_sink * out) {
    const uint32_t * s = text->v;
    size_t n = text->n, i = 0;
    while (i < n && !sink_full(out)) {
        size_t len = 0;
        bool exact = false;
        int special = -1;
        for (int k = 0; k < 2 && !len; k++) {
            len = match_literal(s, n, i, SPECIAL_LITERALS[k], &exact);
            special = k;
        }
        if (len && exact) {
            sink_put(out, special == 0 ? tok->bos : tok->eos);
            i += len;
            continue;
        }
        if (!len) {
            len = match_contraction(s, n, i);
        }
        if (!len) {
            int cls = token_class(tok, s[i]);
            if (cls == UNICODE_CLASS_NONE) {
                i++;
                continue;
            }
            len = 1;
            if (cls != UNICODE_CLASS_NUMBER) {
                while (i + len < n && token_class(tok, s[i + len]) == cls) {
                    len++;
                }
            }
        }
        if (!encode_piece(tok, b, s + i, len, out)) {
            return false;
        }
        i += len;
    }
    return true;
}

/* ---- encode ---------------------------------------------------------------------------------------- */

int clip_tokenizer_encode(const clip_tokenizer * tok, const char * text,
                          int32_t * ids, int32_t max_ids, int32_t * n_ids,
                          char * err, size_t err_size) {
    if (n_ids) {
        *n_ids = 0;
    }
    if (!tok || !text || !ids || !n_ids || max_ids < 2) {
        set_err(err, err_size, "tokenizer: invalid arguments (max_ids must be >= 2)");
        return -1;
    }
    size_t len = strlen(text);
    cpbuf a = {0}, b = {0}, c = {0}, d = {0}, e = {0};
    bpe_scratch bs = {0};
    int rc = -1;
    if (!cb_reserve(&a, len + 1)) {
        goto oom;
    }
    size_t bad = utf8_decode((const uint8_t *)text, len, &a);
    if (bad != (size_t)-1) {
        set_err(err, err_size, "tokenizer: invalid UTF-8 at byte offset %zu (byte 0x%02X)", bad,
                (unsigned)(uint8_t)text[bad]);
        goto done;
    }
    /* basic_clean: ftfy.fix_text, html.unescape twice; then whitespace_clean and lower() */
    if (!ftfy_fix_text(&a, &b, &c, &d, &e)) {
        goto oom;
    }
    for (int k = 0; k < 2; k++) {
        if (has_ampersand(&b)) {
            if (!html_unescape(&b, &a)) {
                goto oom;
            }
            cb_swap(&a, &b);
        }
    }
    if (!collapse_whitespace(&b, &a) || !lowercase(&a, &b)) {
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
    set_err(err, err_size, "tokenizer: out of memory");
done:
    free(a.v);
    free(b.v);
    free(c.v);
    free(d.v);
    free(e.v);
    free(bs.block);
    return rc;
}
