/* The tensor table: every tensor of a clearclip GGUF file with its expected shape (from the
 * hyperparameters), the types it may have and the cc_weights / cc_layer field it binds to. One
 * walk over it drives both the loader's checks (model_load.c) and the binding of the fields
 * (model_weights.c), so a tensor is added, reshaped or renamed in one row. */
#include "model_load.h"

#include <stdio.h>

#define CC_W(field) offsetof(cc_weights, field)
#define CC_L(field) offsetof(cc_layer, field)
#define CC_T        CC_SPEC_TEXT
#define CC_V        CC_SPEC_VISION
#define CC_B        (CC_SPEC_TEXT | CC_SPEC_VISION | CC_SPEC_BLOCK)
#define CC_MAT      CC_TYPES_ANY
#define CC_VEC      CC_TYPES_FLOAT

/* In the order the loader checks them, which decides the tensor an error names when several are
 * wrong: a tower's embeddings, its blocks (the CC_B rows, repeated for every block), its head.
 * Each tower walks the rows of its flag; the block rows form one group.
 * The FFN rows name fc1 under ffn_up and fc2 under ffn_down, as our converter writes them;
 * `swap` points to the row whose shape and field a tensor takes in a block stored the other way
 * round (see cc_ffn_swapped). */
const cc_tensor_spec cc_tensor_specs[] = {
    /* name                 towers  types   dims  shape                                  swap  field */
    { TN_TOKEN_EMBD,        CC_T,   CC_MAT, 2, { CC_DIM_WIDTH, CC_DIM_VOCAB },             0, CC_W(t_token_embd) },
    { TN_TEXT_POS_EMBD,     CC_T,   CC_VEC, 2, { CC_DIM_WIDTH, CC_DIM_CONTEXT },           0, CC_W(t_pos_embd) },
    { TN_CLASS_EMBD,        CC_V,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_W(v_class_embd) },
    { TN_PATCH_EMBD,        CC_V,   CC_MAT, 4, { CC_DIM_PATCH, CC_DIM_PATCH, CC_DIM_RGB, CC_DIM_WIDTH },
                                                                                           0, CC_W(v_patch_embd) },
    { TN_VISION_POS_EMBD,   CC_V,   CC_VEC, 2, { CC_DIM_WIDTH, CC_DIM_POSITIONS },         0, CC_W(v_pos_embd) },
    { TN_PRE_LN_W,          CC_V,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_W(v_pre_ln_w) },
    { TN_PRE_LN_B,          CC_V,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_W(v_pre_ln_b) },

    { TN_BLK_Q_W,           CC_B,   CC_MAT, 2, { CC_DIM_WIDTH, CC_DIM_WIDTH },             0, CC_L(q_w) },
    { TN_BLK_K_W,           CC_B,   CC_MAT, 2, { CC_DIM_WIDTH, CC_DIM_WIDTH },             0, CC_L(k_w) },
    { TN_BLK_V_W,           CC_B,   CC_MAT, 2, { CC_DIM_WIDTH, CC_DIM_WIDTH },             0, CC_L(v_w) },
    { TN_BLK_OUT_W,         CC_B,   CC_MAT, 2, { CC_DIM_WIDTH, CC_DIM_WIDTH },             0, CC_L(o_w) },
    { TN_BLK_LN1_W,         CC_B,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_L(ln1_w) },
    { TN_BLK_LN1_B,         CC_B,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_L(ln1_b) },
    { TN_BLK_LN2_W,         CC_B,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_L(ln2_w) },
    { TN_BLK_LN2_B,         CC_B,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_L(ln2_b) },
    { TN_BLK_Q_B,           CC_B,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_L(q_b) },
    { TN_BLK_K_B,           CC_B,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_L(k_b) },
    { TN_BLK_V_B,           CC_B,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_L(v_b) },
    { TN_BLK_OUT_B,         CC_B,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_L(o_b) },
    { TN_BLK_FFN_UP_W,      CC_B,   CC_MAT, 2, { CC_DIM_WIDTH, CC_DIM_FFN },              +1, CC_L(fc1_w) },
    { TN_BLK_FFN_DOWN_W,    CC_B,   CC_MAT, 2, { CC_DIM_FFN, CC_DIM_WIDTH },              -1, CC_L(fc2_w) },
    { TN_BLK_FFN_UP_B,      CC_B,   CC_VEC, 1, { CC_DIM_FFN },                            +1, CC_L(fc1_b) },
    { TN_BLK_FFN_DOWN_B,    CC_B,   CC_VEC, 1, { CC_DIM_WIDTH },                          -1, CC_L(fc2_b) },

    { TN_TEXT_POST_LN_W,    CC_T,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_W(t_post_ln_w) },
    { TN_TEXT_POST_LN_B,    CC_T,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_W(t_post_ln_b) },
    { TN_TEXT_PROJ,         CC_T,   CC_MAT, 2, { CC_DIM_WIDTH, CC_DIM_PROJ },              0, CC_W(t_proj) },
    { TN_VISION_POST_LN_W,  CC_V,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_W(v_post_ln_w) },
    { TN_VISION_POST_LN_B,  CC_V,   CC_VEC, 1, { CC_DIM_WIDTH },                           0, CC_W(v_post_ln_b) },
    { TN_VISION_PROJ,       CC_V,   CC_MAT, 2, { CC_DIM_WIDTH, CC_DIM_PROJ },              0, CC_W(v_proj) },
};
const size_t cc_n_tensor_specs = sizeof(cc_tensor_specs) / sizeof(cc_tensor_specs[0]);

