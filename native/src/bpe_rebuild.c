/* CLIP's BPE merges rebuilt from the vocabulary order; see bpe_rebuild.h for why this works. */
#include "bpe_rebuild.h"
#include "tokenizer.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_MERGE_TOKEN 512
#define END_OF_WORD "</w>"

typedef struct {
    /* string -> token id (first occurrence) */
    int32_t * tok_slots;
    size_t * tok_len;
    uint64_t tok_mask;
    /* (left id, right id) -> rank, result id */
    uint64_t * pair_keys;
    int32_t * pair_rank;
    int32_t * pair_result;
    uint64_t pair_mask;
    const char * const * tokens;
} rb_maps;

#define RB_EMPTY UINT64_MAX

static int32_t rb_find(const rb_maps * m, const char * s, size_t n) {
    for (uint64_t i = cc_hash_bytes(s, n) & m->tok_mask;; i = (i + 1) & m->tok_mask) {
        int32_t id = m->tok_slots[i];
        if (id < 0) {
            return -1;
        }
        if (m->tok_len[id] == n && memcmp(m->tokens[id], s, n) == 0) {
            return id;
        }
    }
}

static uint64_t rb_pair(int32_t a, int32_t b) {
    return ((uint64_t) (uint32_t) a << 32) | (uint32_t) b;
}

static int64_t rb_pair_slot(const rb_maps * m, uint64_t key) {
    for (uint64_t i = cc_mix64(key) & m->pair_mask;; i = (i + 1) & m->pair_mask) {
        if (m->pair_keys[i] == key || m->pair_keys[i] == RB_EMPTY) {
            return (int64_t) i;
        }
    }
}

static uint64_t rb_pow2(uint64_t n) {
    uint64_t p = 16;
    while (p < n) {
        p <<= 1;
    }
    return p;
}

/* CLIP's byte-to-unicode table: printable Latin-1 bytes stand for themselves, the other 68 bytes
 * get U+0100.. in increasing order; the vocabulary lists the self-standing ones first. */
static void rb_byte_symbols(uint32_t order[256]) {
    int n = 0;
    bool self[256] = {false};
    for (int b = 0; b < 256; b++) {
        self[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (self[b]) {
            order[n++] = (uint32_t) b;
        }
    }
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        if (!self[b]) {
            order[n++] = next++;
        }
    }
}

static size_t rb_utf8(uint32_t cp, char * out) {
    if (cp < 0x80) {
        out[0] = (char) cp;
        return 1;
    }
    out[0] = (char) (0xC0 | (cp >> 6));
    out[1] = (char) (0x80 | (cp & 0x3F));
    return 2;
}

