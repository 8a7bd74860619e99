/* Stratified folds and k-fold cross-validation (fb/head.h). */
#include "fb/head.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fb_stratified_folds(const int *y, size_t n, int nclasses, int k, uint64_t seed, int *fold)
{
    fb_rng rng;
    fb_rng_seed(&rng, seed);
    size_t *rows = malloc((n ? n : 1) * sizeof(size_t));
    if (!rows) return -1;
    /* Deal each class's shuffled rows round-robin, continuing where the last
     * class stopped so fold sizes stay within one of each other. */
    int next = 0;
    for (int c = 0; c < nclasses; c++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) if (y[i] == c) rows[m++] = i;
        fb_rng_shuffle(&rng, rows, m, sizeof(size_t));
        for (size_t j = 0; j < m; j++) {
            fold[rows[j]] = next;
            next = (next + 1) % k;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= nclasses) fold[i] = -1;
    free(rows);
    return 0;
}

int fb_folds_check(const fb_featset *ds, int k, char *err, size_t errlen)
{
    size_t *count = calloc((size_t)ds->nclasses + 1, sizeof(size_t));
    if (!count) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fb_featset_class_counts(ds, count);
    int smallest = -1;
    for (int c = 0; c < ds->nclasses; c++)
        if (count[c] && (smallest < 0 || count[c] < count[smallest])) smallest = c;
    int rc = 0;
    if (k < 2) {
        snprintf(err, errlen, "%d folds: cross-validation needs at least 2", k);
        rc = -1;
    } else if (smallest >= 0 && count[smallest] < (size_t)k) {
        snprintf(err, errlen, "%d folds, but class '%s' has only %zu record%s: at most %zu folds, "
                 "so that every fold has one to test on", k, ds->classes[smallest],
                 count[smallest], count[smallest] == 1 ? "" : "s", count[smallest]);
        rc = -1;
    }
    free(count);
    return rc;
}

/* Rows of fold f into test, the others into train. */
static void split_rows(const int *fold, size_t n, int f, size_t *train, size_t *ntr, size_t *test,
                       size_t *nte)
{
    *ntr = *nte = 0;
    for (size_t i = 0; i < n; i++) {
        if (fold[i] == f) test[(*nte)++] = i;
        else train[(*ntr)++] = i;
    }
}

/* Trains a fresh head on train rows and scores it on test rows. */
static int run_fold(const fb_featset *ds, int nhidden, const int *hidden, float dropout,
                    const fb_train_opts *o, const size_t *train, size_t ntr, const size_t *test,
                    size_t nte, fb_fold *r, char *err, size_t errlen)
{
    fb_head h;
    if (fb_head_init_for(&h, ds, nhidden, hidden, dropout, o->seed) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fb_train_opts t = *o;
    t.on_epoch = NULL;   /* one report per fold: the epochs of k runs would drown it */
    fb_train_result res;
    /* no validation inside a fold: the held-out fold is the test */
    int rc = fb_train(&h, ds, train, ntr, NULL, NULL, 0, &t, &res, err, errlen);
    if (rc == 0) {
        r->ntrain = ntr;
        r->ntest = nte;
        r->seconds = res.seconds;
        fb_head_evaluate(&h, ds, test, nte, &r->loss, &r->acc);
    }
    fb_head_free(&h);
    return rc;
}

int fb_cross_validate(const fb_featset *ds, int k, int nhidden, const int *hidden, float dropout,
                      const fb_train_opts *o, fb_fold *folds,
                      void (*on_fold)(void *ctx, int f, int k, const fb_fold *r), void *ctx,
                      double *mean, double *sd, char *err, size_t errlen)
{
    if (fb_folds_check(ds, k, err, errlen) != 0) return -1;
    size_t n = ds->n ? ds->n : 1;
    int *fold = malloc(n * sizeof(int));
    size_t *train = malloc(n * sizeof(size_t)), *test = malloc(n * sizeof(size_t));
    int rc = fold && train && test ? 0 : -1;
    if (rc == 0) rc = fb_group_folds(ds->y, ds->group, ds->n, ds->nclasses, k, o->seed, fold);
    if (rc != 0) snprintf(err, errlen, "out of memory");
    double sum = 0;
    for (int f = 0; rc == 0 && f < k; f++) {
        size_t ntr, nte;
        split_rows(fold, ds->n, f, train, &ntr, test, &nte);
        char why[256];
        rc = run_fold(ds, nhidden, hidden, dropout, o, train, ntr, test, nte, &folds[f], why, sizeof why);
        if (rc != 0) snprintf(err, errlen, "fold %d: %s", f + 1, why);
        if (rc == 0) {
            sum += folds[f].acc;
            if (on_fold) on_fold(ctx, f, k, &folds[f]);
        }
    }
    if (rc == 0) {
        double ss = 0;
        *mean = sum / k;
        for (int f = 0; f < k; f++) ss += (folds[f].acc - *mean) * (folds[f].acc - *mean);
        *sd = k > 1 ? sqrt(ss / (k - 1)) : 0;
    }
    free(fold);
    free(train);
    free(test);
    return rc;
}
