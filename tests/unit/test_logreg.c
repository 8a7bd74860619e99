/* The solved linear head (lib/head/logreg.h) against an independent solver:
 * Newton's method with the exact Hessian, in double, written here from the
 * formulas; plus cross-validation, grouped folds, the two-class threshold,
 * normalisation and the extra metrics against hand-computed values. */
#include "check.h"
#include "head/logreg.h"
#include "fb/head.h"
#include "head/norm.h"
#include "fb/core.h"

#include <string.h>

/* ------------------------------------------------ the reference solver */

/* f and gradient in double from the definition, with x~ = [x, 1] so that
 * parameter (j, c) sits at j*k + c for j in 0..d (j = d: the bias). */
static double ref_objective(const float *x, const int *y, const double *sw, size_t n, int d, int k,
                            double C, const double *th, double *g)
{
    double S = 0;
    for (size_t i = 0; i < n; i++) S += sw ? sw[i] : 1;
    double lambda = (k == 2 ? 2 : 1) / (C * S), loss = 0, z[16], pr[16];   /* see logreg.h */
    size_t p = (size_t)(d + 1) * k;
    if (g) memset(g, 0, p * sizeof *g);
    for (size_t i = 0; i < n; i++) {
        double m = -INFINITY, sum = 0, s = sw ? sw[i] : 1;
        for (int c = 0; c < k; c++) {
            z[c] = th[(size_t)d * k + c];
            for (int j = 0; j < d; j++) z[c] += (double)x[i * d + j] * th[(size_t)j * k + c];
            if (z[c] > m) m = z[c];
        }
        for (int c = 0; c < k; c++) sum += exp(z[c] - m);
        for (int c = 0; c < k; c++) pr[c] = exp(z[c] - m) / sum;
        loss += s * -log(pr[y[i]]);
        if (g)
            for (int c = 0; c < k; c++) {
                double r = s * (pr[c] - (c == y[i])) / S;
                for (int j = 0; j < d; j++) g[(size_t)j * k + c] += r * x[i * d + j];
                g[(size_t)d * k + c] += r;
            }
    }
    double wsq = 0;
    for (size_t q = 0; q < (size_t)d * k; q++) {
        wsq += th[q] * th[q];
        if (g) g[q] += lambda * th[q];
    }
    return loss / S + 0.5 * lambda * wsq;
}

/* Exact Hessian: (1/S) sum_i s_i (diag p - p p^T) (x) x~ x~^T + lambda on W,
 * plus (sum_c b_c)^2 / 2, which fixes the direction softmax ignores (adding
 * one constant to every bias) without changing the minimum value. */
static void ref_hessian(const float *x, const double *sw, size_t n, int d, int k, double C,
                        const double *th, double *H)
{
    size_t p = (size_t)(d + 1) * k;
    double S = 0, xt[64], pr[16];
    for (size_t i = 0; i < n; i++) S += sw ? sw[i] : 1;
    memset(H, 0, p * p * sizeof *H);
    for (size_t i = 0; i < n; i++) {
        double s = sw ? sw[i] : 1, m = -INFINITY, sum = 0;
        for (int j = 0; j < d; j++) xt[j] = x[i * d + j];
        xt[d] = 1;
        for (int c = 0; c < k; c++) {
            pr[c] = 0;
            for (int j = 0; j <= d; j++) pr[c] += xt[j] * th[(size_t)j * k + c];
            if (pr[c] > m) m = pr[c];
        }
        for (int c = 0; c < k; c++) { pr[c] = exp(pr[c] - m); sum += pr[c]; }
        for (int c = 0; c < k; c++) pr[c] /= sum;
        for (int a = 0; a <= d; a++)
            for (int c = 0; c < k; c++)
                for (int b = 0; b <= d; b++)
                    for (int e = 0; e < k; e++)
                        H[((size_t)a * k + c) * p + (size_t)b * k + e] +=
                            s / S * (pr[c] * (c == e) - pr[c] * pr[e]) * xt[a] * xt[b];
    }
    for (size_t q = 0; q < (size_t)d * k; q++) H[q * p + q] += (k == 2 ? 2 : 1) / (C * S);
    for (int c = 0; c < k; c++)
        for (int e = 0; e < k; e++) H[((size_t)d * k + c) * p + (size_t)d * k + e] += 1;
}

