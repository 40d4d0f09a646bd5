/*
 * CLIP tokenizer against open_clip's SimpleTokenizer.
 *
 * Reads <fixtures>/tokenizer/{bpe_vocab.txt, bpe_merges.txt, corpus.tsv}, written by
 * gguf-tools/reference/tokenizer_fixture.py from open_clip (the fixtures directory is argv[1],
 * else $CLEARCLIP_FIXTURES). Every corpus line is the hex of a text's UTF-8 and the ids open_clip
 * gives it at context 77. Also checks, with hand-derived expectations: truncation to shorter
 * contexts, invalid UTF-8, malformed vocabularies, and the BPE merge order on a tiny vocabulary.
 */
#include "test_common.h"
#include "tokenizer.h"
#include "tokenizer_fixture.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_ids(const char * label, const int32_t * ids, int32_t n) {
    fprintf(stderr, "    %s (%d):", label, n);
    for (int32_t i = 0; i < n; i++) {
        fprintf(stderr, " %d", ids[i]);
    }
    fputc('\n', stderr);
}

/* Expected ids at a shorter context, from open_clip's rule: tokens[:ctx], last := EOT. */
static int32_t truncate_expected(const int32_t * ref, int32_t n_ref, int32_t ctx, int32_t eos, int32_t * out) {
    if (n_ref <= ctx) {
        memcpy(out, ref, sizeof(int32_t) * (size_t)n_ref);
        return n_ref;
    }
    memcpy(out, ref, sizeof(int32_t) * (size_t)ctx);
    out[ctx - 1] = eos;
    return ctx;
}

static void test_corpus(const cc_tokenizer * tok, const char * path) {
    line_file corpus;
    if (!read_lines(path, &corpus)) {
        test_failures++;
        return;
    }
    int cases = 0, passed = 0;
    for (int32_t li = 0; li < corpus.n; li++) {
        char * line = corpus.lines[li];
        if (!line[0]) {
            continue;
        }
        corpus_case cc;
        if (!parse_corpus_line(line, &cc)) {
            CHECK_MSG(false, "%s:%d: no TAB", path, li + 1);
            continue;
        }
        char * text = cc.text;
        size_t hex_len = cc.hex_len;
        const int32_t * ref = cc.ref;
        int32_t n_ref = cc.n_ref;

        cases++;
        int32_t ids[77], n_ids = 0;
        char err[256] = "";
        int rc = cc_tokenizer_encode(tok, text, ids, 77, &n_ids, err, sizeof(err));
        bool ok = rc == 0 && n_ids == n_ref && memcmp(ids, ref, sizeof(int32_t) * (size_t)n_ref) == 0;
        if (ok) {
            passed++;
        } else {
            fprintf(stderr, "corpus line %d: mismatch for text \"%s\" (hex %.*s)%s%s\n", li + 1, text,
                    (int)hex_len, line, rc ? ": " : "", rc ? err : "");
            print_ids("open_clip", ref, n_ref);
            print_ids("ours     ", ids, n_ids);
            test_failures++;
        }

        /* shorter contexts, including the minimum of 2 */
        static const int32_t contexts[] = {2, 3, 5, 16};
        for (size_t c = 0; c < sizeof(contexts) / sizeof(contexts[0]); c++) {
            int32_t ctx = contexts[c], expect[77], short_ids[77], n_short = 0;
            int32_t n_expect = truncate_expected(ref, n_ref, ctx, ref[n_ref - 1], expect);
            rc = cc_tokenizer_encode(tok, text, short_ids, ctx, &n_short, err, sizeof(err));
            CHECK_MSG(rc == 0 && n_short == n_expect &&
                          memcmp(short_ids, expect, sizeof(int32_t) * (size_t)n_expect) == 0,
                      "corpus line %d at context %d: %d ids, expected %d", li + 1, ctx, n_short, n_expect);
        }
        free(text);
    }
    printf("tokenizer corpus: %d/%d cases match open_clip\n", passed, cases);
    CHECK_MSG(cases >= 40, "%s has only %d cases", path, cases);
    free_lines(&corpus);
}

