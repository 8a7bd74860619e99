/* ResNet50's stage 5, forward and backward, for fine-tuning (see
 * include/fb/backbone.h, "stage 5, trainable").  llm.c style: each layer a
 * forward/backward pair, tensors NHWC with the batch first, shapes in the
 * comments; the convs are OpenBLAS GEMMs on the backbone's im2col patches
 * (lib/backbone/kern_conv.c).  Backward passes ADD into their gradients,
 * so a gradient reaching a tensor along two paths (a block's input feeds
 * branch2a and the shortcut) sums as it should.  The tests check every
 * backward against finite differences (tests/unit/test_stage5_grad.c) and
 * the forward against the backbone's stage 5 (tests/unit/test_stage5_real.c). */
#include "fb/backbone.h"
#include "kern.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ layers */

/* The GEMM's left matrix for conv c on in [n][side][side][cin]: the input
 * itself for a 1x1 stride-1 conv, else its patches gathered into cols
 * [n*so*so][k*k*cin]. */
static const float *patches(const fb_stage5_conv *c, const float *in, int n, int side, float *cols)
{
    if (c->k == 1 && c->stride == 1) return in;
    int so = fb_conv_out(side, c->k, c->stride, c->pad);
    size_t per = (size_t)so * so * c->k * c->k * c->cin;
    for (int i = 0; i < n; i++)
        fb_kern_im2col(in + (size_t)i * side * side * c->cin, side, side, c->cin, c->k, c->stride, c->pad,
                       cols + (size_t)i * per, 0, so * so);
    return cols;
}

/* conv: in [n][side][side][cin] -> out [n][so][so][cout] = patches * w + b,
 * w [k][k][cin][cout], b [cout] */
static void conv_forward(float *out, const float *in, const fb_stage5_conv *c, const float *params, int n,
                         int side, float *cols)
{
    int so = fb_conv_out(side, c->k, c->stride, c->pad), kk = c->k * c->k * c->cin;
    size_t m = (size_t)n * so * so;
    const float *a = patches(c, in, n, side, cols);
    fb_kern_bias_init(out, params + c->b, NULL, m, c->cout);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, c->cout, kk, 1.0f, a, kk,
                params + c->w, c->cout, 1.0f, out, c->cout);
}

/* Adds each patch row of cols [so*so][k*k*cin] back onto the pixels it was
 * gathered from: din [side][side][cin] (one image; im2col's adjoint). */
static void col2im_add(const float *cols, const fb_stage5_conv *c, int side, float *din)
{
    int k = c->k, cin = c->cin, so = fb_conv_out(side, k, c->stride, c->pad);
    size_t kk = (size_t)k * k * cin;
    for (int r = 0; r < so * so; r++) {
        int oy = r / so, ox = r % so;
        for (int ky = 0; ky < k; ky++) {
            int iy = oy * c->stride - c->pad + ky;
            if (iy < 0 || iy >= side) continue;
            for (int kx = 0; kx < k; kx++) {
                int ix = ox * c->stride - c->pad + kx;
                if (ix < 0 || ix >= side) continue;
                const float *src = cols + r * kk + (size_t)(ky * k + kx) * cin;
                float *dst = din + ((size_t)iy * side + ix) * cin;
                for (int ch = 0; ch < cin; ch++) dst[ch] += src[ch];
            }
        }
    }
}

/* conv backward: dout [n][so][so][cout], in [n][side][side][cin] ->
 *   grad w [k][k][cin][cout] += patches^T dout,  grad b [cout] += sum of dout,
 *   din [n][side][side][cin] += col2im(dout w^T)  (skipped when din is NULL) */
static void conv_backward(float *din, float *grad, const float *dout, const float *in,
                          const fb_stage5_conv *c, const float *params, int n, int side, float *cols)
{
    int so = fb_conv_out(side, c->k, c->stride, c->pad), kk = c->k * c->k * c->cin;
    size_t m = (size_t)n * so * so;
    const float *a = patches(c, in, n, side, cols);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kk, c->cout, (int)m, 1.0f, a, kk, dout, c->cout,
                1.0f, grad + c->w, c->cout);
    float *db = grad + c->b;
    for (size_t r = 0; r < m; r++)
        for (int j = 0; j < c->cout; j++) db[j] += dout[r * c->cout + j];
    if (!din) return;
    if (c->k == 1 && c->stride == 1) {   /* the input is the patch matrix */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, kk, c->cout, 1.0f, dout, c->cout,
                    params + c->w, c->cout, 1.0f, din, kk);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, kk, c->cout, 1.0f, dout, c->cout,
                params + c->w, c->cout, 0.0f, cols, kk);   /* the patches are no longer needed */
    size_t per = (size_t)so * so * kk;
    for (int i = 0; i < n; i++)
        col2im_add(cols + (size_t)i * per, c, side, din + (size_t)i * side * side * c->cin);
}

