/* Stage 4's map and stage 5 on the real weights: the runner's stage-4 map
 * carried on by the runner (fb_resnet_run_from_stage4) gives the features
 * and logits of the whole pass, and the trainable stage 5
 * (lib/backbone/stage5.c, its own GEMMs) gives stage 5's map and the
 * features of the whole pass to fp32 rounding.  Needs the weights
 * (`make weights`). */
#include "check.h"
#include "fb/backbone.h"
#include "fb/core.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NIMG = 3, CELLS = FB_RESNET_CELLS, CH = FB_RESNET_FEATURES };

/* Smooth random colour fields with a ripple: photo-like enough to light up
 * many channels. */
static void make_images(uint8_t *img, int n)
{
    fb_rng rng;
    fb_rng_seed(&rng, 5);
    for (int i = 0; i < n; i++) {
        double c[4][3];
        for (int k = 0; k < 4; k++)
            for (int ch = 0; ch < 3; ch++) c[k][ch] = fb_rng_uniform(&rng) * 255;
        for (int y = 0; y < 224; y++)
            for (int x = 0; x < 224; x++) {
                double u = x / 223.0, v = y / 223.0, ripple = 25 * sin((3 * x + y) / 7.0 + i);
                for (int ch = 0; ch < 3; ch++) {
                    double val = c[0][ch] * (1 - u) * (1 - v) + c[1][ch] * u * (1 - v) +
                                 c[2][ch] * (1 - u) * v + c[3][ch] * u * v + ripple;
                    img[(((size_t)i * 224 + y) * 224 + x) * 3 + ch] =
                        (uint8_t)(val < 0 ? 0 : val > 255 ? 255 : val);
                }
            }
    }
}

static double max_abs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

int main(void)
{
    char path[PATH_MAX + 64], err[512];
    check_weights_path(path, sizeof path);
    if (access(path, R_OK) != 0) SKIP_ALL("no weights at %s; run `make weights`", path);
    fb_weights w;
    fb_resnet net;
    if (fb_weights_load(&w, path, err, sizeof err) || fb_resnet_init(&net, &w, err, sizeof err)) {
        CHECK(0, "weights: %s", err);
        return check_done();
    }
    uint8_t *img = malloc((size_t)NIMG * FB_RESNET_INPUT);
    make_images(img, NIMG);
    float *f0 = malloc(sizeof(float) * NIMG * CH), *f1 = malloc(sizeof(float) * NIMG * CH);
    float *f2 = malloc(sizeof(float) * NIMG * CH);
    float *l0 = malloc(sizeof(float) * NIMG * FB_RESNET_CLASSES), *l1 = malloc(sizeof(float) * NIMG * FB_RESNET_CLASSES);
    float *map5 = malloc(sizeof(float) * NIMG * CELLS * CH), *mine = malloc(sizeof(float) * NIMG * CELLS * CH);
    float *s4 = malloc(sizeof(float) * NIMG * FB_STAGE4_SIZE);

    fb_resnet_options opts;
    fb_resnet_options_init(&opts, 2);
    opts.no_avx512 = 1;   /* the OpenBLAS path: the same GEMMs stage5.c uses */
    fb_resnet_runner *r = fb_resnet_runner_new(&net, &opts, err, sizeof err);
    CHECK(r != NULL, "runner: %s", r ? "fp32" : err);
    if (!r) return check_done();
    fb_resnet_run(r, img, NIMG, f0, l0);
    fb_resnet_run_spatial(r, img, NIMG, NULL, map5);
    fb_resnet_run_stage4(r, img, NIMG, s4);
    size_t positive = 0;
    for (size_t i = 0; i < (size_t)NIMG * FB_STAGE4_SIZE; i++) positive += s4[i] > 0;
    CHECK(positive > (size_t)NIMG * FB_STAGE4_SIZE / 20 && max_abs(s4, (size_t)NIMG * FB_STAGE4_SIZE) < 1e4,
          "the stage-4 map is a real activation (%zu of %d values > 0)", positive, NIMG * FB_STAGE4_SIZE);
    fb_resnet_run_from_stage4(r, s4, NIMG, f1, l1);
    CHECK(memcmp(f0, f1, sizeof(float) * NIMG * CH) == 0, "images spread: stage 4 then stage 5 = the whole pass "
          "(features, bit for bit)");
    CHECK(memcmp(l0, l1, sizeof(float) * NIMG * FB_RESNET_CLASSES) == 0, "... and the logits");
    /* one image: the threads share it */
    fb_resnet_run(r, img, 1, f2, NULL);   /* the rows split differently: compare like with like */
    memset(f1, 0, sizeof(float) * CH);
    fb_resnet_run_stage4(r, img, 1, s4);
    fb_resnet_run_from_stage4(r, s4, 1, f1, NULL);
    CHECK(memcmp(f2, f1, sizeof(float) * CH) == 0, "one image shared by the threads: the same features");
    fb_resnet_run_stage4(r, img, NIMG, s4);

    fb_stage5 st;
    CHECK(fb_stage5_from_resnet(&st, &net, err, sizeof err) == 0, "stage 5 from the weights: %zu parameters",
          st.nparams);
    fb_stage5_work *wk = fb_stage5_work_new(&st, NIMG);
    CHECK(wk != NULL, "work for %d images", NIMG);
    fb_stage5_forward(&st, wk, s4, NIMG, f2, mine);
    double scale = max_abs(map5, (size_t)NIMG * CELLS * CH);
    double d = check_max_abs_diff(mine, map5, (size_t)NIMG * CELLS * CH);
    CHECK(d <= 1e-4 * scale, "trainable stage 5 = the backbone's stage-5 map (max |d| %.2g, values up to %.3g)",
          d, scale);
    scale = max_abs(f0, (size_t)NIMG * CH);
    d = check_max_abs_diff(f2, f0, (size_t)NIMG * CH);
    CHECK(d <= 1e-5 * (1 + scale), "... and its pooled features = fb-feat's (max |d| %.2g, up to %.3g)", d, scale);

    fb_stage5_work_free(wk);
    fb_stage5_free(&st);
    fb_resnet_runner_free(r);
    free(img); free(f0); free(f1); free(f2); free(l0); free(l1); free(map5); free(mine); free(s4);
    fb_weights_free(&w);
    return check_done();
}
