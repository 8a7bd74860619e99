/* Stage 5's forward and backward (lib/backbone/stage5.c) on small shapes,
 * against an independent reference written here with naive loops in
 * double precision: the forward to fp32 rounding, and every gradient (each
 * parameter of the ten convs, and the input) against central finite
 * differences of the reference.  Loss L = sum_i sum_c r[i][c] features[i][c]
 * for fixed random r, on a batch of two. */
#include "check.h"
#include "fb/backbone.h"
#include "fb/core.h"

#include <stdlib.h>
#include <string.h>

enum { SIDE = 6, CIN = 8, WIDTH = 4, N = 2 };

/* ---- the reference: one image, doubles, loops ---- */

/* conv c of params p on x [side][side][cin] -> y [so][so][cout], no relu */
static void ref_conv(const fb_stage5_conv *c, const double *p, const double *x, int side, double *y)
{
    int so = (side + 2 * c->pad - c->k) / c->stride + 1;
    for (int oy = 0; oy < so; oy++)
        for (int ox = 0; ox < so; ox++)
            for (int co = 0; co < c->cout; co++) {
                double s = p[c->b + co];
                for (int ky = 0; ky < c->k; ky++)
                    for (int kx = 0; kx < c->k; kx++) {
                        int iy = oy * c->stride - c->pad + ky, ix = ox * c->stride - c->pad + kx;
                        if (iy < 0 || iy >= side || ix < 0 || ix >= side) continue;
                        for (int ci = 0; ci < c->cin; ci++)
                            s += x[(iy * side + ix) * c->cin + ci] *
                                 p[c->w + (((size_t)ky * c->k + kx) * c->cin + ci) * c->cout + co];
                    }
                y[(oy * so + ox) * c->cout + co] = s;
            }
}

