/*
 * BPE merges rebuilt from CLIP's ordered vocabulary (files from monatis/clip.cpp's converter carry
 * no merges) against the real ones: <fixtures>/tokenizer/{bpe_vocab.txt, bpe_merges.txt,
 * corpus.tsv}, written from open_clip by gguf-tools/reference/tokenizer_fixture.py. The merges must
 * come back exactly, in order, and a tokenizer built from them must give open_clip's ids on the
 * whole corpus. Vocabularies out of CLIP's order are refused with the token that does not fit.
 */
#include "test_common.h"
#include "bpe_rebuild.h"
#include "tokenizer.h"
#include "tokenizer_fixture.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_corpus(const cc_tokenizer * tok, const char * path) {
    line_file corpus;
    if (!read_lines(path, &corpus)) {
        test_failures++;
        return;
    }
    int cases = 0;
    for (int32_t li = 0; li < corpus.n; li++) {
        char * line = corpus.lines[li];
        corpus_case cc;
        if (!line[0] || !parse_corpus_line(line, &cc)) {
            continue;
        }
        char * text = cc.text;
        const int32_t * ref = cc.ref;
        int32_t n_ref = cc.n_ref;
        int32_t ids[77], n_ids = 0;
        char err[256] = "";
        int rc = cc_tokenizer_encode(tok, text, ids, 77, &n_ids, err, sizeof(err));
        CHECK_MSG(rc == 0 && n_ids == n_ref && memcmp(ids, ref, sizeof(int32_t) * (size_t) n_ref) == 0,
                  "corpus line %d: ids differ from open_clip's with rebuilt merges", li + 1);
        cases++;
        free(text);
    }
    CHECK_MSG(cases > 20, "only %d corpus cases", cases);
    free_lines(&corpus);
}

static void check_refusals(const line_file * vocab) {
    const char ** tokens = malloc(sizeof(char *) * (size_t) vocab->n);
    memcpy(tokens, vocab->lines, sizeof(char *) * (size_t) vocab->n);
    char err[512] = "";
    int32_t n = 0;
    /* "th" (merge 1) after "the</w>" (merge 6), which is made from it */
    const char * t = tokens[513];
    tokens[513] = tokens[518];
    tokens[518] = t;
    char ** merges = clip_bpe_rebuild_merges(tokens, vocab->n, &n, err, sizeof(err));
    CHECK_MSG(merges == NULL && strstr(err, "token 513 'the</w>'") && strstr(err, "not in CLIP's merge order"),
              "out-of-order vocabulary: \"%s\"", err);
    free(merges);
    tokens[518] = tokens[513];
    tokens[513] = t;
    /* byte symbols out of place */
    t = tokens[0];
    tokens[0] = tokens[1];
    tokens[1] = t;
    merges = clip_bpe_rebuild_merges(tokens, vocab->n, &n, err, sizeof(err));
    CHECK_MSG(merges == NULL && strstr(err, "token 0 is '\"' where CLIP's vocabulary has the byte symbol '!'"),
              "swapped byte tokens: \"%s\"", err);
    free(merges);
    merges = clip_bpe_rebuild_merges(tokens, 300, &n, err, sizeof(err));
    CHECK_MSG(merges == NULL && strstr(err, "300 tokens"), "short vocabulary: \"%s\"", err);
    free(merges);
    free(tokens);
}

int main(int argc, char ** argv) {
    const char * fixtures = argc > 1 ? argv[1] : test_fixtures_dir();
    char path[4096];
    line_file vocab, real;
    snprintf(path, sizeof(path), "%s/tokenizer/bpe_vocab.txt", fixtures);
    if (!read_lines(path, &vocab)) {
        return 1;
    }
    snprintf(path, sizeof(path), "%s/tokenizer/bpe_merges.txt", fixtures);
    if (!read_lines(path, &real)) {
        return 1;
    }
    char err[512] = "";
    int32_t n = 0;
    char ** merges = clip_bpe_rebuild_merges((const char * const *) vocab.lines, vocab.n, &n, err, sizeof(err));
    CHECK_MSG(merges != NULL, "rebuild failed: %s", err);
    if (merges) {
        CHECK_MSG(n == real.n, "%d merges rebuilt, %d real", n, real.n);
        int differ = 0;
        for (int32_t i = 0; i < n && i < real.n; i++) {
            if (strcmp(merges[i], real.lines[i]) != 0) {
                if (differ++ < 5) {
                    fprintf(stderr, "  merge %d: rebuilt '%s', real '%s'\n", i, merges[i], real.lines[i]);
                }
            }
        }
        CHECK_MSG(differ == 0, "%d merges differ", differ);
        cc_tokenizer * tok = cc_tokenizer_init((const char * const *) vocab.lines, vocab.n,
                                                   (const char * const *) merges, n, vocab.n - 2, vocab.n - 1,
                                                   err, sizeof(err));
        CHECK_MSG(tok != NULL, "tokenizer from rebuilt merges: %s", err);
        if (tok) {
            snprintf(path, sizeof(path), "%s/tokenizer/corpus.tsv", fixtures);
            check_corpus(tok, path);
            cc_tokenizer_free(tok);
        }
        free(merges);
    }
    check_refusals(&vocab);
    free_lines(&vocab);
    free_lines(&real);
    return test_finish("test_bpe_rebuild");
}
