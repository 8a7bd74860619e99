/* Fine-tuning ResNet50's stage 5 together with a linear head, on stage-4
 * maps (fb/head.h, "fine-tuning stage 5").  The stage's layers are
 * lib/backbone/stage5.c; here: reading stage-4 streams (kept in memory, or
 * re-read from the file each pass when they do not fit), the head's loss
 * and its backward through the normalisation, and the epochs. */
#include "fb/head.h"
#include "fb/stream.h"
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

enum { MAP = FB_STAGE4_SIZE, READ_BATCH = 8 };

/* ------------------------------------------------------------ streams */

struct fb_maps {
    size_t n;
    float *x;                     /* in memory: [n][MAP]; NULL: streamed */
    FILE *f;                      /* streamed: re-read from `start` each pass */
    off_t start;
    char *name;
    size_t chunk;                 /* streamed: records held at once */
};

int fb_stage4_check(const fb_header *h, const char *name, char *err, size_t errlen)
{
    if (h->dtype == FB_F32 && h->rank == 3 && h->dims[0] == FB_STAGE4_SIDE && h->dims[1] == FB_STAGE4_SIDE &&
        h->dims[2] == FB_STAGE4_CHANNELS)
        return 0;
    if (h->dtype == FB_F32 && h->rank == 1)
        snprintf(err, errlen, "%s: feature vectors (float32 %u); a fine-tuned head reads stage 4's maps: make "
                 "them with `fb-feat --layer stage4`", name, h->dims[0]);
    else
        snprintf(err, errlen, "%s: records are %s of rank %d; a fine-tuned head reads stage 4's float32 "
                 "14x14x1024 maps (`fb-feat --layer stage4`)", name, fb_dtype_name(h->dtype), h->rank);
    return -1;
}

void fb_maps_free(fb_maps *m)
{
    if (!m) return;
    free(m->x);
    free(m->name);
    free(m);
}

size_t fb_maps_count(const fb_maps *m) { return m->n; }
int fb_maps_streamed(const fb_maps *m) { return m->x == NULL; }

/* Appends one record's id, label and group to ds (x grows by ds->dim). */
static int featset_append(fb_featset *ds, const fb_record *rec)
{
    if (ds->n == ds->cap && fb_featset_grow(ds) != 0) return -1;
    if (!(ds->ids[ds->n] = strdup(rec->id ? rec->id : ""))) return -1;
    ds->y[ds->n] = rec->label;
    ds->group[ds->n] = rec->group;
    ds->n++;
    return 0;
}

static int take_header(fb_featset *ds, const fb_header *h)
{
    ds->nclasses = h->nclasses;
    ds->classes = calloc((size_t)h->nclasses + 1, sizeof(char *));
    ds->provenance = strdup(h->provenance ? h->provenance : "");
    if (!ds->classes || !ds->provenance) return -1;
    for (int c = 0; c < h->nclasses; c++)
        if (!(ds->classes[c] = strdup(h->classes[c]))) return -1;
    return 0;
}