/* Solves A v = r by Cholesky (A symmetric positive definite), in place. */
static int cholesky_solve(double *A, double *r, size_t p)
{
    for (size_t j = 0; j < p; j++) {
        double s = A[j * p + j];
        for (size_t q = 0; q < j; q++) s -= A[j * p + q] * A[j * p + q];
        if (s <= 0) return -1;
        A[j * p + j] = sqrt(s);
        for (size_t i = j + 1; i < p; i++) {
            double t = A[i * p + j];
            for (size_t q = 0; q < j; q++) t -= A[i * p + q] * A[j * p + q];
            A[i * p + j] = t / A[j * p + j];
        }
    }
    for (size_t i = 0; i < p; i++) {
        for (size_t q = 0; q < i; q++) r[i] -= A[i * p + q] * r[q];
        r[i] /= A[i * p + i];
    }
    for (size_t i = p; i-- > 0;) {
        for (size_t q = i + 1; q < p; q++) r[i] -= A[q * p + i] * r[q];
        r[i] /= A[i * p + i];
    }
    return 0;
}

/* Damped Newton to ||grad||_inf < 1e-12 (gradient of f plus the bias-sum
 * term).  Returns f at the optimum, th holds it. */
static double newton_gmax;   /* ||grad||_inf where ref_newton stopped */

static double ref_newton(const float *x, const int *y, const double *sw, size_t n, int d, int k,
                         double C, double *th, int *iters)
{
    size_t p = (size_t)(d + 1) * k;
    double *g = malloc(p * sizeof *g), *H = malloc(p * p * sizeof *H), *step = malloc(p * sizeof *step),
           *tn = malloc(p * sizeof *tn);
    memset(th, 0, p * sizeof *th);
    double f = 0;
    for (*iters = 0; *iters < 100; (*iters)++) {
        f = ref_objective(x, y, sw, n, d, k, C, th, g);
        double bs = 0, gmax = 0;
        for (int c = 0; c < k; c++) bs += th[(size_t)d * k + c];
        for (int c = 0; c < k; c++) g[(size_t)d * k + c] += bs;
        for (size_t q = 0; q < p; q++) gmax = fmax(gmax, fabs(g[q]));
        newton_gmax = gmax;
        if (gmax < 1e-12) break;
        ref_hessian(x, sw, n, d, k, C, th, H);
        for (size_t q = 0; q < p; q++) step[q] = g[q];
        if (cholesky_solve(H, step, p)) break;
        /* backtracking on f + (sum b)^2 / 2; close to the optimum the full
         * step (quadratic convergence), where f's rounding hides decrease */
        double fa = f + 0.5 * bs * bs, t = 1;
        for (int ls = 0; ls < 50 && gmax > 1e-6; ls++, t *= 0.5) {
            for (size_t q = 0; q < p; q++) tn[q] = th[q] - t * step[q];
            double bn = 0;
            for (int c = 0; c < k; c++) bn += tn[(size_t)d * k + c];
            if (ref_objective(x, y, sw, n, d, k, C, tn, NULL) + 0.5 * bn * bn <= fa) break;
        }
        if (gmax <= 1e-6) for (size_t q = 0; q < p; q++) tn[q] = th[q] - step[q];
        memcpy(th, tn, p * sizeof *th);
    }
    free(g); free(H); free(step); free(tn);
    return f;
}

/* ------------------------------------------------------------ problems */

