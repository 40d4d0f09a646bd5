/* Internal: CLIP byte-level BPE tokenizer (open_clip SimpleTokenizer semantics). */
#ifndef CLEARCLIP_TOKENIZER_H
#define CLEARCLIP_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

typedef struct cc_tokenizer cc_tokenizer;

/* Shared by the BPE code (tokenizer.c, bpe_rebuild.c). */

/* splitmix64's finaliser: spreads a 64-bit key over the bits of an open-addressing table index. */
static inline uint64_t cc_mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* FNV-1a of n bytes, then cc_mix64: the key of a string in those tables. */
static inline uint64_t cc_hash_bytes(const char * s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint8_t) s[i]) * 0x100000001b3ULL;
    }
    return cc_mix64(h);
}

/* vsnprintf into a caller's error buffer; a NULL buffer or size 0 means the caller wants none. */
void cc_format_err(char * err, size_t err_size, const char * fmt, ...);

/*
 * Builds a tokenizer from the vocabulary (id order, CLIP byte-to-unicode spelling) and the merges
 * ("left right", rank order). The strings are copied. On failure returns NULL and writes a
 * message into err (err_size bytes).
 */
cc_tokenizer * cc_tokenizer_init(const char * const * tokens, int32_t n_tokens,
                                     const char * const * merges, int32_t n_merges,
                                     int32_t bos_id, int32_t eos_id,
                                     char * err, size_t err_size);

void cc_tokenizer_free(cc_tokenizer * tok);

int32_t cc_tokenizer_vocab_size(const cc_tokenizer * tok);
int32_t cc_tokenizer_bos(const cc_tokenizer * tok);
int32_t cc_tokenizer_eos(const cc_tokenizer * tok);

/*
 * Encodes UTF-8 text as BOS, tokens..., EOS into ids (at most max_ids >= 2 entries; longer
 * sequences are truncated to max_ids with EOS kept last). *n_ids receives the count.
 * Returns 0 on success, -1 if the text is not valid UTF-8 (message in err).
 * Thread-safe: the tokenizer is read-only after init.
 */
int cc_tokenizer_encode(const cc_tokenizer * tok, const char * text,
                          int32_t * ids, int32_t max_ids, int32_t * n_ids,
                          char * err, size_t err_size);

#endif
