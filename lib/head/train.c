/* The training loop: Adam or SGD with momentum, L2 weight decay, class
 * weights, early stopping that restores the best epoch; and the notes on how
 * a head was trained that go into head.bin. */
#include "fb/head.h"
#include "fb/stream.h"
#include "fb/core.h"
#include "layers.h"
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* 1 (message in err) when an epoch left a number that is not finite: its
 * training loss, its validation loss, or any weight.  A NaN spreads to every
 * later number, so training stops at the epoch it appeared in. */
static int diverged(const fb_head *h, const fb_train_result *res, int trained, int has_val,
                    int epoch, char *err, size_t errlen)
{
    const char *what = NULL;
    double v = 0;
    if (trained && !isfinite(res->train_loss)) { what = "the training loss"; v = res->train_loss; }
    else if (has_val && !isfinite(res->val_loss)) { what = "the validation loss"; v = res->val_loss; }
    for (size_t i = 0; !what && i < h->nparams; i++)
        if (!isfinite(h->params[i])) { what = "a weight"; v = h->params[i]; }
    if (!what) return 0;
    snprintf(err, errlen, "epoch %d: %s is %s: the head diverged (try a lower --lr)",
             epoch, what, isnan(v) ? "NaN" : "infinite");
    return 1;
}

int fb_train(fb_head *h, const fb_featset *train, const size_t *idx, size_t n,
             const fb_featset *val, const size_t *vidx, size_t nv,
             const fb_train_opts *o, fb_train_result *res,
             char *err, size_t errlen)
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
                correct += fb_argmax(p, h->nclasses) == y[b];
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
        if (has_val) fb_head_evaluate(h, val, vidx, nv, &res->val_loss, &res->val_acc);
        if (diverged(h, res, seen > 0, has_val, epoch, err, errlen)) {
            rc = -2;
            goto done;
        }
        if (has_val) {
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
        if (o->on_epoch) {
            fb_epoch e = { epoch, o->epochs, res->train_loss, res->train_acc, has_val,
                           res->val_loss, res->val_acc, fb_now() - t0 };
            o->on_epoch(o->ctx, &e);
        }
        if (has_val && o->patience > 0 && since_best >= o->patience) {
            res->stopped_early = 1;
            break;
        }
    }
    if (val && nv > 0 && res->best_epoch > 0) {
        memcpy(h->params, best.params, np * sizeof(float));
        memcpy(h->stats, best.stats, h->nstats * sizeof(float));
    }
    res->seconds = fb_now() - t_start;
    rc = 0;
done:
    if (rc == -1) snprintf(err, errlen, "out of memory");
    if (best.params) fb_head_free(&best);
    free(m); free(v); free(order); free(x); free(wt); free(y);
    fb_head_work_free(&w);
    return rc ? -1 : 0;
}

int fb_head_init_normalised(fb_head *h, fb_featset *train, fb_featset *val, int nhidden,
                            const int *hidden, float dropout, uint64_t seed, int norm,
                            char *err, size_t errlen)
{
    if (fb_head_init_for(h, train, nhidden, hidden, dropout, seed) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (fb_head_fit_norm(h, norm, train->x, train->n, err, errlen) != 0) {
        fb_head_free(h);
        return -1;
    }
    fb_head_normalise(h, train->x, train->n);
    if (val) fb_head_normalise(h, val->x, val->n);
    return 0;
}

/* ------------------------------------------------------------- notes */

int fb_head_note_training(fb_head *h, const fb_train_opts *o, const char *class_weight,
                          const fb_train_result *res, size_t n, size_t nv)
{
    char arch[256], buf[300];
    fb_head_arch_string(h, arch, sizeof arch);
    char *notes = NULL;
    int bad = 0;
#define NOTE(key, fmt, val) do { snprintf(buf, sizeof buf, fmt, val); bad |= fb_prov_set(&notes, key, buf); } while (0)
    NOTE("head", "%s", arch);
    NOTE("dropout", "%g", (double)h->dropout);
    NOTE("optimizer", "%s", o->opt == FB_OPT_ADAM ? "adam" : "sgd");
    NOTE("lr", "%g", o->lr);
    NOTE("batch", "%d", o->batch);
    NOTE("epochs", "%d", o->epochs);
    NOTE("epochs_run", "%d", res->epochs_run);
    NOTE("weight_decay", "%g", o->weight_decay);
#undef NOTE
    bad |= fb_head_note_result(&notes, h, class_weight, o->seed, res, n, nv);
    return fb_head_take_notes(h, notes, bad);
}

int fb_head_note_result(char **notes, const fb_head *h, const char *class_weight, uint64_t seed,
                        const fb_train_result *res, size_t n, size_t nv)
{
    char buf[300];
    int bad = 0;
#define NOTE(key, fmt, val) do { snprintf(buf, sizeof buf, fmt, val); bad |= fb_prov_set(notes, key, buf); } while (0)
    NOTE("class_weight", "%s", class_weight ? class_weight : "none");
    char normstr[64];
    fb_norm_string(h->norm, normstr, sizeof normstr);
    NOTE("norm", "%s", normstr);
    NOTE("seed", "%llu", (unsigned long long)seed);
    NOTE("train_records", "%zu", n);
    NOTE("train_loss", "%.6f", res->train_loss);
    NOTE("train_accuracy", "%.6f", res->train_acc);
    if (nv) {
        NOTE("val_records", "%zu", nv);
        NOTE("best_epoch", "%d", res->best_epoch);
        NOTE("val_loss", "%.6f", res->best_val_loss);
    }
#undef NOTE
    return bad;
}

int fb_head_take_notes(fb_head *h, char *notes, int bad)
{
    if (bad) {
        free(notes);
        return -1;
    }
    free(h->training);
    h->training = notes;
    return 0;
}