static int64_t cc_spec_dim(const cc_hparams * hp, const cc_tower_hparams * t, uint8_t dim) {
    switch ((enum cc_spec_dim) dim) {
        case CC_DIM_WIDTH:     return t->width;
        case CC_DIM_FFN:       return t->ffn;
        case CC_DIM_PROJ:      return t->proj_dim;
        case CC_DIM_VOCAB:     return hp->vocab_size;
        case CC_DIM_CONTEXT:   return hp->context_length;
        case CC_DIM_POSITIONS: {
            const int64_t g0 = hp->image_size / hp->patch_size;
            return g0 * g0 + 1;
        }
        case CC_DIM_PATCH:     return hp->patch_size;
        case CC_DIM_RGB:       return 3;
        case CC_DIM_1:         break;
    }
    return 1;
}

/* Whether a block stores fc1 under ffn_down and fc2 under ffn_up (clip.cpp's naming), told by
 * the shape of its ffn_up matrix (up: NULL when absent). Only distinguishable when the FFN width
 * differs from the model width; equal widths are read in our convention. */
static bool cc_ffn_swapped(const int64_t * up, const cc_tower_hparams * t) {
    return up && t->width != t->ffn && up[0] == t->ffn && up[1] == t->width;
}

static void cc_spec_ref(const cc_hparams * hp, const cc_tower_hparams * t, const cc_tensor_spec * s,
                        cc_tensor_ref * ref) {
    ref->spec   = s;
    ref->n_dims = s->n_dims;
    for (int d = 0; d < 4; d++) ref->ne[d] = d < s->n_dims ? cc_spec_dim(hp, t, s->ne[d]) : 1;
}

static clearclip_status cc_walk_tower(const cc_hparams * hp, bool vision, cc_tensor_shape_fn shape,
                                      void * src, cc_tensor_visit_fn visit, void * arg) {
    const unsigned           tower  = vision ? CC_SPEC_VISION : CC_SPEC_TEXT;
    const cc_tower_hparams * t      = vision ? &hp->vision : &hp->text;
    const char *             prefix = vision ? TN_VISION : TN_TEXT;
    cc_tensor_ref            ref    = { .vision = vision, .block = -1 };
    clearclip_status         st;
    size_t i = 0;
    while (i < cc_n_tensor_specs) {
        const cc_tensor_spec * s = &cc_tensor_specs[i];
        if (!(s->flags & tower)) {
            i++;
            continue;
        }
        if (!(s->flags & CC_SPEC_BLOCK)) {
            cc_spec_ref(hp, t, s, &ref);
            ref.block = -1;
            snprintf(ref.name, sizeof(ref.name), "%s", s->name);
            if ((st = visit(arg, &ref))) return st;
            i++;
            continue;
        }
        size_t end = i;
        while (end < cc_n_tensor_specs && (cc_tensor_specs[end].flags & CC_SPEC_BLOCK)) end++;
        for (int32_t b = 0; b < t->layers; b++) {
            char up[sizeof(ref.name)];
            snprintf(up, sizeof(up), TN_BLK, prefix, b, TN_BLK_FFN_UP_W);
            const bool swapped = cc_ffn_swapped(shape(src, up), t);
            for (size_t j = i; j < end; j++) {
                const cc_tensor_spec * r = &cc_tensor_specs[j];
                /* the file's name, the shape and field of the role it plays */
                cc_spec_ref(hp, t, swapped && r->swap ? r + r->swap : r, &ref);
                ref.block = b;
                snprintf(ref.name, sizeof(ref.name), TN_BLK, prefix, b, r->name);
                if ((st = visit(arg, &ref))) return st;
            }
        }
        i = end;
    }
    return CLEARCLIP_OK;
}

clearclip_status cc_tensors_walk(const cc_hparams * hp, cc_tensor_shape_fn shape, void * src,
                                 cc_tensor_visit_fn visit, void * arg) {
    clearclip_status st = CLEARCLIP_OK;
    if (hp->has_text) st = cc_walk_tower(hp, false, shape, src, visit, arg);
    if (!st && hp->has_vision) st = cc_walk_tower(hp, true, shape, src, visit, arg);
    return st;
}

struct ggml_tensor ** cc_tensor_field(cc_weights * w, const cc_tensor_ref * ref) {
    char * base = ref->block < 0 ? (char *) w
                                 : (char *) &(ref->vision ? w->v_layers : w->t_layers)[ref->block];
    return (struct ggml_tensor **) (base + ref->spec->field);
}
