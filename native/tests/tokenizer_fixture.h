/*
 * Test-only readers of the tokenizer fixtures (<fixtures>/tokenizer/, written from open_clip by
 * gguf-tools/reference/tokenizer_fixture.py): text files read as lines, and corpus.tsv lines
 * ("<hex of the text's UTF-8>\t<open_clip's ids at context 77>"). Shared by test_tokenizer.c and
 * test_bpe_rebuild.c so that both judge the corpus the same way.
 */
#ifndef CLEARCLIP_TOKENIZER_FIXTURE_H
#define CLEARCLIP_TOKENIZER_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char * data;   /* the file, its '\n's replaced by NULs */
    char ** lines;
    int32_t n;
} line_file;

static bool read_lines(const char * path, line_file * out) {
    memset(out, 0, sizeof(*out));
    FILE * f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s: run gguf-tools/reference/make_fixtures.py "
                        "(or native/tests/gen_tokenizer_corpus.py) to make the fixtures\n", path);
        return false;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    out->data = malloc((size_t)size + 1);
    if (!out->data || fread(out->data, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        fprintf(stderr, "cannot read %s\n", path);
        return false;
    }
    fclose(f);
    out->data[size] = '\0';
    int32_t cap = 1;
    for (long i = 0; i < size; i++) {
        cap += out->data[i] == '\n';
    }
    out->lines = malloc(sizeof(char *) * (size_t)cap);
    char * p = out->data;
    while (*p) {
        char * nl = strchr(p, '\n');
        if (nl) {
            *nl = '\0';
        }
        out->lines[out->n++] = p;
        if (!nl) {
            break;
        }
        p = nl + 1;
    }
    return true;
}

static void free_lines(line_file * f) {
    free(f->data);
    free(f->lines);
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* One corpus.tsv case: the text (malloc'ed, NUL-terminated) and open_clip's ids. */
typedef struct {
    char * text;
    size_t hex_len;      /* length of the hex field, for messages */
    int32_t ref[128];
    int32_t n_ref;
} corpus_case;

/* false for a line without a TAB (the caller decides whether that is an error). */
static bool parse_corpus_line(const char * line, corpus_case * c) {
    const char * tab = strchr(line, '\t');
    if (!tab) {
        return false;
    }
    c->hex_len = (size_t)(tab - line);
    c->text = malloc(c->hex_len / 2 + 1);
    size_t n_text = 0;
    for (size_t i = 0; i + 1 < c->hex_len; i += 2) {
        c->text[n_text++] = (char)(hex_digit(line[i]) * 16 + hex_digit(line[i + 1]));
    }
    c->text[n_text] = '\0';
    c->n_ref = 0;
    for (char * p = (char *)tab + 1; *p && c->n_ref < 128;) {
        c->ref[c->n_ref++] = (int32_t)strtol(p, &p, 10);
        while (*p == ' ') p++;
    }
    return true;
}

#endif