static void test_spec_check_value(const cc_tokenizer * tok) {
    static const int32_t expect[] = {49406, 320, 1125, 539, 320, 3240, 49407};
    int32_t ids[77], n = 0;
    char err[256] = "";
    int rc = cc_tokenizer_encode(tok, "a photo of a fox", ids, 77, &n, err, sizeof(err));
    CHECK_MSG(rc == 0 && n == 7 && memcmp(ids, expect, sizeof(expect)) == 0,
              "\"a photo of a fox\" must give 49406 320 1125 539 320 3240 49407 (rc %d, %d ids)", rc, n);
    CHECK_MSG(cc_tokenizer_vocab_size(tok) == 49408, "vocab size %d", cc_tokenizer_vocab_size(tok));
    CHECK_MSG(cc_tokenizer_bos(tok) == 49406 && cc_tokenizer_eos(tok) == 49407, "bos/eos %d/%d",
              cc_tokenizer_bos(tok), cc_tokenizer_eos(tok));
}

static void test_invalid_utf8(const cc_tokenizer * tok) {
    static const struct {
        const char * text;
        const char * needle;
    } cases[] = {
        {"abc\xff", "byte offset 3"},             /* never valid */
        {"\xc3\x28", "byte offset 0"},            /* continuation missing */
        {"ok \xc0\xaf", "byte offset 3"},         /* overlong '/' */
        {"\xed\xa0\x80", "byte offset 0"},        /* UTF-16 surrogate */
        {"ab\xe2\x82", "byte offset 2"},          /* truncated at the end */
        {"\xf4\x90\x80\x80", "byte offset 0"},    /* above U+10FFFF */
        {"caf\xc3\xa9 \x80", "byte offset 6"},    /* stray continuation byte after valid text */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int32_t ids[77], n = -1;
        char err[256] = "";
        int rc = cc_tokenizer_encode(tok, cases[i].text, ids, 77, &n, err, sizeof(err));
        CHECK_MSG(rc == -1, "invalid UTF-8 case %zu accepted", i);
        CHECK_MSG(n == 0, "invalid UTF-8 case %zu: n_ids %d", i, n);
        CHECK_MSG(strstr(err, cases[i].needle) != NULL, "invalid UTF-8 case %zu: message \"%s\" lacks \"%s\"",
                  i, err, cases[i].needle);
    }
    int32_t ids[77], n = 0;
    char err[256] = "";
    CHECK_MSG(cc_tokenizer_encode(tok, "ok", ids, 1, &n, err, sizeof(err)) == -1 && strstr(err, "max_ids"),
              "max_ids 1 must be refused (\"%s\")", err);
}

/*
 * A tiny vocabulary: the 512 byte tokens of the real one, "ab", "aba" and the two specials, with
 * merges ("ab" "a") ranked before ("a" "b"). For "ababx" (a b a b x</w>), SimpleTokenizer.bpe
 * merges every "a b" first (its lowest-ranked pair present) -> ab ab x</w>; the "ab a" pair that
 * the first merge creates is gone by the time that round ends. Merging greedily by heap order
 * instead would give aba b x</w>.
 */
