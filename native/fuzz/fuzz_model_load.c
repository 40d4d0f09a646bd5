/*
 * Fuzz target: model loading from arbitrary bytes.
 *
 * The input is the whole file. It goes to an anonymous memory file (memfd, else a temporary
 * file) loaded through its /proc path, so every execution sees a fresh file without disk I/O.
 * Size bits pick use_mmap and which towers to load. A model that loads is then used a little
 * (info, tokenizer, one text and one image encoding when small) so that shapes the loader lets
 * through are also exercised by the graphs.
 */
#define _GNU_SOURCE
#include "fuzz_common.h"

#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>

static int fuzz_open_file(char * path, size_t path_size) {
    int fd = -1;
#ifdef MFD_CLOEXEC
    fd = memfd_create("clearclip-fuzz", MFD_CLOEXEC);
    if (fd >= 0) {
        snprintf(path, path_size, "/proc/self/fd/%d", fd);
        return fd;
    }
#endif
    const char * dir = getenv("TMPDIR");
    snprintf(path, path_size, "%s/clearclip-fuzz-load-XXXXXX", dir && dir[0] ? dir : "/tmp");
    fd = mkstemp(path);
    if (fd >= 0) unlink(path); /* keep the descriptor; load through /proc like a memfd */
    if (fd >= 0) snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}

static void fuzz_use_model(clearclip_model * model) {
    clearclip_model_info info;
    FUZZ_ASSERT(clearclip_model_get_info(model, &info) == CLEARCLIP_OK, "%s", clearclip_last_error());
    FUZZ_ASSERT(info.has_text || info.has_vision, "a model without towers loaded");
    int32_t ids[16], n = 0;
    clearclip_status st = clearclip_tokenize(model, "a photo of a fox", ids, 16, &n);
    if (st == CLEARCLIP_OK) {
        FUZZ_ASSERT(n >= 2 && n <= 16, "%d tokens", n);
    } else {
        fuzz_check_error(st, "clearclip_tokenize");
    }
    /* Graphs of huge towers would make an execution slow, not find more: the file size bounds
     * the weights anyway, but keep the compute small. */
    if (info.text_width > 256 || info.vision_width > 256 || info.text_layers > 8 ||
        info.vision_layers > 8 || info.image_size > 64 || info.projection_dim > 4096) {
        return;
    }
    clearclip_context * ctx = NULL;
    clearclip_context_params cp = clearclip_context_default_params();
    cp.n_threads = 1;
    cp.backend = "cpu";
    st = clearclip_context_init(model, cp, &ctx);
    if (st != CLEARCLIP_OK) {
        fuzz_check_error(st, "clearclip_context_init");
        return;
    }
    float * out = calloc((size_t) info.projection_dim + 1, sizeof(float));
    if (info.has_text && info.vocab_size > 0) {
        int32_t row[2] = { 0, 0 };
        if (clearclip_tokenize(model, "", ids, 16, &n) == CLEARCLIP_OK && n == 2) {
            row[0] = ids[0];
            row[1] = ids[1];
        }
        st = clearclip_encode_tokens(ctx, row, 1, 2, out);
        if (st != CLEARCLIP_OK) fuzz_check_error(st, "clearclip_encode_tokens");
    }
    if (info.has_vision && info.image_size > 0) {
        size_t np = 3 * (size_t) info.image_size * (size_t) info.image_size;
        float * px = calloc(np, sizeof(float));
        st = clearclip_encode_image(ctx, px, info.image_size, info.image_size, out);
        if (st != CLEARCLIP_OK) fuzz_check_error(st, "clearclip_encode_image");
        free(px);
    }
    free(out);
    clearclip_context_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    char path[4096];
    int fd = fuzz_open_file(path, sizeof(path));
    FUZZ_ASSERT(fd >= 0, "cannot create a memory file");
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        FUZZ_ASSERT(w > 0, "write failed");
        off += (size_t) w;
    }
    clearclip_model_params mp = clearclip_model_default_params();
    mp.use_mmap = (size & 1) == 0;
    mp.load_text = (size & 6) != 2;   /* one size in four loads the vision tower only ... */
    mp.load_vision = (size & 6) != 4; /* ... and one in four the text tower only */
    clearclip_model * model = NULL;
    clearclip_status st = clearclip_model_load(path, mp, &model);
    if (st == CLEARCLIP_OK) {
        FUZZ_ASSERT(model != NULL, "OK without a model");
        fuzz_use_model(model);
        clearclip_model_free(model);
    } else {
        FUZZ_ASSERT(model == NULL, "a failed load returned a model");
        fuzz_check_error(st, "clearclip_model_load");
    }
    close(fd);
    return 0;
}
