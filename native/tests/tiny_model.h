/* Writes tiny random CLIP GGUF files (and broken variants of them) with ggml's GGUF writer. */
#ifndef CLEARCLIP_TEST_TINY_MODEL_H
#define CLEARCLIP_TEST_TINY_MODEL_H

#include "ggml.h"
#include "gguf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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
} tiny_variant;

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
    char n[96];
    for (int i = 0; i < layers; i++) {
        const char * mats[] = { "attn_q", "attn_k", "attn_v", "attn_out" };
        for (int j = 0; j < 4; j++) {
            snprintf(n, sizeof(n), "%s.blk.%d.%s.weight", pre, i, mats[j]);
            tiny_add(g, ctx, v, n, mt, 2, TINY_W, TINY_W, 1, 1, 0.6f);
            snprintf(n, sizeof(n), "%s.blk.%d.%s.bias", pre, i, mats[j]);
            tiny_add(g, ctx, v, n, GGML_TYPE_F32, 1, TINY_W, 1, 1, 1, 0.1f);
        }
        const char * lns[] = { "ln1", "ln2" };
        for (int j = 0; j < 2; j++) {
            snprintf(n, sizeof(n), "%s.blk.%d.%s.weight", pre, i, lns[j]);
            tiny_add(g, ctx, v, n, GGML_TYPE_F32, 1, TINY_W, 1, 1, 1, 0.2f);
            snprintf(n, sizeof(n), "%s.blk.%d.%s.bias", pre, i, lns[j]);
            tiny_add(g, ctx, v, n, GGML_TYPE_F32, 1, TINY_W, 1, 1, 1, 0.1f);
        }
        const char * fc1 = v->swap_ffn ? "ffn_down" : "ffn_up";
        const char * fc2 = v->swap_ffn ? "ffn_up" : "ffn_down";
        snprintf(n, sizeof(n), "%s.blk.%d.%s.weight", pre, i, fc1);
        tiny_add(g, ctx, v, n, mt, 2, TINY_W, TINY_F, 1, 1, 0.6f);
        snprintf(n, sizeof(n), "%s.blk.%d.%s.bias", pre, i, fc1);
        tiny_add(g, ctx, v, n, GGML_TYPE_F32, 1, TINY_F, 1, 1, 1, 0.1f);
        snprintf(n, sizeof(n), "%s.blk.%d.%s.weight", pre, i, fc2);
        tiny_add(g, ctx, v, n, mt, 2, TINY_F, TINY_W, 1, 1, 0.2f);
        snprintf(n, sizeof(n), "%s.blk.%d.%s.bias", pre, i, fc2);
        tiny_add(g, ctx, v, n, GGML_TYPE_F32, 1, TINY_W, 1, 1, 1, 0.1f);
    }
}

static void tiny_tower_keys(struct gguf_context * g, const tiny_variant * v, const char * tower,
                            int layers) {
    char k[96];
    snprintf(k, sizeof(k), "clip.%s.embedding_length", tower);
    gguf_set_val_u32(g, k, TINY_W);
    snprintf(k, sizeof(k), "clip.%s.feed_forward_length", tower);
    gguf_set_val_u32(g, k, TINY_F);
    snprintf(k, sizeof(k), "clip.%s.block_count", tower);
    if (v->wide_int_keys) {
        if (tower[0] == 't') gguf_set_val_u8(g, k, (uint8_t) layers);
        else gguf_set_val_i64(g, k, layers);
    } else {
        gguf_set_val_u32(g, k, (uint32_t) layers);
    }
    snprintf(k, sizeof(k), "clip.%s.projection_dim", tower);
    gguf_set_val_u32(g, k, TINY_P);
    snprintf(k, sizeof(k), "clip.%s.attention.head_count", tower);
    gguf_set_val_u32(g, k, TINY_HEADS);
    snprintf(k, sizeof(k), "clip.%s.attention.layer_norm_epsilon", tower);
    gguf_set_val_f32(g, k, 1e-5f);
}

