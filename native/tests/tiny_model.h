/* Writes tiny random CLIP GGUF files (and broken variants of them) with ggml's GGUF writer. */
#ifndef CLEARCLIP_TEST_TINY_MODEL_H
#define CLEARCLIP_TEST_TINY_MODEL_H

#include "ggml.h"
#include "gguf.h"
#include "gguf_names.h" /* the engine's table of names; test_gguf_names checks it */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TINY_W     32   /* both towers */
#define TINY_F     256  /* FFN size: lets a row hold one q2_K block for the type test */
#define TINY_HEADS 2
#define TINY_P     16   /* projection dim */
#define TINY_VOCAB 16
#define TINY_CTX   8
#define TINY_BOS   14
#define TINY_EOS   15
#define TINY_IMAGE 32
#define TINY_PATCH 16

typedef struct tiny_variant {
    bool         no_text, no_vision;
    const char * skip_tensor;      /* omit this tensor                               */
    const char * skip_prefix;      /* omit every tensor starting with this           */
    const char * bad_shape_tensor; /* halve this tensor's second dimension           */
    const char * retype_tensor;    /* store this tensor as retype                    */
    enum ggml_type retype;
    bool         swap_ffn;         /* clip.cpp naming: fc1 under ffn_down            */
    bool         llava_key;        /* clip.has_llava_projector = true                */
    const char * arch;             /* general.architecture, default "clip"           */
    bool         wide_int_keys;    /* block counts as u8 / i64                       */
    enum ggml_type mat_type;       /* type of 2-D weights, default f32               */
    const char * poison_tensor;    /* set one value of this tensor to poison_value   */
    float        poison_value;     /* (NaN or infinity: non-finite weight tests)      */
    void (*edit)(struct gguf_context * g); /* changes the metadata before writing     */
    bool         tokenizer;        /* write a small CLIP BPE vocabulary (byte tokens, a few
                                      merges, specials last); vocab_size grows to match   */
    /* smaller dimensions for compact files (fuzz seeds); 0 keeps the TINY_* default */
    int          width, ffn, proj, image, patch;
} tiny_variant;

/* Dimensions of a variant: the TINY_* defaults unless the variant overrides them. */
typedef struct tiny_dims {
    int w, f, p, image, patch, vocab, bos, eos;
} tiny_dims;

/* Merges of the tokenizer variant, in rank order; each result is a vocabulary entry too. */
static const char * const tiny_merges[] = {
    "t h", "th e</w>", "a n", "an d</w>", "o f</w>", "p h", "ph o", "pho t", "phot o</w>",
    "i n", "in g</w>", "e r</w>", "o n</w>", "a t</w>", "r e", "s t", "c a", "ca t</w>",
    "d o", "do g</w>", "f o", "fo x</w>", "s k", "sk y</w>", "a</w> b", "o o",
};
#define TINY_N_MERGES ((int) (sizeof(tiny_merges) / sizeof(tiny_merges[0])))
/* 256 byte tokens, 256 with </w>, one per merge, <|startoftext|>, <|endoftext|> */
#define TINY_TOKENIZER_VOCAB (512 + TINY_N_MERGES + 2)

static tiny_dims tiny_dims_of(const tiny_variant * v) {
    tiny_dims d = { v->width ? v->width : TINY_W, v->ffn ? v->ffn : TINY_F,
                    v->proj ? v->proj : TINY_P, v->image ? v->image : TINY_IMAGE,
                    v->patch ? v->patch : TINY_PATCH, TINY_VOCAB, TINY_BOS, TINY_EOS };
    if (v->tokenizer) {
        d.vocab = TINY_TOKENIZER_VOCAB;
        d.bos = d.vocab - 2;
        d.eos = d.vocab - 1;
    }
    return d;
}

/* CLIP's byte-level vocabulary spelling (bytes_to_unicode), written independently of the
 * engine's tokenizer: printable Latin-1 bytes stand for themselves, the others take code points
 * from U+0100 on in byte order. */