static void test_merge_rounds(const line_file * vocab) {
    if (vocab->n < 512) {
        CHECK_MSG(false, "vocabulary too short for the tiny-vocabulary test");
        return;
    }
    const char * tokens[516];
    for (int i = 0; i < 512; i++) {
        tokens[i] = vocab->lines[i];
    }
    tokens[512] = "ab";
    tokens[513] = "aba";
    tokens[514] = "<start_of_text>";
    tokens[515] = "<end_of_text>";
    const char * merges[] = {"ab a", "a b"};
    char err[256] = "";
    cc_tokenizer * tiny = cc_tokenizer_init(tokens, 516, merges, 2, 514, 515, err, sizeof(err));
    CHECK_MSG(tiny != NULL, "tiny vocabulary refused: %s", err);
    if (!tiny) {
        return;
    }
    int32_t x_end = -1;
    for (int i = 256; i < 512; i++) {
        if (strcmp(tokens[i], "x</w>") == 0) {
            x_end = i;
        }
    }
    int32_t expect[] = {514, 512, 512, x_end, 515};
    int32_t ids[16], n = 0;
    int rc = cc_tokenizer_encode(tiny, "ababx", ids, 16, &n, err, sizeof(err));
    CHECK_MSG(rc == 0 && n == 5 && memcmp(ids, expect, sizeof(expect)) == 0,
              "\"ababx\" on the tiny vocabulary: rc %d, %d ids (first BPE id %d, expected 512 512 %d)",
              rc, n, n > 1 ? ids[1] : -1, x_end);
    cc_tokenizer_free(tiny);

    /* malformed inputs are refused with a message */
    const char * bad_merge[] = {"a b", "abc"};
    tiny = cc_tokenizer_init(tokens, 516, bad_merge, 2, 514, 515, err, sizeof(err));
    CHECK_MSG(tiny == NULL && strstr(err, "merge 1"), "merge without a space accepted (\"%s\")", err);
    cc_tokenizer_free(tiny);
    const char * unknown_merge[] = {"a q"}; /* "aq" is not in the vocabulary */
    tiny = cc_tokenizer_init(tokens, 516, unknown_merge, 1, 514, 515, err, sizeof(err));
    CHECK_MSG(tiny == NULL && strstr(err, "merge 0"), "merge making an unknown token accepted (\"%s\")", err);
    cc_tokenizer_free(tiny);
    tiny = cc_tokenizer_init(tokens + 256, 260, merges, 0, 256, 257, err, sizeof(err));
    CHECK_MSG(tiny == NULL && strstr(err, "byte token"), "vocabulary without byte tokens accepted (\"%s\")", err);
    cc_tokenizer_free(tiny);
    tiny = cc_tokenizer_init(tokens, 516, merges, 2, 514, 516, err, sizeof(err));
    CHECK_MSG(tiny == NULL, "eos id outside the vocabulary accepted");
    cc_tokenizer_free(tiny);
}

int main(int argc, char ** argv) {
    /* an explicit directory, for running the binary by hand; else ctest's CLEARCLIP_FIXTURES */
    const char * fixtures = argc > 1 ? argv[1] : test_fixtures_dir();
    char path[4096];
    line_file vocab, merges;
    snprintf(path, sizeof(path), "%s/tokenizer/bpe_vocab.txt", fixtures);
    if (!read_lines(path, &vocab)) {
        return 1;
    }
    snprintf(path, sizeof(path), "%s/tokenizer/bpe_merges.txt", fixtures);
    if (!read_lines(path, &merges)) {
        return 1;
    }
    int32_t n_vocab = vocab.n, n_merges = merges.n;

    char err[256] = "";
    cc_tokenizer * tok = cc_tokenizer_init((const char * const *)vocab.lines, n_vocab,
                                               (const char * const *)merges.lines, n_merges,
                                               n_vocab - 2, n_vocab - 1, err, sizeof(err));
    if (!tok) {
        fprintf(stderr, "test_tokenizer: init failed: %s\n", err);
        return 1;
    }
    test_spec_check_value(tok);
    snprintf(path, sizeof(path), "%s/tokenizer/corpus.tsv", fixtures);
    test_corpus(tok, path);
    test_invalid_utf8(tok);
    test_merge_rounds(&vocab);

    cc_tokenizer_free(tok);
    free_lines(&vocab);
    free_lines(&merges);
    return test_finish("test_tokenizer");
}
