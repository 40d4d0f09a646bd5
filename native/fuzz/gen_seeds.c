/*
 * Writes the seed GGUFs of the model-loading fuzzer (native/fuzz/corpus/model_load/) with the
 * test suite's tiny model writer: compact variants (4-wide towers, 2-pixel patches) of the full,
 * text-only, vision-only, tokenizer, quantized and clip.cpp-named models, plus truncations of the
 * full one inside its header, its tensor table and its data. Usage: gen_seeds <dir>.
 * Deterministic: the tiny model writer seeds its own random numbers.
 */
#include "tiny_model.h"

#include <stdio.h>
#include <stdlib.h>

static bool truncate_copy(const char * src, const char * dst, double fraction) {
    FILE * f = fopen(src, "rb");
    if (!f) return false;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char * buf = malloc((size_t) n);
    bool ok = buf && fread(buf, 1, (size_t) n, f) == (size_t) n;
    fclose(f);
    FILE * g = ok ? fopen(dst, "wb") : NULL;
    ok = g && fwrite(buf, 1, (size_t) (n * fraction), g) == (size_t) (n * fraction);
    if (g) fclose(g);
    free(buf);
    return ok;
}

int main(int argc, char ** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    /* 4 wide, 4 FFN, 4 projection, 4x4 images of 2x2 patches: a few KB per file */
#define SMALL .width = 4, .ffn = 4, .proj = 4, .image = 4, .patch = 2
    static const struct { const char * name; tiny_variant v; } seeds[] = {
        { "seed_full",         { SMALL } },
        { "seed_text_only",    { SMALL, .no_vision = true } },
        { "seed_vision_only",  { SMALL, .no_text = true } },
        { "seed_tokenizer",    { SMALL, .tokenizer = true, .no_vision = true } },
        { "seed_f16",          { SMALL, .mat_type = GGML_TYPE_F16, .no_vision = true } },
        { "seed_clipcpp_ffn",  { .width = 4, .ffn = 8, .proj = 4, .image = 4, .patch = 2,
                                 .swap_ffn = true, .no_text = true } },
        { "seed_wide_int_keys", { SMALL, .wide_int_keys = true } },
    };
    char path[4096], full[4096];
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", argv[1], seeds[i].name);
        if (!write_tiny_model(path, &seeds[i].v)) {
            fprintf(stderr, "cannot write %s\n", path);
            return 1;
        }
    }
    snprintf(full, sizeof(full), "%s/seed_full", argv[1]);
    static const struct { const char * name; double fraction; } cuts[] = {
        { "seed_trunc_header", 0.02 }, { "seed_trunc_tensors", 0.3 }, { "seed_trunc_data", 0.9 },
    };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", argv[1], cuts[i].name);
        if (!truncate_copy(full, path, cuts[i].fraction)) {
            fprintf(stderr, "cannot write %s\n", path);
            return 1;
        }
    }
    return 0;
}