typedef struct {
    float *x;
    int *y;
    double *sw;
    size_t n;
    int d, k;
} problem;

/* Labels drawn from a random linear softmax model scaled by `signal`
 * (large: nearly separable); features Gaussian with uneven scales. */
static problem make_problem(size_t n, int d, int k, double signal, int weighted, uint64_t seed)
{
    problem P = { malloc(n * d * sizeof(float)), malloc(n * sizeof(int)),
                  weighted ? malloc(n * sizeof(double)) : NULL, n, d, k };
    fb_rng r;
    fb_rng_seed(&r, seed);
    double Wt[64 * 16];
    for (int q = 0; q < d * k; q++) Wt[q] = signal * fb_rng_normal(&r);
    for (size_t i = 0; i < n; i++) {
        double z[16], m = -INFINITY, sum = 0;
        for (int j = 0; j < d; j++) P.x[i * d + j] = (float)((1 + j % 3) * fb_rng_normal(&r));
        for (int c = 0; c < k; c++) {
            z[c] = 0;
            for (int j = 0; j < d; j++) z[c] += P.x[i * d + j] * Wt[j * k + c];
            if (z[c] > m) m = z[c];
        }
        for (int c = 0; c < k; c++) sum += (z[c] = exp(z[c] - m));
        double u = fb_rng_uniform(&r) * sum;
        int c = 0;
        while (c < k - 1 && u > z[c]) u -= z[c++];
        P.y[i] = c;
        if (weighted) P.sw[i] = 0.2 + 2.8 * fb_rng_uniform(&r);
    }
    return P;
}

static void free_problem(problem *P) { free(P->x); free(P->y); free(P->sw); }

/* The solver against Newton on P at C. */
static void check_against_newton(const char *name, const problem *P, double C)
{
    size_t p = fb_logreg_nparams(P->d, P->k);
    double *th = malloc(p * sizeof *th), *wb = calloc(p, sizeof *wb), *g = malloc(p * sizeof *g),
           *gl = malloc(p * sizeof *gl);
    int it;
    double fref = ref_newton(P->x, P->y, P->sw, P->n, P->d, P->k, C, th, &it);
    CHECK(newton_gmax < 1e-12, "%s: the reference Newton solve converged (|g|_inf %.2g, %d its)", name, newton_gmax, it);

    fb_logreg_data D = { P->x, P->y, P->sw, P->n, P->d, P->k };
    /* the library's objective and gradient at a random point, against the
     * formulas in double */
    fb_rng r;
    fb_rng_seed(&r, 7);
    for (size_t q = 0; q < p; q++) wb[q] = 0.3 * fb_rng_normal(&r);
    double fl = fb_logreg_objective(&D, C, wb, gl), fr = ref_objective(P->x, P->y, P->sw, P->n, P->d, P->k, C, wb, g);
    double gd = 0, gn = 0;
    for (size_t q = 0; q < p; q++) { gd = fmax(gd, fabs(gl[q] - g[q])); gn = fmax(gn, fabs(g[q])); }
    CHECK_NEAR(fl, fr, 1e-6 * fabs(fr), "%s: objective matches the formula at a random point", name);
    CHECK(gd <= 1e-5 * gn, "%s: gradient matches the formula (max diff %.2g of %.2g)", name, gd, gn);

    memset(wb, 0, p * sizeof *wb);
    fb_logreg_opts o;
    fb_logreg_opts_default(&o);
    o.C = C;
    fb_logreg_result res;
    char err[256];
    CHECK(fb_logreg_fit(&D, &o, wb, &res, err, sizeof err) == 0, "%s: fit", name);
    double fsol = ref_objective(P->x, P->y, P->sw, P->n, P->d, P->k, C, wb, g);
    double rel = fabs(fsol - fref) / fabs(fref), gmax = 0;
    for (size_t q = 0; q < p; q++) gmax = fmax(gmax, fabs(g[q]));
    printf("# %s: Newton %d its f* %.12g; L-BFGS %d its %d evals f %.12g rel %.2g |g| %.2g (own %.2g) %s\n",
           name, it, fref, res.iterations, res.evaluations, fsol, rel, gmax, res.grad_norm,
           res.converged ? "converged" : "stopped");
    CHECK(rel < 1e-4, "%s: loss within 1e-4 relative of Newton's optimum (%.2g)", name, rel);
    CHECK(rel < 1e-6, "%s: and in fact within 1e-6 (%.2g)", name, rel);
    CHECK_NEAR(res.loss, fref, 1e-6 * fabs(fref), "%s: reported loss is the optimum", name);
    CHECK(gmax < 1e-4, "%s: gradient at the solution small (%.2g)", name, gmax);
    /* probabilities agree (parameters may differ along the ignored bias shift) */
    double pd = 0;
    float *pl = malloc(P->n * P->k * sizeof(float));
    fb_logreg_predict(wb, P->d, P->k, P->x, P->n, pl);
    for (size_t i = 0; i < P->n; i++) {
        double z[16], m = -INFINITY, s = 0;
        for (int c = 0; c < P->k; c++) {
            z[c] = th[(size_t)P->d * P->k + c];
            for (int j = 0; j < P->d; j++) z[c] += P->x[i * P->d + j] * th[(size_t)j * P->k + c];
            m = fmax(m, z[c]);
        }
        for (int c = 0; c < P->k; c++) s += exp(z[c] - m);
        for (int c = 0; c < P->k; c++) pd = fmax(pd, fabs(exp(z[c] - m) / s - pl[i * P->k + c]));
    }
    CHECK(pd < 1e-3, "%s: probabilities match Newton's (max diff %.2g)", name, pd);
    /* deterministic: a second run gives the same bits */
    double *wb2 = calloc(p, sizeof *wb2);
    fb_logreg_result res2;
    fb_logreg_fit(&D, &o, wb2, &res2, err, sizeof err);
    CHECK(!memcmp(wb, wb2, p * sizeof *wb) && res2.iterations == res.iterations,
          "%s: same bits on a second run", name);
    free(wb2); free(pl);
    free(th); free(wb); free(g); free(gl);
}

