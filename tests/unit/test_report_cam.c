/* Heatmaps (lib/report/cam.c) against brute force.
 *
 * A tiny fake stage-5 map (2x2 cells, C channels) feeds a hidden-layer head
 * through its mean, as ResNet50's average pool feeds fb's heads.  The
 * Grad-CAM weights are found by central differences of the head's OWN
 * inference forward (lib/head's fb_head_forward, not the code under test):
 * perturb each cell's each channel, average the slopes over the cells; the
 * map built from them must equal fb_cam_map's, up to Grad-CAM's 1/cells.
 * For the linear head the map must be w_c . A[cell] by plain loops, and its
 * mean plus the bias the logit. */
#include "check.h"
#include "fb/head.h"
#include "fb/report.h"
#include "fb/core.h"
#include "head/model.h"

#include <stdlib.h>
#include <string.h>

enum { SIDE = 2, CELLS = SIDE * SIDE, C = 6, K = 3 };

static fb_rng rng;

/* A head with every parameter and statistic random (gamma, beta and the
 * running statistics too, so BatchNorm is not the identity), and the
 * normalisation steps norm fitted on random records. */
static void random_head(fb_head *h, int nhidden, const int *hidden, int norm)
{
    const char *names[K] = { "a", "b", "c" };
    if (fb_head_init(h, C, K, names, nhidden, hidden, 0.5f, "") != 0) exit(2);
    for (size_t i = 0; i < h->nparams; i++) h->params[i] = (float)fb_rng_normal(&rng) * 0.6f;
    for (int l = 0, off = 0; l < nhidden; l++) {
        for (int o = 0; o < hidden[l]; o++) {
            h->stats[off + o] = (float)fb_rng_normal(&rng) * 0.2f;                      /* mean */
            h->stats[off + hidden[l] + o] = 0.5f + (float)fb_rng_uniform(&rng);          /* var */
        }
        off += 2 * hidden[l];
    }
    if (norm) {
        float train[20 * C];
        char err[128];
        for (int i = 0; i < 20 * C; i++) train[i] = (float)fb_rng_uniform(&rng) * 3;
        if (fb_head_fit_norm(h, norm, train, 20, err, sizeof err) != 0) exit(2);
    }
}

/* The head's logit c at the mean of A, by lib/head's normalisation and
 * inference forward. */
static double head_logit(fb_head *h, fb_head_work *w, const float *A, int c)
{
    float x[C] = { 0 };
    for (int i = 0; i < CELLS; i++)
        for (int k = 0; k < C; k++) x[k] += A[i * C + k] / CELLS;
    fb_head_normalise(h, x, 1);
    fb_head_forward(h, w, x, 1, 0, 0, 0, NULL);
    return w->logits[c];
}

static void check_gradcam(int nhidden, const int *hidden, int norm, const char *what)
{
    fb_head h;
    random_head(&h, nhidden, hidden, norm);
    fb_head_work w;
    if (fb_head_work_init(&w, &h, 1) != 0) exit(2);
    float A[CELLS * C];
    for (int i = 0; i < CELLS * C; i++) A[i] = (float)fb_rng_uniform(&rng) * 2;   /* post-ReLU: >= 0 */

    /* logits: the code under test against the head's own forward */
    float x[C] = { 0 }, logits[K], grad[C];
    for (int i = 0; i < CELLS; i++)
        for (int k = 0; k < C; k++) x[k] += A[i * C + k] / CELLS;
    double worst = 0;
    for (int c = 0; c < K; c++) {
        fb_cam_logits_grad(&h, x, c, logits, grad);
        double d = fabs(logits[c] - head_logit(&h, &w, A, c));
        if (d > worst) worst = d;
    }
    CHECK(worst < 1e-5, "%s: logits equal lib/head's inference forward (off by %.2g)", what, worst);

    for (int c = 0; c < K; c++) {
        fb_cam_logits_grad(&h, x, c, logits, grad);
        float map[CELLS];
        fb_cam_map(A, CELLS, C, grad, map);
        /* Grad-CAM by brute force: alpha_k = mean over cells of dy_c/dA[cell,k] */
        double alpha[C] = { 0 }, eps = 1e-2;
        for (int i = 0; i < CELLS; i++)
            for (int k = 0; k < C; k++) {
                float keep = A[i * C + k];
                A[i * C + k] = keep + (float)eps;
                double up = head_logit(&h, &w, A, c);
                A[i * C + k] = keep - (float)eps;
                double down = head_logit(&h, &w, A, c);
                A[i * C + k] = keep;
                alpha[k] += (up - down) / (2 * eps) / CELLS;
            }
        double err = 0, scale = 1e-3;
        for (int i = 0; i < CELLS; i++) {
            double want = 0;
            for (int k = 0; k < C; k++) want += alpha[k] * A[i * C + k];
            want *= CELLS;                       /* fb_cam_map keeps CAM's scale */
            err = fmax(err, fabs(map[i] - want));
            scale = fmax(scale, fabs(want));
        }
        CHECK(err / scale < 2e-3, "%s: class %d map equals finite-difference Grad-CAM (rel %.2g)",
              what, c, err / scale);
    }
    fb_head_work_free(&w);
    fb_head_free(&h);
}

