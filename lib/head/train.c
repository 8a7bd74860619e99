/* Loading a feature stream into memory, the training loop (Adam or SGD with
 * momentum, L2 weight decay, class weights, early stopping that restores the
 * best epoch), evaluation, and stratified folds. */
#include "fb/head.h"
#include "layers.h"
#include "fb/stream.h"
#include "fb/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------------- data */

void fb_featset_free(fb_featset *ds)
{
    for (size_t i = 0; i < ds->n; i++) free(ds->ids[i]);
    for (int c = 0; c < ds->nclasses; c++) free(ds->classes[c]);
    free(ds->ids);
    free(ds->classes);
    free(ds->x);
    free(ds->y);
    free(ds->provenance);
    memset(ds, 0, sizeof *ds);
}

static int dataset_grow(fb_featset *ds)
{
    size_t cap = ds->cap ? ds->cap * 2 : 256;
    float *x = realloc(ds->x, cap * ds->dim * sizeof(float));
    if (x) ds->x = x;
    int *y = realloc(ds->y, cap * sizeof(int));
    if (y) ds->y = y;
    char **ids = realloc(ds->ids, cap * sizeof(char *));
    if (ids) ds->ids = ids;
    if (!x || !y || !ids) return -1;
    ds->cap = cap;
    return 0;
}

