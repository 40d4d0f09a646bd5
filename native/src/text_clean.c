/* open_clip's basic_clean: ftfy.fix_text (HTML entities in text without tags, ligatures,
 * full-width forms, curly quotes, control characters, NFC) and html.unescape, reproduced on code
 * points from the tables in unicode_data.c. See tokenizer.c for the whole pipeline. */
#include "text_normalize.h"

/* ftfy.fix_text works on chunks of at most this many code points (max_decode_length). */
#define FTFY_MAX_SEGMENT 1000000

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

/* ---- HTML character references ------------------------------------------------------------------ */

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
    const unicode_map_entry * inv = cc_map_find(unicode_html_invalid_charrefs, ARRAY_LEN(unicode_html_invalid_charrefs), num);
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

bool cc_has_ampersand(const cpbuf * b) {
    for (size_t i = 0; i < b->n; i++) {
        if (b->v[i] == '&') {
            return true;
        }
    }
    return false;
}

/* Python's html.unescape. A reference never expands: the shortest ("&lt") has three code points
 * and no value has more than two. */
bool cc_html_unescape(const cpbuf * in, cpbuf * out) {
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
    const unicode_map_entry * e = c >= 0x132 ? cc_map_find(unicode_ftfy_ligatures, ARRAY_LEN(unicode_ftfy_ligatures), c) : NULL;
    if (e) {
        n_lig = e->n;
        memcpy(lig, e->cps, sizeof(lig));
    }
    for (int a = 0; a < n_lig; a++) {
        uint32_t w[3] = {lig[a]};
        int n_w = 1;
        const unicode_map_entry * we = lig[a] >= 0x3000 ? cc_map_find(unicode_ftfy_widths, ARRAY_LEN(unicode_ftfy_widths), lig[a]) : NULL;
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
bool cc_ftfy_fix_text(const cpbuf * in, cpbuf * out, cpbuf * cur, cpbuf * t1, cpbuf * t2) {
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
            if (unescape && cc_has_ampersand(cur)) {
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
