/* The engine's GGUF names (the keys of src/gguf_names.h, the tensors of the loader's table in
 * src/model_tensors.c) against the format description in models/README.md, parsed here at run
 * time: every key and tensor the description names is in the code, and every name of the code is
 * in the description, and each tensor has the description's shape. Either side changing alone
 * makes this test fail. */
#include "model_load.h"
#include "test_common.h"

#include <stdbool.h>

#ifndef CLEARCLIP_MODELS_README
#  error "CLEARCLIP_MODELS_README (path of models/README.md) must be defined by the build"
#endif

#define MAX_NAMES 256
#define NAME_LEN  128

typedef struct {
    char v[MAX_NAMES][NAME_LEN];
    int  n;
} name_set;

static bool set_has(const name_set * s, const char * name) {
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->v[i], name) == 0) return true;
    }
    return false;
}

static void set_add(name_set * s, const char * name) {
    if (set_has(s, name)) return;
    CHECK_MSG(s->n < MAX_NAMES && strlen(name) < NAME_LEN, "too many or too long names: %s", name);
    if (s->n < MAX_NAMES && strlen(name) < NAME_LEN) snprintf(s->v[s->n++], NAME_LEN, "%s", name);
}

/* Expands the first {a,b,...} group of pattern (recursively the others), turns a component "N"
 * (the block index of the description) into 0, and adds the results. */
static void expand_add(name_set * out, const char * pattern) {
    const char * open = strchr(pattern, '{');
    if (!open) {
        char name[NAME_LEN] = "";
        const char * p = pattern;
        size_t len = 0;
        while (*p && len + 2 < sizeof(name)) {
            bool at_start = p == pattern || p[-1] == '.';
            if (*p == 'N' && at_start && (p[1] == '.' || p[1] == '\0')) {
                name[len++] = '0';
            } else {
                name[len++] = *p;
            }
            p++;
        }
        name[len] = '\0';
        set_add(out, name);
        return;
    }
    const char * close = strchr(open, '}');
    CHECK_MSG(close != NULL, "unbalanced brace in `%s`", pattern);
    if (!close) return;
    const char * alt = open + 1;
    while (alt <= close) {
        const char * end = alt;
        while (end < close && *end != ',') end++;
        char next[2 * NAME_LEN];
        snprintf(next, sizeof(next), "%.*s%.*s%s", (int) (open - pattern), pattern,
                 (int) (end - alt), alt, close + 1);
        expand_add(out, next);
        alt = end + 1;
    }
}

/* A relative name (".bias", ".ln2.*") replaces as many trailing components of the previous full
 * name as it has; a "*" component keeps the previous name's component in that place. */
static void resolve_relative(const char * prev, const char * rel, char * out, size_t size) {
    int rel_parts = 0;
    for (const char * p = rel; *p; p++) rel_parts += *p == '.';
    const char * cut = prev + strlen(prev);
    for (int k = 0; k < rel_parts && cut > prev; k++) {
        do cut--; while (cut > prev && *cut != '.');
    }
    size_t len = (size_t) (cut - prev);
    snprintf(out, size, "%.*s", (int) len, prev);
    const char * prev_tail = cut; /* ".a.b" */
    const char * r = rel;
    while (*r == '.') {
        const char * r_end = strchr(r + 1, '.');
        if (!r_end) r_end = r + strlen(r);
        const char * p_end = strchr(prev_tail + 1, '.');
        if (!p_end) p_end = prev_tail + strlen(prev_tail);
        size_t used = strlen(out);
        if (r_end - r == 2 && r[1] == '*') {
            snprintf(out + used, size - used, "%.*s", (int) (p_end - prev_tail), prev_tail);
        } else {
            snprintf(out + used, size - used, "%.*s", (int) (r_end - r), r);
        }
        r = r_end;
        prev_tail = p_end;
    }
}

/* The backticked names of a table row's first cell, relative ones resolved, expanded: those of
 * the k-th span into outs[k], the last ones of n_outs (one set: all) into outs[n_outs - 1]. */
