/* fb-eval's measure of the unknown test (fb/head.h): which in-class records
 * and which outsiders the cut rejects, and the trade-off as the cut moves. */
#include "fb/head.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void fb_unknown_score_free(fb_unknown_score *u)
{
    free(u->out_as);
    free(u->in_d);
    free(u->out_d);
    memset(u, 0, sizeof *u);
}

int fb_unknown_score_run(fb_unknown_score *u, const fb_head *h, double cut, double rate,
                         const fb_featset *ds, const double *dist, const float *probs,
                         const fb_featset *extra, const double *dx, const float *px)
{
    memset(u, 0, sizeof *u);
    size_t n = ds->n + (extra ? extra->n : 0);
    u->cut = cut;
    u->rate = rate;
    u->out_as = calloc((size_t)h->nclasses, sizeof *u->out_as);
    u->in_d = malloc((n ? n : 1) * sizeof *u->in_d);
    u->out_d = malloc((n ? n : 1) * sizeof *u->out_d);
    if (!u->out_as || !u->in_d || !u->out_d) {
        fb_unknown_score_free(u);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int from_stream = i < ds->n;
        size_t row = from_stream ? i : i - ds->n;
        double d = from_stream ? dist[row] : dx[row];
        const float *p = from_stream ? probs + row * h->nclasses : px + row * h->nclasses;
        int truth = -1, rejected = d > cut, pred = fb_head_decide(h, p);
        if (from_stream) {
            if (ds->y[row] < 0) continue;   /* unlabelled: neither */
            truth = fb_class_index(h->classes, h->nclasses, ds->classes[ds->y[row]]);
        }
        if (truth >= 0) {
            u->in_d[u->in_n++] = d;
            u->in_rejected += rejected;
            u->in_accepted_right += !rejected && pred == truth;
        } else {
            u->out_d[u->out_n++] = d;
            u->out_rejected += rejected;
            if (!rejected) u->out_as[pred]++;
        }
    }
    qsort(u->in_d, u->in_n, sizeof *u->in_d, cmp_double);
    qsort(u->out_d, u->out_n, sizeof *u->out_d, cmp_double);
    return 0;
}

/* How many of the sorted v[0..n) are above cut. */
static size_t above(const double *v, size_t n, double cut)
{
    size_t lo = 0, hi = n;    /* first v > cut */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] <= cut) lo = mid + 1;
        else hi = mid;
    }
    return n - lo;
}

double *fb_unknown_curve(const fb_unknown_score *u, size_t *m)
{
    size_t nin = u->in_n, nout = u->out_n, k = 0;
    double *cuts = malloc((nin + nout + 1) * sizeof *cuts);
    double *rows = malloc(3 * (nin + nout + 1) * sizeof *rows);
    if (!cuts || !rows) {
        free(cuts);
        free(rows);
        return NULL;
    }
    cuts[k++] = 0;
    memcpy(cuts + k, u->in_d, nin * sizeof *cuts);
    memcpy(cuts + k + nin, u->out_d, nout * sizeof *cuts);
    k += nin + nout;
    qsort(cuts, k, sizeof *cuts, cmp_double);
    *m = 0;
    for (size_t i = 0; i < k; i++) {
        if (i && cuts[i] == cuts[i - 1]) continue;
        double *r = rows + 3 * *m;
        r[0] = cuts[i];
        r[1] = nin ? (double)above(u->in_d, nin, cuts[i]) / nin : NAN;
        r[2] = nout ? (double)above(u->out_d, nout, cuts[i]) / nout : NAN;
        (*m)++;
    }
    free(cuts);
    return rows;
}
