/*
 * Regression tests for bugs the fuzzers (native/fuzz/) and sanitizers found outside the loader.
 * Each case names the finding; the crashing inputs themselves also stay in the fuzz corpora,
 * which ctest runs through the harnesses. The bugs were undefined behaviour that an ordinary
 * build may survive silently, so these checks fail reliably only under `make sanitize`
 * (ASan + UBSan); the expected values still hold in every build.
 */
#include "clearclip.h"
#include "test_common.h"
#include "tiny_model.h"

#include <stdint.h>

/*
 * tokenizer.c passed a NULL buffer to memcpy (size 0) when a text was empty after cleanup:
 * html.unescape("&#7;") is U+0007, which ftfy's control-character removal drops, leaving "".
 * open_clip encodes an empty text as <|startoftext|> <|endoftext|>; so does every text below,
 * each empty after one of the cleanup steps (open_clip's SimpleTokenizer.encode gives [] for
 * each of them, checked when this test was written).
 */
static void test_text_empty_after_cleanup(void) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/fuzz_regressions_tokenizer.gguf", test_tmp_dir());
    tiny_variant v = { .tokenizer = true, .no_vision = true };
    CHECK(write_tiny_model(path, &v));
    const tiny_dims d = tiny_dims_of(&v);
    clearclip_model * model = NULL;
    CHECK_STATUS(clearclip_model_load(path, clearclip_model_default_params(), &model), CLEARCLIP_OK, "");
    if (!model) return;
    static const char * const texts[] = {
        "&#7;",          /* the fuzzer's input: a control character after unescaping */
        "",              /* empty from the start */
        " \t\n ",        /* whitespace only */
        "\x07\x1b",      /* control characters only */
        "&amp;#7;",      /* empty only after the second html.unescape */
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        int32_t ids[8] = { 0 }, n = -1;
        clearclip_status st = clearclip_tokenize(model, texts[i], ids, 8, &n);
        CHECK_MSG(st == CLEARCLIP_OK, "text %zu: %s", i, clearclip_last_error());
        CHECK_MSG(n == 2 && ids[0] == d.bos && ids[1] == d.eos,
                  "text %zu: %d ids (%d %d), expected %d %d", i, n, ids[0], ids[1], d.bos, d.eos);
    }
    clearclip_model_free(model);
    remove(path);
}

int main(void) {
    test_text_empty_after_cleanup();
    return test_finish("test_fuzz_regressions");
}
