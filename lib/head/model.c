/* The head as a model: architecture, parameters and their layout, and the
 * minibatch forward/backward that chains the layers of lib/head/layers.c.
 * (head.bin is file.c; training is train.c.) */
#include "fb/head.h"
#include "model.h"
#include "layers.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------- architecture */

int fb_head_parse_arch(const char *spec, int *nhidden, int *hidden, char *err, size_t errlen)
{
    *nhidden = 0;
    if (!spec || !*spec) {
        snprintf(err, errlen, "empty head architecture");
        return -1;
    }
    if (strcmp(spec, "linear") == 0 || strcmp(spec, "0") == 0) return 0;
    const char *p = spec;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > FB_HEAD_MAX_WIDTH || (*end && *end != ',')) {
            snprintf(err, errlen, "bad head architecture '%s': want 'linear' or hidden widths "
                     "like '512,256,128,64' (each 1..%d)", spec, FB_HEAD_MAX_WIDTH);
            return -1;
        }
        if (*nhidden == FB_HEAD_MAX_HIDDEN) {
            snprintf(err, errlen, "head architecture '%s' has more than %d hidden layers",
                     spec, FB_HEAD_MAX_HIDDEN);
            return -1;
        }
        hidden[(*nhidden)++] = (int)v;
        p = *end ? end + 1 : end;
        if (*end == ',' && !*p) {
            snprintf(err, errlen, "bad head architecture '%s': trailing comma", spec);
            return -1;
        }
    }
    return 0;
}

void fb_head_arch_string(const fb_head *h, char *buf, size_t n)
{
    if (h->nhidden == 0) {
        snprintf(buf, n, "linear");
        return;
    }
    size_t used = 0;
    buf[0] = 0;
    for (int l = 0; l < h->nhidden && used < n; l++)
        used += snprintf(buf + used, n - used, "%s%d", l ? "," : "", h->hidden[l]);
}

/* Sizes of one block's parameters and statistics. */
static int block_in(const fb_head *h, int l) { return l == 0 ? h->in_dim : h->hidden[l - 1]; }
static int block_out(const fb_head *h, int l) { return l == h->nhidden ? h->nclasses : h->hidden[l]; }

fb_head_block fb_head_block_at(const fb_head *h, int l, float *base)
{
    fb_head_block blk = { .in = block_in(h, l), .out = block_out(h, l) };
    size_t off = 0, soff = 0;
    for (int i = 0; i < l; i++) {
        off += (size_t)block_in(h, i) * block_out(h, i) + 3 * (size_t)block_out(h, i);
        soff += 2 * (size_t)block_out(h, i);
    }
    blk.w = base + off;
    blk.b = blk.w + (size_t)blk.in * blk.out;
    if (l < h->nhidden) {
        blk.gamma = blk.b + blk.out;
        blk.beta = blk.gamma + blk.out;
        /* running statistics exist only in the head's own stats buffer */
        if (base == h->params && h->stats) {
            blk.run_mean = h->stats + soff;
            blk.run_var = blk.run_mean + blk.out;
        }
    }
    return blk;
}

void fb_head_count_params(int in_dim, int nclasses, int nhidden, const int *hidden,
                          size_t *nparams, size_t *nstats)
{
    *nparams = *nstats = 0;
    for (int l = 0; l <= nhidden; l++) {
        size_t in = l == 0 ? in_dim : hidden[l - 1], out = l == nhidden ? nclasses : hidden[l];
        *nparams += in * out + out + (l < nhidden ? 2 * out : 0);  /* W, b, gamma, beta */
        if (l < nhidden) *nstats += 2 * out;
    }
}

static char **copy_names(const char *const *names, int n)
{
    char **c = calloc((size_t)n + 1, sizeof *c);
    if (!c) return NULL;
    for (int i = 0; i < n; i++)
        if (!(c[i] = strdup(names[i] ? names[i] : ""))) {
            for (int j = 0; j < i; j++) free(c[j]);
            free(c);
            return NULL;
        }
    return c;
}

