/* Choosing the logistic regression's C: group-aware stratified folds,
 * cross-validation over a grid, and the two-class decision threshold
 * (lib/head/logreg.h). */
#include "logreg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fb/head.h"
#include "fb/core.h"

void fb_logreg_cv_opts_default(fb_logreg_cv_opts *o)
{
    memset(o, 0, sizeof *o);
    o->folds = 5;
    o->seed = 1;
    /* C from 1e-3 to 1e3, a decade apart: from "almost only the class
     * means" to "almost unregularised" for features of unit length.  Half
     * decades chose no better on dogfacenet few-shot (balanced accuracy
     * 0.9605 against 0.9613) at twice the fits. */
    o->ngrid = 7;
    for (int i = 0; i < o->ngrid; i++) o->grid[i] = pow(10.0, -3.0 + i);
    o->score = FB_CV_LOGLOSS;
    fb_logreg_opts_default(&o->solver);
    o->solver.gtol = 1e-4;    /* CV fits need the ranking of C, not the last digits */
    o->one_se = 1;
    o->patience = 3;          /* 1.5 decades past the best */
    o->min_scored = 2000;
}

/* ---------------------------------------------------------------- folds */

typedef struct { uint64_t id; size_t first, count; } group_span;

/* A record's group key: its group, or for group 0 ("alone") a key of its own. */
static uint64_t group_key(const uint32_t *group, size_t i)
{
    return group[i] ? group[i] : (1ull << 32) + i;
}

static int by_id(const void *a, const void *b)
{
    uint64_t x = ((const group_span *)a)->id, y = ((const group_span *)b)->id;
    return (x > y) - (x < y);
}

static int by_count_desc(const void *a, const void *b)
{
    size_t x = ((const group_span *)a)->count, y = ((const group_span *)b)->count;
    return (x < y) - (x > y);
}

int fb_group_folds(const int *y, const uint32_t *group, size_t n, int k, int folds,
                   uint64_t seed, int *fold)
{
    size_t grouped = 0;
    for (size_t i = 0; group && i < n; i++) grouped += group[i] != 0;
    if (!grouped) return fb_stratified_folds(y, n, k, folds, seed, fold);   /* every record alone */
    /* Records sorted by group key (the record index breaks ties, so the
     * order is the same on every libc), one span per group. */
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    group_span *g = malloc((n ? n : 1) * sizeof *g);
    double *load = calloc((size_t)folds * k, sizeof *load);
    size_t *total = calloc((size_t)k, sizeof *total), *size = calloc((size_t)folds, sizeof *size);
    size_t *gcount = calloc((size_t)k, sizeof *gcount);
    if (!order || !g || !load || !total || !size || !gcount) {
        free(order); free(g); free(load); free(total); free(size); free(gcount);
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        fold[i] = -1;
        if (y[i] < 0 || y[i] >= k) continue;
        g[m].id = group_key(group, i); g[m].first = i; g[m].count = 1; m++;
        total[y[i]]++;
    }
    qsort(g, m, sizeof *g, by_id);
    for (size_t i = 0; i < m; i++) order[i] = g[i].first;
    size_t ng = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && g[j].id == g[i].id) j++;
        g[ng].id = g[i].id; g[ng].first = i; g[ng].count = j - i;
        ng++;
        i = j;
    }
    /* Shuffle, then stable-sort largest first: big groups placed while there
     * is room to balance, equal sizes in seeded order. */
    fb_rng rng;
    fb_rng_seed(&rng, seed);
    fb_rng_shuffle(&rng, g, ng, sizeof *g);
    for (size_t i = 1; i < ng; i++) {            /* insertion sort: stable */
        group_span v = g[i];
        size_t j = i;
        while (j > 0 && by_count_desc(&g[j - 1], &v) > 0) { g[j] = g[j - 1]; j--; }
        g[j] = v;
    }
    for (size_t gi = 0; gi < ng; gi++) {
        memset(gcount, 0, (size_t)k * sizeof *gcount);
        for (size_t t = 0; t < g[gi].count; t++) gcount[y[order[g[gi].first + t]]]++;
        /* The fold where adding this group raises the sum of squared class
         * shares least; ties to the smaller fold, then the lower index. */
        int best = 0;
        double best_cost = INFINITY;
        for (int f = 0; f < folds; f++) {
            double cost = 0;
            for (int c = 0; c < k; c++) {
                if (!gcount[c]) continue;
                double a = load[(size_t)f * k + c], b = a + (double)gcount[c] / total[c];
                cost += b * b - a * a;
            }
            if (cost < best_cost - 1e-12 || (fabs(cost - best_cost) <= 1e-12 && size[f] < size[best])) {
                best = f;
                best_cost = cost;
            }
        }
        for (int c = 0; c < k; c++) load[(size_t)best * k + c] += (double)gcount[c] / (total[c] ? total[c] : 1);
        size[best] += g[gi].count;
        for (size_t t = 0; t < g[gi].count; t++) fold[order[g[gi].first + t]] = best;
    }
    free(order); free(g); free(load); free(total); free(size); free(gcount);
    return 0;
}

