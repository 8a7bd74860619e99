/* L2-regularised multinomial logistic regression solved by L-BFGS
 * (lib/head/logreg.h). */
#include "logreg.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fb_logreg_opts_default(fb_logreg_opts *o)
{
    o->C = 1.0;
    o->max_iter = 1000;
    o->gtol = 1e-6;
    o->memory = 10;
}

void fb_balanced_weights(const int *y, size_t n, int k, double *sw)
{
    size_t *count = calloc((size_t)k, sizeof *count);
    if (!count) { for (size_t i = 0; i < n; i++) sw[i] = 1; return; }
    for (size_t i = 0; i < n; i++) if (y[i] >= 0 && y[i] < k) count[y[i]]++;
    int present = 0;
    for (int c = 0; c < k; c++) present += count[c] > 0;
    for (size_t i = 0; i < n; i++)
        sw[i] = (y[i] >= 0 && y[i] < k) ? (double)n / ((double)present * count[y[i]]) : 0;
    free(count);
}

/* ------------------------------------------------------------ objective */

/* Scratch for one problem: float copies of W, the logits and the residuals. */
typedef struct {
    float *wf;           /* [d, k] */
    float *z;            /* [n, k] logits, then residuals R */
    float *gf;           /* [d, k] X^T R */
} work;

static int work_init(work *w, size_t n, int d, int k)
{
    w->wf = malloc((size_t)d * k * sizeof(float));
    w->z = malloc((n ? n : 1) * (size_t)k * sizeof(float));
    w->gf = malloc((size_t)d * k * sizeof(float));
    return w->wf && w->z && w->gf ? 0 : -1;
}

static void work_free(work *w) { free(w->wf); free(w->z); free(w->gf); }

/* With two or three classes the products are k matrix-vector products:
 * OpenBLAS's GEMM packs X for each call, which for so few columns costs
 * more than the product (10000 x 2048, k = 2: about half the time). */
#define FB_LOGREG_GEMV_MAX_K 3

/* logits [m, k] = x [m, d] . W [d, k] in float (b not added). */
static void logits_forward(const double *wb, int d, int k, const float *x, size_t m,
                           float *wf, float *z)
{
    for (size_t j = 0; j < (size_t)d * k; j++) wf[j] = (float)wb[j];
    if (k <= FB_LOGREG_GEMV_MAX_K)
        for (int c = 0; c < k; c++)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, d, 1.0f, x, d, wf + c, k, 0.0f, z + c, k);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, k, d,
                    1.0f, x, d, wf, k, 0.0f, z, k);
}

/* g [d, k] = x^T [d, m] . r [m, k] */
static void weights_backward(const float *x, const float *r, size_t m, int d, int k, float *g)
{
    if (k <= FB_LOGREG_GEMV_MAX_K)
        for (int c = 0; c < k; c++)
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)m, d, 1.0f, x, d, r + c, k, 0.0f, g + c, k);
    else
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, k, (int)m,
                    1.0f, x, d, r, k, 0.0f, g, k);
}

static double total_weight(const fb_logreg_data *D)
{
    if (!D->sw) return (double)D->n;
    double s = 0;
    for (size_t i = 0; i < D->n; i++) s += D->sw[i];
    return s;
}

/* f(wb) and, when grad is not NULL, its gradient.  S = total weight.
 *
 * With mu (a vector of d feature means, or NULL) the bias is read as the
 * centred bias b' = b + mu.W: the logits are x W + b' - mu W = (x - mu) W + b',
 * so the minimum is the same, but the Hessian loses the large eigenvalue that
 * all-positive features (ReLU outputs) put along their mean direction, and
 * L-BFGS needs far fewer iterations.  Gradient: d/dW = X^T R + lambda W - mu (x) g_b. */
