/* Finite-difference gradient checks for every layer of the head and for the
 * whole head, plus the head.bin round trip.
 *
 * Each layer check builds a scalar L = sum(out * R) for a fixed random R
 * (accumulated in double), perturbs one input at a time by +-eps, and
 * compares (L+ - L-) / 2eps with the analytic backward.  The layers run in
 * float, so eps is 1e-2 for the (exactly) linear ones and 1e-3 otherwise,
 * and the bound is on relative error |a - n| / max(|a| + |n|, 1e-2). */
#include "check.h"
#include "fb/head.h"
#include "head/layers.h"
#include "head/model.h"
#include "fb/core.h"

#include <stdlib.h>
#include <string.h>

static fb_rng rng;

static void fill(float *a, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++) a[i] = (float)(fb_rng_normal(&rng) * scale);
}

static double dot(const float *a, const float *r, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * r[i];
    return s;
}

static double rel_err(double a, double n) { return fabs(a - n) / fmax(fabs(a) + fabs(n), 1e-2); }

/* Compares analytic grad[0..n) of `param` with central differences of f(). */
typedef double (*scalar_fn)(void *ctx);
static double max_rel_err(float *param, const float *grad, size_t n, double eps,
                          scalar_fn f, void *ctx)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = param[i];
        param[i] = keep + (float)eps;
        double up = f(ctx);
        param[i] = keep - (float)eps;
        double down = f(ctx);
        param[i] = keep;
        double e = rel_err(grad[i], (up - down) / (2 * eps));
        if (e > worst) worst = e;
    }
    return worst;
}

/* ---- dense ---- */
enum { B = 4, K = 7, N = 5 };
typedef struct { float inp[B * K], w[K * N], b[N], out[B * N], r[B * N]; } dense_ctx;
static double dense_loss(void *p)
{
    dense_ctx *c = p;
    fb_dense_forward(c->out, c->inp, c->w, c->b, B, K, N);
    return dot(c->out, c->r, B * N);
}
static void check_dense(void)
{
    dense_ctx c;
    float dinp[B * K], dw[K * N], db[N];
    fill(c.inp, B * K, 1); fill(c.w, K * N, 0.5); fill(c.b, N, 0.5); fill(c.r, B * N, 1);
    fb_dense_backward(dinp, dw, db, c.r, c.inp, c.w, B, K, N);
    CHECK(max_rel_err(c.inp, dinp, B * K, 1e-2, dense_loss, &c) < 1e-3, "dense: d input");
    CHECK(max_rel_err(c.w, dw, K * N, 1e-2, dense_loss, &c) < 1e-3, "dense: d weights");
    CHECK(max_rel_err(c.b, db, N, 1e-2, dense_loss, &c) < 1e-3, "dense: d bias");
    /* forward against a hand loop */
    dense_loss(&c);
    double worst = 0;
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++) {
            double s = c.b[n];
            for (int k = 0; k < K; k++) s += (double)c.inp[b * K + k] * c.w[k * N + n];
            worst = fmax(worst, fabs(s - c.out[b * N + n]));
        }
    CHECK(worst < 1e-5, "dense: forward matches a plain loop (max diff %g)", worst);
}

