/* Internal to the tokenizer: the text side of CLIP's tokenization (open_clip's basic_clean,
 * whitespace_clean, lower() and the pre-tokenizer pattern), on code-point buffers. The BPE side
 * (vocabulary, merges, encode) is tokenizer.c. */
#ifndef CLEARCLIP_TEXT_NORMALIZE_H
#define CLEARCLIP_TEXT_NORMALIZE_H

#include "unicode_data.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- code point buffers ---------------------------------------------------------------------- */

typedef struct {
    uint32_t * v;
    size_t n, cap;
} cpbuf;

/* Makes room for `need` code points, discarding the contents. */
static inline bool cb_reserve(cpbuf * b, size_t need) {
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

static inline void cb_swap(cpbuf * a, cpbuf * b) {
    cpbuf t = *a;
    *a = *b;
    *b = t;
}

static inline bool cb_equal(const cpbuf * a, const cpbuf * b) {
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof(uint32_t)) == 0);
}

/* ---- ASCII classes and table lookups (text_normalize.c) -------------------------------------- */

static inline bool is_ascii_digit(uint32_t c) { return c >= '0' && c <= '9'; }
static inline bool is_ascii_alpha(uint32_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

/* Whether cp lies in one of the n sorted ranges r; the entry of cp in the sorted map t, or NULL. */
bool cc_in_ranges(const unicode_range * r, size_t n, uint32_t cp);
const unicode_map_entry * cc_map_find(const unicode_map_entry * t, size_t n, uint32_t cp);
#define IN_TABLE(table, cp) cc_in_ranges(table, ARRAY_LEN(table), cp)

/* ---- the steps, in the order encode applies them ----------------------------------------------- */

/* Strict UTF-8 decoding (as Python's codec). Returns the byte offset of the first invalid
 * sequence, or (size_t)-1 when the text is valid. */
size_t cc_utf8_decode(const uint8_t * s, size_t len, cpbuf * out);

/* ftfy.fix_text (text_clean.c); out receives the result, cur, t1, t2 are working buffers. */
bool cc_ftfy_fix_text(const cpbuf * in, cpbuf * out, cpbuf * cur, cpbuf * t1, cpbuf * t2);

/* html.unescape (text_clean.c); only worth calling when cc_has_ampersand. */
bool cc_has_ampersand(const cpbuf * b);
bool cc_html_unescape(const cpbuf * in, cpbuf * out);

/* " ".join(text.split()) and str.lower(). False when out of memory. */
bool cc_collapse_whitespace(const cpbuf * in, cpbuf * out);
bool cc_lowercase(const cpbuf * in, cpbuf * out);

/* The pre-tokenizer: re.findall of
 *   `special|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+` (IGNORECASE)
 * one match at a time. From s[*pos] it skips what no alternative matches, sets *pos and *len to
 * the next match and returns its kind (CC_PIECE_END with *len 0 at the end of the text). A
 * special spelled exactly gives CC_PIECE_BOS/EOS; spelled in another case it is text.
 * ascii_class caches the token class (unicode_class_runs) of the ASCII code points. */
enum { CC_PIECE_END, CC_PIECE_BOS, CC_PIECE_EOS, CC_PIECE_TEXT };
int cc_pretok_next(const uint8_t ascii_class[128], const uint32_t * s, size_t n, size_t * pos,
                   size_t * len);

#endif