static double objective(const fb_logreg_data *D, double lambda, double S, const double *wb,
                        const double *mu, double *grad, work *w)
{
    const int d = D->d, k = D->k;
    const size_t n = D->n;
    double bc[256], *b = k <= 256 ? bc : malloc((size_t)k * sizeof(double));
    if (!b) return NAN;
    for (int c = 0; c < k; c++) {
        b[c] = wb[(size_t)d * k + c];
        if (mu) for (int j = 0; j < d; j++) b[c] -= mu[j] * wb[(size_t)j * k + c];
    }
    logits_forward(wb, d, k, D->x, n, w->wf, w->z);

    /* Per record: z_c = logit + b_c; loss s_i (lse - z_y); residual
     * R_ic = s_i (p_ic - [c == y_i]) / S, overwriting the logits. */
    double loss = 0;
    double *gb = grad ? grad + (size_t)d * k : NULL;
    if (gb) for (int c = 0; c < k; c++) gb[c] = 0;
    double zc[256], *zbuf = k <= 256 ? zc : malloc((size_t)k * sizeof(double));
    if (!zbuf) { if (b != bc) free(b); return NAN; }
    for (size_t i = 0; i < n; i++) {
        float *zi = w->z + i * k;
        double m = -INFINITY;
        for (int c = 0; c < k; c++) {
            zbuf[c] = (double)zi[c] + b[c];
            if (zbuf[c] > m) m = zbuf[c];
        }
        double sum = 0;
        for (int c = 0; c < k; c++) sum += exp(zbuf[c] - m);
        double lse = m + log(sum);
        double si = D->sw ? D->sw[i] : 1.0;
        loss += si * (lse - zbuf[D->y[i]]);
        if (gb) {
            for (int c = 0; c < k; c++) {
                double r = si * (exp(zbuf[c] - lse) - (c == D->y[i])) / S;
                gb[c] += r;
                zi[c] = (float)r;
            }
        }
    }
    if (zbuf != zc) free(zbuf);
    if (b != bc) free(b);

    double wsq = 0;
    for (size_t j = 0; j < (size_t)d * k; j++) wsq += wb[j] * wb[j];
    double f = loss / S + 0.5 * lambda * wsq;
    if (!grad) return f;

    /* grad W [d, k] = X^T [d, n] . R [n, k] + lambda W */
    weights_backward(D->x, w->z, n, d, k, w->gf);
    for (size_t j = 0; j < (size_t)d * k; j++) grad[j] = (double)w->gf[j] + lambda * wb[j];
    if (mu)
        for (int j = 0; j < d; j++)
            for (int c = 0; c < k; c++) grad[(size_t)j * k + c] -= mu[j] * gb[c];
    return f;
}

/* lambda for C (see logreg.h: twice as large for two classes, so that C
 * means what it means for a binary logistic regression). */
static double penalty(int k, double C, double S)
{
    return (k == 2 ? 2.0 : 1.0) / (C * S);
}

double fb_logreg_objective(const fb_logreg_data *D, double C, const double *wb, double *grad)
{
    work w;
    if (work_init(&w, D->n, D->d, D->k)) { work_free(&w); return NAN; }
    double S = total_weight(D);
    double f = objective(D, penalty(D->k, C, S), S, wb, NULL, grad, &w);
    work_free(&w);
    return f;
}

void fb_logreg_predict(const double *wb, int d, int k, const float *x, size_t m, float *probs)
{
    float *wf = malloc((size_t)d * k * sizeof(float));
    if (!wf) {
        for (size_t i = 0; i < m * k; i++) probs[i] = NAN;
        return;
    }
    const double *b = wb + (size_t)d * k;
    logits_forward(wb, d, k, x, m, wf, probs);
    for (size_t i = 0; i < m; i++) {
        float *p = probs + i * k;
        double mx = -INFINITY, sum = 0;
        for (int c = 0; c < k; c++) if (p[c] + b[c] > mx) mx = p[c] + b[c];
        for (int c = 0; c < k; c++) sum += exp(p[c] + b[c] - mx);
        for (int c = 0; c < k; c++) p[c] = (float)(exp(p[c] + b[c] - mx) / sum);
    }
    free(wf);
}

