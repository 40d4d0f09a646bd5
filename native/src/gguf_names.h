/* The names of a clearclip GGUF file: every metadata key and tensor name of the format, in one
 * place for the C side. The format itself (types, shapes, meaning) is described in
 * models/README.md; tests/test_gguf_names.c parses the names out of that file and checks them
 * against the keys here and the tensor table (model_tensors.c) in both directions, so the
 * description and the code cannot drift apart.
 *
 * KEY_* are metadata keys, TN_* tensor names. A name with a %s takes the tower: KEY_TOWER_* the
 * tower's key word (CC_TOWER_TEXT, CC_TOWER_VISION), TN_BLK the tensor prefix (TN_TEXT, TN_VISION),
 * the block index and one of the TN_BLK_* suffixes. The CC_GGUF_*(X) lists enumerate the keys
 * for the test; the tensors' shapes, types and fields are the loader's table (model_tensors.c),
 * which the test reads for the tensor names. */
#ifndef CLEARCLIP_GGUF_NAMES_H
#define CLEARCLIP_GGUF_NAMES_H

/* ---- keys ------------------------------------------------------------------------------------ */

#define CC_ARCH_CLIP             "clip" /* the only value of general.architecture we accept */

#define KEY_GENERAL_ARCHITECTURE "general.architecture"
#define KEY_GENERAL_NAME         "general.name"
#define KEY_GENERAL_FILE_TYPE    "general.file_type"
#define KEY_GENERAL_ALIGNMENT    "general.alignment" /* GGUF's own: the data alignment */

#define KEY_HAS_TEXT             "clip.has_text_encoder"
#define KEY_HAS_VISION           "clip.has_vision_encoder"
#define KEY_USE_GELU             "clip.use_gelu"
#define KEY_LOGIT_SCALE          "clip.logit_scale" /* written by the converter, not read here */

#define CC_TOWER_TEXT            "text"
#define CC_TOWER_VISION          "vision"
#define KEY_TOWER_WIDTH          "clip.%s.embedding_length"
#define KEY_TOWER_FFN            "clip.%s.feed_forward_length"
#define KEY_TOWER_LAYERS         "clip.%s.block_count"
#define KEY_TOWER_PROJ_DIM       "clip.%s.projection_dim"
#define KEY_TOWER_HEADS          "clip.%s.attention.head_count"
#define KEY_TOWER_EPS            "clip.%s.attention.layer_norm_epsilon"

#define KEY_CONTEXT_LENGTH       "clip.text.context_length"
#define KEY_IMAGE_SIZE           "clip.vision.image_size"
#define KEY_PATCH_SIZE           "clip.vision.patch_size"
#define KEY_IMAGE_MEAN           "clip.vision.image_mean"
#define KEY_IMAGE_STD            "clip.vision.image_std"

#define KEY_TOKENIZER_MODEL      "tokenizer.ggml.model" /* written by the converter, not read here */
#define KEY_TOKENS               "tokenizer.ggml.tokens"
#define KEY_MERGES               "tokenizer.ggml.merges"
#define KEY_BOS_ID               "tokenizer.ggml.bos_token_id"
#define KEY_EOS_ID               "tokenizer.ggml.eos_token_id"

/* Not ours: llama.cpp's LLaVA projector ("mmproj") files carry these; the loader looks for them
 * only to refuse such a file with a message that says what it is. */
#define KEY_LLAVA_HAS_PROJECTOR  "clip.has_llava_projector"
#define KEY_LLAVA_PROJECTOR_TYPE "clip.projector_type"
#define TN_LLAVA_MM_PREFIX       "mm."

/* ---- tensors --------------------------------------------------------------------------------- */

#define TN_TEXT                  "t" /* prefix of the text tower's tensors */
#define TN_VISION                "v" /* prefix of the vision tower's tensors */

#define TN_TOKEN_EMBD            "t.token_embd.weight"
#define TN_TEXT_POS_EMBD         "t.position_embd.weight"
#define TN_TEXT_POST_LN_W        "t.post_ln.weight"
#define TN_TEXT_POST_LN_B        "t.post_ln.bias"
#define TN_TEXT_PROJ             "text_projection.weight"

#define TN_CLASS_EMBD            "v.class_embd"
#define TN_PATCH_EMBD            "v.patch_embd.weight"
#define TN_VISION_POS_EMBD       "v.position_embd.weight"
#define TN_PRE_LN_W              "v.pre_ln.weight"
#define TN_PRE_LN_B              "v.pre_ln.bias"
#define TN_VISION_POST_LN_W      "v.post_ln.weight"
#define TN_VISION_POST_LN_B      "v.post_ln.bias"
#define TN_VISION_PROJ           "visual_projection.weight"

/* Block tensors: snprintf(name, size, TN_BLK, TN_TEXT or TN_VISION, block, TN_BLK_*). */
#define TN_BLK                   "%s.blk.%d.%s"
#define TN_BLK_LN1_W             "ln1.weight"
#define TN_BLK_LN1_B             "ln1.bias"
#define TN_BLK_LN2_W             "ln2.weight"
#define TN_BLK_LN2_B             "ln2.bias"
#define TN_BLK_Q_W               "attn_q.weight"
#define TN_BLK_Q_B               "attn_q.bias"
#define TN_BLK_K_W               "attn_k.weight"
#define TN_BLK_K_B               "attn_k.bias"
#define TN_BLK_V_W               "attn_v.weight"
#define TN_BLK_V_B               "attn_v.bias"
#define TN_BLK_OUT_W             "attn_out.weight"
#define TN_BLK_OUT_B             "attn_out.bias"
/* fc1 (W -> F) and fc2 (F -> W) in our files; clip.cpp stores them the other way round, which
 * the loader tells apart by shape (cc_ffn_swapped in model_tensors.c). */
#define TN_BLK_FFN_UP_W          "ffn_up.weight"
#define TN_BLK_FFN_UP_B          "ffn_up.bias"
#define TN_BLK_FFN_DOWN_W        "ffn_down.weight"
#define TN_BLK_FFN_DOWN_B        "ffn_down.bias"

/* ---- the keys, for tests --------------------------------------------------------------------- */

#define CC_GGUF_KEYS(X)                                                                           \
    X(KEY_GENERAL_ARCHITECTURE) X(KEY_GENERAL_NAME) X(KEY_GENERAL_FILE_TYPE)                      \
    X(KEY_GENERAL_ALIGNMENT) X(KEY_HAS_TEXT) X(KEY_HAS_VISION) X(KEY_USE_GELU) X(KEY_LOGIT_SCALE) \
    X(KEY_CONTEXT_LENGTH) X(KEY_IMAGE_SIZE) X(KEY_PATCH_SIZE) X(KEY_IMAGE_MEAN) X(KEY_IMAGE_STD)  \
    X(KEY_TOKENIZER_MODEL) X(KEY_TOKENS) X(KEY_MERGES) X(KEY_BOS_ID) X(KEY_EOS_ID)
#define CC_GGUF_TOWER_KEYS(X)                                                                     \
    X(KEY_TOWER_WIDTH) X(KEY_TOWER_FFN) X(KEY_TOWER_LAYERS) X(KEY_TOWER_PROJ_DIM)                 \
    X(KEY_TOWER_HEADS) X(KEY_TOWER_EPS)
#define CC_GGUF_FOREIGN_KEYS(X) X(KEY_LLAVA_HAS_PROJECTOR) X(KEY_LLAVA_PROJECTOR_TYPE)

#endif