int fb_head_init(fb_head *h, int in_dim, int nclasses, const char *const *classes,
                 int nhidden, const int *hidden, float dropout, const char *provenance)
{
    memset(h, 0, sizeof *h);
    h->in_dim = in_dim;
    h->nclasses = nclasses;
    h->nhidden = nhidden;
    for (int l = 0; l < nhidden; l++) h->hidden[l] = hidden[l];
    h->dropout = dropout;
    /* eps as Keras' BatchNormalization; momentum lower than Keras' 0.99 so the
     * running statistics settle within the ~100 steps a few hundred photos
     * give in 15 epochs. */
    h->bn_eps = 1e-3f;
    h->bn_momentum = 0.9f;
    fb_head_count_params(in_dim, nclasses, nhidden, hidden, &h->nparams, &h->nstats);
    h->params = calloc(h->nparams, sizeof(float));
    h->stats = calloc(h->nstats ? h->nstats : 1, sizeof(float));
    h->classes = copy_names(classes, nclasses);
    h->provenance = strdup(provenance ? provenance : "");
    h->training = strdup("");
    if (!h->params || !h->stats || !h->classes || !h->provenance || !h->training) {
        fb_head_free(h);
        return -1;
    }
    for (int l = 0; l < nhidden; l++) {
        fb_head_block blk = fb_head_block_at(h, l, h->params);
        for (int i = 0; i < blk.out; i++) blk.run_var[i] = 1;
    }
    return 0;
}

void fb_head_free(fb_head *h)
{
    if (h->classes)
        for (int i = 0; i < h->nclasses; i++) free(h->classes[i]);
    free(h->classes);
    free(h->provenance);
    free(h->training);
    free(h->params);
    free(h->stats);
    free(h->norm_mean);
    free(h->norm_inv_std);
    fb_reject_free(&h->reject);
    fb_stage5_free(&h->stage5);
    memset(h, 0, sizeof *h);
}

int fb_head_copy(fb_head *dst, const fb_head *src)
{
    if (fb_head_init(dst, src->in_dim, src->nclasses, (const char *const *)src->classes,
                     src->nhidden, src->hidden, src->dropout, src->provenance) != 0)
        return -1;
    dst->bn_eps = src->bn_eps;
    dst->bn_momentum = src->bn_momentum;
    free(dst->training);
    if (!(dst->training = strdup(src->training ? src->training : ""))) {
        fb_head_free(dst);
        return -1;
    }
    memcpy(dst->params, src->params, src->nparams * sizeof(float));
    memcpy(dst->stats, src->stats, src->nstats * sizeof(float));
    dst->norm = src->norm;
    dst->threshold = src->threshold;
    if (src->norm_mean) {
        size_t bytes = (size_t)src->in_dim * sizeof(float);
        dst->norm_mean = malloc(bytes);
        dst->norm_inv_std = malloc(bytes);
        if (!dst->norm_mean || !dst->norm_inv_std) {
            fb_head_free(dst);
            return -1;
        }
        memcpy(dst->norm_mean, src->norm_mean, bytes);
        memcpy(dst->norm_inv_std, src->norm_inv_std, bytes);
    }
    if (fb_reject_copy(&dst->reject, &src->reject) != 0) {
        fb_head_free(dst);
        return -1;
    }
    if (src->stage5.params && fb_stage5_copy(&dst->stage5, &src->stage5) != 0) {
        fb_head_free(dst);
        return -1;
    }
    return 0;
}

void fb_head_init_weights(fb_head *h, fb_rng *rng)
{
    for (int l = 0; l <= h->nhidden; l++) {
        fb_head_block blk = fb_head_block_at(h, l, h->params);
        double limit = sqrt(6.0 / (blk.in + blk.out));
        for (size_t i = 0; i < (size_t)blk.in * blk.out; i++)
            blk.w[i] = (float)((2 * fb_rng_uniform(rng) - 1) * limit);
        for (int i = 0; i < blk.out; i++) {
            blk.b[i] = 0;
            if (blk.gamma) { blk.gamma[i] = 1; blk.beta[i] = 0; }
            if (blk.run_mean) { blk.run_mean[i] = 0; blk.run_var[i] = 1; }
        }
    }
}