static int tiny_byte_token(int b, bool end_of_word, char * out) {
    int cp = b, next = 256;
    bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    if (!printable) {
        for (int i = 0; i < b; i++) {
            next += !((i >= 0x21 && i <= 0x7E) || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE);
        }
        cp = next;
    }
    int n = 0;
    if (cp < 0x80) {
        out[n++] = (char) cp;
    } else {
        out[n++] = (char) (0xC0 | (cp >> 6));
        out[n++] = (char) (0x80 | (cp & 0x3F));
    }
    out[n] = '\0';
    if (end_of_word) strcat(out, "</w>");
    return n;
}

static void tiny_write_tokenizer(struct gguf_context * g) {
    static char bytes[512][12];
    static char merged[TINY_N_MERGES][32];
    const char * toks[TINY_TOKENIZER_VOCAB];
    for (int b = 0; b < 256; b++) {
        tiny_byte_token(b, false, bytes[b]);
        tiny_byte_token(b, true, bytes[256 + b]);
        toks[b] = bytes[b];
        toks[256 + b] = bytes[256 + b];
    }
    for (int i = 0; i < TINY_N_MERGES; i++) {
        const char * sp = strchr(tiny_merges[i], ' ');
        snprintf(merged[i], sizeof(merged[i]), "%.*s%s", (int) (sp - tiny_merges[i]),
                 tiny_merges[i], sp + 1);
        toks[512 + i] = merged[i];
    }
    toks[512 + TINY_N_MERGES] = "<|startoftext|>";
    toks[513 + TINY_N_MERGES] = "<|endoftext|>";
    gguf_set_arr_str(g, KEY_TOKENS, toks, TINY_TOKENIZER_VOCAB);
    gguf_set_arr_str(g, KEY_MERGES, (const char **) tiny_merges, TINY_N_MERGES);
}

static uint32_t tiny_rng_state;
static float tiny_rand(void) {
    tiny_rng_state = tiny_rng_state * 1664525u + 1013904223u;
    return ((float) (tiny_rng_state >> 8) / 16777216.0f - 0.5f);
}

static bool tiny_skipped(const tiny_variant * v, const char * name) {
    return (v->skip_tensor && strcmp(v->skip_tensor, name) == 0) ||
           (v->skip_prefix && strncmp(v->skip_prefix, name, strlen(v->skip_prefix)) == 0);
}

static void tiny_add(struct gguf_context * g, struct ggml_context * ctx, const tiny_variant * v,
                     const char * name, enum ggml_type type, int n_dims, int64_t ne0, int64_t ne1,
                     int64_t ne2, int64_t ne3, float scale) {
    if (tiny_skipped(v, name)) return;
    if (v->bad_shape_tensor && strcmp(v->bad_shape_tensor, name) == 0) ne1 /= 2;
    if (v->retype_tensor && strcmp(v->retype_tensor, name) == 0) type = v->retype;
    int64_t ne[4] = { ne0, ne1, ne2, ne3 };
    struct ggml_tensor * t = ggml_new_tensor(ctx, type, n_dims, ne);
    ggml_set_name(t, name);
    int64_t n = ggml_nelements(t);
    float * vals = malloc(sizeof(float) * (size_t) n);
    /* layer norms scale around 1 so that tokens stay distinguishable through the tower */
    const float offset = strstr(name, "ln") && strstr(name, ".weight") ? 1.0f : 0.0f;
    for (int64_t i = 0; i < n; i++) vals[i] = offset + scale * tiny_rand();
    if (v->poison_tensor && strcmp(v->poison_tensor, name) == 0) vals[n / 2] = v->poison_value;
    ggml_quantize_chunk(type, vals, t->data, 0, n / ne0, ne0, NULL);
    free(vals);
    gguf_add_tensor(g, t);
}

