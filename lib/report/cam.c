/* Where the network looked: class activation maps over the backbone's last
 * block (include/fb/report.h, "heatmaps").
 *
 * The head sees x = mean over the 7x7 cells of A[cell, :], ResNet50's stage-5
 * output.  For a class c with logit y_c(x):
 *   g = dy_c/dx                          (the head's input gradient)
 *   Grad-CAM weights alpha_k = mean over cells of dy_c/dA[cell,k] = g_k / cells
 *   map[cell] = ReLU(sum_k alpha_k A[cell,k])
 * For a linear head without normalisation g is W[:,c] and g.A[cell] is
 * exactly CAM (Zhou et al. 2016); for hidden layers or a normalised input it
 * is Grad-CAM (Selvaraju et al. 2017), the gradient taken at the photo's own
 * features.  We
 * keep map[cell] = g.A[cell] (CAM's scale: its mean over the cells is the
 * logit minus the bias for a linear head) and apply the ReLU when drawing;
 * Grad-CAM's 1/cells is a positive scale that normalising removes. */
#include "fb/report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the head's input gradient, inference mode ----
 * Written from the block layout of fb/head.h (fb_head_block_at: Dense ->
 * ReLU -> BatchNorm per hidden block, dropout the identity at inference),
 * because the head's own backward pass differentiates the loss in training
 * mode.  The caller checks the logits against fb_head_predict_all
 * (fb_cam_check_head) so that a head this code does not understand is
 * refused, not drawn. */

/* Back through the head's normalisation (fb/head.h: signed sqrt, then unit
 * length, then minus the mean over the deviation, each if the head has it):
 * g holds dy/d(normalised x) and becomes dy/dx.  The signed square root has
 * no slope at 0; a channel that is 0 after the average pool is 0 in every
 * cell (the block ends in a ReLU), so its weight multiplies only zeros and
 * is taken as 0. */
static void norm_backward(const fb_head *h, const float *x, float *g)
{
    int d = h->in_dim, s = h->norm;
    if (s & FB_NORM_STD)
        for (int j = 0; j < d; j++) g[j] *= h->norm_inv_std[j];
    if (s & FB_NORM_L2) {
        double ss = 0, dot = 0;
        for (int j = 0; j < d; j++) {
            double a = s & FB_NORM_SQRT ? copysign(sqrt(fabs(x[j])), x[j]) : x[j];
            ss += a * a;
        }
        if (ss > 0) {
            double r = sqrt(ss);
            for (int j = 0; j < d; j++) {
                double a = s & FB_NORM_SQRT ? copysign(sqrt(fabs(x[j])), x[j]) : x[j];
                dot += g[j] * a / r;
            }
            for (int j = 0; j < d; j++) {
                double a = s & FB_NORM_SQRT ? copysign(sqrt(fabs(x[j])), x[j]) : x[j];
                g[j] = (float)((g[j] - dot * a / r) / r);
            }
        }
    }
    if (s & FB_NORM_SQRT)
        for (int j = 0; j < d; j++) g[j] = x[j] == 0 ? 0 : (float)(g[j] / (2 * sqrt(fabs(x[j]))));
}