/* ---- ReLU, dropout ---- */
enum { E = 24 };
typedef struct { float inp[E], out[E], r[E], mask[E]; int which; } elem_ctx;
static double elem_loss(void *p)
{
    elem_ctx *c = p;
    if (c->which == 0) fb_relu_forward(c->out, c->inp, E);
    else fb_dropout_forward(c->out, c->inp, c->mask, E);
    return dot(c->out, c->r, E);
}
static void check_elementwise(void)
{
    elem_ctx c = { .which = 0 };
    float dinp[E];
    fill(c.inp, E, 1); fill(c.r, E, 1);
    /* keep inputs off the kink at 0, where the derivative is undefined */
    for (int i = 0; i < E; i++) if (fabsf(c.inp[i]) < 0.1f) c.inp[i] = c.inp[i] < 0 ? -0.5f : 0.5f;
    elem_loss(&c);
    fb_relu_backward(dinp, c.r, c.out, E);
    CHECK(max_rel_err(c.inp, dinp, E, 1e-3, elem_loss, &c) < 1e-3, "relu: d input");

    c.which = 1;
    fb_dropout_mask(c.mask, E, 0.5f, &rng);
    int zeros = 0;
    for (int i = 0; i < E; i++) zeros += c.mask[i] == 0;
    CHECK(zeros > 0 && zeros < E, "dropout: the mask drops some units and keeps some (%d of %d dropped)", zeros, E);
    int scaled = 1;
    for (int i = 0; i < E; i++) scaled &= c.mask[i] == 0 || c.mask[i] == 2.0f;
    CHECK(scaled, "dropout: kept units are scaled by 1/(1-rate)");
    fb_dropout_backward(dinp, c.r, c.mask, E);
    CHECK(max_rel_err(c.inp, dinp, E, 1e-2, elem_loss, &c) < 1e-3, "dropout (fixed mask): d input");

    /* the keep rate over many draws is 1 - rate */
    static float big[100000];
    fb_dropout_mask(big, 100000, 0.3f, &rng);
    int kept = 0;
    for (int i = 0; i < 100000; i++) kept += big[i] != 0;
    CHECK_NEAR(kept / 100000.0, 0.7, 0.01, "dropout: keeps 70%% of units at rate 0.3");
}

/* ---- BatchNorm ---- */
enum { BB = 6, C = 5 };
typedef struct {
    float inp[BB * C], gamma[C], beta[C], out[BB * C], r[BB * C], mean[C], rstd[C];
    float rmean[C], rvar[C];
    int train;
} bn_ctx;
static double bn_loss(void *p)
{
    bn_ctx *c = p;
    if (c->train) fb_batchnorm_forward_train(c->out, c->mean, c->rstd, c->inp, c->gamma, c->beta, BB, C, 1e-3f);
    else fb_batchnorm_forward_infer(c->out, c->inp, c->gamma, c->beta, c->rmean, c->rvar, BB, C, 1e-3f);
    return dot(c->out, c->r, BB * C);
}
static void check_batchnorm(void)
{
    bn_ctx c = { .train = 1 };
    float dinp[BB * C], dg[C], db[C];
    fill(c.inp, BB * C, 2); fill(c.gamma, C, 1); fill(c.beta, C, 1); fill(c.r, BB * C, 1);
    for (int i = 0; i < BB * C; i++) c.inp[i] += 3;   /* an offset the layer must remove */
    bn_loss(&c);
    /* forward: each channel of the normalised output has mean beta, sd ~gamma */
    double worst = 0;
    for (int ch = 0; ch < C; ch++) {
        double s = 0;
        for (int b = 0; b < BB; b++) s += c.out[b * C + ch];
        worst = fmax(worst, fabs(s / BB - c.beta[ch]));
    }
    CHECK(worst < 1e-5, "batchnorm train: output mean per channel is beta");
    fb_batchnorm_backward(dinp, dg, db, c.r, c.inp, c.mean, c.rstd, c.gamma, BB, C);
    CHECK(max_rel_err(c.inp, dinp, BB * C, 1e-3, bn_loss, &c) < 1e-2, "batchnorm train: d input");
    CHECK(max_rel_err(c.gamma, dg, C, 1e-3, bn_loss, &c) < 1e-2, "batchnorm train: d gamma");
    CHECK(max_rel_err(c.beta, db, C, 1e-2, bn_loss, &c) < 1e-3, "batchnorm train: d beta");

    /* running statistics converge to the population's */
    for (int ch = 0; ch < C; ch++) { c.rmean[ch] = 0; c.rvar[ch] = 1; }
    for (int it = 0; it < 200; it++) {
        fill(c.inp, BB * C, 2);
        for (int i = 0; i < BB * C; i++) c.inp[i] += 3;
        bn_loss(&c);
        fb_batchnorm_update_running(c.rmean, c.rvar, c.mean, c.rstd, BB, C, 0.98f, 1e-3f);
    }
    CHECK_NEAR(c.rmean[0], 3.0, 0.3, "batchnorm: running mean tracks the data (mean 3)");
    CHECK_NEAR(c.rvar[0], 4.0, 1.0, "batchnorm: running variance tracks the data (var 4)");

    c.train = 0;
    fill(c.inp, BB * C, 2);
    bn_loss(&c);
    fb_batchnorm_backward_infer(dinp, dg, db, c.r, c.inp, c.gamma, c.rmean, c.rvar, BB, C, 1e-3f);
    CHECK(max_rel_err(c.inp, dinp, BB * C, 1e-2, bn_loss, &c) < 1e-3, "batchnorm inference: d input");
    CHECK(max_rel_err(c.gamma, dg, C, 1e-2, bn_loss, &c) < 1e-3, "batchnorm inference: d gamma");
    CHECK(max_rel_err(c.beta, db, C, 1e-2, bn_loss, &c) < 1e-3, "batchnorm inference: d beta");
}