static void tiny_tower(struct gguf_context * g, struct ggml_context * ctx, const tiny_variant * v,
                       const char * pre, int layers) {
    const enum ggml_type mt = v->mat_type;
    const tiny_dims d = tiny_dims_of(v);
    char n[96];
    for (int i = 0; i < layers; i++) {
        const char * mats[][2] = { { TN_BLK_Q_W, TN_BLK_Q_B }, { TN_BLK_K_W, TN_BLK_K_B },
                                   { TN_BLK_V_W, TN_BLK_V_B }, { TN_BLK_OUT_W, TN_BLK_OUT_B } };
        for (int j = 0; j < 4; j++) {
            snprintf(n, sizeof(n), TN_BLK, pre, i, mats[j][0]);
            tiny_add(g, ctx, v, n, mt, 2, d.w, d.w, 1, 1, 0.6f);
            snprintf(n, sizeof(n), TN_BLK, pre, i, mats[j][1]);
            tiny_add(g, ctx, v, n, GGML_TYPE_F32, 1, d.w, 1, 1, 1, 0.1f);
        }
        const char * lns[][2] = { { TN_BLK_LN1_W, TN_BLK_LN1_B }, { TN_BLK_LN2_W, TN_BLK_LN2_B } };
        for (int j = 0; j < 2; j++) {
            snprintf(n, sizeof(n), TN_BLK, pre, i, lns[j][0]);
            tiny_add(g, ctx, v, n, GGML_TYPE_F32, 1, d.w, 1, 1, 1, 0.2f);
            snprintf(n, sizeof(n), TN_BLK, pre, i, lns[j][1]);
            tiny_add(g, ctx, v, n, GGML_TYPE_F32, 1, d.w, 1, 1, 1, 0.1f);
        }
        /* clip.cpp's naming (swap_ffn) stores fc1 under ffn_down */
        const char * up[2] = { TN_BLK_FFN_UP_W, TN_BLK_FFN_UP_B };
        const char * down[2] = { TN_BLK_FFN_DOWN_W, TN_BLK_FFN_DOWN_B };
        const char * const * fc1 = v->swap_ffn ? down : up;
        const char * const * fc2 = v->swap_ffn ? up : down;
        snprintf(n, sizeof(n), TN_BLK, pre, i, fc1[0]);
        tiny_add(g, ctx, v, n, mt, 2, d.w, d.f, 1, 1, 0.6f);
        snprintf(n, sizeof(n), TN_BLK, pre, i, fc1[1]);
        tiny_add(g, ctx, v, n, GGML_TYPE_F32, 1, d.f, 1, 1, 1, 0.1f);
        snprintf(n, sizeof(n), TN_BLK, pre, i, fc2[0]);
        tiny_add(g, ctx, v, n, mt, 2, d.f, d.w, 1, 1, 0.2f);
        snprintf(n, sizeof(n), TN_BLK, pre, i, fc2[1]);
        tiny_add(g, ctx, v, n, GGML_TYPE_F32, 1, d.w, 1, 1, 1, 0.1f);
    }
}

static void tiny_tower_keys(struct gguf_context * g, const tiny_variant * v, const char * tower,
                            int layers) {
    const tiny_dims d = tiny_dims_of(v);
    char k[96];
    snprintf(k, sizeof(k), KEY_TOWER_WIDTH, tower);
    gguf_set_val_u32(g, k, d.w);
    snprintf(k, sizeof(k), KEY_TOWER_FFN, tower);
    gguf_set_val_u32(g, k, d.f);
    snprintf(k, sizeof(k), KEY_TOWER_LAYERS, tower);
    if (v->wide_int_keys) {
        if (tower[0] == 't') gguf_set_val_u8(g, k, (uint8_t) layers);
        else gguf_set_val_i64(g, k, layers);
    } else {
        gguf_set_val_u32(g, k, (uint32_t) layers);
    }
    snprintf(k, sizeof(k), KEY_TOWER_PROJ_DIM, tower);
    gguf_set_val_u32(g, k, d.p);
    snprintf(k, sizeof(k), KEY_TOWER_HEADS, tower);
    gguf_set_val_u32(g, k, TINY_HEADS);
    snprintf(k, sizeof(k), KEY_TOWER_EPS, tower);
    gguf_set_val_f32(g, k, 1e-5f);
}