int fb_cam_logits_grad(const fb_head *h, const float *x, int c, float *logits, float *grad)
{
    int L = h->nhidden, maxw = h->in_dim > h->nclasses ? h->in_dim : h->nclasses;
    for (int l = 0; l < L; l++) if (h->hidden[l] > maxw) maxw = h->hidden[l];
    /* per hidden block: z (pre-ReLU, for the ReLU's mask) and its output y */
    float *z[FB_HEAD_MAX_HIDDEN] = { 0 }, *y[FB_HEAD_MAX_HIDDEN] = { 0 };
    float *g = malloc(2 * (size_t)maxw * sizeof *g);
    int ok = g != NULL;
    for (int l = 0; l < L && ok; l++) {
        z[l] = malloc(2 * (size_t)h->hidden[l] * sizeof(float));
        ok = z[l] != NULL;
        if (ok) y[l] = z[l] + h->hidden[l];
    }
    float *xn = ok ? malloc((size_t)h->in_dim * sizeof *xn) : NULL;
    if (!ok || !xn) {
        for (int l = 0; l < L; l++) free(z[l]);
        free(g);
        return -1;
    }
    /* the head's own normalisation first, as fb_head_predict_all applies it */
    memcpy(xn, x, (size_t)h->in_dim * sizeof *xn);
    fb_head_normalise(h, xn, 1);
    /* forward: in [in] -> z = in.W + b, a = relu(z), y = gamma (a - mu) / sqrt(var + eps) + beta */
    const float *cur = xn;
    for (int l = 0; l <= L; l++) {
        fb_head_block k = fb_head_block_at(h, l, h->params);
        const float *w = k.w, *b = k.b, *gm = k.gamma, *bt = k.beta, *mu = k.run_mean, *var = k.run_var;
        int in = k.in, out = k.out;
        float *dst = l < L ? z[l] : logits;
        for (int o = 0; o < out; o++) dst[o] = b[o];
        for (int i = 0; i < in; i++) {
            float xi = cur[i];
            const float *row = w + (size_t)i * out;
            for (int o = 0; o < out; o++) dst[o] += xi * row[o];
        }
        if (l < L) {
            for (int o = 0; o < out; o++) {
                float a = z[l][o] > 0 ? z[l][o] : 0;
                y[l][o] = gm[o] * (a - mu[o]) / sqrtf(var[o] + h->bn_eps) + bt[o];
            }
            cur = y[l];
        }
    }
    /* backward from dy_c/dlogits = e_c: through the output layer, then each block */
    float *gout = g, *gin = g + maxw;
    for (int o = 0; o < h->nclasses; o++) gout[o] = o == c;
    for (int l = L; l >= 0; l--) {
        fb_head_block k = fb_head_block_at(h, l, h->params);
        const float *w = k.w, *gm = k.gamma, *var = k.run_var;
        int in = k.in, out = k.out;
        if (l < L)   /* through BatchNorm (a constant scale at inference) and the ReLU */
            for (int o = 0; o < out; o++)
                gout[o] = z[l][o] > 0 ? gout[o] * gm[o] / sqrtf(var[o] + h->bn_eps) : 0;
        float *dst = l == 0 ? grad : gin;
        for (int i = 0; i < in; i++) {
            const float *row = w + (size_t)i * out;
            float s = 0;
            for (int o = 0; o < out; o++) s += row[o] * gout[o];
            dst[i] = s;
        }
        float *t = gout; gout = gin; gin = t;
    }
    norm_backward(h, x, grad);
    for (int l = 0; l < L; l++) free(z[l]);
    free(g);
    free(xn);
    return 0;
}

