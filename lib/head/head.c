/* The classification head: architecture, parameters, head.bin, and the
 * minibatch forward/backward that chains the layers of lib/head/layers.c. */
#include "fb/head.h"
#include "layers.h"
#include "fb/util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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

static void count_sizes(const fb_head *h, size_t *nparams, size_t *nstats)
{
    *nparams = *nstats = 0;
    for (int l = 0; l <= h->nhidden; l++) {
        size_t in = block_in(h, l), out = block_out(h, l);
        *nparams += in * out + out + (l < h->nhidden ? 2 * out : 0);  /* W, b, gamma, beta */
        if (l < h->nhidden) *nstats += 2 * out;
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
    count_sizes(h, &h->nparams, &h->nstats);
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

int fb_head_class_index(const fb_head *h, const char *name)
{
    for (int i = 0; i < h->nclasses; i++)
        if (strcmp(h->classes[i], name) == 0) return i;
    return -1;
}

/* ------------------------------------------------------------ head.bin */

typedef struct { unsigned char *p; size_t len, cap; int oom; } outbuf;

static void put(outbuf *o, const void *src, size_t n)
{
    if (o->oom) return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n) cap *= 2;
        unsigned char *p = realloc(o->p, cap);
        if (!p) { o->oom = 1; return; }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, src, n);
    o->len += n;
}

/* x86-64 and aarch64 are little-endian, as the format; a big-endian port
 * would swap here. */
static void put_u32(outbuf *o, uint32_t v) { put(o, &v, 4); }
static void put_u64(outbuf *o, uint64_t v) { put(o, &v, 8); }
static void put_f32(outbuf *o, float v) { put(o, &v, 4); }
static void put_str(outbuf *o, const char *s)
{
    uint32_t n = (uint32_t)strlen(s ? s : "");
    put_u32(o, n);
    put(o, s ? s : "", n);
}

int fb_head_serialize(const fb_head *h, unsigned char **buf, size_t *len)
{
    outbuf o = { 0 };
    unsigned char zero[FB_HEAD_HEADER_SIZE] = { 0 };
    put(&o, zero, sizeof zero);
    put_u32(&o, (uint32_t)h->in_dim);
    put_u32(&o, (uint32_t)h->nclasses);
    put_u32(&o, (uint32_t)h->nhidden);
    for (int l = 0; l < h->nhidden; l++) put_u32(&o, (uint32_t)h->hidden[l]);
    put_f32(&o, h->dropout);
    put_f32(&o, h->bn_eps);
    put_f32(&o, h->bn_momentum);
    put_u64(&o, h->nparams);
    put_u64(&o, h->nstats);
    for (int i = 0; i < h->nclasses; i++) put_str(&o, h->classes[i]);
    put_str(&o, h->provenance);
    put_str(&o, h->training);
    put(&o, h->params, h->nparams * sizeof(float));
    put(&o, h->stats, h->nstats * sizeof(float));
    if (o.oom) { free(o.p); return -1; }

    uint64_t payload = o.len - FB_HEAD_HEADER_SIZE;
    uint32_t crc = (uint32_t)crc32(0L, o.p + FB_HEAD_HEADER_SIZE, (uInt)payload);
    uint32_t version = FB_HEAD_VERSION, hsize = FB_HEAD_HEADER_SIZE;
    memcpy(o.p, FB_HEAD_MAGIC, 8);
    memcpy(o.p + 8, &version, 4);
    memcpy(o.p + 12, &hsize, 4);
    memcpy(o.p + 16, &payload, 8);
    memcpy(o.p + 24, &crc, 4);
    *buf = o.p;
    *len = o.len;
    return 0;
}

typedef struct { const unsigned char *p; size_t len, pos; int bad; } inbuf;

