/* Backend parity in the manner of ggml's test-backend-ops: every graph the engine builds (text
 * batches, the global image embedding at the native and an interpolated size, dense features in
 * every final-block mode incl. NACLIP's bias, segmentation with PAMR) run on a GPU device and on
 * the CPU backend from the same weights, for f32, f16, q8_0 and q4_0 matrices; the CPU is the
 * reference (itself held to PyTorch's goldens by the Java parity suite). Also: the context is
 * really on that device (never a silent CPU fallback), the weights go to the device once per
 * model however many contexts use it, the abort callback stops a device graph, and the tensor
 * callback hands over a device graph's intermediates.
 *
 * The device comes from CLEARCLIP_TEST_DEVICE ("vulkan" under ctest, where Mesa's lavapipe is
 * the device: GGML_VK_VISIBLE_DEVICES=0; "cuda" for bench/gpu_check.sh). A device that is not
 * there fails the test. */
#include "clearclip.h"
#include "test_common.h"
#include "tiny_model.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <strings.h>

/* Bounds per matrix type: lowest cosine between device and CPU of any single embedding or patch
 * feature, and lowest share of segmentation labels that agree. The device computes parts in f16
 * where the CPU stays in f32 (Vulkan's flash attention, its matrix products' accumulators) and
 * quantizes activations differently (q8_1 blocks), which the quantized types feel most; the
 * figures measured on lavapipe (Mesa 25.0.7) are well inside these (f32: 0.99990 lowest patch
 * cosine, 0.9995 of labels equal; q4_0: 0.99949, 0.984). */
typedef struct type_case {
    enum ggml_type type;
    const char *   name;
    double         min_cos;
    double         min_label_agreement;
} type_case;

static const type_case TYPES[] = {
    { GGML_TYPE_F32, "f32", 0.999, 0.99 },
    { GGML_TYPE_F16, "f16", 0.999, 0.99 },
    { GGML_TYPE_Q8_0, "q8_0", 0.998, 0.98 },
    { GGML_TYPE_Q4_0, "q4_0", 0.995, 0.95 },
};

static int n_uploads;
static char device_line[512];

/* Counts the engine's "weights uploaded" lines and keeps the context's "context on" line. */
static void on_log(clearclip_log_level level, const char * text, void * ud) {
    (void) level;
    (void) ud;
    if (strstr(text, "weights uploaded to")) n_uploads++;
    if (strstr(text, "clearclip: context on")) snprintf(device_line, sizeof(device_line), "%s", text);
}

static double cosine(const float * a, const float * b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double) a[i] * b[i];
        aa += (double) a[i] * a[i];
        bb += (double) b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1.0 : 0.0);
}

/* Lowest cosine over rows of dim floats; also checked finite. */
static double min_row_cosine(const float * a, const float * b, int rows, int dim) {
    double lo = 1.0;
    for (int r = 0; r < rows; r++) {
        for (int j = 0; j < dim; j++) {
            if (!isfinite(a[r * dim + j]) || !isfinite(b[r * dim + j])) return -2.0;
        }
        double c = cosine(a + r * dim, b + r * dim, dim);
        if (c < lo) lo = c;
    }
    return lo;
}

static void report(const char * type, const char * what, double value, double bound) {
    printf("  %-5s %-34s min cosine %.7f (bound %.5f)\n", type, what, value, bound);
    CHECK_MSG(value >= bound, "%s %s: min cosine %.7f below %.5f", type, what, value, bound);
}

static bool stop_now(void * ud) {
    (void) ud;
    return true;
}

/* The tensor callback's copies of the trunk's last block and the output (ne[1] rows of ne[0]). */
typedef struct kept_tensors {
    float * blk;
    float * out;
    int64_t blk_ne[2], out_ne[2];
} kept_tensors;

static void keep_tensor(const char * name, int32_t n_dims, const int64_t * ne, const float * data,
                        void * ud) {
    kept_tensors * k = ud;
    const bool blk = strcmp(name, "v.blk.0") == 0;
    if (!blk && strcmp(name, "out") != 0) return;
    float ** dst = blk ? &k->blk : &k->out;
    int64_t * dne = blk ? k->blk_ne : k->out_ne;
    const size_t n = (size_t) (ne[0] * ne[1] * ne[2] * ne[3]);
    free(*dst);
    *dst = malloc(n * sizeof(float));
    if (*dst) memcpy(*dst, data, n * sizeof(float));
    dne[0] = ne[0];
    dne[1] = n_dims > 1 ? (int64_t) n / ne[0] : 1;
}