/* relu in place: x [n] */
static void relu_forward(float *x, size_t n)
{
    fb_kern_relu(x, n);
}

/* relu backward, from its output: d [n] *= (out > 0) */
static void relu_backward(float *d, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(out[i] > 0)) d[i] = 0;
}

/* global average pool: x [n][cells][c] -> y [n][c] */
static void pool_forward(float *y, const float *x, int n, int cells, int c)
{
    for (int i = 0; i < n; i++)
        fb_kern_avgpool(x + (size_t)i * cells * c, (size_t)cells, c, y + (size_t)i * c);
}

/* pool backward: dy [n][c] -> dx [n][cells][c] = dy / cells (overwritten) */
static void pool_backward(float *dx, const float *dy, int n, int cells, int c)
{
    for (int i = 0; i < n; i++)
        for (int p = 0; p < cells; p++)
            for (int ch = 0; ch < c; ch++)
                dx[((size_t)i * cells + p) * c + ch] = dy[(size_t)i * c + ch] / (float)cells;
}

/* ------------------------------------------------------------ shapes */

static size_t add_conv(fb_stage5_conv *c, size_t at, int k, int cin, int cout, int stride)
{
    *c = (fb_stage5_conv){k, cin, cout, stride, k / 2, at, at + (size_t)k * k * cin * cout};
    return c->b + (size_t)cout;
}

/* Block bi's convs: branch2a, 2b, 2c, and for block 0 branch1. */
static const fb_stage5_conv *block_convs(const fb_stage5 *s, int bi)
{
    return &s->conv[bi == 0 ? 0 : 1 + 3 * bi];
}

int fb_stage5_init(fb_stage5 *s, int side, int cin, int width)
{
    memset(s, 0, sizeof *s);
    s->side = side;
    s->cin = cin;
    s->width = width;
    int f = width;
    size_t at = 0;
    at = add_conv(&s->conv[0], at, 1, cin, f, 2);
    at = add_conv(&s->conv[1], at, 3, f, f, 1);
    at = add_conv(&s->conv[2], at, 1, f, 4 * f, 1);
    at = add_conv(&s->conv[3], at, 1, cin, 4 * f, 2);
    for (int bi = 1; bi < 3; bi++) {
        fb_stage5_conv *c = &s->conv[1 + 3 * bi];
        at = add_conv(&c[0], at, 1, 4 * f, f, 1);
        at = add_conv(&c[1], at, 3, f, f, 1);
        at = add_conv(&c[2], at, 1, f, 4 * f, 1);
    }
    s->nparams = at;   /* = fb_stage5_nparams(cin, width) */
    s->params = calloc(at, sizeof *s->params);
    return s->params ? 0 : -1;
}

size_t fb_stage5_nparams(int cin, int width)
{
    size_t f = (size_t)width, c = (size_t)cin;
    size_t first = (c * f + f) + (9 * f * f + f) + (f * 4 * f + 4 * f) + (c * 4 * f + 4 * f);
    size_t other = (4 * f * f + f) + (9 * f * f + f) + (f * 4 * f + 4 * f);
    return first + 2 * other;
}

void fb_stage5_free(fb_stage5 *s)
{
    free(s->params);
    s->params = NULL;
}

int fb_stage5_copy(fb_stage5 *dst, const fb_stage5 *src)
{
    *dst = *src;
    dst->params = malloc(src->nparams * sizeof *dst->params);
    if (!dst->params) return -1;
    memcpy(dst->params, src->params, src->nparams * sizeof *dst->params);
    return 0;
}

int fb_stage5_channels(const fb_stage5 *s) { return 4 * s->width; }
int fb_stage5_out_side(const fb_stage5 *s) { return s->side / 2; }
size_t fb_stage5_input_size(const fb_stage5 *s) { return (size_t)s->side * s->side * s->cin; }