int fb_maps_read(fb_featset *ds, FILE *f, const char *name, const fb_stage5 *s5, size_t max_bytes,
                 fb_maps **keep, char *err, size_t errlen)
{
    memset(ds, 0, sizeof *ds);
    if (keep) *keep = NULL;
    off_t start = keep ? ftello(f) : -1;
    fb_reader *r = fb_reader_open(f, name, err, errlen);
    if (!r) return -1;
    if (fb_stage4_check(fb_reader_header(r), name, err, errlen) != 0) {
        fb_reader_close(r);
        return -1;
    }
    int ch = fb_stage5_channels(s5);
    ds->dim = ch;
    size_t fit = max_bytes / (MAP * sizeof(float));   /* records that fit in memory */
    fb_maps *m = keep ? calloc(1, sizeof *m) : NULL;
    float *batch = malloc((size_t)READ_BATCH * MAP * sizeof(float));
    fb_stage5_work *wk = fb_stage5_work_new(s5, READ_BATCH);
    int rc = -1, nb = 0, got;
    size_t cap = 0;
    fb_record rec;
    if ((keep && !m) || !batch || !wk) goto oom;
    while ((got = fb_reader_next(r, &rec)) == 1) {
        if (featset_append(ds, &rec) != 0) goto oom;
        memcpy(batch + (size_t)nb * MAP, rec.data, MAP * sizeof(float));
        if (m && ds->n <= fit) {   /* in memory while it fits */
            if (ds->n > cap) {
                size_t c = cap ? cap * 2 : 64;
                if (c > fit) c = fit;
                float *x = realloc(m->x, c * MAP * sizeof(float));
                if (!x) goto oom;
                m->x = x;
                cap = c;
            }
            memcpy(m->x + (ds->n - 1) * MAP, rec.data, MAP * sizeof(float));
        } else if (m && m->x) {    /* it does not: from the file each pass */
            free(m->x);
            m->x = NULL;
        }
        if (m && !m->x && start < 0) {
            snprintf(err, errlen, "%s: more stage-4 maps than fit in %zu MB (--max-memory), and it is not a "
                     "file that can be read again: give it as a file (< FILE) to stream it from disk",
                     name, max_bytes >> 20);
            goto fail;
        }
        if (++nb == READ_BATCH) {
            fb_stage5_forward(s5, wk, batch, nb, ds->x + (ds->n - nb) * ch, NULL);
            nb = 0;
        }
    }
    if (got < 0) {
        snprintf(err, errlen, "%s", fb_reader_error(r) ? fb_reader_error(r) : "read error");
        goto fail;
    }
    if (nb) fb_stage5_forward(s5, wk, batch, nb, ds->x + (ds->n - nb) * ch, NULL);
    if (take_header(ds, fb_reader_header(r)) != 0) goto oom;
    if (m) {
        m->n = ds->n;
        if (!m->x) {
            m->f = f;
            m->start = start;
            m->chunk = fit > READ_BATCH ? fit : READ_BATCH;
            if (!(m->name = strdup(name))) goto oom;
        }
        *keep = m;
        m = NULL;
    }
    rc = 0;
    goto fail;
oom:
    snprintf(err, errlen, "%s: out of memory after %zu records", name, ds->n);
fail:
    fb_reader_close(r);
    fb_stage5_work_free(wk);
    free(batch);
    fb_maps_free(m);
    if (rc) fb_featset_free(ds);
    return rc;
}

/* Calls fn on every record's map in stream order, a chunk at a time:
 * x [count][MAP] holds records first .. first+count-1.  In memory: one call. */
typedef int (*chunk_fn)(void *ctx, const float *x, size_t first, size_t count);