static void get(inbuf *in, void *dst, size_t n)
{
    if (in->bad || n > in->len - in->pos) { in->bad = 1; memset(dst, 0, n); return; }
    memcpy(dst, in->p + in->pos, n);
    in->pos += n;
}
static uint32_t get_u32(inbuf *in) { uint32_t v; get(in, &v, 4); return v; }
static uint64_t get_u64(inbuf *in) { uint64_t v; get(in, &v, 8); return v; }
static float get_f32(inbuf *in) { float v; get(in, &v, 4); return v; }
static char *get_str(inbuf *in)
{
    uint32_t n = get_u32(in);
    if (in->bad || n > in->len - in->pos) { in->bad = 1; return NULL; }
    char *s = malloc((size_t)n + 1);
    if (!s) { in->bad = 1; return NULL; }
    memcpy(s, in->p + in->pos, n);
    s[n] = 0;
    in->pos += n;
    return s;
}

int fb_head_deserialize(fb_head *h, const unsigned char *buf, size_t len, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    if (len < FB_HEAD_HEADER_SIZE || memcmp(buf, FB_HEAD_MAGIC, 8) != 0) {
        snprintf(err, errlen, "not an fb head file (no 'fbhead' magic; was it written by fb-train?)");
        return -1;
    }
    uint32_t version, hsize, crc;
    uint64_t payload;
    memcpy(&version, buf + 8, 4);
    memcpy(&hsize, buf + 12, 4);
    memcpy(&payload, buf + 16, 8);
    memcpy(&crc, buf + 24, 4);
    if (version != FB_HEAD_VERSION) {
        snprintf(err, errlen, "head file version %u, this fb reads version %d (retrain with this fb-train)",
                 version, FB_HEAD_VERSION);
        return -1;
    }
    if (hsize != FB_HEAD_HEADER_SIZE || payload != len - FB_HEAD_HEADER_SIZE) {
        snprintf(err, errlen, "head file truncated or damaged: %zu payload bytes, header says %llu",
                 len - FB_HEAD_HEADER_SIZE, (unsigned long long)payload);
        return -1;
    }
    if ((uint32_t)crc32(0L, buf + FB_HEAD_HEADER_SIZE, (uInt)payload) != crc) {
        snprintf(err, errlen, "head file damaged: checksum mismatch");
        return -1;
    }
    inbuf in = { .p = buf + FB_HEAD_HEADER_SIZE, .len = payload };
    uint32_t in_dim = get_u32(&in), nclasses = get_u32(&in), nhidden = get_u32(&in);
    int hidden[FB_HEAD_MAX_HIDDEN];
    if (in.bad || in_dim < 1 || in_dim > (1u << 24) || nclasses < 2 || nclasses > (1u << 20) ||
        nhidden > FB_HEAD_MAX_HIDDEN) {
        snprintf(err, errlen, "head file damaged: impossible shape");
        return -1;
    }
    for (uint32_t l = 0; l < nhidden; l++) {
        uint32_t w = get_u32(&in);
        if (w < 1 || w > FB_HEAD_MAX_WIDTH) in.bad = 1;
        hidden[l] = (int)w;
    }
    float dropout = get_f32(&in), eps = get_f32(&in), momentum = get_f32(&in);
    uint64_t nparams = get_u64(&in), nstats = get_u64(&in);
    if (in.bad) {
        snprintf(err, errlen, "head file damaged: impossible shape");
        return -1;
    }
    /* class names are read into a temporary list first: init copies them */
    char **names = calloc(nclasses, sizeof *names);
    if (!names) { snprintf(err, errlen, "out of memory"); return -1; }
    for (uint32_t i = 0; i < nclasses && !in.bad; i++) names[i] = get_str(&in);
    char *prov = get_str(&in), *training = get_str(&in);
    int rc = -1;
    if (in.bad) {
        snprintf(err, errlen, "head file damaged: bad class table or provenance");
    } else if (fb_head_init(h, (int)in_dim, (int)nclasses, (const char *const *)names,
                            (int)nhidden, hidden, dropout, prov) != 0) {
        snprintf(err, errlen, "out of memory");
    } else if (h->nparams != nparams || h->nstats != nstats ||
               (nparams + nstats) * sizeof(float) != in.len - in.pos) {
        snprintf(err, errlen, "head file damaged: parameter count does not match the architecture");
        fb_head_free(h);
    } else {
        h->bn_eps = eps;
        h->bn_momentum = momentum;
        free(h->training);
        h->training = training;
        training = NULL;
        get(&in, h->params, nparams * sizeof(float));
        get(&in, h->stats, nstats * sizeof(float));
        rc = 0;
    }
    for (uint32_t i = 0; i < nclasses; i++) free(names[i]);
    free(names);
    free(prov);
    free(training);
    return rc;
}

