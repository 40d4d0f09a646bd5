/* Internal: CLIP's BPE merges recovered from its ordered vocabulary (files without merges). */
#ifndef CLEARCLIP_BPE_REBUILD_H
#define CLEARCLIP_BPE_REBUILD_H

#include <stddef.h>
#include <stdint.h>

/*
 * monatis/clip.cpp's converter stores tokenizer.ggml.tokens without tokenizer.ggml.merges. CLIP's
 * vocabulary is built in a fixed order: the 256 byte symbols, the same with "</w>", one token per
 * merge in merge order (the two halves joined), then the two special tokens. So token
 * 512 + r is the result of merge r, and its halves are what BPE with merges 0..r-1 makes of its
 * spelling. Returns the n_tokens - 514 merges ("left right", rank order) in one allocation (free
 * with free()), or NULL with a message in err naming the first token that does not fit.
 */
char ** clip_bpe_rebuild_merges(const char * const * tokens, int32_t n_tokens, int32_t * n_merges,
                                char * err, size_t err_size);

#endif