static int maps_pass(fb_maps *m, chunk_fn fn, void *ctx, char *err, size_t errlen)
{
    if (m->x) return fn(ctx, m->x, 0, m->n);
    if (fseeko(m->f, m->start, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: cannot read the stage-4 maps again (seek failed)", m->name);
        return -1;
    }
    fb_reader *r = fb_reader_open(m->f, m->name, err, errlen);
    if (!r) return -1;
    float *buf = malloc(m->chunk * MAP * sizeof(float));
    if (!buf) {
        fb_reader_close(r);
        snprintf(err, errlen, "out of memory for %zu stage-4 maps", m->chunk);
        return -1;
    }
    size_t row = 0, held = 0;
    fb_record rec;
    int got, rc = 0;
    while (rc == 0 && (got = fb_reader_next(r, &rec)) == 1 && row + held < m->n) {
        memcpy(buf + held * MAP, rec.data, MAP * sizeof(float));
        if (++held == m->chunk) {
            rc = fn(ctx, buf, row, held);
            row += held;
            held = 0;
        }
    }
    if (rc == 0 && held) rc = fn(ctx, buf, row, held);
    if (rc == 0 && row + held != m->n) {
        snprintf(err, errlen, "%s: the stream changed while training (%zu records, was %zu)", m->name,
                 row + held, m->n);
        rc = -1;
    }
    fb_reader_close(r);
    free(buf);
    return rc;
}

/* ------------------------------------------------- the head, backward */

/* Linear head with its normalisation (l2 and/or std), on raw pooled
 * features: feat [n][D] -> the class-weighted mean cross-entropy.  With
 * dfeat: dfeat [n][D] = dL/dfeat (overwritten) and gparams [nparams] +=
 * dL/d(W, b).  *correct += records fb_head_decide gets right. */
double fb_finetune_head_loss(const fb_head *h, const float *feat, const int *y, const float *cw, int n,
                             float *dfeat, float *gparams, size_t *correct)
{
    int D = h->in_dim, C = h->nclasses;
    fb_head_block blk = fb_head_block_at(h, 0, h->params);
    fb_head_block gb = gparams ? fb_head_block_at(h, 0, gparams) : blk;
    float *z = malloc((size_t)D * sizeof *z), *zl2 = malloc((size_t)D * sizeof *zl2);
    float *p = malloc((size_t)C * sizeof *p), *dz = malloc((size_t)D * sizeof *dz);
    double loss = 0;
    if (!z || !zl2 || !p || !dz) {
        loss = NAN;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const float *x = feat + (size_t)i * D;
        /* z = std(l2(x)) */
        double ss = 0;
        for (int j = 0; j < D; j++) ss += (double)x[j] * x[j];
        double norm = (h->norm & FB_NORM_L2) && ss > 0 ? sqrt(ss) : 1;
        for (int j = 0; j < D; j++) zl2[j] = (float)(x[j] / norm);
        for (int j = 0; j < D; j++)
            z[j] = h->norm & FB_NORM_STD ? (zl2[j] - h->norm_mean[j]) * h->norm_inv_std[j] : zl2[j];
        /* logits = z W + b, softmax (max subtracted) */
        for (int c = 0; c < C; c++) p[c] = blk.b[c];
        for (int j = 0; j < D; j++)
            for (int c = 0; c < C; c++) p[c] += z[j] * blk.w[(size_t)j * C + c];
        float mx = p[0];
        for (int c = 1; c < C; c++) mx = p[c] > mx ? p[c] : mx;
        double sum = 0;
        for (int c = 0; c < C; c++) sum += exp((double)p[c] - mx);
        for (int c = 0; c < C; c++) p[c] = (float)(exp((double)p[c] - mx) / sum);
        double w = cw ? cw[y[i]] : 1;
        loss += w * -log(fmax((double)p[y[i]], 1e-30)) / n;
        if (correct) *correct += fb_head_decide(h, p) == y[i];
        if (!dfeat) continue;
        /* dlogits = w (p - onehot) / n */
        for (int c = 0; c < C; c++) p[c] = (float)(w * (p[c] - (c == y[i])) / n);
        for (int c = 0; c < C; c++) gb.b[c] += p[c];
        for (int j = 0; j < D; j++) {
            double d = 0;
            for (int c = 0; c < C; c++) {
                gb.w[(size_t)j * C + c] += z[j] * p[c];
                d += (double)blk.w[(size_t)j * C + c] * p[c];
            }
            dz[j] = (float)(h->norm & FB_NORM_STD ? d * h->norm_inv_std[j] : d);
        }
        /* l2 backward: dx = (dz - zl2 (zl2 . dz)) / |x| */
        float *dx = dfeat + (size_t)i * D;
        if ((h->norm & FB_NORM_L2) && ss > 0) {
            double dot = 0;
            for (int j = 0; j < D; j++) dot += (double)zl2[j] * dz[j];
            for (int j = 0; j < D; j++) dx[j] = (float)((dz[j] - zl2[j] * dot) / norm);
        } else {
            memcpy(dx, dz, (size_t)D * sizeof *dx);
        }
    }
done:
    free(z); free(zl2); free(p); free(dz);
    return loss;
}

/* ------------------------------------------------------------ training */

void fb_finetune_opts_default(fb_finetune_opts *o)
{
    memset(o, 0, sizeof *o);
    o->head_lr = 1e-3;
    o->stage_lr = 1e-4;
    o->batch = 16;
    o->epochs = 5;
    o->patience = 2;
    o->seed = 1;
    o->norm = FB_NORM_L2;
    fb_solve_opts_default(&o->solve);
}

typedef struct {
    fb_head *h;
    fb_stage5 *s5;
    fb_stage5_work *wk;
    const fb_finetune_opts *o;
    const fb_featset *labels;     /* y per stream record (head classes), -1: not used */
    const unsigned char *use;     /* [n]: the rows this pass trains on or scores */
    fb_rng rng;
    int training;
    float *xb, *feat, *dfeat;     /* [B][MAP], [B][D], [B][D] */
    int *yb;
    size_t *order;                /* a chunk's usable rows */
    /* Adam: gradient, first and second moments, for the stage and the head */
    float *g5, *m5, *v5, *gh, *mh, *vh;
    long t;
    double loss_sum;
    size_t seen, correct;
    int failed;
} ft;

static void adam(float *w, const float *g, float *m, float *v, size_t n, double lr, long t)
{
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    float lr_t = (float)(lr * sqrt(1 - pow(b2, (double)t)) / (1 - pow(b1, (double)t)));
    for (size_t i = 0; i < n; i++) {
        m[i] = (float)(b1 * m[i] + (1 - b1) * g[i]);
        v[i] = (float)(b2 * v[i] + (1 - b2) * (double)g[i] * g[i]);
        w[i] -= lr_t * m[i] / (sqrtf(v[i]) + (float)eps);
    }
}

/* One minibatch: forward, and when training backward and the update. */
static void batch_step(ft *s, int nb)
{
    const fb_finetune_opts *o = s->o;
    fb_stage5_forward(s->s5, s->wk, s->xb, nb, s->feat, NULL);
    if (!s->training) {
        s->loss_sum += fb_finetune_head_loss(s->h, s->feat, s->yb, NULL, nb, NULL, NULL, &s->correct) * nb;
        s->seen += nb;
        return;
    }
    memset(s->gh, 0, s->h->nparams * sizeof(float));
    double loss = fb_finetune_head_loss(s->h, s->feat, s->yb, o->class_weight, nb, s->dfeat, s->gh, &s->correct);
    s->loss_sum += loss * nb;
    s->seen += nb;
    memset(s->g5, 0, s->s5->nparams * sizeof(float));
    fb_stage5_backward(s->s5, s->wk, s->xb, nb, s->dfeat, s->g5, NULL);
    s->t++;
    adam(s->h->params, s->gh, s->mh, s->vh, s->h->nparams, o->head_lr, s->t);
    adam(s->s5->params, s->g5, s->m5, s->v5, s->s5->nparams, o->stage_lr, s->t);
}

/* A chunk of maps: its usable rows (shuffled when training) in minibatches. */
static int chunk_step(void *ctx, const float *x, size_t first, size_t count)
{
    ft *s = ctx;
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (s->use[first + i]) s->order[k++] = i;
    if (s->training) fb_rng_shuffle(&s->rng, s->order, k, sizeof *s->order);
    int B = s->o->batch;
    for (size_t i = 0; i < k; i += B) {
        int nb = k - i < (size_t)B ? (int)(k - i) : B;
        for (int b = 0; b < nb; b++) {
            size_t r = s->order[i + b];
            memcpy(s->xb + (size_t)b * MAP, x + r * MAP, MAP * sizeof(float));
            s->yb[b] = s->labels->y[first + r];
        }
        batch_step(s, nb);
    }
    return 0;
}

/* Marks rows[0..n) of a set of total records. */
static unsigned char *row_mask(const size_t *rows, size_t n, size_t total)
{
    unsigned char *m = calloc(total ? total : 1, 1);
    if (m)
        for (size_t i = 0; i < n; i++) m[rows[i]] = 1;
    return m;
}

static size_t max_chunk(const fb_maps *a, const fb_maps *b)
{
    size_t ca = a->x ? a->n : a->chunk, cb = b && (b->x ? b->n : b->chunk) > ca ? (b->x ? b->n : b->chunk) : ca;
    return cb ? cb : 1;
}

int fb_finetune(fb_head *h, fb_maps *train, const fb_featset *tlab, const size_t *rows, size_t n,
                fb_maps *val, const fb_featset *vlab, const size_t *vrows, size_t nv,
                const fb_finetune_opts *o, fb_train_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (h->nhidden != 0 || !h->stage5.params || (h->norm & FB_NORM_SQRT)) {
        snprintf(err, errlen, "fine-tuning needs a linear head with its stage 5, normalised by l2 and/or std "
                 "only");
        return -1;
    }
    int B = o->batch, D = h->in_dim;
    fb_stage5 *s5 = &h->stage5;
    ft s;
    memset(&s, 0, sizeof s);
    s.h = h;
    s.s5 = s5;
    s.wk = fb_stage5_work_new(s5, B);
    s.o = o;
    fb_rng_seed(&s.rng, o->seed);
    size_t np5 = s5->nparams, nph = h->nparams;
    s.xb = malloc((size_t)B * MAP * sizeof(float));
    s.feat = malloc((size_t)B * D * sizeof(float));
    s.dfeat = malloc((size_t)B * D * sizeof(float));
    s.yb = malloc((size_t)B * sizeof(int));
    s.order = malloc(max_chunk(train, nv ? val : NULL) * sizeof(size_t));
    s.g5 = malloc(np5 * sizeof(float));
    s.m5 = calloc(np5, sizeof(float));
    s.v5 = calloc(np5, sizeof(float));
    s.gh = malloc(nph * sizeof(float));
    s.mh = calloc(nph, sizeof(float));
    s.vh = calloc(nph, sizeof(float));
    unsigned char *tuse = row_mask(rows, n, fb_maps_count(train));
    unsigned char *vuse = nv ? row_mask(vrows, nv, fb_maps_count(val)) : NULL;
    float *best5 = nv ? malloc(np5 * sizeof(float)) : NULL, *besth = nv ? malloc(nph * sizeof(float)) : NULL;
    int rc = -1;
    if (!s.wk || !s.xb || !s.feat || !s.dfeat || !s.yb || !s.order || !s.g5 || !s.m5 || !s.v5 || !s.gh ||
        !s.mh || !s.vh || !tuse || (nv && (!vuse || !best5 || !besth))) {
        snprintf(err, errlen, "out of memory for fine-tuning (the stage's weights, gradient and Adam's "
                 "moments take %zu MB)", (np5 * 5 * sizeof(float)) >> 20);
        goto done;
    }
    double t_start = fb_now();
    int since_best = 0;
    res->best_val_loss = INFINITY;
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        double t0 = fb_now();
        s.training = 1;
        s.labels = tlab;
        s.use = tuse;
        s.loss_sum = 0;
        s.seen = s.correct = 0;
        if (maps_pass(train, chunk_step, &s, err, errlen) != 0) goto done;
        res->train_loss = s.seen ? s.loss_sum / s.seen : NAN;
        res->train_acc = s.seen ? (double)s.correct / s.seen : NAN;
        res->epochs_run = epoch;
        if (nv) {
            s.training = 0;
            s.labels = vlab;
            s.use = vuse;
            s.loss_sum = 0;
            s.seen = s.correct = 0;
            if (maps_pass(val, chunk_step, &s, err, errlen) != 0) goto done;
            res->val_loss = s.loss_sum / s.seen;
            res->val_acc = (double)s.correct / s.seen;
            if (res->val_loss < res->best_val_loss) {   /* strictly: ties keep the earlier epoch */
                res->best_val_loss = res->val_loss;
                res->best_epoch = epoch;
                memcpy(best5, s5->params, np5 * sizeof(float));
                memcpy(besth, h->params, nph * sizeof(float));
                since_best = 0;
            } else {
                since_best++;
            }
        }
        if (o->on_epoch) {
            fb_epoch e = {epoch, o->epochs, res->train_loss, res->train_acc, nv > 0, res->val_loss,
                          res->val_acc, fb_now() - t0};
            o->on_epoch(o->ctx, &e);
        }
        if (nv && o->patience > 0 && since_best >= o->patience) {
            res->stopped_early = 1;
            break;
        }
    }
    if (nv && res->best_epoch > 0) {
        memcpy(s5->params, best5, np5 * sizeof(float));
        memcpy(h->params, besth, nph * sizeof(float));
    }
    res->seconds = fb_now() - t_start;
    rc = 0;
done:
    fb_stage5_work_free(s.wk);
    free(s.xb); free(s.feat); free(s.dfeat); free(s.yb); free(s.order);
    free(s.g5); free(s.m5); free(s.v5); free(s.gh); free(s.mh); free(s.vh);
    free(tuse); free(vuse); free(best5); free(besth);
    return rc;
}