/* --------------------------------------------------------------- L-BFGS */

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* d = -H g by the two-loop recursion over the stored pairs (oldest first in
 * ring order), H0 = (s'y / y'y) I from the newest pair. */
static void two_loop(const double *g, double *dir, size_t p, double *const *S, double *const *Y,
                     const double *rho, int mem, int count, int newest, double *alpha)
{
    for (size_t j = 0; j < p; j++) dir[j] = -g[j];
    for (int t = 0; t < count; t++) {
        int i = (newest - t + mem) % mem;
        alpha[i] = rho[i] * dot(S[i], dir, p);
        for (size_t j = 0; j < p; j++) dir[j] -= alpha[i] * Y[i][j];
    }
    if (count > 0) {
        double gamma = dot(S[newest], Y[newest], p) / dot(Y[newest], Y[newest], p);
        for (size_t j = 0; j < p; j++) dir[j] *= gamma;
    }
    for (int t = count - 1; t >= 0; t--) {
        int i = (newest - t + mem) % mem;
        double beta = rho[i] * dot(Y[i], dir, p);
        for (size_t j = 0; j < p; j++) dir[j] += (alpha[i] - beta) * S[i][j];
    }
}

/* b <- b + sign * mu.W: to the centred bias and back. */
static void shift_bias(double *wb, const double *mu, int d, int k, int sign)
{
    for (int c = 0; c < k; c++) {
        double s = 0;
        for (int j = 0; j < d; j++) s += mu[j] * wb[(size_t)j * k + c];
        wb[(size_t)d * k + c] += sign * s;
    }
}