/* Length of the UTF-8 sequence starting with byte c (1 for anything malformed). */
static size_t rb_seq_len(unsigned char c) {
    return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

static bool rb_expect(const char * const * tokens, int32_t id, const char * want, size_t n, const char * what,
                      char * err, size_t err_size) {
    if (strlen(tokens[id]) != n || memcmp(tokens[id], want, n) != 0) {
        cc_format_err(err, err_size, "token %d is '%s' where CLIP's vocabulary has the %s '%.*s'", id, tokens[id], what,
               (int) n, want);
        return false;
    }
    return true;
}

char ** clip_bpe_rebuild_merges(const char * const * tokens, int32_t n_tokens, int32_t * n_merges,
                                char * err, size_t err_size) {
    if (!tokens || n_tokens < FIRST_MERGE_TOKEN + 2) {
        cc_format_err(err, err_size, "the vocabulary has %d tokens; CLIP's has at least the 512 byte tokens and the "
               "two special tokens", n_tokens);
        return NULL;
    }
    for (int32_t i = 0; i < n_tokens; i++) {
        if (!tokens[i]) {
            cc_format_err(err, err_size, "token %d is missing", i);
            return NULL;
        }
    }
    uint32_t order[256];
    rb_byte_symbols(order);
    for (int b = 0; b < 256; b++) {
        char buf[8];
        size_t n = rb_utf8(order[b], buf);
        if (!rb_expect(tokens, b, buf, n, "byte symbol", err, err_size)) return NULL;
        memcpy(buf + n, END_OF_WORD, 4);
        if (!rb_expect(tokens, 256 + b, buf, n + 4, "byte symbol with </w>", err, err_size)) return NULL;
    }
    /* The last two are the special tokens, whatever they are called (open_clip's own vocabulary
     * says <start_of_text>, Hugging Face's <|startoftext|>). */

    const int32_t count = n_tokens - FIRST_MERGE_TOKEN - 2;
    rb_maps m = {0};
    m.tokens = tokens;
    m.tok_mask = rb_pow2((uint64_t) n_tokens * 2) - 1;
    m.pair_mask = rb_pow2((uint64_t) count * 2) - 1;
    m.tok_slots = malloc(sizeof(int32_t) * (m.tok_mask + 1));
    m.tok_len = malloc(sizeof(size_t) * (size_t) n_tokens);
    m.pair_keys = malloc(sizeof(uint64_t) * (m.pair_mask + 1));
    m.pair_rank = malloc(sizeof(int32_t) * (m.pair_mask + 1));
    m.pair_result = malloc(sizeof(int32_t) * (m.pair_mask + 1));
    size_t text_bytes = 0;
    for (int32_t id = FIRST_MERGE_TOKEN; id < n_tokens - 2; id++) {
        text_bytes += strlen(tokens[id]) + 2; /* one space and a NUL per merge */
    }
    /* The pointer table and the strings in one block, so the caller frees once. */
    char ** merges = malloc(sizeof(char *) * (size_t) (count > 0 ? count : 1) + text_bytes);
    int32_t * syms = malloc(sizeof(int32_t) * 1024);
    char ** result = NULL;
    if (!m.tok_slots || !m.tok_len || !m.pair_keys || !m.pair_rank || !m.pair_result || !merges || !syms) {
        cc_format_err(err, err_size, "out of memory rebuilding the BPE merges");
        goto done;
    }
    memset(m.tok_slots, 0xFF, sizeof(int32_t) * (m.tok_mask + 1));
    for (int32_t id = 0; id < n_tokens; id++) {
        size_t n = strlen(tokens[id]);
        m.tok_len[id] = n;
        for (uint64_t i = cc_hash_bytes(tokens[id], n) & m.tok_mask;; i = (i + 1) & m.tok_mask) {
            int32_t other = m.tok_slots[i];
            if (other < 0) {
                m.tok_slots[i] = id;
                break;
            }
            if (m.tok_len[other] == n && memcmp(tokens[other], tokens[id], n) == 0) {
                break; /* keep the first id of a repeated string: it is the one merges make */
            }
        }
    }
    for (uint64_t i = 0; i <= m.pair_mask; i++) {
        m.pair_keys[i] = RB_EMPTY;
    }

    char * text = (char *) (merges + (count > 0 ? count : 1));
    for (int32_t r = 0; r < count; r++) {
        const int32_t id = FIRST_MERGE_TOKEN + r;
        const char * t = tokens[id];
        size_t len = m.tok_len[id];
        bool eow = len > 4 && memcmp(t + len - 4, END_OF_WORD, 4) == 0;
        size_t core = eow ? len - 4 : len;
        if (core == 0 || core > 1000) {
            cc_format_err(err, err_size, "token %d '%s' cannot be a CLIP merge result", id, t);
            goto done;
        }
        /* initial symbols: one byte token per character, "</w>" joined to the last */
        int32_t n = 0;
        for (size_t p = 0; p < core;) {
            size_t cl = rb_seq_len((unsigned char) t[p]);
            if (p + cl > core) {
                cl = core - p;
            }
            bool last = p + cl == core;
            char buf[16];
            memcpy(buf, t + p, cl);
            size_t bl = cl;
            if (last && eow) {
                memcpy(buf + bl, END_OF_WORD, 4);
                bl += 4;
            }
            int32_t s = rb_find(&m, buf, bl);
            if (s < 0 || s >= FIRST_MERGE_TOKEN) {
                cc_format_err(err, err_size, "token %d '%s' has a character that is not one of CLIP's byte symbols", id, t);
                goto done;
            }
            syms[n++] = s;
            p += cl;
        }
        /* CLIP's BPE with the merges so far: join every occurrence of the lowest-ranked pair */
        while (n > 2) {
            int32_t best = INT32_MAX, best_result = -1;
            uint64_t best_key = 0;
            for (int32_t i = 0; i + 1 < n; i++) {
                uint64_t key = rb_pair(syms[i], syms[i + 1]);
                int64_t slot = rb_pair_slot(&m, key);
                if (m.pair_keys[slot] == key && m.pair_rank[slot] < best) {
                    best = m.pair_rank[slot];
                    best_result = m.pair_result[slot];
                    best_key = key;
                }
            }
            if (best_result < 0) {
                break;
            }
            int32_t w = 0;
            for (int32_t i = 0; i < n; i++) {
                if (i + 1 < n && rb_pair(syms[i], syms[i + 1]) == best_key) {
                    syms[w++] = best_result;
                    i++;
                } else {
                    syms[w++] = syms[i];
                }
            }
            n = w;
        }
        if (n != 2) {
            cc_format_err(err, err_size, "token %d '%s' is not one merge of two earlier tokens (the merges before it make "
                   "%d pieces of it), so the vocabulary is not in CLIP's merge order", id, t, n);
            goto done;
        }
        int64_t slot = rb_pair_slot(&m, rb_pair(syms[0], syms[1]));
        m.pair_keys[slot] = rb_pair(syms[0], syms[1]);
        m.pair_rank[slot] = r;
        m.pair_result[slot] = id;
        merges[r] = text;
        size_t ll = m.tok_len[syms[0]], rl = m.tok_len[syms[1]];
        memcpy(text, tokens[syms[0]], ll);
        text[ll] = ' ';
        memcpy(text + ll + 1, tokens[syms[1]], rl);
        text[ll + 1 + rl] = '\0';
        text += ll + rl + 2;
    }
    *n_merges = count;
    result = merges;
    merges = NULL;

done:
    free(m.tok_slots);
    free(m.tok_len);
    free(m.pair_keys);
    free(m.pair_rank);
    free(m.pair_result);
    free(merges);
    free(syms);
    return result;
}