static void parse_cell(const char * cell, name_set * outs, int n_outs) {
    int span_index = 0;
    char prev[NAME_LEN] = "";
    const char * p = cell;
    while ((p = strchr(p, '`')) != NULL) {
        const char * end = strchr(p + 1, '`');
        if (!end) break;
        char span[NAME_LEN];
        snprintf(span, sizeof(span), "%.*s", (int) (end - p - 1), p + 1);
        char full[NAME_LEN];
        if (span[0] == '.') {
            CHECK_MSG(prev[0] != '\0', "relative name `%s` with nothing before it", span);
            resolve_relative(prev, span, full, sizeof(full));
        } else {
            snprintf(full, sizeof(full), "%s", span);
        }
        snprintf(prev, sizeof(prev), "%s", full);
        expand_add(&outs[span_index < n_outs ? span_index : n_outs - 1], full);
        span_index++;
        p = end + 1;
    }
}

/* The table's row of a tensor name (block tensors as block 0), or NULL. */
static const cc_tensor_spec * table_row(const char * name) {
    char buf[NAME_LEN];
    for (size_t i = 0; i < cc_n_tensor_specs; i++) {
        const cc_tensor_spec * s = &cc_tensor_specs[i];
        if (!(s->flags & CC_SPEC_BLOCK)) {
            if (strcmp(name, s->name) == 0) return s;
            continue;
        }
        snprintf(buf, sizeof(buf), TN_BLK, TN_TEXT, 0, s->name);
        if ((s->flags & CC_SPEC_TEXT) && strcmp(name, buf) == 0) return s;
        snprintf(buf, sizeof(buf), TN_BLK, TN_VISION, 0, s->name);
        if ((s->flags & CC_SPEC_VISION) && strcmp(name, buf) == 0) return s;
    }
    return NULL;
}

/* A symbol of the description's shapes as the table's dimension, or -1. */
static int readme_dim(const char * sym) {
    static const struct { const char * sym; int dim; } syms[] = {
        { "W", CC_DIM_WIDTH }, { "W_text", CC_DIM_WIDTH }, { "W_vision", CC_DIM_WIDTH },
        { "F", CC_DIM_FFN }, { "P", CC_DIM_PROJ }, { "vocab", CC_DIM_VOCAB },
        { "context_length", CC_DIM_CONTEXT }, { "N", CC_DIM_POSITIONS }, { "p", CC_DIM_PATCH },
        { "3", CC_DIM_RGB },
    };
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        if (strcmp(sym, syms[i].sym) == 0) return syms[i].dim;
    }
    return -1;
}

static int shapes_checked;

/* A "## Tensors" row's shapes (second cell: `[W, F]` / `[F]`, one per name span or one for all)
 * against the table's rows of its names. */
static void check_row_shapes(const char * names_cell, const char * rest) {
    int dims[4][4], n_dims[4] = { 0 }, n_shapes = 0;
    const char * bar = strchr(rest, '|');
    const char * p = rest;
    while (n_shapes < 4 && (p = strchr(p, '`')) != NULL && (!bar || p < bar)) {
        const char * end = strchr(p + 1, '`');
        if (!end) break;
        char span[NAME_LEN];
        snprintf(span, sizeof(span), "%.*s", (int) (end - p - 1), p + 1);
        for (char * tok = strtok(span, "[], "); tok && n_dims[n_shapes] < 4; tok = strtok(NULL, "[], ")) {
            dims[n_shapes][n_dims[n_shapes]++] = readme_dim(tok);
        }
        n_shapes++;
        p = end + 1;
    }
    if (n_shapes == 0) return;
    static name_set sets[4];
    for (int k = 0; k < n_shapes; k++) sets[k].n = 0;
    parse_cell(names_cell, sets, n_shapes);
    for (int k = 0; k < n_shapes; k++) {
        for (int i = 0; i < sets[k].n; i++) {
            const char * name = sets[k].v[i];
            const cc_tensor_spec * s = table_row(name);
            if (!s) continue; /* the name comparison reports it */
            bool same = s->n_dims == n_dims[k];
            for (int d = 0; same && d < n_dims[k]; d++) same = s->ne[d] == dims[k][d];
            CHECK_MSG(same, "models/README.md gives `%s` another shape than src/model_tensors.c", name);
            shapes_checked++;
        }
    }
}

