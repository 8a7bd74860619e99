/* The solved linear head (fb/head.h): the logistic regression of logreg.h
 * fitted into an fb_head, its strength chosen by cross-validation, and the
 * two-class threshold. */
#include "fb/head.h"
#include "fb/stream.h"
#include "model.h"
#include "logreg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void fb_solve_opts_default(fb_solve_opts *o)
{
    memset(o, 0, sizeof *o);
    o->C = 0;
    o->folds = 5;
    o->seed = 1;
    o->threshold = FB_THRESHOLD_NONE;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ln(p1/p0) of rows of x under wb, in double from the parameters. */
static void log_odds(const double *wb, int d, const float *x, const size_t *rows, size_t m, double *out)
{
    const double *b = wb + (size_t)d * 2;
    for (size_t t = 0; t < m; t++) {
        const float *xi = x + rows[t] * d;
        double z = b[1] - b[0];
        for (int j = 0; j < d; j++) z += xi[j] * (wb[(size_t)j * 2 + 1] - wb[(size_t)j * 2]);
        out[t] = z;
    }
}

static void copy_cv(fb_solve_result *r, const fb_logreg_cv_opts *co, const fb_logreg_cv_result *cr)
{
    r->ngrid = cr->ngrid;
    r->best = cr->best;
    r->best_score = cr->best_score;
    r->folds = cr->folds;
    r->folds_used = cr->folds_used;
    r->cv_seconds = cr->seconds;
    for (int g = 0; g < cr->ngrid && g < FB_SOLVE_MAX_GRID; g++) {
        r->grid[g] = co->grid[g];
        r->logloss[g] = cr->logloss[g];
        r->se[g] = cr->se[g];
        r->balacc[g] = cr->balacc[g];
    }
}

int fb_head_solve(fb_head *h, const fb_featset *ds, const uint32_t *group, const fb_featset *val,
                  const size_t *vrows, size_t nv, const fb_solve_opts *o, fb_solve_result *r,
                  char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (h->nhidden != 0 || ds->dim != h->in_dim) {
        snprintf(err, errlen, "a solved head is linear and takes %d features", h->in_dim);
        return -1;
    }
    const size_t n = ds->n;
    const int d = h->in_dim, k = h->nclasses;
    const size_t p = fb_logreg_nparams(d, k);
    double *sw = malloc((n ? n : 1) * sizeof *sw), *wb = calloc(p, sizeof *wb);
    float *oof = malloc((n ? n : 1) * (size_t)k * sizeof *oof);
    double *lo = NULL;
    size_t *rows = NULL;
    int rc = -1;
    if (!sw || !wb || !oof) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) sw[i] = o->class_weight ? o->class_weight[ds->y[i]] : 1.0;
    fb_logreg_data D = { ds->x, ds->y, sw, n, d, k };
    int have_oof = 0;
    r->C = o->C;
    if (!(o->C > 0)) {
        fb_logreg_cv_opts co;
        fb_logreg_cv_opts_default(&co);
        co.folds = o->folds;
        co.seed = o->seed;
        fb_logreg_cv_result cr;
        char cverr[256];
        if (fb_logreg_cv(&D, group, &co, &cr, oof, wb, cverr, sizeof cverr) == 0) {
            copy_cv(r, &co, &cr);
            r->C = cr.C;
            have_oof = 1;
        } else {
            /* too few records of a class to cross-validate: scikit-learn's
             * default strength, and the log says so (ngrid 0) */
            r->C = 1.0;
            memset(wb, 0, p * sizeof *wb);
        }
    }
    fb_logreg_opts so;
    fb_logreg_opts_default(&so);
    so.C = r->C;
    fb_logreg_result fr;
    double t0 = now();
    if (fb_logreg_fit(&D, &so, wb, &fr, err, errlen) != 0) goto done;
    r->seconds = now() - t0;
    r->iterations = fr.iterations;
    r->evaluations = fr.evaluations;
    r->converged = fr.converged;
    r->loss = fr.loss;
    r->grad_norm = fr.grad_norm;
    /* W [d, k] then b [k]: the output block's layout in params */
    for (size_t j = 0; j < p; j++) h->params[j] = (float)wb[j];

    h->threshold = 0;
    if (k == 2 && o->threshold != FB_THRESHOLD_NONE) {
        size_t m = 0;
        lo = malloc((n + nv + 1) * sizeof *lo);
        rows = malloc((n + nv + 1) * sizeof *rows);
        int *yy = malloc((n + nv + 1) * sizeof *yy);
        if (!lo || !rows || !yy) {
            free(yy);
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        if (o->threshold == FB_THRESHOLD_VAL && val && nv) {
            log_odds(wb, d, val->x, vrows, nv, lo);
            for (size_t t = 0; t < nv; t++) yy[t] = val->y[vrows[t]];
            m = nv;
        } else if (o->threshold == FB_THRESHOLD_CV && have_oof) {
            for (size_t i = 0; i < n; i++) {
                float p0 = oof[i * 2], p1 = oof[i * 2 + 1];
                if (isnan(p0)) continue;
                lo[m] = log((p1 > 1e-38f ? p1 : 1e-38) / (p0 > 1e-38f ? p0 : 1e-38));
                yy[m++] = ds->y[i];
            }
        }
        if (m) h->threshold = (float)fb_choose_threshold(lo, yy, m);
        r->threshold_records = m;
        free(yy);
    }
    r->threshold = h->threshold;
    rc = 0;
done:
    free(sw); free(wb); free(oof); free(lo); free(rows);
    return rc;
}

int fb_head_note_solve(fb_head *h, const fb_solve_opts *o, const char *class_weight,
                       const fb_solve_result *r, size_t n, size_t nv)
{
    char buf[1200], normstr[64];
    char *notes = NULL;
    int bad = 0;
    fb_norm_string(h->norm, normstr, sizeof normstr);
#define NOTE(key, fmt, val) do { snprintf(buf, sizeof buf, fmt, val); bad |= fb_prov_set(&notes, key, buf); } while (0)
    NOTE("head", "%s", "linear");
    NOTE("solver", "%s", "lbfgs");
    NOTE("norm", "%s", normstr);
    NOTE("C", "%g", r->C);
    NOTE("C_from", "%s", o->C > 0 ? "given" : r->ngrid ? "cross-validation" : "default (too few records to cross-validate)");
    if (r->ngrid) {
        size_t used = 0;
        buf[0] = 0;
        for (int g = 0; g < r->ngrid; g++)
            used += snprintf(buf + used, used < sizeof buf ? sizeof buf - used : 0, "%s%g:%.4f",
                             g ? "," : "", r->grid[g], r->logloss[g]);
        const char *key = "cv_logloss";   /* a head training note, listed in fb-train(1) */
        bad |= fb_prov_set(&notes, key, buf);
        NOTE("cv_folds", "%d", r->folds_used);
    }
    NOTE("iterations", "%d", r->iterations);
    NOTE("grad_norm", "%.3g", r->grad_norm);
    NOTE("loss", "%.6f", r->loss);
    NOTE("class_weight", "%s", class_weight ? class_weight : "none");
    NOTE("threshold", "%g", (double)h->threshold);
    NOTE("seed", "%llu", (unsigned long long)o->seed);
    NOTE("train_records", "%zu", n);
    if (nv) NOTE("val_records", "%zu", nv);
#undef NOTE
    return fb_head_take_notes(h, notes, bad);
}

/* ------------------------------------------------------ cross-validation */

/* Rows of ds into a new feature set (x and y only: what solving reads). */
static int subset(const fb_featset *ds, const size_t *rows, size_t m, fb_featset *out)
{
    memset(out, 0, sizeof *out);
    out->n = out->cap = m;
    out->dim = ds->dim;
    out->nclasses = ds->nclasses;
    out->classes = ds->classes;          /* borrowed */
    out->provenance = ds->provenance;    /* borrowed */
    out->x = malloc((m ? m : 1) * (size_t)ds->dim * sizeof(float));
    out->y = malloc((m ? m : 1) * sizeof(int));
    out->group = ds->group ? malloc((m ? m : 1) * sizeof(uint32_t)) : NULL;
    if (!out->x || !out->y || (ds->group && !out->group)) {
        free(out->x); free(out->y); free(out->group);
        return -1;
    }
    for (size_t t = 0; t < m; t++) {
        memcpy(out->x + t * ds->dim, ds->x + rows[t] * ds->dim, (size_t)ds->dim * sizeof(float));
        out->y[t] = ds->y[rows[t]];
        if (ds->group) out->group[t] = ds->group[rows[t]];
    }
    return 0;
}

int fb_cross_validate_solve(const fb_featset *ds, const uint32_t *group, int k, const fb_solve_opts *o,
                            fb_fold *folds, void (*on_fold)(void *ctx, int f, int k, const fb_fold *r),
                            void *ctx, double *mean, double *sd, char *err, size_t errlen)
{
    if (fb_folds_check(ds, k, err, errlen) != 0) return -1;
    size_t n = ds->n ? ds->n : 1;
    int *fold = malloc(n * sizeof(int));
    size_t *train = malloc(n * sizeof(size_t)), *test = malloc(n * sizeof(size_t));
    int rc = fold && train && test ? 0 : -1;
    if (rc == 0) rc = fb_group_folds(ds->y, group, ds->n, ds->nclasses, k, o->seed, fold);
    if (rc) snprintf(err, errlen, "out of memory");
    double sum = 0;
    for (int f = 0; rc == 0 && f < k; f++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < ds->n; i++) {
            if (fold[i] == f) test[nte++] = i;
            else if (fold[i] >= 0) train[ntr++] = i;
        }
        fb_featset tr;
        fb_head h;
        fb_solve_result r;
        double t0 = now();
        if (subset(ds, train, ntr, &tr) != 0) { snprintf(err, errlen, "out of memory"); rc = -1; break; }
        if (fb_head_init_for(&h, ds, 0, NULL, 0, o->seed) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else {
            rc = fb_head_solve(&h, &tr, tr.group, NULL, NULL, 0, o, &r, err, errlen);
            if (rc == 0) {
                folds[f].ntrain = ntr;
                folds[f].ntest = nte;
                fb_head_evaluate(&h, ds, test, nte, &folds[f].loss, &folds[f].acc);
                folds[f].seconds = now() - t0;
                sum += folds[f].acc;
                if (on_fold) on_fold(ctx, f, k, &folds[f]);
            }
            fb_head_free(&h);
        }
        free(tr.x);
        free(tr.y);
        free(tr.group);
    }
    if (rc == 0) {
        double ss = 0;
        *mean = sum / k;
        for (int f = 0; f < k; f++) ss += (folds[f].acc - *mean) * (folds[f].acc - *mean);
        *sd = k > 1 ? sqrt(ss / (k - 1)) : 0;
    }
    free(fold); free(train); free(test);
    return rc;
}
