/* The solved linear head: L2-regularised multinomial logistic regression.
 *
 * Objective over n records x_i (float, d features), labels y_i in 0..k-1,
 * sample weights s_i > 0 (S = sum s_i):
 *
 *     f(W, b) = (1/S) sum_i s_i * -log softmax(x_i W + b)[y_i]  +  (lambda/2) ||W||^2
 *
 * W [d, k], b [k]; the bias is not penalised.  lambda is given through C, the
 * scikit-learn spelling, so numbers compare directly: sklearn minimises
 * C sum_i s_i CE_i + ||W||^2 / 2, the same minimiser as f with lambda = 1/(C S).
 * For two classes lambda = 2/(C S): the two softmax columns split the one
 * weight vector w of a binary logistic regression as w1 = -w0 = w/2, whose
 * penalty ||w0||^2 + ||w1||^2 = ||w||^2 / 2 would otherwise halve the
 * strength; so C here is a binary logistic regression's C.
 *
 * f is strictly convex in W for lambda > 0; in b it is flat along adding one
 * constant to every b_c (softmax ignores it), which changes no probability.
 *
 * Solved by L-BFGS (memory 10, weak-Wolfe bisection line search) on double
 * parameters.  Each evaluation of f and its gradient is two single-precision
 * GEMMs over X (logits = X W, gradient = X^T R), so the cost is two passes
 * over the data; sums over records are in double.  Deterministic: the same
 * inputs and OpenBLAS thread count give the same bits.
 */
#ifndef FB_HEAD_LOGREG_H
#define FB_HEAD_LOGREG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double C;            /* inverse strength (sklearn's C); > 0 */
    int max_iter;        /* L-BFGS iterations, default 1000 */
    double gtol;         /* stop when ||grad||_2 <= gtol * max(1, ||grad at 0||_2) */
    int memory;          /* L-BFGS history pairs, default 10 */
} fb_logreg_opts;

void fb_logreg_opts_default(fb_logreg_opts *o);

typedef struct {
    int iterations, evaluations;
    double loss;         /* f at the solution (penalty included) */
    double grad_norm;    /* ||grad f||_2 at the solution */
    int converged;       /* 1: gradient test met; 0: iteration limit or the
                          * line search found no decrease (float noise floor) */
} fb_logreg_result;

/* A logistic-regression problem: rows of x, their labels and weights. */
typedef struct {
    const float *x;      /* [n, d] row-major */
    const int *y;        /* [n] in 0..k-1 */
    const double *sw;    /* [n] sample weights, or NULL for all 1 */
    size_t n;
    int d, k;            /* k >= 2 */
} fb_logreg_data;

/* Number of parameters: d*k (W, row-major [d][k]) then k (b). */
static inline size_t fb_logreg_nparams(int d, int k) { return (size_t)d * k + k; }

/* Minimises f from the parameters already in wb (zeros for a cold start, the
 * previous solution for a warm start); wb holds the solution on return.
 * 0 ok; -1 with a message (bad arguments, no memory). */
int fb_logreg_fit(const fb_logreg_data *D, const fb_logreg_opts *o, double *wb,
                  fb_logreg_result *r, char *err, size_t errlen);

/* f and its gradient at wb (grad NULL: value only).  For tests and the
 * solver itself.  Returns f, NaN on no memory. */
double fb_logreg_objective(const fb_logreg_data *D, double C, const double *wb, double *grad);

/* Class probabilities of m rows of x under wb: probs [m, k]. */
void fb_logreg_predict(const double *wb, int d, int k, const float *x, size_t m, float *probs);

/* Balanced class weights, sklearn's "balanced": s_i = n / (k * n_{y_i}),
 * so every class carries the same total weight and the weights average 1. */
void fb_balanced_weights(const int *y, size_t n, int k, double *sw);

/* ---- choosing C by cross-validation ---- */

typedef enum { FB_CV_LOGLOSS, FB_CV_BALACC } fb_cv_score;

#define FB_CV_MAX_GRID 32

typedef struct {
    int folds;           /* K; lowered to the smallest class (group) count, >= 2 */
    uint64_t seed;
    int ngrid;
    double grid[FB_CV_MAX_GRID];   /* C values, ascending: strong -> weak */
    fb_cv_score score;
    int one_se;          /* 1: the strongest C within one standard error of the best */
    int patience;        /* stop after this many C in a row worse than the best (0: whole grid) */
    size_t min_scored;   /* use folds until this many records are held out (all folds when fewer) */
    fb_logreg_opts solver;
} fb_logreg_cv_opts;

void fb_logreg_cv_opts_default(fb_logreg_cv_opts *o);

typedef struct {
    int folds;           /* folds made */
    int folds_used;      /* folds fitted and scored (fewer on a large set) */
    int ngrid;           /* grid values tried (fewer when the score turned) */
    int best;            /* index into the grid: the C chosen */
    int best_score;      /* the C with the best score (differs under one_se) */
    double C;
    double se[FB_CV_MAX_GRID];       /* standard error of each score */
    double score[FB_CV_MAX_GRID];    /* the chosen score of each C tried */
    double logloss[FB_CV_MAX_GRID];  /* out-of-fold weighted log loss */
    double balacc[FB_CV_MAX_GRID];   /* out-of-fold balanced accuracy */
    int fits, evaluations;
    double seconds;
} fb_logreg_cv_result;

/* K-fold cross-validation over the grid; folds stratified by class, and
 * records that share a group id (group may be NULL) kept in one fold.  Each
 * C is scored on the out-of-fold predictions of all scored records pooled
 * (few-shot folds hold one or two records of the rare class: a mean of
 * per-fold scores would be mostly noise).  oof, if not NULL, receives the
 * out-of-fold probabilities [n, k] at the chosen C (NaN for records in folds
 * not used).  Folds are warm-started along the grid.  warm, if not NULL,
 * receives the first fold's parameters at the chosen C [nparams]: a start for
 * the fit on all records.  0 ok; -1 with a message. */
int fb_logreg_cv(const fb_logreg_data *D, const uint32_t *group, const fb_logreg_cv_opts *o,
                 fb_logreg_cv_result *r, float *oof, double *warm, char *err, size_t errlen);

/* ---- the two-class decision threshold ---- */

/* Threshold t on the log-odds log(p1/p0) (class 1 when above t; default 0)
 * maximising balanced accuracy on scored records (logit [n], y in {0,1}).
 * Among maximisers it keeps t = 0 when 0 is one, else takes the midpoint of
 * the maximising gap nearest 0, so it moves only when that helps on these
 * records.  Returns the threshold (0 when a class is absent). */
double fb_choose_threshold(const double *logit, const int *y, size_t n);

#endif