/* ------------------------------------------------ features of a stage */

typedef struct {
    const fb_stage5 *s5;
    fb_stage5_work *wk;
    float *out;                   /* [n][4f] */
} feat_pass;

static int chunk_features(void *ctx, const float *x, size_t first, size_t count)
{
    feat_pass *p = ctx;
    int ch = fb_stage5_channels(p->s5);
    for (size_t i = 0; i < count; i += READ_BATCH) {
        int nb = count - i < READ_BATCH ? (int)(count - i) : READ_BATCH;
        fb_stage5_forward(p->s5, p->wk, x + i * MAP, nb, p->out + (first + i) * ch, NULL);
    }
    return 0;
}

int fb_maps_features(fb_maps *m, const fb_stage5 *s5, float *out, char *err, size_t errlen)
{
    feat_pass p = {s5, fb_stage5_work_new(s5, READ_BATCH), out};
    if (!p.wk) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = maps_pass(m, chunk_features, &p, err, errlen);
    fb_stage5_work_free(p.wk);
    return rc;
}

/* ------------------------------------------------------------ the sequence */

int fb_finetune_head(fb_head *h, fb_stage5 *s5, fb_maps *tm, fb_featset *train, fb_maps *vm,
                     fb_featset *val, const size_t *vrows, size_t nv, const fb_finetune_opts *o,
                     fb_solve_result *sr, fb_train_result *res, char *err, size_t errlen)
{
    /* the frozen phase: the solved head on the ImageNet stage's features */
    if (fb_head_init_normalised(h, train, nv ? val : NULL, 0, NULL, 0, o->seed, o->norm, err, errlen) != 0) {
        fb_stage5_free(s5);
        return -1;
    }
    fb_solve_opts so = o->solve;
    so.class_weight = o->class_weight;
    if (fb_head_solve(h, train, train->group, val, vrows, nv, &so, sr, err, errlen) != 0) {
        fb_stage5_free(s5);
        fb_head_free(h);
        return -1;
    }
    if (o->on_frozen) {
        fb_frozen f = { h, sr, nv > 0, 0, 0 };
        if (nv) fb_head_evaluate(h, val, vrows, nv, &f.val_loss, &f.val_acc);
        o->on_frozen(o->ctx, &f);
    }

    /* stage 5 and the head together */
    h->stage5 = *s5;
    memset(s5, 0, sizeof *s5);
    size_t *rows = malloc((train->n ? train->n : 1) * sizeof *rows);
    if (!rows) {
        snprintf(err, errlen, "out of memory");
        fb_head_free(h);
        return -1;
    }
    for (size_t i = 0; i < train->n; i++) rows[i] = i;
    int rc = fb_finetune(h, tm, train, rows, train->n, vm, val, vrows, nv, o, res, err, errlen);
    free(rows);

    /* the unknown test measures distances in the tuned stage's features */
    if (rc == 0 && (fb_maps_features(tm, &h->stage5, train->x, err, errlen) != 0 ||
                    (nv && fb_maps_features(vm, &h->stage5, val->x, err, errlen) != 0)))
        rc = -1;
    if (rc != 0) fb_head_free(h);
    return rc;
}

/* ------------------------------------------------------------ notes */

int fb_head_note_finetune(fb_head *h, const fb_finetune_opts *o, const char *class_weight, double C,
                          const fb_train_result *res, size_t n, size_t nv)
{
    char buf[300];
    char *notes = NULL;
    int bad = 0;
#define NOTE(key, fmt, val) do { snprintf(buf, sizeof buf, fmt, val); bad |= fb_prov_set(&notes, key, buf); } while (0)
    NOTE("head", "%s", "linear");
    NOTE("fine_tune", "%s", "stage5");
    NOTE("solved_C", "%g", C);
    NOTE("optimizer", "%s", "adam");
    NOTE("lr", "%g", o->head_lr);
    NOTE("stage_lr", "%g", o->stage_lr);
    NOTE("batch", "%d", o->batch);
    NOTE("epochs", "%d", o->epochs);
    NOTE("epochs_run", "%d", res->epochs_run);
#undef NOTE
    bad |= fb_head_note_result(&notes, h, class_weight, o->seed, res, n, nv);
    return fb_head_take_notes(h, notes, bad);
}