static bool starts_with_icase(const char * s, const char * prefix) {
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static void run_type(const char * device, const type_case * tc) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/device-parity-%s.gguf", test_tmp_dir(), tc->name);
    tiny_variant v = { 0 };
    v.mat_type = tc->type;
    CHECK(write_tiny_model(path, &v));
    clearclip_model * m = NULL;
    CHECK_MSG(clearclip_model_load(path, clearclip_model_default_params(), &m) == CLEARCLIP_OK, "%s",
              clearclip_last_error());
    if (!m) return;
    clearclip_context_params cp = clearclip_context_default_params();
    cp.n_threads = 2;
    cp.backend = "cpu";
    clearclip_context * cpu = NULL;
    CHECK_MSG(clearclip_context_init(m, cp, &cpu) == CLEARCLIP_OK, "%s", clearclip_last_error());
    cp.backend = device;
    clearclip_context * dev = NULL, * dev2 = NULL;
    n_uploads = 0;
    device_line[0] = '\0';
    CHECK_MSG(clearclip_context_init(m, cp, &dev) == CLEARCLIP_OK, "device '%s': %s", device,
              clearclip_last_error());
    CHECK_MSG(clearclip_context_init(m, cp, &dev2) == CLEARCLIP_OK, "%s", clearclip_last_error());
    if (!cpu || !dev || !dev2) {
        clearclip_context_free(cpu);
        clearclip_context_free(dev);
        clearclip_context_free(dev2);
        clearclip_model_free(m);
        return;
    }
    /* really on the device: its name, and the engine's own log line, name it, not the CPU */
    const char * name = clearclip_context_backend_name(dev);
    CHECK_MSG(starts_with_icase(name, device) && !starts_with_icase(name, "cpu"),
              "context asked for '%s' runs on '%s'", device, name);
    CHECK_MSG(strstr(device_line, name) != NULL, "log line \"%s\" lacks %s", device_line, name);
    /* two contexts, one copy of the weights on the device */
    CHECK_MSG(n_uploads == 1, "%d weight uploads for two contexts on %s", n_uploads, name);
    if (tc == &TYPES[0]) printf("device: %s", device_line);

    const int P = TINY_P;
    /* text: one batch of 3 rows (BOS, words, EOS, padding), and a single row */
    const int32_t tokens[3 * TINY_CTX] = {
        TINY_BOS, 3, 5, TINY_EOS, 0, 0, 0, 0,
        TINY_BOS, 7, TINY_EOS, 0, 0, 0, 0, 0,
        TINY_BOS, 1, 2, 4, 6, 8, 9, TINY_EOS,
    };
    float ta[3 * TINY_P], tb[3 * TINY_P];
    CHECK(clearclip_encode_tokens(cpu, tokens, 3, TINY_CTX, ta) == CLEARCLIP_OK);
    CHECK_MSG(clearclip_encode_tokens(dev, tokens, 3, TINY_CTX, tb) == CLEARCLIP_OK, "%s",
              clearclip_last_error());
    report(tc->name, "text batch of 3", min_row_cosine(ta, tb, 3, P), tc->min_cos);
    CHECK(clearclip_encode_tokens(dev2, tokens + TINY_CTX, 1, TINY_CTX, tb) == CLEARCLIP_OK);
    report(tc->name, "text, second context", min_row_cosine(ta + P, tb, 1, P), tc->min_cos);

    /* pictures: a smooth pattern with some edges */
    enum { W = 80, H = 48 };
    static uint8_t rgb[W * H * 3];
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint8_t * p = rgb + (y * W + x) * 3;
            p[0] = (uint8_t) (x * 3 + (y > 20 ? 90 : 0));
            p[1] = (uint8_t) (y * 5 + ((x / 16 + y / 16) % 2) * 60);
            p[2] = (uint8_t) ((x * y) % 251);
        }
    }
    static float px[3 * W * H];
    CHECK(clearclip_image_normalize(m, rgb, W, H, W * 3, px) == CLEARCLIP_OK);
    float ia[TINY_P], ib[TINY_P];
    static float crop[3 * 32 * 32];
    for (int c = 0; c < 3; c++) {
        for (int y = 0; y < 32; y++) memcpy(crop + (c * 32 + y) * 32, px + (c * H + y) * W, 32 * sizeof(float));
    }
    CHECK(clearclip_encode_image(cpu, crop, 32, 32, ia) == CLEARCLIP_OK);
    CHECK_MSG(clearclip_encode_image(dev, crop, 32, 32, ib) == CLEARCLIP_OK, "%s", clearclip_last_error());
    report(tc->name, "image 32x32 (native grid)", cosine(ia, ib, P), tc->min_cos);
    CHECK(clearclip_encode_image(cpu, px, W, H, ia) == CLEARCLIP_OK);
    CHECK(clearclip_encode_image(dev, px, W, H, ib) == CLEARCLIP_OK);
    report(tc->name, "image 80x48 (interpolated)", cosine(ia, ib, P), tc->min_cos);

    int32_t gw = 0, gh = 0;
    CHECK(clearclip_dense_grid(m, W, H, &gw, &gh) == CLEARCLIP_OK);
    float * da = malloc(sizeof(float) * gw * gh * P);
    float * db = malloc(sizeof(float) * gw * gh * P);
    static const char * const MODE_NAMES[] = { "clearclip", "vanilla", "maskclip", "sclip", "naclip" };
    for (int mode = CLEARCLIP_MODE_CLEARCLIP; mode <= CLEARCLIP_MODE_NACLIP; mode++) {
        CHECK(clearclip_dense_features_ex(cpu, px, W, H, mode, 1.5f, da) == CLEARCLIP_OK);
        CHECK_MSG(clearclip_dense_features_ex(dev, px, W, H, mode, 1.5f, db) == CLEARCLIP_OK,
                  "%s: %s", MODE_NAMES[mode], clearclip_last_error());
        char what[64];
        snprintf(what, sizeof(what), "dense %s %dx%d patches", MODE_NAMES[mode], gw, gh);
        report(tc->name, what, min_row_cosine(da, db, gw * gh, P), tc->min_cos);
    }

    /* segmentation: classes from patch features of the picture, NACLIP with PAMR */
    float emb[3 * TINY_P];
    CHECK(clearclip_dense_features(cpu, px, W, H, CLEARCLIP_MODE_CLEARCLIP, da) == CLEARCLIP_OK);
    const int pick[3] = { 0, gw * gh / 2 + 1, gw * gh - 1 };
    for (int k = 0; k < 3; k++) memcpy(emb + k * P, da + pick[k] * P, sizeof(float) * P);
    clearclip_classes * cs = NULL;
    CHECK(clearclip_classes_init(emb, 3, P, NULL, 3, &cs) == CLEARCLIP_OK);
    clearclip_segment_params sp = clearclip_segment_default_params();
    sp.short_side = 0;
    sp.crop = 48;
    sp.stride = 32;
    sp.mode = CLEARCLIP_MODE_NACLIP;
    sp.naclip_std = 1.5f;
    sp.pamr_steps = 5;
    sp.n_pamr_dilations = 2;
    sp.pamr_dilations[0] = 1;
    sp.pamr_dilations[1] = 2;
    static int32_t la[W * H], lb[W * H];
    const clearclip_image image = { rgb, W, H, W * 3 };
    CHECK(clearclip_segment(cpu, &image, cs, sp, la, NULL) == CLEARCLIP_OK);
    CHECK_MSG(clearclip_segment(dev, &image, cs, sp, lb, NULL) == CLEARCLIP_OK, "%s",
              clearclip_last_error());
    int same = 0;
    for (int i = 0; i < W * H; i++) same += la[i] == lb[i];
    double agreement = (double) same / (W * H);
    printf("  %-5s %-34s labels equal on %.4f of pixels (bound %.3f)\n", tc->name, "segment naclip+pamr",
           agreement, tc->min_label_agreement);
    CHECK_MSG(agreement >= tc->min_label_agreement, "%s: labels agree on %.4f", tc->name, agreement);
    clearclip_classes_free(cs);

    /* the abort callback stops a device graph as on the CPU, and the context stays usable */
    clearclip_context_set_abort_callback(dev, stop_now, NULL);
    CHECK_STATUS(clearclip_encode_image(dev, px, W, H, ib), CLEARCLIP_ERR_ABORTED, "aborted");
    clearclip_context_set_abort_callback(dev, NULL, NULL);
    CHECK(clearclip_encode_image(dev, px, W, H, ib) == CLEARCLIP_OK);
    report(tc->name, "image after an abort", cosine(ia, ib, P), tc->min_cos);

    /* the tensor callback on the device (graphs through the scheduler keep their intermediates
     * too): the output handed over is the call's, the trunk's rows (CLS and patches; the plain
     * attention's padding differs by backend) agree with the CPU's */
    kept_tensors kc = { 0 }, kd = { 0 };
    clearclip_context_set_tensor_callback(cpu, keep_tensor, &kc);
    clearclip_context_set_tensor_callback(dev, keep_tensor, &kd);
    CHECK(clearclip_dense_features(cpu, px, W, H, CLEARCLIP_MODE_CLEARCLIP, da) == CLEARCLIP_OK);
    CHECK_MSG(clearclip_dense_features(dev, px, W, H, CLEARCLIP_MODE_CLEARCLIP, db) == CLEARCLIP_OK,
              "%s", clearclip_last_error());
    CHECK_MSG(kd.out && kd.out_ne[0] == P && kd.out_ne[1] == gw * gh &&
                  memcmp(kd.out, db, sizeof(float) * gw * gh * P) == 0,
              "%s: the tensor callback's output differs from the call's", tc->name);
    CHECK_MSG(kc.blk && kd.blk && kc.blk_ne[0] == TINY_W && kd.blk_ne[0] == TINY_W &&
                  kc.blk_ne[1] > gw * gh && kd.blk_ne[1] > gw * gh,
              "%s: no v.blk.0 of [%d, > %d] from both contexts", tc->name, TINY_W, gw * gh);
    if (kc.blk && kd.blk) {
        report(tc->name, "tensor callback v.blk.0", min_row_cosine(kc.blk, kd.blk, gw * gh + 1, TINY_W),
               tc->min_cos);
    }
    clearclip_context_set_tensor_callback(cpu, NULL, NULL);
    clearclip_context_set_tensor_callback(dev, NULL, NULL);
    free(kc.blk);
    free(kc.out);
    free(kd.blk);
    free(kd.out);

    free(da);
    free(db);
    /* the device copy lives while a context uses it, and is made anew after the last is gone */
    clearclip_context_free(dev);
    clearclip_context_free(dev2);
    n_uploads = 0;
    CHECK(clearclip_context_init(m, cp, &dev) == CLEARCLIP_OK);
    CHECK_MSG(n_uploads == 1, "%d uploads for a context after the others were freed", n_uploads);
    clearclip_context_free(dev);
    clearclip_context_free(cpu);
    clearclip_model_free(m);
}