/* ------------------------------------------------------------ the tests */

static void test_solver(void)
{
    problem a = make_problem(80, 5, 2, 1.0, 0, 1);
    check_against_newton("k=2", &a, 1.0);
    free_problem(&a);

    problem b = make_problem(150, 6, 4, 1.0, 1, 2);
    check_against_newton("k=4 weighted", &b, 0.5);
    free_problem(&b);

    problem c = make_problem(120, 4, 4, 0.7, 0, 3);
    double *sw = malloc(c.n * sizeof *sw);
    fb_balanced_weights(c.y, c.n, c.k, sw);
    c.sw = sw;
    check_against_newton("k=4 balanced weights", &c, 2.0);
    free_problem(&c);

    /* all-positive features far from 0 (like ReLU outputs): the solver's
     * centred bias must give back the caller's bias */
    problem e = make_problem(100, 5, 3, 1.0, 0, 6);
    for (size_t i = 0; i < e.n * e.d; i++) e.x[i] = fabsf(e.x[i]) + 3;
    check_against_newton("k=3 offset features", &e, 1.0);
    free_problem(&e);

    /* Separable: y = [x0 > 0]; unregularised the optimum is at infinity, the
     * penalty makes it finite and large. */
    problem s = make_problem(60, 3, 2, 1.0, 0, 4);
    for (size_t i = 0; i < s.n; i++) s.y[i] = s.x[i * s.d] > 0;
    check_against_newton("separable, C=100", &s, 100.0);
    free_problem(&s);

    /* weights as repetition: weight 2 equals the record twice */
    problem w = make_problem(40, 3, 2, 1.0, 0, 5);
    problem w2 = { malloc(80 * 3 * sizeof(float)), malloc(80 * sizeof(int)), NULL, 80, 3, 2 };
    double *sw2 = malloc(40 * sizeof *sw2);
    for (size_t i = 0; i < 40; i++) {
        sw2[i] = i < 20 ? 2 : 1;
        memcpy(w2.x + i * 3, w.x + i * 3, 3 * sizeof(float));
        w2.y[i] = w.y[i];
    }
    size_t m = 40;
    for (size_t i = 0; i < 20; i++, m++) { memcpy(w2.x + m * 3, w.x + i * 3, 3 * sizeof(float)); w2.y[m] = w.y[i]; }
    w2.n = m;
    fb_logreg_data Dw = { w.x, w.y, sw2, 40, 3, 2 }, Dd = { w2.x, w2.y, NULL, m, 3, 2 };
    size_t p = fb_logreg_nparams(3, 2);
    double *pa = calloc(p, sizeof *pa), *pb = calloc(p, sizeof *pb);
    fb_logreg_opts o;
    fb_logreg_opts_default(&o);
    fb_logreg_result ra, rb;
    char err[256];
    fb_logreg_fit(&Dw, &o, pa, &ra, err, sizeof err);
    fb_logreg_fit(&Dd, &o, pb, &rb, err, sizeof err);
    double md = 0;
    for (size_t q = 0; q < 6; q++) md = fmax(md, fabs(pa[q] - pb[q]));
    CHECK(md < 1e-4, "weight 2 is the record twice (max W diff %.2g)", md);
    free(pa); free(pb); free(sw2); free_problem(&w); free_problem(&w2);

    /* bad input is an error with a message, not a crash */
    int yb[2] = { 0, 5 };
    float xb[2] = { 1, 2 };
    fb_logreg_data Db = { xb, yb, NULL, 2, 1, 2 };
    double wbb[4] = { 0 };
    err[0] = 0;
    CHECK(fb_logreg_fit(&Db, &o, wbb, &ra, err, sizeof err) == -1 && strstr(err, "label 5"),
          "a label outside 0..k-1 is refused: %s", err);
}

