/* The fine-tuned head's loss and its gradient (lib/head/finetune.c): by the
 * head's parameters and by the raw features, through each normalisation a
 * fine-tuned head may have (none, l2, std, l2+std) and with class weights,
 * against central finite differences in double of an independent loss
 * written here. */
#include "check.h"
#include "fb/head.h"

#include <stdlib.h>
#include <string.h>

enum { D = 6, C = 3, N = 4 };

/* The loss the head should compute: mean of w_y * -ln softmax(z W + b)_y,
 * z = std(l2(x)), all in double. */
static double ref_loss(const fb_head *h, const double *W, const double *b, const double *x, const int *y,
                       const float *cw)
{
    double L = 0;
    for (int i = 0; i < N; i++) {
        double z[D], ss = 0, logit[C];
        for (int j = 0; j < D; j++) ss += x[i * D + j] * x[i * D + j];
        for (int j = 0; j < D; j++) {
            z[j] = (h->norm & FB_NORM_L2) ? x[i * D + j] / sqrt(ss) : x[i * D + j];
            if (h->norm & FB_NORM_STD) z[j] = (z[j] - h->norm_mean[j]) * h->norm_inv_std[j];
        }
        double mx = -1e300, sum = 0;
        for (int c = 0; c < C; c++) {
            logit[c] = b[c];
            for (int j = 0; j < D; j++) logit[c] += z[j] * W[j * C + c];
            mx = fmax(mx, logit[c]);
        }
        for (int c = 0; c < C; c++) sum += exp(logit[c] - mx);
        L += (cw ? cw[y[i]] : 1) * -(logit[y[i]] - mx - log(sum)) / N;
    }
    return L;
}

int main(void)
{
    const char *names[C] = {"a", "b", "c"};
    fb_rng rng;
    fb_rng_seed(&rng, 3);
    const float cw[C] = {0.5f, 2.0f, 1.0f};
    static const int norms[4] = {0, FB_NORM_L2, FB_NORM_STD, FB_NORM_L2 | FB_NORM_STD};
    for (int k = 0; k < 4; k++) {
        fb_head h;
        CHECK(fb_head_init(&h, D, C, names, 0, NULL, 0, "") == 0, "head %d -> %d", D, C);
        float x[N * D];
        int y[N] = {0, 1, 2, 1};
        for (int i = 0; i < N * D; i++) x[i] = (float)fb_rng_uniform(&rng) * 3;
        for (size_t i = 0; i < h.nparams; i++) h.params[i] = (float)(fb_rng_uniform(&rng) - 0.5);
        char err[128];
        CHECK(fb_head_fit_norm(&h, norms[k], x, N, err, sizeof err) == 0, "norm fitted");
        char spec[32];
        fb_norm_string(norms[k], spec, sizeof spec);
        const float *w = k % 2 ? cw : NULL;
        float dfeat[N * D], g[D * C + C] = {0};
        size_t correct = 0;
        double loss = fb_finetune_head_loss(&h, x, y, w, N, dfeat, g, &correct);
        double W[D * C], b[C], xd[N * D];
        for (int i = 0; i < D * C; i++) W[i] = h.params[i];
        for (int c = 0; c < C; c++) b[c] = h.params[D * C + c];
        for (int i = 0; i < N * D; i++) xd[i] = x[i];
        CHECK_NEAR(loss, ref_loss(&h, W, b, xd, y, w), 1e-5, "norm %s%s: the loss", spec, w ? ", weighted" : "");
        const double eps = 1e-6;
        double worst = 0;
        for (int i = 0; i < D * C + C; i++) {
            double *p = i < D * C ? &W[i] : &b[i - D * C], keep = *p;
            *p = keep + eps;
            double up = ref_loss(&h, W, b, xd, y, w);
            *p = keep - eps;
            double down = ref_loss(&h, W, b, xd, y, w);
            *p = keep;
            worst = fmax(worst, fabs((up - down) / (2 * eps) - g[i]));
        }
        CHECK(worst <= 1e-5, "norm %s: gradient by W and b = finite differences (max |d| %.2g)", spec, worst);
        worst = 0;
        double biggest = 0;
        for (int i = 0; i < N * D; i++) {
            double keep = xd[i];
            xd[i] = keep + eps;
            double up = ref_loss(&h, W, b, xd, y, w);
            xd[i] = keep - eps;
            double down = ref_loss(&h, W, b, xd, y, w);
            xd[i] = keep;
            double num = (up - down) / (2 * eps);
            worst = fmax(worst, fabs(num - dfeat[i]));
            biggest = fmax(biggest, fabs(num));
        }
        CHECK(worst <= 1e-5 && biggest > 1e-3, "norm %s: gradient by the features = finite differences "
              "(max |d| %.2g, largest %.3g)", spec, worst, biggest);
        fb_head_free(&h);
    }
    return check_done();
}