int fb_logreg_fit(const fb_logreg_data *D, const fb_logreg_opts *o, double *wb,
                  fb_logreg_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (D->k < 2 || D->d < 1 || D->n < 1 || !(o->C > 0) || o->memory < 1) {
        snprintf(err, errlen, "logistic regression: need k >= 2 classes, d >= 1, n >= 1, C > 0");
        return -1;
    }
    for (size_t i = 0; i < D->n; i++)
        if (D->y[i] < 0 || D->y[i] >= D->k) {
            snprintf(err, errlen, "logistic regression: label %d of record %zu is outside 0..%d",
                     D->y[i], i, D->k - 1);
            return -1;
        }
    const size_t p = fb_logreg_nparams(D->d, D->k);
    const int mem = o->memory;
    work w;
    double *buf = calloc(p * (4 + 2 * (size_t)mem) + 2 * (size_t)mem, sizeof(double));
    double **S = calloc((size_t)mem, sizeof *S), **Y = calloc((size_t)mem, sizeof *Y);
    int wok = work_init(&w, D->n, D->d, D->k) == 0;
    if (!buf || !S || !Y || !wok) {
        free(buf); free(S); free(Y); work_free(&w);
        snprintf(err, errlen, "logistic regression: out of memory (%zu parameters)", p);
        return -1;
    }
    double *g = buf, *dir = g + p, *xn = dir + p, *gn = xn + p;
    double *rho = gn + p, *alpha = rho + mem;
    for (int i = 0; i < mem; i++) { S[i] = alpha + mem + (size_t)i * 2 * p; Y[i] = S[i] + p; }

    const double Sw = total_weight(D), lambda = penalty(D->k, o->C, Sw);
    /* feature means (weighted as the loss is) for the centred bias */
    double *mu = calloc((size_t)D->d, sizeof *mu);
    if (!mu) {
        free(buf); free(S); free(Y); work_free(&w);
        snprintf(err, errlen, "logistic regression: out of memory");
        return -1;
    }
    for (size_t i = 0; i < D->n; i++) {
        double si = (D->sw ? D->sw[i] : 1.0) / Sw;
        const float *xi = D->x + i * D->d;
        for (int j = 0; j < D->d; j++) mu[j] += si * xi[j];
    }
    shift_bias(wb, mu, D->d, D->k, +1);
    double f = objective(D, lambda, Sw, wb, mu, g, &w);
    r->evaluations = 1;
    double gnorm = sqrt(dot(g, g, p));
    const double tol = o->gtol * (gnorm > 1 ? gnorm : 1);
    int count = 0, newest = -1;
    while (gnorm > tol && r->iterations < o->max_iter) {
        if (count) two_loop(g, dir, p, S, Y, rho, mem, count, newest, alpha);
        else for (size_t j = 0; j < p; j++) dir[j] = -g[j];
        double gd = dot(g, dir, p);
        if (!(gd < 0)) {     /* lost descent (should not happen): restart */
            count = 0;
            for (size_t j = 0; j < p; j++) dir[j] = -g[j];
            gd = -gnorm * gnorm;
        }
        /* Weak-Wolfe line search by bracketing and bisection (Lewis-Overton):
         * sufficient decrease c1 = 1e-4, curvature c2 = 0.9.  Near the optimum
         * f changes by less than its single-precision noise, so a step also
         * passes on the approximate Wolfe test of Hager and Zhang (f within
         * 1e-6 |f|, the slope's sign and size right), which reads only the
         * gradient.  The first step of a cold start has length 1; steps grow
         * by 4 until bracketed. */
        double t = count ? 1.0 : fmin(1.0, 1.0 / gnorm), lo = 0, hi = INFINITY, fn = 0;
        int accepted = 0;
        for (int ls = 0; ls < 20; ls++) {
            for (size_t j = 0; j < p; j++) xn[j] = wb[j] + t * dir[j];
            fn = objective(D, lambda, Sw, xn, mu, gn, &w);
            r->evaluations++;
            double gnd = dot(gn, dir, p);
            int decrease = fn <= f + 1e-4 * t * gd;
            int approx = fn <= f + 1e-6 * fabs(f) && gnd <= (2 * 1e-4 - 1) * gd && gnd >= 0.9 * gd;
            if (approx || (decrease && gnd >= 0.9 * gd)) { accepted = 1; break; }
            if (!decrease) hi = t;
            else lo = t;
            t = isinf(hi) ? 4 * lo : 0.5 * (lo + hi);
        }
        if (!accepted) {
            /* No acceptable step: at the noise floor of single-precision
             * evaluations.  Keep a decreasing point found on the way. */
            if (lo > 0) {
                for (size_t j = 0; j < p; j++) xn[j] = wb[j] + lo * dir[j];
                fn = objective(D, lambda, Sw, xn, mu, gn, &w);
                r->evaluations++;
                if (fn < f) { memcpy(wb, xn, p * sizeof *wb); memcpy(g, gn, p * sizeof *g); f = fn; }
            }
            break;
        }
        /* Curvature pair s = t dir, y = gn - g; weak Wolfe makes s'y > 0. */
        int slot = (newest + 1) % mem;
        double sy = 0, yy = 0;
        for (size_t j = 0; j < p; j++) {
            S[slot][j] = t * dir[j];
            Y[slot][j] = gn[j] - g[j];
            sy += S[slot][j] * Y[slot][j];
            yy += Y[slot][j] * Y[slot][j];
        }
        if (sy > 1e-12 * yy) {
            rho[slot] = 1.0 / sy;
            newest = slot;
            if (count < mem) count++;
        }
        memcpy(wb, xn, p * sizeof *wb);
        memcpy(g, gn, p * sizeof *g);
        f = fn;
        gnorm = sqrt(dot(g, g, p));
        r->iterations++;
    }
    r->loss = f;
    /* the gradient in the caller's parametrisation: g_W + mu (x) g_b */
    const double *gb = g + (size_t)D->d * D->k;
    for (int j = 0; j < D->d; j++)
        for (int c = 0; c < D->k; c++) g[(size_t)j * D->k + c] += mu[j] * gb[c];
    r->grad_norm = sqrt(dot(g, g, p));
    r->converged = gnorm <= tol;
    shift_bias(wb, mu, D->d, D->k, -1);
    free(mu); free(buf); free(S); free(Y); work_free(&w);
    return 0;
}
