/* Classification metrics (the metrics section of include/fb/head.h). */
#include "fb/head.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int fb_metrics_init(fb_metrics *m, int k)
{
    memset(m, 0, sizeof *m);
    m->k = k;
    m->confusion = calloc((size_t)k * k, sizeof(size_t));
    return m->confusion ? 0 : -1;
}

void fb_metrics_free(fb_metrics *m)
{
    free(m->confusion);
    free(m->score);
    free(m->positive);
    memset(m, 0, sizeof *m);
}

int fb_metrics_add(fb_metrics *m, int truth, const float *probs)
{
    return fb_metrics_add_pred(m, truth, probs, fb_argmax(probs, m->k));
}

int fb_metrics_add_pred(fb_metrics *m, int truth, const float *probs, int pred)
{
    if (m->k == 2) {
        if (m->n == m->cap) {
            size_t cap = m->cap ? m->cap * 2 : 256;
            float *s = realloc(m->score, cap * sizeof(float));
            if (s) m->score = s;
            unsigned char *p = realloc(m->positive, cap);
            if (p) m->positive = p;
            if (!s || !p) return -1;
            m->cap = cap;
        }
        m->score[m->n] = probs[1];
        m->positive[m->n] = truth == 1;
    }
    m->n++;
    m->correct += pred == truth;
    /* floor at the smallest positive float: a confident mistake costs ~87, not inf */
    double p = probs[truth] > 1e-38f ? probs[truth] : 1e-38;
    m->loss_sum += -log(p);
    m->confusion[(size_t)truth * m->k + pred]++;
    return pred;
}

double fb_metrics_accuracy(const fb_metrics *m) { return m->n ? (double)m->correct / m->n : NAN; }
double fb_metrics_mean_loss(const fb_metrics *m) { return m->n ? m->loss_sum / m->n : NAN; }

static size_t predicted_as(const fb_metrics *m, int c)
{
    size_t s = 0;
    for (int t = 0; t < m->k; t++) s += m->confusion[(size_t)t * m->k + c];
    return s;
}

static size_t truly(const fb_metrics *m, int c)
{
    size_t s = 0;
    for (int p = 0; p < m->k; p++) s += m->confusion[(size_t)c * m->k + p];
    return s;
}

double fb_metrics_precision(const fb_metrics *m, int c)
{
    size_t d = predicted_as(m, c);
    return d ? (double)m->confusion[(size_t)c * m->k + c] / d : NAN;
}

double fb_metrics_recall(const fb_metrics *m, int c)
{
    size_t d = truly(m, c);
    return d ? (double)m->confusion[(size_t)c * m->k + c] / d : NAN;
}

double fb_metrics_f1(const fb_metrics *m, int c)
{
    double p = fb_metrics_precision(m, c), r = fb_metrics_recall(m, c);
    if (isnan(r)) return NAN;
    if (isnan(p)) p = 0;   /* records of c exist, none predicted: F1 is 0 */
    return p + r > 0 ? 2 * p * r / (p + r) : 0;
}

static double macro(const fb_metrics *m, double (*f)(const fb_metrics *, int))
{
    double s = 0;
    int n = 0;
    for (int c = 0; c < m->k; c++) {
        double v = f(m, c);
        if (!isnan(v)) { s += v; n++; }
    }
    return n ? s / n : NAN;
}

double fb_metrics_macro_precision(const fb_metrics *m) { return macro(m, fb_metrics_precision); }
double fb_metrics_macro_recall(const fb_metrics *m) { return macro(m, fb_metrics_recall); }
double fb_metrics_macro_f1(const fb_metrics *m) { return macro(m, fb_metrics_f1); }

double fb_metrics_auc(const fb_metrics *m)
{
    return m->k == 2 ? fb_roc_auc(m->score, m->positive, m->n) : NAN;
}

typedef struct { float s; unsigned char pos; } scored;

/* A total order even with NaN (sorted last, all equal), as qsort needs. */
static int by_score(const void *a, const void *b)
{
    float x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
    return (x > y) - (x < y);
}

double fb_roc_auc(const float *score, const unsigned char *positive, size_t n)
{
    /* Mann-Whitney U from ranks; tied scores share their mean rank. */
    scored *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return NAN;
    size_t npos = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].s = score[i];
        v[i].pos = positive[i];
        npos += positive[i] != 0;
    }
    size_t nneg = n - npos;
    if (npos == 0 || nneg == 0) { free(v); return NAN; }
    qsort(v, n, sizeof *v, by_score);
    /* A NaN score has no rank: the area is undefined (NaNs sort last). */
    if (isnan(v[n - 1].s)) { free(v); return NAN; }
    double rank_sum = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j].s == v[i].s) j++;
        double mean_rank = (i + 1 + j) / 2.0;   /* ranks i+1..j */
        for (size_t t = i; t < j; t++) if (v[t].pos) rank_sum += mean_rank;
        i = j;
    }
    free(v);
    return (rank_sum - npos * (npos + 1) / 2.0) / ((double)npos * nneg);
}
