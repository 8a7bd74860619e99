/* The whole network against the reference outputs of an independent
 * implementation (TensorFlow.js running the same Keras model): 105 images,
 * features within 1e-4, probabilities within 1e-5, the same top-1.
 * Needs ${FB_SHARED:-<repo>/../shared}/reference and the weights file
 * (check_weights_path: $FB_WEIGHTS or this build's); skips without them. */
#include "check.h"
#include "common/common.h"
#include "backbone/kern.h"
#include "fb/backbone.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define N 105

/* Reads exactly n bytes of path into a new buffer, or NULL. */
static void *slurp(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    void *buf = malloc(n);
    size_t got = buf ? fread(buf, 1, n, f) : 0;
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != n || extra) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static void compare(const char *what, const float *features, const float *logits,
                    const float *want_features, const float *want_probs, int n)
{
    float *probs = malloc((size_t)n * FB_RESNET_CLASSES * sizeof *probs);
    int top1_same = 0;
    for (int i = 0; i < n; i++) {
        fb_kern_softmax(logits + (size_t)i * FB_RESNET_CLASSES, FB_RESNET_CLASSES,
                        probs + (size_t)i * FB_RESNET_CLASSES);
        top1_same += argmax(probs + (size_t)i * FB_RESNET_CLASSES, FB_RESNET_CLASSES) ==
                     argmax(want_probs + (size_t)i * FB_RESNET_CLASSES, FB_RESNET_CLASSES);
    }
    double df = check_max_abs_diff(features, want_features, (size_t)n * FB_RESNET_FEATURES);
    double dp = check_max_abs_diff(probs, want_probs, (size_t)n * FB_RESNET_CLASSES);
    printf("# %s: max |delta| features %.3g, probabilities %.3g, top-1 agrees on %d/%d\n",
           what, df, dp, top1_same, n);
    CHECK(df <= 1e-4, "%s: features within 1e-4 of the reference (max |delta| %.3g)", what, df);
    CHECK(dp <= 1e-5, "%s: probabilities within 1e-5 of the reference (max |delta| %.3g)", what, dp);
    CHECK(top1_same == n, "%s: same top-1 class on %d/%d images", what, top1_same, n);
    free(probs);
}

int main(int argc, char **argv)
{
    (void)argc;
    fb_tune_blas(argv);
    char root[PATH_MAX], ref[PATH_MAX + 64], path[PATH_MAX + 128], weights_path[PATH_MAX + 64];
    check_exe_ancestor(root, sizeof root, 3);   /* the checkout */
    const char *shared = getenv("FB_SHARED");
    if (shared && *shared) snprintf(ref, sizeof ref, "%s/reference", shared);
    else snprintf(ref, sizeof ref, "%s/../shared/reference", root);
    check_weights_path(weights_path, sizeof weights_path);

    snprintf(path, sizeof path, "%s/inputs.u8", ref);
    if (access(path, R_OK) != 0) SKIP_ALL("no reference tensors at %s", ref);
    if (access(weights_path, R_OK) != 0) SKIP_ALL("no weights at %s; run `make weights`", weights_path);

    uint8_t *inputs = slurp(path, (size_t)N * FB_RESNET_INPUT);
    snprintf(path, sizeof path, "%s/features.f32", ref);
    float *want_features = slurp(path, (size_t)N * FB_RESNET_FEATURES * sizeof(float));
    snprintf(path, sizeof path, "%s/probs.f32", ref);
    float *want_probs = slurp(path, (size_t)N * FB_RESNET_CLASSES * sizeof(float));
    CHECK(inputs && want_features && want_probs, "reference files have the documented sizes");
    if (!inputs || !want_features || !want_probs) return check_done();

    fb_weights w;
    fb_resnet net;
    char err[1024];
    int loaded = fb_weights_load(&w, weights_path, err, sizeof err) == 0;
    CHECK(loaded, "weights load: %s", loaded ? weights_path : err);
    if (!loaded) return check_done();
    int bound = fb_resnet_init(&net, &w, err, sizeof err) == 0;
    CHECK(bound, "weights bind to ResNet50: %s", bound ? "ok" : err);
    if (!bound) return check_done();

    float *features = malloc((size_t)N * FB_RESNET_FEATURES * sizeof *features);
    float *logits = malloc((size_t)N * FB_RESNET_CLASSES * sizeof *logits);

    /* All images in one batch on two threads: one image per thread. */
    fb_resnet_options o;
    fb_resnet_options_init(&o, 2);
    fb_resnet_runner *r = fb_resnet_runner_new(&net, &o, err, sizeof err);
    CHECK(r != NULL, "runner with 2 threads");
    fb_resnet_run(r, inputs, N, features, logits);
    compare("batch of 105, image per thread", features, logits, want_features, want_probs, N);

    /* One image at a time on two threads: both threads share each image. */
    const int shared_n = 6;
    memset(features, 0, (size_t)shared_n * FB_RESNET_FEATURES * sizeof *features);
    for (int i = 0; i < shared_n; i++)
        fb_resnet_run(r, inputs + (size_t)i * FB_RESNET_INPUT, 1,
                      features + (size_t)i * FB_RESNET_FEATURES, logits + (size_t)i * FB_RESNET_CLASSES);
    compare("batch of 1, image shared by 2 threads", features, logits, want_features, want_probs, shared_n);
    fb_resnet_runner_free(r);

    /* Three threads on two images: the shared path with an odd team. */
    o.nthreads = 3;
    r = fb_resnet_runner_new(&net, &o, err, sizeof err);
    fb_resnet_run(r, inputs, 2, features, logits);
    compare("batch of 2, image shared by 3 threads", features, logits, want_features, want_probs, 2);
    fb_resnet_runner_free(r);

    /* The AVX-512 GEMM without Winograd: every 3x3 conv direct. */
    o.nthreads = 2;
    o.no_winograd = 1;
    r = fb_resnet_runner_new(&net, &o, err, sizeof err);
    fb_resnet_run(r, inputs, 4, features, logits);
    compare("direct 3x3 convs (FB_NO_WINOGRAD), batch of 4", features, logits, want_features, want_probs, 4);
    fb_resnet_runner_free(r);
    o.no_winograd = 0;

    /* The OpenBLAS path, which CPUs without AVX-512 take (when this one has
     * it, the runs above took the AVX-512 GEMM). */
    const int blas_n = 4;
    o.no_avx512 = 1;
    r = fb_resnet_runner_new(&net, &o, err, sizeof err);
    CHECK(r != NULL, "runner on the OpenBLAS path (FB_NO_AVX512)");
    fb_resnet_run(r, inputs, blas_n, features, logits);
    compare("OpenBLAS path, batch of 4", features, logits, want_features, want_probs, blas_n);
    fb_resnet_run(r, inputs, 1, features, logits);
    compare("OpenBLAS path, image shared by 2 threads", features, logits, want_features, want_probs, 1);
    fb_resnet_runner_free(r);
    o.no_avx512 = 0;

    free(features);
    free(logits);
    fb_weights_free(&w);
    free(inputs);
    free(want_features);
    free(want_probs);
    return check_done();
}
