/* Choosing the logistic regression's C: group-aware stratified folds,
 * cross-validation over a grid, and the two-class decision threshold
 * (lib/head/logreg.h). */
#include "logreg.h"
#include "metrics_extra.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fb/head.h"
#include "fb/rng.h"

void fb_logreg_cv_opts_default(fb_logreg_cv_opts *o)
{
    memset(o, 0, sizeof *o);
    o->folds = 5;
    o->seed = 1;
    /* C from 1e-3 to 1e3, half a decade apart: from "almost only the prior"
     * to "almost unregularised" for features of unit scale. */
    o->ngrid = 13;
    for (int i = 0; i < o->ngrid; i++) o->grid[i] = pow(10.0, -3.0 + 0.5 * i);
    o->score = FB_CV_LOGLOSS;
    fb_logreg_opts_default(&o->solver);
    o->solver.gtol = 1e-4;    /* CV fits need the ranking of C, not the last digits */
}

/* ---------------------------------------------------------------- folds */

typedef struct { int id; size_t first, count; } group_span;

static int by_id(const void *a, const void *b)
{
    int x = ((const group_span *)a)->id, y = ((const group_span *)b)->id;
    return (x > y) - (x < y);
}

static int by_count_desc(const void *a, const void *b)
{
    size_t x = ((const group_span *)a)->count, y = ((const group_span *)b)->count;
    return (x < y) - (x > y);
}

int fb_group_folds(const int *y, const int *group, size_t n, int k, int folds,
                   uint64_t seed, int *fold)
{
    if (!group) {
        fb_stratified_folds(y, n, k, folds, seed, fold);
        return 0;
    }
    /* Records sorted by group id (stable through the index), one span each. */
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
        g[m].id = group[i]; g[m].first = i; g[m].count = 1; m++;
        total[y[i]]++;
    }
    qsort(g, m, sizeof *g, by_id);   /* ties in id: order by record not needed */
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
static int usable_folds(const int *y, const int *group, size_t n, int k, int want)
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
                while (j < i && !(y[j] == c && group[j] == group[i])) j++;
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

int fb_logreg_cv(const fb_logreg_data *D, const int *group, const fb_logreg_cv_opts *o,
                 fb_logreg_cv_result *r, float *oof, char *err, size_t errlen)
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
    int *fold = malloc(n * sizeof *fold);
    float *xtr = malloc(n * (size_t)d * sizeof *xtr), *xte = malloc(n * (size_t)d * sizeof *xte);
    int *ytr = malloc(n * sizeof *ytr);
    double *swtr = malloc(n * sizeof *swtr), *wb = malloc(p * sizeof *wb);
    size_t *te = malloc(n * sizeof *te);
    float *probs = malloc((size_t)o->ngrid * n * k * sizeof *probs);   /* [grid][n][k] */
    if (!fold || !xtr || !xte || !ytr || !swtr || !wb || !te || !probs) {
        snprintf(err, errlen, "cross-validation: out of memory (%zu records x %d features)", n, d);
        goto fail;
    }
    if (fb_group_folds(D->y, group, n, k, K, o->seed, fold)) {
        snprintf(err, errlen, "cross-validation: out of memory");
        goto fail;
    }
    for (int f = 0; f < K; f++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold[i] == f) {
                memcpy(xte + nte * d, D->x + i * d, (size_t)d * sizeof(float));
                te[nte++] = i;
            } else {
                memcpy(xtr + ntr * d, D->x + i * d, (size_t)d * sizeof(float));
                ytr[ntr] = D->y[i];
                swtr[ntr] = D->sw ? D->sw[i] : 1.0;
                ntr++;
            }
        }
        fb_logreg_data tr = { xtr, ytr, swtr, ntr, d, k };
        memset(wb, 0, p * sizeof *wb);
        for (int gi = 0; gi < o->ngrid; gi++) {
            fb_logreg_opts so = o->solver;
            so.C = o->grid[gi];
            fb_logreg_result fr;
            if (fb_logreg_fit(&tr, &so, wb, &fr, err, errlen)) goto fail;   /* warm start */
            float *pte = probs + (size_t)gi * n * k;
            /* predict into the fold's rows, then scatter to record order */
            float *tmp = malloc((nte ? nte : 1) * (size_t)k * sizeof *tmp);
            if (!tmp) { snprintf(err, errlen, "cross-validation: out of memory"); goto fail; }
            fb_logreg_predict(wb, d, k, xte, nte, tmp);
            for (size_t t = 0; t < nte; t++)
                memcpy(pte + te[t] * k, tmp + t * k, (size_t)k * sizeof *tmp);
            free(tmp);
        }
    }
    /* Score each C on all out-of-fold predictions pooled. */
    for (int gi = 0; gi < o->ngrid; gi++) {
        const float *pg = probs + (size_t)gi * n * k;
        double ll = 0, wsum = 0;
        int *pred = (int *)ytr;     /* reuse: n ints */
        for (size_t i = 0; i < n; i++) {
            double si = D->sw ? D->sw[i] : 1.0, pt = pg[i * k + D->y[i]];
            ll += si * -log(pt > 1e-300 ? pt : 1e-300);
            wsum += si;
            int best = 0;
            for (int c = 1; c < k; c++) if (pg[i * k + c] > pg[i * k + best]) best = c;
            pred[i] = best;
        }
        r->balacc[gi] = fb_balanced_accuracy_labels(D->y, pred, n, k);
        r->score[gi] = o->score == FB_CV_LOGLOSS ? ll / wsum : r->balacc[gi];
    }
    /* Best score; ties (to 1e-9) go to the smaller C, the simpler model. */
    int best = 0;
    for (int gi = 1; gi < o->ngrid; gi++) {
        double a = r->score[gi], b = r->score[best];
        if (o->score == FB_CV_LOGLOSS ? a < b - 1e-9 : a > b + 1e-9) best = gi;
    }
    r->best = best;
    r->C = o->grid[best];
    if (oof) memcpy(oof, probs + (size_t)best * n * k, n * (size_t)k * sizeof *oof);
    free(fold); free(xtr); free(xte); free(ytr); free(swtr); free(wb); free(te); free(probs);
    r->seconds = now() - t0;
    return 0;
fail:
    free(fold); free(xtr); free(xte); free(ytr); free(swtr); free(wb); free(te); free(probs);
    return -1;
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