/* Folds usable for k classes: no more than the records (or groups) of the
 * smallest class, so every fold can hold each class. */
static int usable_folds(const int *y, const uint32_t *group, size_t n, int k, int want)
{
    int fewest = INT32_MAX;
    for (int c = 0; c < k; c++) {
        int cnt = 0;
        if (!group) {
            for (size_t i = 0; i < n; i++) cnt += y[i] == c;
        } else {
            /* distinct groups holding class c: quadratic but only over c's records */
            for (size_t i = 0; i < n; i++) {
                if (y[i] != c) continue;
                size_t j = 0;
                while (j < i && !(y[j] == c && group[i] && group[j] == group[i])) j++;
                cnt += j == i;
            }
        }
        if (cnt < fewest) fewest = cnt;
    }
    return want < fewest ? want : fewest;
}

/* ------------------------------------------------------ cross-validation */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Rows of fold f (test) or of every other fold (train), gathered
 * contiguously with their labels and weights. */
static size_t gather(const fb_logreg_data *D, const int *fold, int f, int want_test,
                     float *x, int *y, double *sw, size_t *rows)
{
    size_t m = 0;
    for (size_t i = 0; i < D->n; i++) {
        if ((fold[i] == f) != want_test) continue;
        memcpy(x + m * D->d, D->x + i * D->d, (size_t)D->d * sizeof(float));
        if (y) y[m] = D->y[i];
        if (sw) sw[m] = D->sw ? D->sw[i] : 1.0;
        if (rows) rows[m] = i;
        m++;
    }
    return m;
}

/* Out-of-fold score of one C over the scored records: weighted log loss and
 * balanced accuracy. */
static double record_loss(const float *pi, int y)
{
    double pt = pi[y];
    return -log(pt > 1e-300 ? pt : 1e-300);
}

/* Standard errors: of a weighted mean of per-record losses,
 * sqrt(sum s_i^2 (l_i - mean)^2) / sum s_i; of balanced accuracy, the
 * binomial error of each class's recall, sqrt(sum_c r_c (1 - r_c) / n_c) / k. */
static void score_oof(const fb_logreg_data *D, const float *probs, const unsigned char *scored,
                      int *truth, int *pred, double *logloss, double *balacc,
                      double *logloss_se, double *balacc_se)
{
    const int k = D->k;
    double ll = 0, wsum = 0;
    size_t m = 0;
    for (size_t i = 0; i < D->n; i++) {
        if (!scored[i]) continue;
        const float *pi = probs + i * k;
        double si = D->sw ? D->sw[i] : 1.0;
        ll += si * record_loss(pi, D->y[i]);
        wsum += si;
        int best = 0;
        for (int c = 1; c < k; c++) if (pi[c] > pi[best]) best = c;
        truth[m] = D->y[i];
        pred[m++] = best;
    }
    *logloss = wsum > 0 ? ll / wsum : NAN;
    double v = 0;
    for (size_t i = 0; i < D->n; i++) {
        if (!scored[i]) continue;
        double si = D->sw ? D->sw[i] : 1.0, e = record_loss(probs + i * k, D->y[i]) - *logloss;
        v += si * si * e * e;
    }
    *logloss_se = wsum > 0 ? sqrt(v) / wsum : NAN;
    *balacc = fb_balanced_accuracy_labels(truth, pred, m, k);
    double bv = 0;
    int present = 0;
    for (int c = 0; c < k; c++) {
        size_t nc = 0, ok = 0;
        for (size_t i = 0; i < m; i++) if (truth[i] == c) { nc++; ok += pred[i] == c; }
        if (!nc) continue;
        double rc = (double)ok / nc;
        bv += rc * (1 - rc) / nc;
        present++;
    }
    *balacc_se = present ? sqrt(bv) / present : NAN;
}