int fb_head_init_for(fb_head *h, const fb_featset *ds, int nhidden, const int *hidden,
                     float dropout, uint64_t seed)
{
    if (fb_head_init(h, ds->dim, ds->nclasses, (const char *const *)ds->classes, nhidden, hidden,
                     dropout, ds->provenance) != 0)
        return -1;
    /* its own stream of random numbers, apart from fb_train's (which uses seed) */
    fb_rng rng;
    fb_rng_seed(&rng, seed ^ 0x5eedf00dULL);
    fb_head_init_weights(h, &rng);
    return 0;
}

/* ------------------------------------------------- forward / backward */

int fb_head_work_init(fb_head_work *w, const fb_head *h, int cap)
{
    memset(w, 0, sizeof *w);
    w->cap = cap;
    int maxw = h->in_dim > h->nclasses ? h->in_dim : h->nclasses;
    int ok = 1;
    for (int l = 0; l < h->nhidden; l++) {
        size_t n = (size_t)cap * h->hidden[l];
        if (h->hidden[l] > maxw) maxw = h->hidden[l];
        ok &= !!(w->z[l] = malloc(n * sizeof(float)));
        ok &= !!(w->a[l] = malloc(n * sizeof(float)));
        ok &= !!(w->mask[l] = malloc(n * sizeof(float)));
        ok &= !!(w->d[l] = malloc(n * sizeof(float)));
        ok &= !!(w->y[l] = malloc(n * sizeof(float)));
        ok &= !!(w->mean[l] = malloc(h->hidden[l] * sizeof(float)));
        ok &= !!(w->rstd[l] = malloc(h->hidden[l] * sizeof(float)));
    }
    ok &= !!(w->logits = malloc((size_t)cap * h->nclasses * sizeof(float)));
    ok &= !!(w->probs = malloc((size_t)cap * h->nclasses * sizeof(float)));
    ok &= !!(w->losses = malloc((size_t)cap * sizeof(float)));
    ok &= !!(w->grads = calloc(h->nparams, sizeof(float)));
    ok &= !!(w->g1 = malloc((size_t)cap * maxw * sizeof(float)));
    ok &= !!(w->g2 = malloc((size_t)cap * maxw * sizeof(float)));
    if (!ok) {
        fb_head_work_free(w);
        return -1;
    }
    return 0;
}

void fb_head_work_free(fb_head_work *w)
{
    for (int l = 0; l < FB_HEAD_MAX_HIDDEN; l++) {
        free(w->z[l]); free(w->a[l]); free(w->mask[l]); free(w->d[l]); free(w->y[l]);
        free(w->mean[l]); free(w->rstd[l]);
    }
    free(w->logits); free(w->probs); free(w->losses); free(w->grads);
    free(w->g1); free(w->g2);
    memset(w, 0, sizeof *w);
}