/* ---- softmax cross-entropy ---- */
enum { SB = 5, SC = 4 };
typedef struct { float logits[SB * SC], probs[SB * SC], losses[SB], w[SB]; int labels[SB]; } sx_ctx;
static double sx_loss(void *p)
{
    sx_ctx *c = p;
    fb_softmax_xent_forward(c->probs, c->losses, c->logits, c->labels, SB, SC);
    double s = 0;
    for (int b = 0; b < SB; b++) s += (double)c->w[b] * c->losses[b];
    return s / SB;
}
static void check_softmax_xent(void)
{
    sx_ctx c;
    float d[SB * SC];
    fill(c.logits, SB * SC, 2);
    for (int b = 0; b < SB; b++) { c.labels[b] = b % SC; c.w[b] = 0.5f + b; }
    sx_loss(&c);
    fb_softmax_xent_backward(d, c.probs, c.labels, c.w, SB, SC);
    CHECK(max_rel_err(c.logits, d, SB * SC, 1e-3, sx_loss, &c) < 1e-2, "softmax cross-entropy (weighted): d logits");
    /* a hand-computed value: logits (0, ln 3) -> p = (1/4, 3/4); label 0 -> ln 4 */
    float z[2] = { 0, logf(3) }, p[2], l[1];
    int y[1] = { 0 };
    double loss = fb_softmax_xent_forward(p, l, z, y, 1, 2);
    CHECK_NEAR(loss, log(4.0), 1e-6, "softmax cross-entropy: ln 4 for p = 1/4");
    CHECK_NEAR(p[1], 0.75, 1e-6, "softmax: p = 3/4");
    /* extreme logits stay finite */
    float zz[2] = { -200, 200 };
    loss = fb_softmax_xent_forward(p, l, zz, y, 1, 2);
    CHECK(isfinite(loss) && fabs(loss - 400) < 1e-3, "softmax cross-entropy: finite (400) when p underflows");
}

/* ---- the whole head ---- */
typedef struct { fb_head h; fb_head_work w; float x[6 * 5]; int y[6]; float wt[6]; } head_ctx;
static double head_loss(void *p)
{
    head_ctx *c = p;
    fb_head_forward(&c->h, &c->w, c->x, 6, 1, 1, 0, NULL);   /* fixed dropout masks */
    fb_head_loss(&c->h, &c->w, c->y, 6);
    double s = 0;
    for (int b = 0; b < 6; b++) s += (double)c->wt[b] * c->w.losses[b];
    return s / 6;
}
static void check_head(void)
{
    static head_ctx c;
    const char *names[] = { "a", "b", "c" };
    int hidden[] = { 4, 3 };
    CHECK(fb_head_init(&c.h, 5, 3, names, 2, hidden, 0.3f, "backbone=test\n") == 0, "head: init");
    fb_head_init_weights(&c.h, &rng);
    CHECK(fb_head_work_init(&c.w, &c.h, 6) == 0, "head: workspace");
    fill(c.x, 30, 1);
    for (int b = 0; b < 6; b++) { c.y[b] = b % 3; c.wt[b] = 1 + 0.25f * b; }
    /* draw the dropout masks once, then keep them */
    fb_head_forward(&c.h, &c.w, c.x, 6, 1, 0, 0, &rng);
    head_loss(&c);
    fb_head_backward(&c.h, &c.w, c.y, c.wt, 6);
    float *grads = malloc(c.h.nparams * sizeof(float));
    memcpy(grads, c.w.grads, c.h.nparams * sizeof(float));
    double e = max_rel_err(c.h.params, grads, c.h.nparams, 1e-3, head_loss, &c);
    CHECK(e < 2e-2, "head 5-4-3-3 (dense, relu, batchnorm, dropout, softmax): all %zu parameter gradients (max rel err %.2g)",
          c.h.nparams, e);

    /* head.bin round trip, and a flipped byte is refused */
    unsigned char *buf;
    size_t len;
    char err[256];
    CHECK(fb_head_serialize(&c.h, &buf, &len) == 0, "head: serialize");
    fb_head back;
    CHECK(fb_head_deserialize(&back, buf, len, err, sizeof err) == 0, "head: deserialize");
    CHECK(back.nparams == c.h.nparams && memcmp(back.params, c.h.params, c.h.nparams * 4) == 0 &&
          memcmp(back.stats, c.h.stats, c.h.nstats * 4) == 0 && strcmp(back.classes[2], "c") == 0 &&
          strcmp(back.provenance, "backbone=test\n") == 0 && back.hidden[1] == 3,
          "head: round trip keeps weights, statistics, classes, provenance, architecture");
    fb_head_free(&back);
    buf[len / 2] ^= 0x40;
    CHECK(fb_head_deserialize(&back, buf, len, err, sizeof err) != 0 && strstr(err, "checksum"),
          "head: a flipped byte is refused (%s)", err);
    buf[len / 2] ^= 0x40;
    CHECK(fb_head_deserialize(&back, buf, len - 10, err, sizeof err) != 0 && strstr(err, "truncated"),
          "head: a truncated file is refused (%s)", err);
    free(buf);
    free(grads);
    fb_head_work_free(&c.w);
    fb_head_free(&c.h);
}