static int copy_conv(fb_stage5 *s, int i, const fb_conv_params *p, char *err, size_t errlen)
{
    const fb_stage5_conv *c = &s->conv[i];
    if (p->kh != c->k || p->kw != c->k || p->cin != c->cin || p->cout != c->cout || p->stride != c->stride ||
        p->pad != c->pad) {
        snprintf(err, errlen, "weights layer %s is not the shape stage 5 has", p->name);
        return -1;
    }
    memcpy(s->params + c->w, p->w, (size_t)c->k * c->k * c->cin * c->cout * sizeof(float));
    memcpy(s->params + c->b, p->b, (size_t)c->cout * sizeof(float));
    return 0;
}

int fb_stage5_from_resnet(fb_stage5 *s, const fb_resnet *net, char *err, size_t errlen)
{
    if (fb_stage5_init(s, FB_STAGE4_SIDE, FB_STAGE4_CHANNELS, FB_RESNET_FEATURES / 4) != 0) {
        snprintf(err, errlen, "out of memory for stage 5's weights");
        return -1;
    }
    for (int bi = 0; bi < 3; bi++) {
        const fb_resnet_block *b = &net->blocks[FB_STAGE5_FIRST_BLOCK + bi];
        int i = bi == 0 ? 0 : 1 + 3 * bi;
        if (copy_conv(s, i, b->a, err, errlen) || copy_conv(s, i + 1, b->b, err, errlen) ||
            copy_conv(s, i + 2, b->c, err, errlen) ||
            (bi == 0 && (!b->shortcut || copy_conv(s, 3, b->shortcut, err, errlen)))) {
            fb_stage5_free(s);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ work */

struct fb_stage5_work {
    int nmax;
    /* per block, kept for backward: a1, a2 [n][o][o][f] (after relu),
     * out [n][o][o][4f] (after relu); block 0's projection sc [n][o][o][4f] */
    float *a1[3], *a2[3], *out[3], *sc;
    float *cols;                  /* the largest patch matrix of any conv */
    float *d_out, *d_x;           /* [n][o][o][4f]: by a block's output, by its input */
    float *d_a1, *d_a2;           /* [n][o][o][f] */
};

void fb_stage5_work_free(fb_stage5_work *wk)
{
    if (!wk) return;
    for (int b = 0; b < 3; b++) {
        free(wk->a1[b]); free(wk->a2[b]); free(wk->out[b]);
    }
    free(wk->sc); free(wk->cols); free(wk->d_out); free(wk->d_x); free(wk->d_a1); free(wk->d_a2);
    free(wk);
}

fb_stage5_work *fb_stage5_work_new(const fb_stage5 *s, int nmax)
{
    fb_stage5_work *wk = calloc(1, sizeof *wk);
    if (!wk) return NULL;
    wk->nmax = nmax;
    int o = fb_stage5_out_side(s), f = s->width;
    size_t cells = (size_t)nmax * o * o;
    size_t widest = (size_t)(s->cin > 9 * f ? s->cin : 9 * f);
    int ok = 1;
    for (int b = 0; b < 3; b++) {
        ok &= (wk->a1[b] = malloc(cells * f * sizeof(float))) != NULL;
        ok &= (wk->a2[b] = malloc(cells * f * sizeof(float))) != NULL;
        ok &= (wk->out[b] = malloc(cells * 4 * f * sizeof(float))) != NULL;
    }
    ok &= (wk->sc = malloc(cells * 4 * f * sizeof(float))) != NULL;
    ok &= (wk->cols = malloc(cells * widest * sizeof(float))) != NULL;
    ok &= (wk->d_out = malloc(cells * 4 * f * sizeof(float))) != NULL;
    ok &= (wk->d_x = malloc(cells * 4 * f * sizeof(float))) != NULL;
    ok &= (wk->d_a1 = malloc(cells * f * sizeof(float))) != NULL;
    ok &= (wk->d_a2 = malloc(cells * f * sizeof(float))) != NULL;
    if (!ok) {
        fb_stage5_work_free(wk);
        return NULL;
    }
    return wk;
}

/* ------------------------------------------------------------ blocks */

/* bottleneck block bi: x [n][side][side][cin_b] -> wk->out[bi] [n][o][o][4f]
 *   a1 = relu(conv2a(x)), a2 = relu(conv2b(a1)),
 *   out = relu(conv2c(a2) + (block 0: conv1(x); else x)) */
static void block_forward(const fb_stage5 *s, fb_stage5_work *wk, int bi, const float *x, int n, int side)
{
    const fb_stage5_conv *c = block_convs(s, bi);
    int o = fb_stage5_out_side(s), f = s->width;
    size_t cells = (size_t)n * o * o;
    conv_forward(wk->a1[bi], x, &c[0], s->params, n, side, wk->cols);
    relu_forward(wk->a1[bi], cells * f);
    conv_forward(wk->a2[bi], wk->a1[bi], &c[1], s->params, n, o, wk->cols);
    relu_forward(wk->a2[bi], cells * f);
    const float *shortcut = x;
    if (bi == 0) {
        conv_forward(wk->sc, x, &c[3], s->params, n, side, wk->cols);
        shortcut = wk->sc;
    }
    float *out = wk->out[bi];
    conv_forward(out, wk->a2[bi], &c[2], s->params, n, o, wk->cols);
    for (size_t i = 0; i < cells * 4 * f; i++) out[i] += shortcut[i];
    relu_forward(out, cells * 4 * f);
}

/* block bi backward: d_out [n][o][o][4f], the gradient by its output
 * (overwritten) -> grad += by its parameters, dx [n][side][side][cin_b] +=
 * by its input x (skipped when NULL). */
static void block_backward(const fb_stage5 *s, fb_stage5_work *wk, int bi, const float *x, int n, int side,
                           float *d_out, float *grad, float *dx)
{
    const fb_stage5_conv *c = block_convs(s, bi);
    int o = fb_stage5_out_side(s), f = s->width;
    size_t cells = (size_t)n * o * o;
    relu_backward(d_out, wk->out[bi], cells * 4 * f);   /* now by the sum conv2c + shortcut */
    memset(wk->d_a2, 0, cells * f * sizeof(float));
    conv_backward(wk->d_a2, grad, d_out, wk->a2[bi], &c[2], s->params, n, o, wk->cols);
    if (bi == 0) conv_backward(dx, grad, d_out, x, &c[3], s->params, n, side, wk->cols);
    else if (dx)
        for (size_t i = 0; i < cells * 4 * f; i++) dx[i] += d_out[i];
    relu_backward(wk->d_a2, wk->a2[bi], cells * f);
    memset(wk->d_a1, 0, cells * f * sizeof(float));
    conv_backward(wk->d_a1, grad, wk->d_a2, wk->a1[bi], &c[1], s->params, n, o, wk->cols);
    relu_backward(wk->d_a1, wk->a1[bi], cells * f);
    conv_backward(dx, grad, wk->d_a1, x, &c[0], s->params, n, side, wk->cols);
}

/* ------------------------------------------------------------ stage */

void fb_stage5_forward(const fb_stage5 *s, fb_stage5_work *wk, const float *x, int n, float *features,
                       float *spatial)
{
    int o = fb_stage5_out_side(s), ch = fb_stage5_channels(s);
    block_forward(s, wk, 0, x, n, s->side);            /* [n][side][side][cin] -> [n][o][o][4f] */
    block_forward(s, wk, 1, wk->out[0], n, o);         /* [n][o][o][4f] */
    block_forward(s, wk, 2, wk->out[1], n, o);         /* [n][o][o][4f] */
    if (features) pool_forward(features, wk->out[2], n, o * o, ch);   /* [n][4f] */
    if (spatial) memcpy(spatial, wk->out[2], (size_t)n * o * o * ch * sizeof(float));
}

void fb_stage5_backward(const fb_stage5 *s, fb_stage5_work *wk, const float *x, int n,
                        const float *dfeatures, float *grad, float *dx)
{
    int o = fb_stage5_out_side(s), ch = fb_stage5_channels(s);
    size_t map = (size_t)n * o * o * ch;
    pool_backward(wk->d_out, dfeatures, n, o * o, ch);
    for (int bi = 2; bi >= 0; bi--) {
        float *d_in = bi > 0 ? wk->d_x : dx;
        if (bi > 0) memset(wk->d_x, 0, map * sizeof(float));
        block_backward(s, wk, bi, bi > 0 ? wk->out[bi - 1] : x, n, bi > 0 ? o : s->side, wk->d_out, grad,
                       d_in);
        if (bi > 0) {   /* this block's input gradient is the previous block's output gradient */
            float *t = wk->d_out;
            wk->d_out = wk->d_x;
            wk->d_x = t;
        }
    }
}