/* Names in the first column of the tables under "## Keys", "## Tensors" and "## What a loader
 * accepts" (whose structure table names general.alignment). */
static void parse_readme(const char * path, name_set * names, char ** whole) {
    FILE * f = fopen(path, "rb");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char * text = calloc(1, (size_t) size + 1);
    CHECK(fread(text, 1, (size_t) size, f) == (size_t) size);
    fclose(f);
    *whole = text;
    bool in_section = false, in_tensors = false;
    for (char * line = text; line && *line;) {
        char * nl = strchr(line, '\n');
        size_t len = nl ? (size_t) (nl - line) : strlen(line);
        if (strncmp(line, "## ", 3) == 0) {
            in_tensors = strncmp(line, "## Tensors", 10) == 0;
            in_section = strncmp(line, "## Keys", 7) == 0 || in_tensors ||
                         strncmp(line, "## What a loader accepts", 24) == 0;
        } else if (in_section && line[0] == '|') {
            char cell[512];
            const char * bar = memchr(line + 1, '|', len - 1);
            size_t cell_len = bar ? (size_t) (bar - line - 1) : 0;
            snprintf(cell, sizeof(cell), "%.*s", (int) cell_len, line + 1);
            parse_cell(cell, names, 1);
            if (in_tensors) check_row_shapes(cell, line + 1 + cell_len + 1);
        }
        line = nl ? nl + 1 : NULL;
    }
}

static bool is_key(const char * name) {
    return strncmp(name, "general.", 8) == 0 || strncmp(name, "clip.", 5) == 0 ||
           strncmp(name, "tokenizer.", 10) == 0;
}

/* The parser on its own, so that a parsing slip cannot make the comparison vacuous. */
static void test_parser(void) {
    name_set s = { .n = 0 };
    parse_cell(" `{t,v}.blk.N.ln1.{weight,bias}`, `.ln2.*` ", &s, 1);
    CHECK_MSG(s.n == 8, "expected 8 names, got %d", s.n);
    CHECK(set_has(&s, "t.blk.0.ln1.weight") && set_has(&s, "v.blk.0.ln1.bias"));
    CHECK(set_has(&s, "t.blk.0.ln2.weight") && set_has(&s, "v.blk.0.ln2.bias"));
    name_set k = { .n = 0 };
    parse_cell(" `clip.vision.attention.head_count`, `.layer_norm_epsilon` ", &k, 1);
    CHECK(k.n == 2 && set_has(&k, "clip.vision.attention.layer_norm_epsilon"));
    name_set b = { .n = 0 };
    parse_cell(" `{t,v}.blk.N.ffn_up.weight` / `.bias` ", &b, 1);
    CHECK(b.n == 4 && set_has(&b, "v.blk.0.ffn_up.bias"));
}

/* The table's own consistency: the block rows bind every field of cc_layer once, the top rows
 * distinct fields of cc_weights, and an FFN row's swap partner swaps back with the same rank. */
static void test_table(void) {
    bool layer_bound[sizeof(cc_layer) / sizeof(struct ggml_tensor *)] = { false };
    bool weights_bound[sizeof(cc_weights) / sizeof(void *)] = { false };
    size_t n_block = 0;
    for (size_t i = 0; i < cc_n_tensor_specs; i++) {
        const cc_tensor_spec * s = &cc_tensor_specs[i];
        CHECK_MSG(s->n_dims >= 1 && s->n_dims <= 4, "%s: %d dimensions", s->name, s->n_dims);
        CHECK_MSG(s->flags & (CC_SPEC_TEXT | CC_SPEC_VISION), "%s belongs to no tower", s->name);
        bool * bound = s->flags & CC_SPEC_BLOCK ? layer_bound : weights_bound;
        size_t slot = s->field / sizeof(void *);
        CHECK_MSG(s->field % sizeof(void *) == 0 && !bound[slot], "%s: field bound twice", s->name);
        bound[slot] = true;
        if (s->flags & CC_SPEC_BLOCK) n_block++;
        if (s->swap) {
            const cc_tensor_spec * p = s + s->swap;
            CHECK_MSG(p >= cc_tensor_specs && p < cc_tensor_specs + cc_n_tensor_specs &&
                          p->swap == -s->swap && p->n_dims == s->n_dims &&
                          (p->flags & CC_SPEC_BLOCK) && (s->flags & CC_SPEC_BLOCK),
                      "%s: bad FFN swap partner", s->name);
        }
    }
    CHECK_MSG(n_block == sizeof(layer_bound) / sizeof(layer_bound[0]),
              "%zu block rows for %zu cc_layer fields", n_block,
              sizeof(layer_bound) / sizeof(layer_bound[0]));
}