/* "auto" beside a GPU device: CLEARCLIP_AUTO_GPU=1 takes a GPU (the device under test, or another
 * GPU ggml lists first), 0 the CPU although the device is there; unset, whatever the machine's
 * /dev says (lavapipe in CI has no device node, so there auto is the CPU). */
static void auto_choice(void) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/device-parity-auto.gguf", test_tmp_dir());
    tiny_variant v = { 0 };
    CHECK(write_tiny_model(path, &v));
    clearclip_model * m = NULL;
    CHECK_MSG(clearclip_model_load(path, clearclip_model_default_params(), &m) == CLEARCLIP_OK, "%s",
              clearclip_last_error());
    if (!m) return;
    const char * settings[] = { "1", "0" };
    for (int i = 0; i < 2; i++) {
        setenv("CLEARCLIP_AUTO_GPU", settings[i], 1);
        clearclip_context_params cp = clearclip_context_default_params();
        clearclip_context * c = NULL;
        CHECK_MSG(clearclip_context_init(m, cp, &c) == CLEARCLIP_OK, "%s", clearclip_last_error());
        const char * name = c ? clearclip_context_backend_name(c) : "";
        printf("auto with CLEARCLIP_AUTO_GPU=%s: %s\n", settings[i], name);
        CHECK_MSG(starts_with_icase(name, "cpu") == (i == 1), "auto with CLEARCLIP_AUTO_GPU=%s runs on '%s'",
                  settings[i], name);
        clearclip_context_free(c);
    }
    unsetenv("CLEARCLIP_AUTO_GPU");
    clearclip_model_free(m);
}

int main(void) {
    const char * device = getenv("CLEARCLIP_TEST_DEVICE");
    if (!device || !device[0]) {
        fprintf(stderr, "CLEARCLIP_TEST_DEVICE is not set (e.g. vulkan, cuda)\n");
        return 1;
    }
    clearclip_log_set(on_log, NULL);
    CHECK_MSG(clearclip_backend_load(NULL) == CLEARCLIP_OK, "%s", clearclip_last_error());
    printf("%s\n", clearclip_system_info());
    for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++) run_type(device, &TYPES[i]);
    auto_choice();
    clearclip_log_set(NULL, NULL);
    return test_finish("test_device_parity");
}