int fb_cam_check_head(const fb_head *h, const float *x, const float *probs, char *err, size_t errlen)
{
    /* The map comes from the backbone's own stage 5; a fine-tuned head has
     * another, and a heatmap of the untuned one would show the wrong net. */
    if (h->stage5.params) {
        snprintf(err, errlen, "the head carries its own fine-tuned stage 5 (fb-train --fine-tune); "
                 "heatmaps are drawn for heads on the backbone's stage 5 only");
        return -1;
    }
    float *logits = malloc((size_t)h->nclasses * sizeof *logits);
    float *grad = malloc((size_t)h->in_dim * sizeof *grad);
    if (!logits || !grad) {
        free(logits); free(grad);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fb_cam_logits_grad(h, x, 0, logits, grad);
    double mx = logits[0], sum = 0, worst = 0;
    for (int k = 1; k < h->nclasses; k++) if (logits[k] > mx) mx = logits[k];
    for (int k = 0; k < h->nclasses; k++) sum += exp(logits[k] - mx);
    for (int k = 0; k < h->nclasses; k++) {
        double d = fabs(exp(logits[k] - mx) / sum - probs[k]);
        if (d > worst) worst = d;
    }
    free(logits); free(grad);
    if (!(worst <= 1e-4)) {
        snprintf(err, errlen, "the heatmap code does not reproduce this head's probabilities "
                 "(off by %.2g): a kind of head it does not know", worst);
        return -1;
    }
    return 0;
}

void fb_cam_map(const float *A, int cells, int dim, const float *grad, float *map)
{
    for (int i = 0; i < cells; i++) {
        const float *a = A + (size_t)i * dim;
        double s = 0;
        for (int k = 0; k < dim; k++) s += (double)grad[k] * a[k];
        map[i] = (float)s;
    }
}

/* ---- drawing ---- */

void fb_cam_upsample(const float *map, int side, float *out, int out_side)
{
    /* cell centres at (i + 0.5) * out_side / side, clamped at the edges
     * (half-pixel centres, as Pillow and OpenCV resize) */
    double scale = (double)side / out_side;
    for (int oy = 0; oy < out_side; oy++) {
        double sy = (oy + 0.5) * scale - 0.5;
        if (sy < 0) sy = 0;
        if (sy > side - 1) sy = side - 1;
        int y0 = (int)sy, y1 = y0 + 1 < side ? y0 + 1 : y0;
        double fy = sy - y0;
        for (int ox = 0; ox < out_side; ox++) {
            double sx = (ox + 0.5) * scale - 0.5;
            if (sx < 0) sx = 0;
            if (sx > side - 1) sx = side - 1;
            int x0 = (int)sx, x1 = x0 + 1 < side ? x0 + 1 : x0;
            double fx = sx - x0;
            double top = map[y0 * side + x0] * (1 - fx) + map[y0 * side + x1] * fx;
            double bot = map[y1 * side + x0] * (1 - fx) + map[y1 * side + x1] * fx;
            out[(size_t)oy * out_side + ox] = (float)(top * (1 - fy) + bot * fy);
        }
    }
}

/* A perceptually ordered dark-blue -> cyan -> yellow -> red scale (stops of
 * Google's Turbo), linearly interpolated; t in [0,1]. */
static void turbo(double t, double rgb[3])
{
    static const double stop[9][3] = {
        { 48, 18, 59 }, { 70, 107, 227 }, { 40, 187, 236 }, { 50, 241, 152 }, { 164, 252, 60 },
        { 237, 208, 58 }, { 251, 128, 34 }, { 210, 49, 5 }, { 122, 4, 3 },
    };
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    double p = t * 8;
    int i = (int)p;
    if (i > 7) i = 7;
    double f = p - i;
    for (int k = 0; k < 3; k++) rgb[k] = stop[i][k] * (1 - f) + stop[i + 1][k] * f;
}

float fb_cam_normalise(float *map, size_t n)
{
    float mx = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(map[i] > 0)) map[i] = 0;       /* Grad-CAM's ReLU: evidence for the class only */
        if (map[i] > mx) mx = map[i];
    }
    if (mx > 0)
        for (size_t i = 0; i < n; i++) map[i] /= mx;
    return mx;
}

void fb_cam_blend(const uint8_t *rgb, const float *heat, int side, uint8_t *out)
{
    for (size_t i = 0; i < (size_t)side * side; i++) {
        double c[3], t = heat[i];
        turbo(t, c);
        /* strong evidence covers more of the photo; none leaves it as it is */
        double a = 0.6 * t;
        for (int k = 0; k < 3; k++) {
            double v = rgb[3 * i + k] * (1 - a) + c[k] * a;
            out[3 * i + k] = (uint8_t)(v + 0.5);
        }
    }
}

int fb_cam_draw(const fb_head *h, const float *A, int side, int dim, int c, const uint8_t *rgb,
                int rgb_side, uint8_t *out, float *cam, char *err, size_t errlen)
{
    int cells = side * side;
    float *x = calloc(dim, sizeof *x), *grad = malloc((size_t)dim * sizeof *grad);
    float *logits = malloc((size_t)h->nclasses * sizeof *logits);
    float *heat = malloc((size_t)rgb_side * rgb_side * sizeof *heat);
    float map[cells];
    int rc = -1;
    if (!x || !grad || !logits || !heat) { snprintf(err, errlen, "out of memory"); goto done; }
    if (dim != h->in_dim) {
        snprintf(err, errlen, "the map has %d channels, the head %d inputs", dim, h->in_dim);
        goto done;
    }
    for (int i = 0; i < cells; i++)
        for (int k = 0; k < dim; k++) x[k] += A[(size_t)i * dim + k];
    for (int k = 0; k < dim; k++) x[k] /= cells;
    if (fb_cam_logits_grad(h, x, c, logits, grad) != 0) { snprintf(err, errlen, "out of memory"); goto done; }
    fb_cam_map(A, cells, dim, grad, map);
    if (cam) memcpy(cam, map, sizeof map);
    fb_cam_normalise(map, cells);
    fb_cam_upsample(map, side, heat, rgb_side);
    fb_cam_blend(rgb, heat, rgb_side, out);
    rc = 0;
done:
    free(x); free(grad); free(logits); free(heat);
    return rc;
}