static void ref_relu(double *x, int n)
{
    for (int i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

/* The whole stage on one image: x [SIDE][SIDE][CIN] -> features [4f]. */
static void ref_stage(const fb_stage5 *s, const double *p, const double *x, double *features)
{
    enum { O = SIDE / 2, F = WIDTH, C4 = 4 * WIDTH };
    double a1[O * O * F], a2[O * O * F], sc[O * O * C4], out[O * O * C4], in[O * O * C4];
    for (int bi = 0; bi < 3; bi++) {
        const fb_stage5_conv *c = &s->conv[bi == 0 ? 0 : 1 + 3 * bi];
        const double *bx = bi == 0 ? x : in;
        int side = bi == 0 ? SIDE : O;
        ref_conv(&c[0], p, bx, side, a1);
        ref_relu(a1, O * O * F);
        ref_conv(&c[1], p, a1, O, a2);
        ref_relu(a2, O * O * F);
        if (bi == 0) ref_conv(&c[3], p, bx, side, sc);
        else memcpy(sc, bx, sizeof sc);
        ref_conv(&c[2], p, a2, O, out);
        for (int i = 0; i < O * O * C4; i++) out[i] += sc[i];
        ref_relu(out, O * O * C4);
        memcpy(in, out, sizeof in);
    }
    for (int ch = 0; ch < C4; ch++) {
        double m = 0;
        for (int cell = 0; cell < O * O; cell++) m += out[cell * C4 + ch];
        features[ch] = m / (O * O);
    }
}

/* L over the batch, in double. */
static double ref_loss(const fb_stage5 *s, const double *p, const double *x, const double *r)
{
    double L = 0, f[4 * WIDTH];
    for (int i = 0; i < N; i++) {
        ref_stage(s, p, x + (size_t)i * SIDE * SIDE * CIN, f);
        for (int c = 0; c < 4 * WIDTH; c++) L += r[i * 4 * WIDTH + c] * f[c];
    }
    return L;
}

/* Relative-and-absolute agreement of an analytic gradient with a numeric one. */
static int close_enough(double analytic, double numeric)
{
    return fabs(analytic - numeric) <= 2e-4 + 2e-3 * fabs(numeric);
}

int main(void)
{
    fb_stage5 s;
    CHECK(fb_stage5_init(&s, SIDE, CIN, WIDTH) == 0, "init %dx%dx%d, width %d: %zu parameters", SIDE, SIDE,
          CIN, WIDTH, s.nparams);
    CHECK(fb_stage5_nparams(CIN, WIDTH) == s.nparams && fb_stage5_nparams(1024, 512) == 14953472,
          "the parameter count without allocating (the real stage: 14953472)");
    CHECK(fb_stage5_channels(&s) == 16 && fb_stage5_out_side(&s) == 3, "out 3x3x16");
    fb_rng rng;
    fb_rng_seed(&rng, 11);
    /* Weights of a scale that keeps activations O(1) and biases that make
     * some units dead and some alive, so every relu path is exercised. */
    for (size_t i = 0; i < s.nparams; i++) s.params[i] = (float)(fb_rng_uniform(&rng) - 0.5) * 0.8f;
    size_t nx = (size_t)N * SIDE * SIDE * CIN;
    float *x = malloc(nx * sizeof *x);
    for (size_t i = 0; i < nx; i++) x[i] = (float)(fb_rng_uniform(&rng) * 2 - 0.6);
    double r[N * 16];
    float rf[N * 16];
    for (int i = 0; i < N * 16; i++) rf[i] = (float)(r[i] = fb_rng_uniform(&rng) * 2 - 1);

    double *p = malloc(s.nparams * sizeof *p), *xd = malloc(nx * sizeof *xd);
    for (size_t i = 0; i < s.nparams; i++) p[i] = s.params[i];
    for (size_t i = 0; i < nx; i++) xd[i] = x[i];

    /* forward */
    fb_stage5_work *wk = fb_stage5_work_new(&s, N);
    CHECK(wk != NULL, "work for a batch of %d", N);
    float feat[N * 16];
    fb_stage5_forward(&s, wk, x, N, feat, NULL);
    double worst = 0, scale = 0, fr[16];
    for (int i = 0; i < N; i++) {
        ref_stage(&s, p, xd + (size_t)i * SIDE * SIDE * CIN, fr);
        for (int c = 0; c < 16; c++) {
            worst = fmax(worst, fabs(feat[i * 16 + c] - fr[c]));
            scale = fmax(scale, fabs(fr[c]));
        }
    }
    CHECK(worst <= 1e-5 * (1 + scale), "forward = naive double loops (max |d| %.2g, features up to %.3g)", worst,
          scale);
    CHECK(scale > 0.1, "the features are not all zero (%.3g)", scale);

    /* backward */
    float *grad = calloc(s.nparams, sizeof *grad), *dx = calloc(nx, sizeof *dx);
    fb_stage5_backward(&s, wk, x, N, rf, grad, dx);

    const double eps = 1e-6;
    static const char *names[FB_STAGE5_NCONV] = {"a.2a", "a.2b", "a.2c", "a.1", "b.2a",
                                                 "b.2b", "b.2c", "c.2a", "c.2b", "c.2c"};
    for (int ci = 0; ci < FB_STAGE5_NCONV; ci++) {
        const fb_stage5_conv *c = &s.conv[ci];
        size_t lo = c->w, hi = c->b + (size_t)c->cout;
        size_t bad = 0, nonzero = 0;
        double worst_d = 0;
        for (size_t j = lo; j < hi; j++) {
            double keep = p[j];
            p[j] = keep + eps;
            double up = ref_loss(&s, p, xd, r);
            p[j] = keep - eps;
            double down = ref_loss(&s, p, xd, r);
            p[j] = keep;
            double num = (up - down) / (2 * eps);
            if (!close_enough(grad[j], num)) bad++;
            worst_d = fmax(worst_d, fabs(grad[j] - num));
            nonzero += fabs(num) > 1e-6;
        }
        CHECK(bad == 0, "conv %s (%dx%d/%d, %d->%d): %zu weights and biases = finite differences "
              "(max |d| %.2g, %zu non-zero)", names[ci], c->k, c->k, c->stride, c->cin, c->cout, hi - lo,
              worst_d, nonzero);
        CHECK(nonzero > (hi - lo) / 10, "conv %s: the gradient reaches it (%zu of %zu non-zero)", names[ci],
              nonzero, hi - lo);
    }
    size_t bad = 0, nonzero = 0;
    double worst_d = 0;
    for (size_t j = 0; j < nx; j++) {
        double keep = xd[j];
        xd[j] = keep + eps;
        double up = ref_loss(&s, p, xd, r);
        xd[j] = keep - eps;
        double down = ref_loss(&s, p, xd, r);
        xd[j] = keep;
        double num = (up - down) / (2 * eps);
        if (!close_enough(dx[j], num)) bad++;
        worst_d = fmax(worst_d, fabs(dx[j] - num));
        nonzero += fabs(num) > 1e-6;
    }
    CHECK(bad == 0, "input: %zu values = finite differences (max |d| %.2g)", nx, worst_d);
    CHECK(nonzero > nx / 5, "input gradient non-zero in %zu of %zu", nonzero, nx);

    /* Backward adds: a second pass doubles every gradient. */
    float *grad2 = malloc(s.nparams * sizeof *grad2);
    memcpy(grad2, grad, s.nparams * sizeof *grad2);
    fb_stage5_forward(&s, wk, x, N, feat, NULL);
    fb_stage5_backward(&s, wk, x, N, rf, grad2, NULL);
    double off = 0;
    for (size_t j = 0; j < s.nparams; j++) off = fmax(off, fabs(grad2[j] - 2 * grad[j]));
    CHECK(off <= 1e-5, "backward adds into the gradient (off by %.2g)", off);

    /* The copy is deep. */
    fb_stage5 t;
    CHECK(fb_stage5_copy(&t, &s) == 0 && t.params != s.params &&
          memcmp(t.params, s.params, s.nparams * sizeof(float)) == 0, "copy");
    fb_stage5_free(&t);

    fb_stage5_work_free(wk);
    fb_stage5_free(&s);
    free(x); free(p); free(xd); free(grad); free(dx); free(grad2);
    return check_done();
}
