/*
 * Fuzz target: the CLIP tokenizer on arbitrary bytes (clearclip_tokenize on the tiny model with
 * its small BPE vocabulary).
 *
 * Input: two bytes choose max_tokens (mostly 2..80, sometimes below 2 or large), the rest is the
 * text (cut at its first NUL, as a C string would be). Checked on every success: BOS first, EOS
 * last, ids inside the vocabulary, the count within max_tokens, and open_clip's truncation rule
 * against a long-context run of the same text (the short result is the long one cut to
 * max_tokens with EOS put last).
 */
#include "fuzz_common.h"

#define FUZZ_LONG 4096

static clearclip_model * fuzz_model;
static int32_t           fuzz_vocab, fuzz_bos, fuzz_eos;

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    tiny_variant v = { .tokenizer = true, .no_vision = true };
    fuzz_model = fuzz_load_tiny_model(&v);
    tiny_dims d = tiny_dims_of(&v);
    fuzz_vocab = d.vocab;
    fuzz_bos = d.bos;
    fuzz_eos = d.eos;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    fuzz_reader r = { data, size, 0 };
    uint16_t m = fuzz_u16(&r);
    int32_t max_tokens = (m & 0x8000) ? (int32_t) (m & 0x7FFF) - 2 : 2 + (int32_t) (m % 79);
    size_t n_text = size - r.pos;
    char * text = malloc(n_text + 1);
    memcpy(text, data + r.pos, n_text);
    text[n_text] = '\0';

    int32_t cap = max_tokens > 0 ? max_tokens : 1;
    int32_t * ids = malloc(sizeof(int32_t) * (size_t) cap);
    int32_t n = -1;
    clearclip_status st = clearclip_tokenize(fuzz_model, text, ids, max_tokens, &n);
    if (max_tokens < 2) {
        FUZZ_ASSERT(st == CLEARCLIP_ERR_INVALID_ARGUMENT, "max_tokens %d accepted", max_tokens);
    }
    if (st != CLEARCLIP_OK) {
        fuzz_check_error(st, "clearclip_tokenize");
    } else {
        FUZZ_ASSERT(n >= 2 && n <= max_tokens, "%d tokens for max_tokens %d", n, max_tokens);
        FUZZ_ASSERT(ids[0] == fuzz_bos && ids[n - 1] == fuzz_eos, "ids %d ... %d", ids[0], ids[n - 1]);
        for (int32_t i = 0; i < n; i++) {
            FUZZ_ASSERT(ids[i] >= 0 && ids[i] < fuzz_vocab, "id %d at %d", ids[i], i);
            FUZZ_ASSERT(i == 0 || i == n - 1 || (ids[i] != fuzz_bos && ids[i] != fuzz_eos),
                        "special token %d inside the text at %d", ids[i], i);
        }
        /* Byte-level BPE needs at most one token per byte of the cleaned text, which lowercasing
         * can make longer than the input (U+0130 takes 2 bytes, its lowercase 3); the long run
         * is compared only when it was not truncated itself. */
        if (n_text * 2 + 2 < FUZZ_LONG) {
            int32_t * full = malloc(sizeof(int32_t) * FUZZ_LONG);
            int32_t nf = -1;
            st = clearclip_tokenize(fuzz_model, text, full, FUZZ_LONG, &nf);
            FUZZ_ASSERT(st == CLEARCLIP_OK, "long context refused: %s", clearclip_last_error());
            FUZZ_ASSERT(nf < FUZZ_LONG, "%zu bytes gave %d tokens", n_text, nf);
            int32_t expect = nf <= max_tokens ? nf : max_tokens;
            FUZZ_ASSERT(n == expect, "%d tokens at max %d, %d at %d", n, max_tokens, nf, FUZZ_LONG);
            FUZZ_ASSERT(memcmp(ids, full, sizeof(int32_t) * (size_t) (n - 1)) == 0,
                        "truncated ids are not a prefix of the full ones");
            free(full);
        }
    }
    free(ids);
    free(text);
    return 0;
}