int fb_head_save(const fb_head *h, const char *path, char *err, size_t errlen)
{
    unsigned char *buf;
    size_t len;
    if (fb_head_serialize(h, &buf, &len) != 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    int rc = fb_write_file_atomic(path, buf, len, err, errlen);
    free(buf);
    return rc;
}

int fb_head_load(fb_head *h, const char *path, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            unsigned char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s: out of memory", path);
                return -1;
            }
            buf = p;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int rd_err = ferror(f);
    fclose(f);
    if (rd_err) {
        free(buf);
        snprintf(err, errlen, "%s: read error", path);
        return -1;
    }
    char msg[256];
    int rc = fb_head_deserialize(h, buf, len, msg, sizeof msg);
    if (rc != 0) snprintf(err, errlen, "%s: %s", path, msg);
    free(buf);
    return rc;
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

/* ----------------------------------------------------------- provenance */

/* The keys that decide what a feature vector means (see man/fb-eval.1):
 * the backbone, its weights and output (fb-feat), and how a photo became the
 * backbone's input (fb-prep).  Other keys (tool versions, source lists,
 * splits) may differ between the training and the test stream. */
static int key_matters(const char *key)
{
    static const char *const keys[] = {
        "backbone", "weights_crc32", "feat_output",                       /* fb-feat */
        "resize", "size", "kernel", "background", "colour", "layout",     /* fb-prep */
        NULL
    };
    for (int i = 0; keys[i]; i++)
        if (strcmp(key, keys[i]) == 0) return 1;
    return 0;
}

/* Next "key=value" line of prov after *pos; key and value copied (truncated). */
static int next_kv(const char *prov, size_t *pos, char *key, size_t kn, char *val, size_t vn)
{
    while (prov[*pos]) {
        const char *line = prov + *pos, *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        *pos += len + (nl ? 1 : 0);
        const char *eq = memchr(line, '=', len);
        if (!eq) continue;
        size_t klen = (size_t)(eq - line), vlen = len - klen - 1;
        snprintf(key, kn, "%.*s", (int)klen, line);
        snprintf(val, vn, "%.*s", (int)vlen, eq + 1);
        return 1;
    }
    return 0;
}

static int prov_value(const char *prov, const char *key, char *val, size_t vn)
{
    size_t pos = 0;
    char k[256];
    while (next_kv(prov, &pos, k, sizeof k, val, vn))
        if (strcmp(k, key) == 0) return 1;
    return 0;
}

int fb_prov_compare(const char *trained, const char *stream, char *msg, size_t msglen)
{
    int ndiff = 0;
    size_t used = 0, pos = 0;
    char key[256], a[512], b[512];
    if (msglen) msg[0] = 0;
    trained = trained ? trained : "";
    stream = stream ? stream : "";
    /* keys the head knows: must be present in the stream with the same value */
    while (next_kv(trained, &pos, key, sizeof key, a, sizeof a)) {
        if (!key_matters(key)) continue;
        int have = prov_value(stream, key, b, sizeof b);
        if (have && strcmp(a, b) == 0) continue;
        ndiff++;
        if (used < msglen)
            used += snprintf(msg + used, msglen - used, "%s%s: trained on '%s', stream has %s%s%s",
                             ndiff > 1 ? "; " : "", key, a, have ? "'" : "", have ? b : "none",
                             have ? "'" : "");
    }
    /* keys only the stream has */
    pos = 0;
    while (next_kv(stream, &pos, key, sizeof key, b, sizeof b)) {
        if (!key_matters(key) || prov_value(trained, key, a, sizeof a)) continue;
        ndiff++;
        if (used < msglen)
            used += snprintf(msg + used, msglen - used, "%s%s: trained on none, stream has '%s'",
                             ndiff > 1 ? "; " : "", key, b);
    }
    return ndiff;
}