static void check_arch(void)
{
    int n, hidden[FB_HEAD_MAX_HIDDEN];
    char err[256];
    CHECK(fb_head_parse_arch("linear", &n, hidden, err, sizeof err) == 0 && n == 0, "arch: linear");
    CHECK(fb_head_parse_arch("512,256,128,64", &n, hidden, err, sizeof err) == 0 && n == 4 &&
          hidden[0] == 512 && hidden[3] == 64, "arch: 512,256,128,64");
    CHECK(fb_head_parse_arch("64,", &n, hidden, err, sizeof err) != 0, "arch: trailing comma refused");
    CHECK(fb_head_parse_arch("64,x", &n, hidden, err, sizeof err) != 0, "arch: non-number refused");
    CHECK(fb_head_parse_arch("0,5", &n, hidden, err, sizeof err) != 0, "arch: zero width refused");
}

static void check_threads_agree(void)
{
    /* the split GEMMs give the same bits on 1 and 2 threads */
    enum { TB = 32, TK = 256, TN = 128 };
    float *inp = malloc(TB * TK * 4), *w = malloc(TK * TN * 4), *b = malloc(TN * 4);
    float *o1 = malloc(TB * TN * 4), *o2 = malloc(TB * TN * 4), *d1 = malloc(TK * TN * 4),
          *d2 = malloc(TK * TN * 4), *x1 = malloc(TB * TK * 4), *x2 = malloc(TB * TK * 4), db[TN];
    fill(inp, TB * TK, 1); fill(w, TK * TN, 0.1); fill(b, TN, 0.1);
    fb_par_init(1);
    fb_dense_forward(o1, inp, w, b, TB, TK, TN);
    fb_dense_backward(x1, d1, db, o1, inp, w, TB, TK, TN);
    fb_par_init(2);
    fb_dense_forward(o2, inp, w, b, TB, TK, TN);
    fb_dense_backward(x2, d2, db, o2, inp, w, TB, TK, TN);
    fb_par_shutdown();
    CHECK(memcmp(o1, o2, TB * TN * 4) == 0 && memcmp(d1, d2, TK * TN * 4) == 0 &&
          memcmp(x1, x2, TB * TK * 4) == 0, "dense: 1 and 2 threads give identical bits");
    free(inp); free(w); free(b); free(o1); free(o2); free(d1); free(d2); free(x1); free(x2);
}

int main(void)
{
    fb_rng_seed(&rng, 42);
    check_dense();
    check_elementwise();
    check_batchnorm();
    check_softmax_xent();
    check_head();
    check_arch();
    check_threads_agree();
    return check_done();
}