static void test_cv_grid_ends(void)
{
    char err[256];
    fb_logreg_cv_opts o;
    fb_logreg_cv_opts_default(&o);
    o.ngrid = 5;
    for (int i = 0; i < 5; i++) o.grid[i] = pow(10.0, -3 + 1.5 * i);
    o.one_se = 0;       /* the best score itself */
    o.patience = 0;     /* the whole grid */

    /* labels independent of 20 noise features: any fit is overfitting, the
     * most regularised C wins */
    problem a = make_problem(100, 20, 2, 0.0, 0, 11);
    fb_logreg_data Da = { a.x, a.y, NULL, a.n, a.d, a.k };
    fb_logreg_cv_result r;
    CHECK(fb_logreg_cv(&Da, NULL, &o, &r, NULL, NULL, err, sizeof err) == 0, "cv on noise");
    CHECK(r.best == 0, "noise labels: CV picks the strongest regularisation (best %d, C %g)", r.best, r.C);
    free_problem(&a);

    /* a wide margin: y = [x0 > 0] with |x0| >= 1; log loss keeps falling as
     * the weights grow, the weakest regularisation wins */
    problem b = make_problem(200, 2, 2, 1.0, 0, 12);
    for (size_t i = 0; i < b.n; i++) {
        float *x0 = &b.x[i * b.d];
        *x0 = *x0 > 0 ? *x0 + 1 : *x0 - 1;
        b.y[i] = *x0 > 0;
    }
    fb_logreg_data Db = { b.x, b.y, NULL, b.n, b.d, b.k };
    CHECK(fb_logreg_cv(&Db, NULL, &o, &r, NULL, NULL, err, sizeof err) == 0, "cv on a wide margin");
    CHECK(r.best == 4, "wide margin: CV picks the weakest regularisation (best %d, C %g)", r.best, r.C);
    printf("# wide margin: log loss (se) by C:");
    for (int i = 0; i < 5; i++) printf(" %.3g (%.2g)", r.score[i], r.se[i]);
    printf("\n");
    /* the one-standard-error rule: the smallest C within one error of the
     * best, by the scores just printed */
    int want = 4;
    for (int i = 0; i < 4; i++) if (r.score[i] <= r.score[4] + r.se[4]) { want = i; break; }
    o.one_se = 1;
    CHECK(fb_logreg_cv(&Db, NULL, &o, &r, NULL, NULL, err, sizeof err) == 0 && r.best == want && r.best_score == 4,
          "one-SE rule takes C index %d (wanted %d), best score still index %d", r.best, want, r.best_score);
    free_problem(&b);

    /* a class with one record cannot be cross-validated: an error saying so */
    int y1[6] = { 0, 0, 0, 0, 0, 1 };
    float x1[6] = { 0, 1, 2, 3, 4, 5 };
    fb_logreg_data D1 = { x1, y1, NULL, 6, 1, 2 };
    err[0] = 0;
    CHECK(fb_logreg_cv(&D1, NULL, &o, &r, NULL, NULL, err, sizeof err) == -1 && strstr(err, "fewer than 2"),
          "one record of a class: %s", err);
}

