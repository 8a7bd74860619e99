/* The backbone's stage-5 map, which the heatmaps are drawn from: its mean
 * over the 7x7 cells must be the feature vector fb-feat writes, in both of
 * the runner's ways of working (one image shared by every thread, and
 * images spread one per thread), and asking for the map must not change
 * the features.  Needs the weights (`make weights`). */
#include "check.h"
#include "fb/backbone.h"
#include "fb/core.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { NIMG = 3, CELLS = FB_RESNET_CELLS, CH = FB_RESNET_FEATURES };

/* Smooth random colour fields: photo-like enough to light up many channels. */
static void make_images(uint8_t *img, int n)
{
    fb_rng rng;
    fb_rng_seed(&rng, 7);
    for (int i = 0; i < n; i++) {
        double c[4][3];
        for (int k = 0; k < 4; k++)
            for (int ch = 0; ch < 3; ch++) c[k][ch] = fb_rng_uniform(&rng) * 255;
        for (int y = 0; y < 224; y++)
            for (int x = 0; x < 224; x++) {
                double u = x / 223.0, v = y / 223.0, ripple = 20 * sin((x + 2 * y) / 9.0 + i);
                for (int ch = 0; ch < 3; ch++) {
                    double val = c[0][ch] * (1 - u) * (1 - v) + c[1][ch] * u * (1 - v) +
                                 c[2][ch] * (1 - u) * v + c[3][ch] * u * v + ripple;
                    img[(((size_t)i * 224 + y) * 224 + x) * 3 + ch] =
                        (uint8_t)(val < 0 ? 0 : val > 255 ? 255 : val);
                }
            }
    }
}

static double mean_vs_features(const float *A, const float *features, int n, double *scale)
{
    double worst = 0;
    *scale = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < CH; k++) {
            double m = 0;
            for (int c = 0; c < CELLS; c++) m += A[((size_t)i * CELLS + c) * CH + k];
            m /= CELLS;
            double f = features[(size_t)i * CH + k];
            worst = fmax(worst, fabs(m - f));
            *scale = fmax(*scale, fabs(f));
        }
    return worst;
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
    float *f0 = malloc(sizeof(float) * NIMG * CH), *f1 = malloc(sizeof(float) * NIMG * CH);
    float *A = malloc(sizeof(float) * NIMG * CELLS * CH);
    make_images(img, NIMG);
    fb_resnet_options opts;
    fb_resnet_options_init(&opts, 2);
    fb_resnet_runner *r = fb_resnet_runner_new(&net, &opts, err, sizeof err);
    CHECK(r != NULL, "runner: %s", r ? "fp32" : err);
    if (!r) return check_done();

    fb_resnet_run(r, img, NIMG, f0, NULL);
    /* three images on two threads: spread, one per thread */
    fb_resnet_run_spatial(r, img, NIMG, f1, A);
    double scale, d = mean_vs_features(A, f0, NIMG, &scale);
    CHECK(d <= 1e-5, "images spread: the map's mean is the features (off by %.2g; features up to %.3g)",
          d, scale);
    CHECK(memcmp(f0, f1, sizeof(float) * NIMG * CH) == 0, "asking for the map leaves the features alone");
    size_t positive = 0;
    for (size_t i = 0; i < (size_t)NIMG * CELLS * CH; i++) positive += A[i] > 0;
    CHECK(positive > (size_t)NIMG * CELLS * CH / 20, "the map is a real activation (%zu cells > 0)", positive);

    /* one image: every thread shares it */
    memset(A, 0, sizeof(float) * CELLS * CH);
    fb_resnet_run_spatial(r, img + FB_RESNET_INPUT, 1, NULL, A);
    d = mean_vs_features(A, f0 + CH, 1, &scale);
    CHECK(d <= 1e-5, "one image shared by the threads: the mean is the features (off by %.2g)", d);

    fb_resnet_runner_free(r);
    free(img); free(f0); free(f1); free(A);
    fb_weights_free(&w);
    return check_done();
}
