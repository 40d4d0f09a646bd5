/* Text normalisation after basic_clean and the pre-tokenizer: strict UTF-8 decoding, whitespace
 * collapse, str.lower(), and the CLIP split pattern, on code points (tables in unicode_data.c). */
#include "text_normalize.h"

/* open_clip 3.3.0 names its specials <start_of_text>/<end_of_text>, and only these spellings in
 * the text become the BOS/EOS ids, whatever the vocabulary calls those tokens: an HF-style
 * vocabulary spells them <|startoftext|>/<|endoftext|>, which open_clip tokenizes as text. */
static const char * const SPECIAL_LITERALS[2] = {"<start_of_text>", "<end_of_text>"};

/* ---- table lookups ----------------------------------------------------------------------------- */

bool cc_in_ranges(const unicode_range * r, size_t n, uint32_t cp) {
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

const unicode_map_entry * cc_map_find(const unicode_map_entry * t, size_t n, uint32_t cp) {
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

static int token_class(const uint8_t ascii_class[128], uint32_t cp) {
    if (cp < 128) {
        return ascii_class[cp];
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

/* ---- UTF-8 decoding (strict, as Python's codec) ------------------------------------------------- */

/* Returns the byte offset of the first invalid sequence, or (size_t)-1 when the text is valid. */
size_t cc_utf8_decode(const uint8_t * s, size_t len, cpbuf * out) {
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

/* ---- whitespace and case ------------------------------------------------------------------------ */

/* " ".join(text.split()): str.strip() before it changes nothing. */
bool cc_collapse_whitespace(const cpbuf * in, cpbuf * out) {
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

bool cc_lowercase(const cpbuf * in, cpbuf * out) {
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

int cc_pretok_next(const uint8_t ascii_class[128], const uint32_t * s, size_t n, size_t * pos,
                   size_t * len) {
    size_t i = *pos;
    while (i < n) {
        size_t l = 0;
        bool exact = false;
        int special = -1;
        for (int k = 0; k < 2 && !l; k++) {
            l = match_literal(s, n, i, SPECIAL_LITERALS[k], &exact);
            special = k;
        }
        if (l && exact) {
            *pos = i;
            *len = l;
            return special == 0 ? CC_PIECE_BOS : CC_PIECE_EOS;
        }
        if (!l) {
            l = match_contraction(s, n, i);
        }
        if (!l) {
            int cls = token_class(ascii_class, s[i]);
            if (cls == UNICODE_CLASS_NONE) {
                i++;
                continue;
            }
            l = 1;
            if (cls != UNICODE_CLASS_NUMBER) {
                while (i + l < n && token_class(ascii_class, s[i + l]) == cls) {
                    l++;
                }
            }
        }
        *pos = i;
        *len = l;
        return CC_PIECE_TEXT;
    }
    *pos = n;
    *len = 0;
    return CC_PIECE_END;
}