static void test_group_folds(void)
{
    enum { N = 300, K = 3, F = 5 };
    int y[N], fold[N];
    uint32_t group[N];
    fb_rng r;
    fb_rng_seed(&r, 21);
    /* groups of 1..6 records of one class, ids not in record order */
    int gid = 0;
    for (int i = 0; i < N;) {
        int size = 1 + (int)fb_rng_below(&r, 6), c = (int)fb_rng_below(&r, K);
        /* a group of one is group 0 ("alone"), as in fb streams */
        for (int t = 0; t < size && i < N; t++, i++) { y[i] = c; group[i] = size == 1 ? 0 : 1 + (gid * 7919) % 10007; }
        gid++;
    }
    /* shuffle records so groups are scattered */
    for (int i = N - 1; i > 0; i--) {
        int j = (int)fb_rng_below(&r, i + 1), ty = y[i];
        uint32_t tg = group[i];
        y[i] = y[j]; group[i] = group[j]; y[j] = ty; group[j] = tg;
    }
    CHECK(fb_group_folds(y, group, N, K, F, 5, fold) == 0, "group folds");
    int split = 0, bad = 0, count[F][K] = { { 0 } }, total[K] = { 0 };
    for (int i = 0; i < N; i++) {
        if (fold[i] < 0 || fold[i] >= F) bad++;
        else { count[fold[i]][y[i]]++; total[y[i]]++; }
        for (int j = 0; j < i; j++) if (group[i] && group[j] == group[i] && fold[j] != fold[i]) split++;
    }
    CHECK(!bad && !split, "every record in a fold, no group split over folds (%d split pairs)", split);
    int uneven = 0;
    for (int c = 0; c < K; c++)
        for (int f = 0; f < F; f++)
            if (fabs(count[f][c] - total[c] / (double)F) > 6) uneven++;   /* at most a group off */
    CHECK(!uneven, "each class spread evenly over the folds, within one group");
    int fold2[N];
    fb_group_folds(y, group, N, K, F, 5, fold2);
    CHECK(!memcmp(fold, fold2, sizeof fold), "same seed, same folds");

    /* without groups: fb_stratified_folds */
    fb_group_folds(y, NULL, N, K, F, 5, fold);
    int cnt[F] = { 0 };
    for (int i = 0; i < N; i++) cnt[fold[i]]++;
    CHECK(cnt[0] == 60 && cnt[4] == 60, "no groups: plain stratified folds of 60");
}