static void check_linear_cam(void)
{
    fb_head h;
    random_head(&h, 0, NULL, 0);
    float A[CELLS * C], x[C] = { 0 }, logits[K], grad[C], map[CELLS];
    for (int i = 0; i < CELLS * C; i++) A[i] = (float)fb_rng_uniform(&rng);
    for (int i = 0; i < CELLS; i++)
        for (int k = 0; k < C; k++) x[k] += A[i * C + k] / CELLS;
    const float *W = h.params, *b = h.params + C * K;   /* output W [C,K], b [K] */
    double worst = 0, sum_err = 0;
    for (int c = 0; c < K; c++) {
        fb_cam_logits_grad(&h, x, c, logits, grad);
        fb_cam_map(A, CELLS, C, grad, map);
        double mean = 0;
        for (int i = 0; i < CELLS; i++) {
            double want = 0;
            for (int k = 0; k < C; k++) want += W[k * K + c] * A[i * C + k];
            worst = fmax(worst, fabs(map[i] - want));
            mean += map[i] / CELLS;
        }
        sum_err = fmax(sum_err, fabs(mean + b[c] - logits[c]));
    }
    CHECK(worst < 1e-5, "linear head: map is w_c . A[cell] (off by %.2g)", worst);
    CHECK(sum_err < 1e-5, "linear head: mean of the map plus the bias is the logit (off by %.2g)", sum_err);
    fb_head_free(&h);
}

/* A channel that is 0 in every cell (a dead unit after the block's ReLU):
 * the signed square root has no slope there; the map must stay finite. */
static void check_zero_channel(void)
{
    fb_head h;
    random_head(&h, 0, NULL, FB_NORM_SQRT | FB_NORM_L2 | FB_NORM_STD);
    float A[CELLS * C], x[C] = { 0 }, logits[K], grad[C], map[CELLS];
    for (int i = 0; i < CELLS * C; i++) A[i] = (i % C == 2) ? 0 : (float)fb_rng_uniform(&rng);
    for (int i = 0; i < CELLS; i++)
        for (int k = 0; k < C; k++) x[k] += A[i * C + k] / CELLS;
    fb_cam_logits_grad(&h, x, 1, logits, grad);
    fb_cam_map(A, CELLS, C, grad, map);
    int finite = 1;
    for (int i = 0; i < CELLS; i++) finite &= isfinite(map[i]);
    CHECK(finite && grad[2] == 0, "a channel that is 0 everywhere weighs 0, the map stays finite");
    fb_head_free(&h);
}

static void check_check_head(void)
{
    int hidden[1] = { 5 };
    fb_head h;
    random_head(&h, 1, hidden, FB_NORM_SQRT | FB_NORM_L2 | FB_NORM_STD);
    fb_featset ds = { 0 };
    float x[C];
    for (int k = 0; k < C; k++) x[k] = (float)fb_rng_uniform(&rng);
    ds.n = 1; ds.dim = C; ds.x = x;
    float *probs = NULL;
    char err[256];
    CHECK(fb_head_predict_all(&h, &ds, &probs, err, sizeof err) == 0, "predict_all");
    CHECK(fb_cam_check_head(&h, x, probs, err, sizeof err) == 0, "the head's own probabilities pass");
    probs[0] += 0.01f;
    CHECK(fb_cam_check_head(&h, x, probs, err, sizeof err) == -1 && strstr(err, "does not reproduce"),
          "probabilities it cannot reproduce are refused: %s", err);
    free(probs);
    fb_head_free(&h);
}

static void check_upsample_and_normalise(void)
{
    /* 2 -> 4, half-pixel centres: source positions -0.25, 0.25, 0.75, 1.25,
     * clamped to 0, 0.25, 0.75, 1 */
    float map[4] = { 0, 1, 0, 1 }, out[16];
    fb_cam_upsample(map, 2, out, 4);
    const float want[4] = { 0, 0.25f, 0.75f, 1 };
    double worst = 0;
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) worst = fmax(worst, fabs(out[y * 4 + x] - want[x]));
    CHECK(worst < 1e-6, "bilinear 2->4 by hand (off by %.2g)", worst);
    /* 7 -> 224 of a plane a + b x + c y is the same plane at the mapped centres */
    float plane[49], big[224 * 224];
    for (int y = 0; y < 7; y++)
        for (int x = 0; x < 7; x++) plane[y * 7 + x] = 1 + 2 * x - 3 * y;
    fb_cam_upsample(plane, 7, big, 224);
    worst = 0;
    for (int oy = 16; oy < 208; oy++)
        for (int ox = 16; ox < 208; ox++) {
            double sx = (ox + 0.5) / 32 - 0.5, sy = (oy + 0.5) / 32 - 0.5;
            worst = fmax(worst, fabs(big[oy * 224 + ox] - (1 + 2 * sx - 3 * sy)));
        }
    CHECK(worst < 1e-4, "bilinear 7->224 reproduces a plane inside the centres (off by %.2g)", worst);
    float v[4] = { -2, 1, 4, 0 };
    float mx = fb_cam_normalise(v, 4);
    CHECK(mx == 4 && v[0] == 0 && v[1] == 0.25f && v[2] == 1 && v[3] == 0,
          "normalise: ReLU, then divided by the largest");
    float z[2] = { -1, -3 };
    CHECK(fb_cam_normalise(z, 2) == 0 && z[0] == 0 && z[1] == 0, "no evidence: all zero, no division");
}

int main(void)
{
    fb_rng_seed(&rng, 13);
    int one[1] = { 5 }, two[2] = { 7, 4 };
    const int all = FB_NORM_SQRT | FB_NORM_L2 | FB_NORM_STD;
    check_gradcam(1, one, 0, "one hidden layer");
    check_gradcam(2, two, 0, "two hidden layers");
    check_gradcam(0, NULL, 0, "linear");
    check_gradcam(0, NULL, all, "linear, sqrt+l2+std");
    check_gradcam(2, two, all, "two hidden layers, sqrt+l2+std");
    check_gradcam(0, NULL, FB_NORM_L2, "linear, l2");
    check_zero_channel();
    check_linear_cam();
    check_check_head();
    check_upsample_and_normalise();
    return check_done();
}