/* Text tower: 1 block; vision tower: 2 blocks, 32x32 native input (2x2 grid). */
static bool write_tiny_model(const char * path, const tiny_variant * v) {
    tiny_rng_state = 12345u;
    const tiny_dims d = tiny_dims_of(v);
    struct ggml_init_params ip = { .mem_size = 16u << 20, .mem_buffer = NULL, .no_alloc = false };
    struct ggml_context * ctx = ggml_init(ip);
    struct gguf_context * g = gguf_init_empty();
    const int text_layers = 1, vision_layers = 2, g0 = d.image / d.patch;
    gguf_set_val_str(g, KEY_GENERAL_ARCHITECTURE, v->arch ? v->arch : CC_ARCH_CLIP);
    gguf_set_val_str(g, KEY_GENERAL_NAME, "tiny test model");
    gguf_set_val_u32(g, KEY_GENERAL_FILE_TYPE, 0);
    gguf_set_val_bool(g, KEY_HAS_TEXT, !v->no_text);
    gguf_set_val_bool(g, KEY_HAS_VISION, !v->no_vision);
    gguf_set_val_bool(g, KEY_USE_GELU, true);
    if (v->llava_key) gguf_set_val_bool(g, KEY_LLAVA_HAS_PROJECTOR, true);
    gguf_set_val_u32(g, KEY_BOS_ID, d.bos);
    gguf_set_val_u32(g, KEY_EOS_ID, d.eos);
    if (v->tokenizer) tiny_write_tokenizer(g);
    if (!v->no_text) {
        tiny_tower_keys(g, v, CC_TOWER_TEXT, text_layers);
        gguf_set_val_u32(g, KEY_CONTEXT_LENGTH, TINY_CTX);
        tiny_add(g, ctx, v, TN_TOKEN_EMBD, v->mat_type, 2, d.w, d.vocab, 1, 1, 1.0f);
        tiny_add(g, ctx, v, TN_TEXT_POS_EMBD, GGML_TYPE_F32, 2, d.w, TINY_CTX, 1, 1, 0.5f);
        tiny_tower(g, ctx, v, TN_TEXT, text_layers);
        tiny_add(g, ctx, v, TN_TEXT_POST_LN_W, GGML_TYPE_F32, 1, d.w, 1, 1, 1, 0.2f);
        tiny_add(g, ctx, v, TN_TEXT_POST_LN_B, GGML_TYPE_F32, 1, d.w, 1, 1, 1, 0.1f);
        tiny_add(g, ctx, v, TN_TEXT_PROJ, v->mat_type, 2, d.w, d.p, 1, 1, 0.6f);
    }
    if (!v->no_vision) {
        const float mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f };
        const float std[3]  = { 0.26862954f, 0.26130258f, 0.27577711f };
        tiny_tower_keys(g, v, CC_TOWER_VISION, vision_layers);
        gguf_set_val_u32(g, KEY_IMAGE_SIZE, d.image);
        gguf_set_val_u32(g, KEY_PATCH_SIZE, d.patch);
        gguf_set_arr_data(g, KEY_IMAGE_MEAN, GGUF_TYPE_FLOAT32, mean, 3);
        gguf_set_arr_data(g, KEY_IMAGE_STD, GGUF_TYPE_FLOAT32, std, 3);
        tiny_add(g, ctx, v, TN_CLASS_EMBD, GGML_TYPE_F32, 1, d.w, 1, 1, 1, 1.0f);
        tiny_add(g, ctx, v, TN_PATCH_EMBD, GGML_TYPE_F16, 4, d.patch, d.patch, 3,
                 d.w, 0.1f);
        tiny_add(g, ctx, v, TN_VISION_POS_EMBD, GGML_TYPE_F32, 2, d.w, g0 * g0 + 1, 1, 1,
                 0.5f);
        tiny_add(g, ctx, v, TN_PRE_LN_W, GGML_TYPE_F32, 1, d.w, 1, 1, 1, 0.2f);
        tiny_add(g, ctx, v, TN_PRE_LN_B, GGML_TYPE_F32, 1, d.w, 1, 1, 1, 0.1f);
        tiny_tower(g, ctx, v, TN_VISION, vision_layers);
        tiny_add(g, ctx, v, TN_VISION_POST_LN_W, GGML_TYPE_F32, 1, d.w, 1, 1, 1, 0.2f);
        tiny_add(g, ctx, v, TN_VISION_POST_LN_B, GGML_TYPE_F32, 1, d.w, 1, 1, 1, 0.1f);
        tiny_add(g, ctx, v, TN_VISION_PROJ, v->mat_type, 2, d.w, d.p, 1, 1, 0.6f);
    }
    if (v->edit) v->edit(g);
    bool ok = gguf_write_to_file(g, path, false);
    gguf_free(g);
    ggml_free(ctx);
    return ok;
}

#endif