static void test_threshold(void)
{
    /* Positives' log-odds all above 1.5, negatives' all at most 1: t = 0 calls
     * the negatives in (0, 1] positive; the best threshold is in the gap. */
    double s[12] = { -3, -2, -1, -0.5, 0.2, 0.6, 1.0, 1.5, 2, 3, 3.5, 4 };
    int y[12] = { 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1 };
    double t = fb_choose_threshold(s, y, 12);
    CHECK_NEAR(t, 1.25, 1e-12, "threshold moves to the middle of the gap (1.25)");
    /* already perfect at 0: it stays at 0 */
    double s2[4] = { -2, -1, 1, 2 };
    int y2[4] = { 0, 0, 1, 1 };
    CHECK(fb_choose_threshold(s2, y2, 4) == 0, "threshold stays 0 when 0 is best");

    /* End to end on an imbalanced set: 10% positives, overlapping classes,
     * unweighted fit.  The model leans to "negative"; the threshold chosen on
     * out-of-fold predictions moves below 0 and raises balanced accuracy on
     * fresh data from the same distribution. */
    enum { N = 1000, D = 4 };
    fb_rng r;
    fb_rng_seed(&r, 31);
    float *x = malloc(2 * N * D * sizeof(float));
    int *yy = malloc(2 * N * sizeof(int));
    for (int i = 0; i < 2 * N; i++) {
        yy[i] = fb_rng_uniform(&r) < 0.1;
        for (int j = 0; j < D; j++) x[i * D + j] = (float)(fb_rng_normal(&r) + (yy[i] && j == 0 ? 1.5 : 0));
    }
    fb_logreg_data Dt = { x, yy, NULL, N, D, 2 };
    fb_logreg_cv_opts o;
    fb_logreg_cv_opts_default(&o);
    fb_logreg_cv_result cr;
    char err[256];
    float *oof = malloc(N * 2 * sizeof(float));
    CHECK(fb_logreg_cv(&Dt, NULL, &o, &cr, oof, NULL, err, sizeof err) == 0, "cv on the imbalanced set");
    double *lo = malloc(N * sizeof *lo);
    for (int i = 0; i < N; i++) lo[i] = log(oof[i * 2 + 1]) - log(oof[i * 2]);
    double th = fb_choose_threshold(lo, yy, N);
    CHECK(th < -0.5, "imbalanced set: threshold moves below 0 (%.3f)", th);
    size_t p = fb_logreg_nparams(D, 2);
    double *wb = calloc(p, sizeof *wb);
    fb_logreg_opts so = o.solver;
    so.C = cr.C;
    fb_logreg_result fr;
    fb_logreg_fit(&Dt, &so, wb, &fr, err, sizeof err);
    float *pt = malloc(N * 2 * sizeof(float));
    fb_logreg_predict(wb, D, 2, x + N * D, N, pt);
    int *p0 = malloc(N * sizeof(int)), *p1 = malloc(N * sizeof(int));
    for (int i = 0; i < N; i++) {
        double l = log(pt[i * 2 + 1]) - log(pt[i * 2]);
        p0[i] = l > 0;
        p1[i] = l > th;
    }
    double b0 = fb_balanced_accuracy_labels(yy + N, p0, N, 2), b1 = fb_balanced_accuracy_labels(yy + N, p1, N, 2);
    CHECK(b1 > b0 + 0.05, "fresh data: balanced accuracy %.3f at t=0, %.3f at the chosen threshold", b0, b1);
    free(x); free(yy); free(oof); free(lo); free(wb); free(pt); free(p0); free(p1);
}