int fb_featset_read(fb_featset *ds, FILE *f, const char *name, char *err, size_t errlen)
{
    memset(ds, 0, sizeof *ds);
    if (errlen) err[0] = 0;
    fb_reader *r = fb_reader_open(f, name, err, errlen);
    if (!r) return -1;
    const fb_header *h = fb_reader_header(r);
    if (h->dtype != FB_F32 || h->rank != 1) {
        snprintf(err, errlen, "%s: records are %s of rank %d; fb-train wants feature vectors "
                 "(float32, rank 1) as fb-feat writes them", name, fb_dtype_name(h->dtype), h->rank);
        fb_reader_close(r);
        return -1;
    }
    ds->dim = (int)h->dims[0];
    fb_record rec;
    int rc;
    while ((rc = fb_reader_next(r, &rec)) == 1) {
        if (ds->n == ds->cap && dataset_grow(ds) != 0) {
            snprintf(err, errlen, "%s: out of memory after %zu records", name, ds->n);
            rc = -1;
            break;
        }
        memcpy(ds->x + ds->n * ds->dim, rec.data, (size_t)ds->dim * sizeof(float));
        ds->y[ds->n] = rec.label;
        if (!(ds->ids[ds->n] = strdup(rec.id ? rec.id : ""))) {
            snprintf(err, errlen, "%s: out of memory", name);
            rc = -1;
            break;
        }
        ds->n++;
    }
    if (rc < 0 && !err[0]) {
        const char *why = fb_reader_error(r);
        why = why ? why : "read error";
        /* the reader's message may or may not name the stream already */
        if (strncmp(why, name, strlen(name)) == 0) snprintf(err, errlen, "%s", why);
        else snprintf(err, errlen, "%s: %s", name, why);
    }
    if (rc == 0) {
        /* the header is final only now: later segments may add classes */
        h = fb_reader_header(r);
        ds->nclasses = h->nclasses;
        ds->classes = calloc((size_t)h->nclasses + 1, sizeof(char *));
        ds->provenance = strdup(h->provenance ? h->provenance : "");
        if (!ds->classes || !ds->provenance) rc = -1;
        for (int c = 0; rc == 0 && c < h->nclasses; c++)
            if (!(ds->classes[c] = strdup(h->classes[c]))) rc = -1;
        if (rc < 0) snprintf(err, errlen, "%s: out of memory", name);
    }
    fb_reader_close(r);
    if (rc < 0) {
        fb_featset_free(ds);
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------- optimizer */

void fb_train_opts_default(fb_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->opt = FB_OPT_ADAM;
    o->lr = 1e-3;
    o->momentum = 0.9;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->adam_eps = 1e-7;   /* Keras' default */
    o->batch = 32;
    o->epochs = 15;
    o->seed = 1;
}

/* The parameter buffer as tensors: a dense layer's weights get L2 decay,
 * biases and BatchNorm's gamma/beta do not. */
typedef struct { size_t off, n; float decay; } param_segment;

typedef struct {
    const fb_train_opts *o;
    float *params, *grads, *m, *v;
    param_segment seg[2 * FB_HEAD_MAX_HIDDEN + 2];
    int nseg;
    int in_dims[FB_HEAD_MAX_HIDDEN + 1];
    float lr_t;                   /* Adam: bias-corrected step size */
} opt_step;

static void opt_step_init(opt_step *s, const fb_head *h, float *grads, float *m, float *v,
                          const fb_train_opts *o)
{
    memset(s, 0, sizeof *s);
    s->o = o;
    s->params = h->params;
    s->grads = grads;
    s->m = m;
    s->v = v;
    for (int l = 0; l <= h->nhidden; l++) {
        fb_head_block blk = fb_head_block_at(h, l, h->params);
        size_t w_off = (size_t)(blk.w - h->params), w_n = (size_t)blk.in * blk.out;
        size_t rest = (size_t)blk.out * (l < h->nhidden ? 3 : 1);   /* b (gamma beta) */
        s->in_dims[l] = blk.in;
        s->seg[s->nseg++] = (param_segment){ w_off, w_n, (float)o->weight_decay };
        s->seg[s->nseg++] = (param_segment){ w_off + w_n, rest, 0 };
    }
}

/* Optimizer step on params [off, off+n) with gradient g [n]. */
static void opt_update_with(const opt_step *s, size_t off, size_t n, const float *g, float decay)
{
    const fb_train_opts *o = s->o;
    if (n == 0) return;
    if (o->opt == FB_OPT_ADAM)
        fb_adam_update(s->params + off, g, s->m + off, s->v + off, n, s->lr_t,
                       (float)o->beta1, (float)o->beta2, (float)o->adam_eps, decay);
    else
        fb_sgd_update(s->params + off, g, s->m + off, n, (float)o->lr, (float)o->momentum, decay);
}

static void opt_update(const opt_step *s, size_t off, size_t n, float decay)
{
    opt_update_with(s, off, n, s->grads + off, decay);
}

/* fb_head_apply_fn: a block of rows of layer l's weight gradient, fresh from
 * the GEMM, updated at once (segment 2l is that layer's weights). */
static void opt_apply_rows(void *ctx, int layer, size_t row0, size_t nrows, const float *g)
{
    const opt_step *s = ctx;
    const param_segment *w = &s->seg[2 * layer];
    size_t cols = w->n / (s->in_dims[layer] ? s->in_dims[layer] : 1);
    opt_update_with(s, w->off + row0 * cols, nrows * cols, g, w->decay);
}

/* The other parameters (biases, BatchNorm), after the backward pass. */
static void opt_update_small_part(void *ctx, int t, int nt)
{
    const opt_step *s = ctx;
    for (int i = 1; i < s->nseg; i += 2)
        if ((i / 2) % nt == t) opt_update(s, s->seg[i].off, s->seg[i].n, s->seg[i].decay);
}

/* ------------------------------------------------------------ training */

void fb_head_evaluate(fb_head *h, const fb_featset *ds, const size_t *idx, size_t n,
                      double *loss, double *acc)
{
    fb_head_work w;
    *loss = NAN;
    *acc = NAN;
    if (n == 0 || fb_head_work_init(&w, h, 256) != 0) return;
    float *x = malloc((size_t)w.cap * h->in_dim * sizeof(float));
    int *y = malloc((size_t)w.cap * sizeof(int));
    double total = 0;
    size_t correct = 0;
    for (size_t i = 0; x && y && i < n; i += w.cap) {
        int B = n - i < (size_t)w.cap ? (int)(n - i) : w.cap;
        for (int b = 0; b < B; b++) {
            memcpy(x + (size_t)b * h->in_dim, ds->x + idx[i + b] * ds->dim, h->in_dim * sizeof(float));
            y[b] = ds->y[idx[i + b]];
        }
        fb_head_forward(h, &w, x, B, 0, 0, 0, NULL);
        total += fb_head_loss(h, &w, y, B) * B;
        for (int b = 0; b < B; b++) {
            const float *p = w.probs + (size_t)b * h->nclasses;
            int best = 0;
            for (int c = 1; c < h->nclasses; c++) if (p[c] > p[best]) best = c;
            correct += best == y[b];
        }
    }
    if (x && y) {
        *loss = total / n;
        *acc = (double)correct / n;
    }
    free(x);
    free(y);
    fb_head_work_free(&w);
}

static void report_epoch(const fb_train_opts *o, int epoch, double loss, double acc,
                         double vloss, double vacc, int has_val, double secs)
{
    if (o->verbose) {
        if (o->fold_label) fprintf(stderr, "%s ", o->fold_label);
        fprintf(stderr, "epoch %d/%d - loss %.4f - accuracy %.4f", epoch, o->epochs, loss, acc);
        if (has_val) fprintf(stderr, " - val_loss %.4f - val_accuracy %.4f", vloss, vacc);
        fprintf(stderr, " - %.2fs\n", secs);
    }
    if (o->history) {
        fprintf(o->history, "%d\t%.6f\t%.6f\t", epoch, loss, acc);
        if (has_val) fprintf(o->history, "%.6f\t%.6f", vloss, vacc);
        else fprintf(o->history, "nan\tnan");
        fprintf(o->history, "\t%.3f\n", secs);
    }
}

int fb_train(fb_head *h, const fb_featset *train, const size_t *idx, size_t n,
             const fb_featset *val, const size_t *vidx, size_t nv,
             const fb_train_opts *o, fb_train_result *res)
{
    memset(res, 0, sizeof *res);
    fb_rng rng;
    fb_rng_seed(&rng, o->seed);
    int B = o->batch, D = h->in_dim;
    fb_head_work w;
    if (fb_head_work_init(&w, h, B) != 0) return -1;
    size_t np = h->nparams;
    float *m = calloc(np, sizeof(float)), *v = calloc(np, sizeof(float));
    size_t *order = malloc((n ? n : 1) * sizeof(size_t));
    float *x = malloc((size_t)B * D * sizeof(float)), *wt = malloc((size_t)B * sizeof(float));
    int *y = malloc((size_t)B * sizeof(int));
    fb_head best = { 0 };
    int rc = -1;
    if (!m || !v || !order || !x || !wt || !y) goto done;
    if (val && nv > 0 && fb_head_copy(&best, h) != 0) goto done;
    memcpy(order, idx, n * sizeof(size_t));
    if (o->history) fprintf(o->history, "epoch\tloss\taccuracy\tval_loss\tval_accuracy\tseconds\n");

    opt_step step;
    opt_step_init(&step, h, w.grads, m, v, o);
    double t_start = fb_now();
    long t = 0;
    int since_best = 0;
    res->best_val_loss = INFINITY;
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        double t0 = fb_now(), loss_sum = 0;
        size_t correct = 0, seen = 0;
        fb_rng_shuffle(&rng, order, n, sizeof(size_t));
        for (size_t i = 0; i < n; i += B) {
            int nb = n - i < (size_t)B ? (int)(n - i) : B;
            /* BatchNorm needs two samples for a variance: a lone last one waits
             * for the next epoch's shuffle */
            if (nb < 2 && h->nhidden > 0) break;
            for (int b = 0; b < nb; b++) {
                size_t r = order[i + b];
                memcpy(x + (size_t)b * D, train->x + r * train->dim, D * sizeof(float));
                y[b] = train->y[r];
                wt[b] = o->class_weight ? o->class_weight[y[b]] : 1.0f;
            }
            fb_head_forward(h, &w, x, nb, 1, 0, 1, &rng);
            loss_sum += fb_head_loss(h, &w, y, nb) * nb;
            for (int b = 0; b < nb; b++) {
                const float *p = w.probs + (size_t)b * h->nclasses;
                int top = 0;
                for (int c = 1; c < h->nclasses; c++) if (p[c] > p[top]) top = c;
                correct += top == y[b];
            }
            seen += nb;
            t++;
            step.lr_t = (float)(o->lr * sqrt(1 - pow(o->beta2, (double)t)) / (1 - pow(o->beta1, (double)t)));
            /* weights are updated inside the backward pass, block by block,
             * while their gradient is in cache; then the small rest */
            fb_head_backward_apply(h, &w, y, o->class_weight ? wt : NULL, nb, opt_apply_rows, &step);
            opt_update_small_part(&step, 0, 1);
        }
        res->train_loss = seen ? loss_sum / seen : NAN;
        res->train_acc = seen ? (double)correct / seen : NAN;
        res->epochs_run = epoch;
        int has_val = val && nv > 0;
        if (has_val) {
            fb_head_evaluate(h, val, vidx, nv, &res->val_loss, &res->val_acc);
            /* strictly lower: ties keep the earlier (simpler) epoch */
            if (res->val_loss < res->best_val_loss) {
                res->best_val_loss = res->val_loss;
                res->best_epoch = epoch;
                memcpy(best.params, h->params, np * sizeof(float));
                memcpy(best.stats, h->stats, h->nstats * sizeof(float));
                since_best = 0;
            } else {
                since_best++;
            }
        }
        report_epoch(o, epoch, res->train_loss, res->train_acc, res->val_loss, res->val_acc,
                     has_val, fb_now() - t0);
        if (has_val && o->patience > 0 && since_best >= o->patience) {
            if (o->verbose)
                fprintf(stderr, "%s%sstopping early: val_loss has not improved for %d epochs\n",
                        o->fold_label ? o->fold_label : "", o->fold_label ? " " : "", o->patience);
            break;
        }
    }
    if (val && nv > 0 && res->best_epoch > 0) {
        memcpy(h->params, best.params, np * sizeof(float));
        memcpy(h->stats, best.stats, h->nstats * sizeof(float));
        if (o->verbose && res->best_epoch != res->epochs_run)
            fprintf(stderr, "%s%srestored the weights of epoch %d (val_loss %.4f)\n",
                    o->fold_label ? o->fold_label : "", o->fold_label ? " " : "",
                    res->best_epoch, res->best_val_loss);
    }
    if (o->history) fflush(o->history);
    res->seconds = fb_now() - t_start;
    rc = 0;
done:
    if (best.params) fb_head_free(&best);
    free(m); free(v); free(order); free(x); free(wt); free(y);
    fb_head_work_free(&w);
    return rc;
}

/* ----------------------------------------------------------------- folds */

void fb_stratified_folds(const int *y, size_t n, int nclasses, int k, uint64_t seed, int *fold)
{
    fb_rng rng;
    fb_rng_seed(&rng, seed);
    size_t *rows = malloc((n ? n : 1) * sizeof(size_t));
    if (!rows) {
        for (size_t i = 0; i < n; i++) fold[i] = (int)(i % k);
        return;
    }
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
}