/* Out-of-fold probabilities of grid value gi, folds fitted from cold. */
static int oof_at(const fb_logreg_data *D, const int *fold, int used, const fb_logreg_cv_opts *o,
                  int gi, double *wb, float *xtr, int *ytr, double *swtr, float *xte, float *pte,
                  size_t *te, float *probs, char *err, size_t errlen)
{
    const size_t p = fb_logreg_nparams(D->d, D->k);
    for (int f = 0; f < used; f++) {
        size_t ntr = gather(D, fold, f, 0, xtr, ytr, swtr, NULL);
        size_t nte = gather(D, fold, f, 1, xte, NULL, NULL, te);
        fb_logreg_data tr = { xtr, ytr, swtr, ntr, D->d, D->k };
        fb_logreg_opts so = o->solver;
        so.C = o->grid[gi];
        fb_logreg_result fr;
        double *w = wb + (size_t)f * p;
        memset(w, 0, p * sizeof *w);
        if (fb_logreg_fit(&tr, &so, w, &fr, err, errlen)) return -1;
        fb_logreg_predict(w, D->d, D->k, xte, nte, pte);
        for (size_t t = 0; t < nte; t++)
            memcpy(probs + te[t] * D->k, pte + t * D->k, (size_t)D->k * sizeof *pte);
    }
    return 0;
}

int fb_logreg_cv(const fb_logreg_data *D, const uint32_t *group, const fb_logreg_cv_opts *o,
                 fb_logreg_cv_result *r, float *oof, double *warm, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    const double t0 = now();
    const size_t n = D->n;
    const int d = D->d, k = D->k;
    if (o->ngrid < 1 || o->ngrid > FB_CV_MAX_GRID) {
        snprintf(err, errlen, "cross-validation: grid of %d values (1..%d)", o->ngrid, FB_CV_MAX_GRID);
        return -1;
    }
    int K = usable_folds(D->y, group, n, k, o->folds);
    if (K < 2) {
        snprintf(err, errlen, "cross-validation: a class has fewer than 2 %s; set the strength",
                 group ? "groups of photos" : "records");
        return -1;
    }
    r->folds = K;
    const size_t p = fb_logreg_nparams(d, k);
    int *fold = malloc(n * sizeof *fold), *ytr = malloc(n * sizeof *ytr), *pred = malloc(n * sizeof *pred);
    float *xtr = malloc(n * (size_t)d * sizeof *xtr), *xte = malloc(n * (size_t)d * sizeof *xte);
    float *pte = malloc(n * (size_t)k * sizeof *pte);
    double *swtr = malloc(n * sizeof *swtr), *wb = calloc((size_t)K * p, sizeof *wb);
    size_t *te = malloc(n * sizeof *te);
    unsigned char *scored = calloc(n, 1);
    float *probs = malloc(n * (size_t)k * sizeof *probs), *best_probs = malloc(n * (size_t)k * sizeof *probs);
    int rc = -1;
    if (!fold || !ytr || !pred || !xtr || !xte || !pte || !swtr || !wb || !te || !scored || !probs || !best_probs) {
        snprintf(err, errlen, "cross-validation: out of memory (%zu records x %d features)", n, d);
        goto done;
    }
    if (fb_group_folds(D->y, group, n, k, K, o->seed, fold)) {
        snprintf(err, errlen, "cross-validation: out of memory");
        goto done;
    }
    /* On a large set a few folds already score C on enough records: use
     * folds until min_scored records are held out (all K when fewer). */
    int used = 0;
    size_t held = 0;
    while (used < K && (used < 1 || held < o->min_scored)) {
        for (size_t i = 0; i < n; i++) if (fold[i] == used) { scored[i] = 1; held++; }
        used++;
    }
    r->folds_used = used;
    /* C from strong to weak; each fold warm-starts from its previous C.  The
     * score is U-shaped in log C: stop once `patience` C in a row score
     * worse than the best. */
    int best = -1, worse = 0;
    for (int gi = 0; gi < o->ngrid; gi++) {
        for (int f = 0; f < used; f++) {
            size_t ntr = gather(D, fold, f, 0, xtr, ytr, swtr, NULL);
            size_t nte = gather(D, fold, f, 1, xte, NULL, NULL, te);
            fb_logreg_data tr = { xtr, ytr, swtr, ntr, d, k };
            fb_logreg_opts so = o->solver;
            so.C = o->grid[gi];
            fb_logreg_result fr;
            if (fb_logreg_fit(&tr, &so, wb + (size_t)f * p, &fr, err, errlen)) goto done;
            r->fits++;
            r->evaluations += fr.evaluations;
            fb_logreg_predict(wb + (size_t)f * p, d, k, xte, nte, pte);
            for (size_t t = 0; t < nte; t++)
                memcpy(probs + te[t] * k, pte + t * k, (size_t)k * sizeof *pte);
        }
        double ll, ba, llse, base;
        score_oof(D, probs, scored, ytr, pred, &ll, &ba, &llse, &base);
        r->balacc[gi] = ba;
        r->logloss[gi] = ll;
        r->score[gi] = o->score == FB_CV_LOGLOSS ? ll : ba;
        r->se[gi] = o->score == FB_CV_LOGLOSS ? llse : base;
        r->ngrid = gi + 1;
        /* ties (to 1e-9) keep the smaller C, the simpler model */
        int better = best < 0 || (o->score == FB_CV_LOGLOSS ? r->score[gi] < r->score[best] - 1e-9
                                                             : r->score[gi] > r->score[best] + 1e-9);
        if (better) {
            best = gi;
            worse = 0;
            memcpy(best_probs, probs, n * (size_t)k * sizeof *probs);
            if (warm) memcpy(warm, wb, p * sizeof *wb);
        } else if (++worse >= o->patience && o->patience > 0) {
            break;
        }
    }
    r->best_score = best;
    if (o->one_se) {
        /* The one-standard-error rule: the strongest regularisation whose
         * score is within one standard error of the best.  The best C is
         * the one that fits these folds' noise best too; with a handful of
         * records of a class its margin over stronger C is mostly that. */
        for (int gi = 0; gi < best; gi++) {
            double gap = o->score == FB_CV_LOGLOSS ? r->score[gi] - r->score[best]
                                                   : r->score[best] - r->score[gi];
            if (gap <= r->se[best]) { best = gi; break; }
        }
        if (best != r->best_score) {
            /* its out-of-fold predictions: refit the folds at that C */
            if (oof_at(D, fold, used, o, best, wb, xtr, ytr, swtr, xte, pte, te, best_probs, err, errlen))
                goto done;
            if (warm) memcpy(warm, wb, p * sizeof *wb);
        }
    }
    r->best = best;
    r->C = o->grid[best];
    if (oof) {
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < k; c++) oof[i * k + c] = scored[i] ? best_probs[i * k + c] : NAN;
    }
    rc = 0;
