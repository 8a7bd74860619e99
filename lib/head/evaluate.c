/* Applying a trained head: mean loss and accuracy on rows of a feature set
 * (validation, a held-out fold), the probabilities of every record
 * (fb-predict, fb-eval), and a scored report against labels (fb-eval). */
#include "fb/head.h"
#include "model.h"
#include "fb/stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
            correct += fb_argmax(p, h->nclasses) == y[b];
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

int fb_head_predict_all(fb_head *h, const fb_featset *ds, float **probs, char *err, size_t errlen)
{
    *probs = NULL;
    if (ds->dim != h->in_dim) {
        snprintf(err, errlen, "%d features per record, the head takes %d", ds->dim, h->in_dim);
        return -1;
    }
    fb_head_work w;
    float *p = malloc((ds->n ? ds->n : 1) * h->nclasses * sizeof(float));
    /* normalised a chunk at a time: the stream stays as read */
    const size_t chunk = 1024;
    float *x = malloc(chunk * h->in_dim * sizeof(float));
    if (!p || !x || fb_head_work_init(&w, h, 256) != 0) {
        free(p);
        free(x);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < ds->n; i += chunk) {
        size_t m = ds->n - i < chunk ? ds->n - i : chunk;
        memcpy(x, ds->x + i * ds->dim, m * h->in_dim * sizeof(float));
        fb_head_normalise(h, x, m);
        fb_head_predict(h, &w, x, m, p + i * h->nclasses);
    }
    fb_head_work_free(&w);
    free(x);
    /* Finite features and weights can still overflow (features far larger
     * than any the head was trained on): a NaN probability is never handed
     * on to be printed as a prediction. */
    size_t total = ds->n * h->nclasses, k = fb_first_nonfinite(p, total);
    if (k < total) {
        size_t r = k / h->nclasses;
        snprintf(err, errlen, "record %zu (%s): the head's probabilities are not finite numbers "
                 "(features far outside those it was trained on?)", r + 1,
                 ds->ids && ds->ids[r] ? ds->ids[r] : "no id");
        free(p);
        return -1;
    }
    *probs = p;
    return 0;
}

/* Record j is a variant of photo record i: fb-prep wrote it after i with
 * i's label and group and the id "<i's id>#...". */
static int is_variant_of(const fb_featset *ds, size_t i, size_t j)
{
    if (!ds->group || ds->group[i] == 0 || ds->group[j] != ds->group[i] || ds->y[j] != ds->y[i])
        return 0;
    size_t len = strlen(ds->ids[i]);
    return strncmp(ds->ids[j], ds->ids[i], len) == 0 && ds->ids[j][len] == '#';
}

size_t fb_featset_merge_variants(fb_featset *ds, float *probs, int k)
{
    size_t out = 0, merged = 0;
    for (size_t i = 0; i < ds->n;) {
        size_t end = i + 1;
        while (end < ds->n && is_variant_of(ds, i, end)) end++;
        /* mean in double, the photo first: the same sum whatever the run's length */
        for (int c = 0; c < k; c++) {
            double sum = 0;
            for (size_t j = i; j < end; j++) sum += probs[j * k + c];
            probs[out * k + c] = (float)(sum / (double)(end - i));
        }
        for (size_t j = i + 1; j < end; j++) free(ds->ids[j]);
        if (out != i) {
            memmove(ds->x + out * ds->dim, ds->x + i * ds->dim, ds->dim * sizeof(float));
            ds->y[out] = ds->y[i];
            ds->ids[out] = ds->ids[i];
            ds->group[out] = ds->group[i];
        }
        merged += end - i - 1;
        out++;
        i = end;
    }
    ds->n = out;
    return merged;
}

/* Most confident mistake first; equal confidence in stream order. */
static int by_confidence(const void *a, const void *b)
{
    const fb_mistake *x = a, *y = b;
    if (x->prob != y->prob) return x->prob < y->prob ? 1 : -1;
    return x->row < y->row ? -1 : x->row > y->row;
}

int fb_score_init(fb_score *s, const fb_head *h, const fb_featset *ds, const float *probs,
                  char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    int *to_head = malloc(((size_t)ds->nclasses + 1) * sizeof(int));
    s->unknown = calloc((size_t)ds->nclasses + 1, sizeof(size_t));
    s->mistakes = malloc((ds->n ? ds->n : 1) * sizeof(fb_mistake));
    int rc = to_head && s->unknown && s->mistakes && fb_metrics_init(&s->m, h->nclasses) == 0
             ? 0 : -1;
    if (rc == 0) fb_class_map(ds->classes, ds->nclasses, h->classes, h->nclasses, to_head);
    for (size_t i = 0; rc == 0 && i < ds->n; i++) {
        if (ds->y[i] < 0) { s->unlabelled++; continue; }
        int truth = to_head[ds->y[i]];
        if (truth < 0) { s->unknown[ds->y[i]]++; s->unknown_total++; continue; }
        const float *p = probs + i * h->nclasses;
        int pred = fb_metrics_add_pred(&s->m, truth, p, fb_head_decide(h, p));
        if (pred < 0) rc = -1;
        else if (pred != truth) s->mistakes[s->nmistakes++] = (fb_mistake){ i, truth, pred, p[pred] };
    }
    free(to_head);
    if (rc) {
        fb_score_free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    qsort(s->mistakes, s->nmistakes, sizeof *s->mistakes, by_confidence);
    return 0;
}

void fb_score_free(fb_score *s)
{
    fb_metrics_free(&s->m);
    free(s->mistakes);
    free(s->unknown);
    memset(s, 0, sizeof *s);
}

int fb_score_positive(const fb_head *h, const fb_featset *ds, const float *probs, int positive,
                      fb_binary_report *b)
{
    memset(b, 0, sizeof *b);
    b->positive = positive;
    int *to_head = malloc(((size_t)ds->nclasses + 1) * sizeof(int));
    float *score = malloc((ds->n ? ds->n : 1) * sizeof(float));
    unsigned char *is_pos = malloc(ds->n ? ds->n : 1);
    if (!to_head || !score || !is_pos) {
        free(to_head); free(score); free(is_pos);
        return -1;
    }
    fb_class_map(ds->classes, ds->nclasses, h->classes, h->nclasses, to_head);
    size_t m = 0;
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->y[i] < 0 || to_head[ds->y[i]] < 0) continue;
        const float *p = probs + i * h->nclasses;
        int truth = to_head[ds->y[i]] == positive, said = fb_head_decide(h, p) == positive;
        b->tp += truth && said;
        b->fn += truth && !said;
        b->fp += !truth && said;
        b->tn += !truth && !said;
        score[m] = p[positive];
        is_pos[m++] = (unsigned char)truth;
    }
    b->auc = fb_roc_auc(score, is_pos, m);
    b->precision = b->tp + b->fp ? (double)b->tp / (b->tp + b->fp) : NAN;
    b->recall = b->tp + b->fn ? (double)b->tp / (b->tp + b->fn) : NAN;
    b->specificity = b->tn + b->fp ? (double)b->tn / (b->tn + b->fp) : NAN;
    b->f1 = b->tp ? 2.0 * b->tp / (2.0 * b->tp + b->fp + b->fn) : (b->tp + b->fn ? 0 : NAN);
    free(to_head); free(score); free(is_pos);
    return 0;
}