void fb_head_forward(fb_head *h, fb_head_work *w, const float *x, int B, int training,
                     int fixed_masks, int update_running, fb_rng *rng)
{
    const float *in = x;
    w->x = x;
    for (int l = 0; l < h->nhidden; l++) {
        fb_head_block blk = fb_head_block_at(h, l, h->params);
        size_t n = (size_t)B * blk.out;
        fb_dense_forward(w->z[l], in, blk.w, blk.b, B, blk.in, blk.out);
        fb_relu_forward(w->a[l], w->z[l], n);
        if (training) {
            /* BatchNorm before dropout: its batch and running statistics are
             * those of the clean ReLU output, the same input it normalises
             * at inference (see fb_head in fb/head.h) */
            fb_batchnorm_forward_train(w->y[l], w->mean[l], w->rstd[l], w->a[l], blk.gamma,
                                       blk.beta, B, blk.out, h->bn_eps);
            if (update_running)
                fb_batchnorm_update_running(blk.run_mean, blk.run_var, w->mean[l], w->rstd[l],
                                            B, blk.out, h->bn_momentum, h->bn_eps);
            if (!fixed_masks) fb_dropout_mask(w->mask[l], n, h->dropout, rng);
            fb_dropout_forward(w->d[l], w->y[l], w->mask[l], n);
            in = w->d[l];
        } else {
            /* inference: dropout is the identity */
            fb_batchnorm_forward_infer(w->y[l], w->a[l], blk.gamma, blk.beta, blk.run_mean,
                                       blk.run_var, B, blk.out, h->bn_eps);
            in = w->y[l];
        }
    }
    fb_head_block out = fb_head_block_at(h, h->nhidden, h->params);
    fb_dense_forward(w->logits, in, out.w, out.b, B, out.in, out.out);
    fb_softmax(w->probs, w->logits, B, h->nclasses);
}

double fb_head_loss(const fb_head *h, fb_head_work *w, const int *labels, int B)
{
    return fb_softmax_xent_forward(w->probs, w->losses, w->logits, labels, B, h->nclasses);
}

typedef struct { fb_head_apply_fn fn; void *ctx; int layer; } layer_apply;

static void apply_rows(void *ctx, size_t row0, size_t nrows, const float *g)
{
    const layer_apply *la = ctx;
    la->fn(la->ctx, la->layer, row0, nrows, g);
}

static void head_backward(fb_head *h, fb_head_work *w, const int *labels, const float *weights,
                          int B, fb_head_apply_fn apply, void *ctx)
{
    float *dout = w->g1, *dtmp = w->g2;
    fb_softmax_xent_backward(dout, w->probs, labels, weights, B, h->nclasses);
    for (int l = h->nhidden; l >= 0; l--) {
        fb_head_block p = fb_head_block_at(h, l, h->params);
        fb_head_block g = fb_head_block_at(h, l, w->grads);
        const float *in = l == 0 ? w->x : w->d[l - 1];
        if (l < h->nhidden) {
            size_t n = (size_t)B * p.out;
            /* dout holds d(loss)/d(block out); walk back through dropout,
             * BatchNorm and ReLU to the dense output */
            fb_dropout_backward(dout, dout, w->mask[l], n);
            fb_batchnorm_backward(dtmp, g.gamma, g.beta, dout, w->a[l], w->mean[l], w->rstd[l],
                                  p.gamma, B, p.out);
            fb_relu_backward(dout, dtmp, w->a[l], n);
        }
        /* the first layer's input is the fixed feature vector: no gradient */
        if (apply) {
            layer_apply la = { apply, ctx, l };
            fb_dense_backward_apply(l > 0 ? dtmp : NULL, g.b, dout, in, p.w, B, p.in, p.out,
                                    apply_rows, &la);
        } else {
            fb_dense_backward(l > 0 ? dtmp : NULL, g.w, g.b, dout, in, p.w, B, p.in, p.out);
        }
        float *t = dout; dout = dtmp; dtmp = t;
    }
}

void fb_head_backward(fb_head *h, fb_head_work *w, const int *labels, const float *weights, int B)
{
    head_backward(h, w, labels, weights, B, NULL, NULL);
}

void fb_head_backward_apply(fb_head *h, fb_head_work *w, const int *labels, const float *weights,
                            int B, fb_head_apply_fn apply, void *ctx)
{
    head_backward(h, w, labels, weights, B, apply, ctx);
}

void fb_head_predict(fb_head *h, fb_head_work *w, const float *x, size_t n, float *probs)
{
    for (size_t i = 0; i < n; i += w->cap) {
        int B = n - i < (size_t)w->cap ? (int)(n - i) : w->cap;
        fb_head_forward(h, w, x + i * h->in_dim, B, 0, 0, 0, NULL);
        memcpy(probs + i * h->nclasses, w->probs, (size_t)B * h->nclasses * sizeof(float));
    }
}