/* Text tower: 1 block; vision tower: 2 blocks, 32x32 native input (2x2 grid). */
static bool write_tiny_model(const char * path, const tiny_variant * v) {
    tiny_rng_state = 12345u;
    struct ggml_init_params ip = { .mem_size = 16u << 20, .mem_buffer = NULL, .no_alloc = false };
    struct ggml_context * ctx = ggml_init(ip);
    struct gguf_context * g = gguf_init_empty();
    const int text_layers = 1, vision_layers = 2, g0 = TINY_IMAGE / TINY_PATCH;
    gguf_set_val_str(g, "general.architecture", v->arch ? v->arch : "clip");
    gguf_set_val_str(g, "general.name", "tiny test model");
    gguf_set_val_u32(g, "general.file_type", 0);
    gguf_set_val_bool(g, "clip.has_text_encoder", !v->no_text);
    gguf_set_val_bool(g, "clip.has_vision_encoder", !v->no_vision);
    gguf_set_val_bool(g, "clip.use_gelu", true);
    if (v->llava_key) gguf_set_val_bool(g, "clip.has_llava_projector", true);
    gguf_set_val_u32(g, "tokenizer.ggml.bos_token_id", TINY_BOS);
    gguf_set_val_u32(g, "tokenizer.ggml.eos_token_id", TINY_EOS);
    if (!v->no_text) {
        tiny_tower_keys(g, v, "text", text_layers);
        gguf_set_val_u32(g, "clip.text.context_length", TINY_CTX);
        tiny_add(g, ctx, v, "t.token_embd.weight", v->mat_type, 2, TINY_W, TINY_VOCAB, 1, 1, 1.0f);
        tiny_add(g, ctx, v, "t.position_embd.weight", GGML_TYPE_F32, 2, TINY_W, TINY_CTX, 1, 1, 0.5f);
        tiny_tower(g, ctx, v, "t", text_layers);
        tiny_add(g, ctx, v, "t.post_ln.weight", GGML_TYPE_F32, 1, TINY_W, 1, 1, 1, 0.2f);
        tiny_add(g, ctx, v, "t.post_ln.bias", GGML_TYPE_F32, 1, TINY_W, 1, 1, 1, 0.1f);
        tiny_add(g, ctx, v, "text_projection.weight", v->mat_type, 2, TINY_W, TINY_P, 1, 1, 0.6f);
    }
    if (!v->no_vision) {
        const float mean[3] = { 0.48145466f, 0.4578275f, 0.40821073f };
        const float std[3]  = { 0.26862954f, 0.26130258f, 0.27577711f };
        tiny_tower_keys(g, v, "vision", vision_layers);
        gguf_set_val_u32(g, "clip.vision.image_size", TINY_IMAGE);
        gguf_set_val_u32(g, "clip.vision.patch_size", TINY_PATCH);
        gguf_set_arr_data(g, "clip.vision.image_mean", GGUF_TYPE_FLOAT32, mean, 3);
        gguf_set_arr_data(g, "clip.vision.image_std", GGUF_TYPE_FLOAT32, std, 3);
        tiny_add(g, ctx, v, "v.class_embd", GGML_TYPE_F32, 1, TINY_W, 1, 1, 1, 1.0f);
        tiny_add(g, ctx, v, "v.patch_embd.weight", GGML_TYPE_F16, 4, TINY_PATCH, TINY_PATCH, 3,
                 TINY_W, 0.1f);
        tiny_add(g, ctx, v, "v.position_embd.weight", GGML_TYPE_F32, 2, TINY_W, g0 * g0 + 1, 1, 1,
                 0.5f);
        tiny_add(g, ctx, v, "v.pre_ln.weight", GGML_TYPE_F32, 1, TINY_W, 1, 1, 1, 0.2f);
        tiny_add(g, ctx, v, "v.pre_ln.bias", GGML_TYPE_F32, 1, TINY_W, 1, 1, 1, 0.1f);
        tiny_tower(g, ctx, v, "v", vision_layers);
        tiny_add(g, ctx, v, "v.post_ln.weight", GGML_TYPE_F32, 1, TINY_W, 1, 1, 1, 0.2f);
        tiny_add(g, ctx, v, "v.post_ln.bias", GGML_TYPE_F32, 1, TINY_W, 1, 1, 1, 0.1f);
        tiny_add(g, ctx, v, "visual_projection.weight", v->mat_type, 2, TINY_W, TINY_P, 1, 1, 0.6f);
    }
    if (v->edit) v->edit(g);
    bool ok = gguf_write_to_file(g, path, false);
    gguf_free(g);
    ggml_free(ctx);
    return ok;
}

#endif