done:
    free(fold); free(ytr); free(pred); free(xtr); free(xte); free(pte); free(swtr); free(wb);
    free(te); free(scored); free(probs); free(best_probs);
    r->seconds = now() - t0;
    return rc;
}

/* ------------------------------------------------------------ threshold */

typedef struct { double s; int y; } scored;

static int by_s(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x > y) - (x < y);
}

double fb_choose_threshold(const double *logit, const int *y, size_t n)
{
    scored *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return 0;
    size_t npos = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] != 0 && y[i] != 1) continue;
        v[m].s = logit[i]; v[m].y = y[i];
        npos += y[i] == 1;
        m++;
    }
    size_t nneg = m - npos;
    if (!npos || !nneg) { free(v); return 0; }
    qsort(v, m, sizeof *v, by_s);
    /* Threshold in the gap below v[j] (j = 0..m): everything from j up is
     * called positive.  Sweep j upward over distinct values. */
    double best = -1, best_t = 0, best_dist = INFINITY, at_zero = -1;
    size_t tn = 0, fn = 0;   /* records below the gap */
    for (size_t j = 0; j <= m;) {
        double tpr = (double)(npos - fn) / npos, tnr = (double)tn / nneg, ba = 0.5 * (tpr + tnr);
        double lo = j ? v[j - 1].s : -INFINITY, hi = j < m ? v[j].s : INFINITY;
        /* thresholds t in [lo, hi) give this split ("positive when > t") */
        double mid = isinf(lo) ? hi - 1 : isinf(hi) ? lo + 1 : 0.5 * (lo + hi);
        if (lo <= 0 && 0 < hi) at_zero = ba;
        double dist = (lo <= 0 && 0 < hi) ? 0 : fmin(fabs(lo), fabs(hi));
        if (ba > best + 1e-12 || (ba > best - 1e-12 && dist < best_dist)) {
            best = ba;
            best_t = mid;
            best_dist = dist;
        }
        if (j == m) break;
        size_t e = j;
        while (e < m && v[e].s == v[j].s) {
            if (v[e].y) fn++; else tn++;
            e++;
        }
        j = e;
    }
    free(v);
    if (at_zero > best - 1e-12) return 0;
    return best_t;
}