int main(void) {
    test_parser();
    test_table();

    name_set doc = { .n = 0 };
    char * text = NULL;
    parse_readme(CLEARCLIP_MODELS_README, &doc, &text);
    if (!text) return test_finish("test_gguf_names");

    name_set code = { .n = 0 };
    char buf[NAME_LEN];
#define ADD(name) set_add(&code, name);
    CC_GGUF_KEYS(ADD)
#undef ADD
#define ADD_TOWER(fmt)                                      \
    snprintf(buf, sizeof(buf), fmt, CC_TOWER_TEXT);         \
    set_add(&code, buf);                                    \
    snprintf(buf, sizeof(buf), fmt, CC_TOWER_VISION);       \
    set_add(&code, buf);
    CC_GGUF_TOWER_KEYS(ADD_TOWER)
#undef ADD_TOWER
    /* the tensors: the loader's table (src/model_tensors.c), block rows as block 0 of their towers */
    for (size_t i = 0; i < cc_n_tensor_specs; i++) {
        const cc_tensor_spec * s = &cc_tensor_specs[i];
        if (!(s->flags & CC_SPEC_BLOCK)) {
            set_add(&code, s->name);
            continue;
        }
        if (s->flags & CC_SPEC_TEXT) {
            snprintf(buf, sizeof(buf), TN_BLK, TN_TEXT, 0, s->name);
            set_add(&code, buf);
        }
        if (s->flags & CC_SPEC_VISION) {
            snprintf(buf, sizeof(buf), TN_BLK, TN_VISION, 0, s->name);
            set_add(&code, buf);
        }
    }

    int doc_keys = 0, doc_tensors = 0;
    for (int i = 0; i < doc.n; i++) {
        is_key(doc.v[i]) ? doc_keys++ : doc_tensors++;
        CHECK_MSG(set_has(&code, doc.v[i]),
                  "models/README.md names `%s`, which src/gguf_names.h or src/model_tensors.c lacks", doc.v[i]);
    }
    for (int i = 0; i < code.n; i++) {
        CHECK_MSG(set_has(&doc, code.v[i]),
                  "src/gguf_names.h or src/model_tensors.c has `%s`, which models/README.md does not describe",
                  code.v[i]);
    }
    /* 30 keys and 13 + 2 x 16 tensors at the time of writing; far fewer means the parse broke */
    CHECK_MSG(doc_keys >= 20 && doc_tensors >= 40, "only %d keys and %d tensors parsed",
              doc_keys, doc_tensors);

    /* LLaVA's names are not part of our format, but the description says how such files are
     * recognised, with the same names. */
    char quoted[NAME_LEN + 2];
#define FOREIGN(name)                                                                      \
    CHECK_MSG(!set_has(&doc, name), "`%s` is LLaVA's, not a key of the format", name);     \
    snprintf(quoted, sizeof(quoted), "`%s`", name);                                        \
    CHECK_MSG(strstr(text, quoted) != NULL, "models/README.md does not mention `%s`", name);
    CC_GGUF_FOREIGN_KEYS(FOREIGN)
#undef FOREIGN
    snprintf(quoted, sizeof(quoted), "`%s*`", TN_LLAVA_MM_PREFIX);
    CHECK_MSG(strstr(text, quoted) != NULL, "models/README.md does not mention %s", quoted);
    free(text);
    CHECK_MSG(shapes_checked == doc_tensors, "%d shapes checked for %d tensors", shapes_checked,
              doc_tensors);
    printf("%d keys and %d tensor names and shapes agree\n", doc_keys, doc_tensors);
    return test_finish("test_gguf_names");
}