static void test_metrics_extra(void)
{
    size_t conf2[4] = { 8, 2, 1, 4 };   /* recalls 0.8 and 0.8 */
    CHECK_NEAR(fb_balanced_accuracy(conf2, 2), 0.8, 1e-12, "balanced accuracy [[8,2],[1,4]] = 0.8");
    size_t conf3[9] = { 50, 0, 0, 5, 5, 0, 0, 0, 0 };   /* class 2 absent: (1 + 0.5) / 2 */
    CHECK_NEAR(fb_balanced_accuracy(conf3, 3), 0.75, 1e-12, "balanced accuracy skips an absent class");
    CHECK_NEAR(fb_majority_baseline(conf3, 3), 50.0 / 60, 1e-12, "majority baseline 50/60");
    int t[6] = { 0, 0, 0, 0, 1, 1 }, pr[6] = { 0, 0, 0, 1, 1, 0 };
    CHECK_NEAR(fb_balanced_accuracy_labels(t, pr, 6, 2), 0.5 * (0.75 + 0.5), 1e-12, "balanced accuracy from labels");
    /* Wilson 95%: centre (p + z^2/2n)/(1 + z^2/n), half-width
     * z/(1 + z^2/n) sqrt(p(1-p)/n + z^2/4n^2); 8 of 10 -> [0.4902, 0.9433] */
    double lo, hi;
    fb_wilson_interval(8, 10, 1.959964, &lo, &hi);
    CHECK_NEAR(lo, 0.4901624691, 1e-9, "Wilson 8/10 lower");
    CHECK_NEAR(hi, 0.9433178491, 1e-9, "Wilson 8/10 upper");
    fb_wilson_interval(0, 10, 1.959964, &lo, &hi);
    CHECK(lo == 0 && fabs(hi - 0.2775328030) < 1e-9, "Wilson 0/10 = [0, 0.2775]");
    fb_wilson_interval(95, 100, 1.959964, &lo, &hi);
    CHECK(fabs(lo - 0.8882495301) < 1e-9 && fabs(hi - 0.9784563210) < 1e-9, "Wilson 95/100");
}

static void test_norm(void)
{
    char err[128];
    int steps;
    CHECK(fb_norm_parse("sqrt,l2", &steps, err, sizeof err) == 0 && steps == (FB_NORM_SQRT | FB_NORM_L2), "parse sqrt,l2");
    CHECK(fb_norm_parse("cube", &steps, err, sizeof err) == -1, "unknown step refused: %s", err);
    char s[32];
    fb_norm_string(FB_NORM_ALL, s, sizeof s);
    CHECK(!strcmp(s, "sqrt,l2,std"), "spelled back: %s", s);
    /* sqrt then l2 on (9, 16, -4): (3, 4, -2) / sqrt(29) */
    float x[3] = { 9, 16, -4 };
    fb_norm nm;
    fb_norm_fit(&nm, FB_NORM_SQRT | FB_NORM_L2, x, 1, 3, err, sizeof err);
    fb_norm_apply(&nm, x, 1);
    CHECK(fabs(x[0] - 3 / sqrt(29)) < 1e-6 && fabs(x[2] + 2 / sqrt(29)) < 1e-6, "sqrt,l2 of (9,16,-4)");
    fb_norm_free(&nm);
    /* std: training mean 0, deviation 1 per feature; a constant feature centred */
    float t[8] = { 1, 5, 3, 5, 5, 5, 7, 5 };   /* 4 records x 2 features */
    fb_norm_fit(&nm, FB_NORM_STD, t, 4, 2, err, sizeof err);
    fb_norm_apply(&nm, t, 4);
    double m = 0, v = 0;
    for (int i = 0; i < 4; i++) { m += t[i * 2]; v += t[i * 2] * t[i * 2]; }
    CHECK(fabs(m) < 1e-6 && fabs(v / 4 - 1) < 1e-6, "std: mean 0, variance 1");
    CHECK(t[1] == 0 && t[7] == 0, "std: a constant feature becomes 0");
    fb_norm_free(&nm);
}

int main(void)
{
    test_solver();
    test_cv_grid_ends();
    test_group_folds();
    test_threshold();
    test_metrics_extra();
    test_norm();
    return check_done();
}
