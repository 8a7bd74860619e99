/* Rejection of records unlike every training photo: see reject.h. */
#include "reject.h"
#include "fb/core.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fb_reject_normalise(float *x, int d)
{
    double ss = 0;
    for (int j = 0; j < d; j++) {
        x[j] = x[j] > 0 ? sqrtf(x[j]) : 0;
        ss += (double)x[j] * x[j];
    }
    if (ss <= 0) return;
    float s = (float)(1 / sqrt(ss));
    for (int j = 0; j < d; j++) x[j] *= s;
}

/* The k-th largest of the similarities `sim[0..n)` whose index is not
 * `skip_self` and whose group is not `skip_group` (0: no group to skip).
 * top[] holds k floats, kept in descending order. */
static float kth_largest(const float *sim, size_t n, int k, size_t skip_self,
                         const uint32_t *group, uint32_t skip_group, float *top)
{
    int have = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == skip_self || (skip_group && group && group[i] == skip_group)) continue;
        float s = sim[i];
        if (have == k && s <= top[k - 1]) continue;
        int j = have < k ? have++ : k - 1;
        while (j > 0 && top[j - 1] < s) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = s;
    }
    /* Fewer than k others (tiny sets, large groups): the farthest one seen,
     * or no neighbour at all (distance 1: orthogonal). */
    return have == 0 ? 0.0f : top[have - 1];
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Which training rows to keep: all, or a seeded sample in input order. */
static size_t *choose_points(size_t n, uint64_t seed, size_t *kept)
{
    size_t m = n < FB_REJECT_MAX_POINTS ? n : FB_REJECT_MAX_POINTS;
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx) return NULL;
    for (size_t i = 0; i < n; i++) idx[i] = i;
    if (m < n) {
        fb_rng rng;
        fb_rng_seed(&rng, seed);
        fb_rng_shuffle(&rng, idx, n, sizeof *idx);
        qsort(idx, m, sizeof *idx, cmp_size);
    }
    *kept = m;
    return idx;
}

enum { BLOCK = 256 };

/* k-th nearest distances of m normalised queries q [m, d] to the stored
 * points, in blocks of rows so that the similarity matrix never needs
 * m x n floats.  self: query i is stored point i (left out, with its group);
 * else nothing is left out.  Into out[m], as float or double. */
static int kth_distances(const fb_reject *r, const float *q, size_t m, int self,
                         const uint32_t *group, float *outf, double *outd)
{
    size_t n = r->n;
    float *sim = malloc((size_t)BLOCK * n * sizeof *sim), *top = malloc(r->k * sizeof *top);
    if (!sim || !top) {
        free(sim);
        free(top);
        return -1;
    }
    for (size_t i0 = 0; i0 < m; i0 += BLOCK) {
        size_t rows = m - i0 < BLOCK ? m - i0 : BLOCK;
        /* sim[rows x n] = q[i0.., :] . points^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)n, r->d, 1.0f,
                    q + i0 * r->d, r->d, r->points, r->d, 0.0f, sim, (int)n);
        for (size_t i = 0; i < rows; i++) {
            size_t skip = self ? i0 + i : (size_t)-1;
            uint32_t g = self && group ? group[i0 + i] : 0;
            float dist = 1.0f - kth_largest(sim + i * n, n, r->k, skip, group, g, top);
            if (outf) outf[i0 + i] = dist;
            else outd[i0 + i] = dist;
        }
    }
    free(sim);
    free(top);
    return 0;
}

/* Held-out distances of the stored points, sorted. */
static int held_out_distances(fb_reject *r, const uint32_t *group)
{
    if (kth_distances(r, r->points, r->n, 1, group, r->loo, NULL)) return -1;
    qsort(r->loo, r->n, sizeof *r->loo, cmp_float);
    return 0;
}

int fb_reject_held_out(const fb_reject *r, const uint32_t *group, double *dist)
{
    return kth_distances(r, r->points, r->n, 1, group, NULL, dist);
}

int fb_reject_distances(const fb_reject *r, const float *x, size_t n, double *dist)
{
    float *q = malloc((n ? n : 1) * (size_t)r->d * sizeof *q);
    if (!q) return -1;
    if (n) memcpy(q, x, n * (size_t)r->d * sizeof *q);   /* x may be NULL when n is 0 */
    for (size_t i = 0; i < n; i++) fb_reject_normalise(q + i * r->d, r->d);
    int rc = kth_distances(r, q, n, 0, NULL, NULL, dist);
    free(q);
    return rc;
}

int fb_reject_fit(fb_reject *r, const float *x, size_t n, int d, const uint32_t *group, int k,
                  double rate, uint64_t seed, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (k < 1 || k > FB_REJECT_MAX_K || d < 1 || !(rate >= 0 && rate <= 1)) {
        snprintf(err, errlen, "rejection: k %d, dimension %d, rate %g out of range", k, d, rate);
        return -1;
    }
    if (n <= (size_t)k) {
        snprintf(err, errlen, "rejection needs more than %d training records (got %zu)", k, n);
        return -1;
    }
    size_t m = 0, *idx = choose_points(n, seed, &m);
    uint32_t *kept_group = group ? malloc(m * sizeof *kept_group) : NULL;
    r->points = malloc(m * (size_t)d * sizeof *r->points);
    r->loo = malloc(m * sizeof *r->loo);
    if (!idx || (group && !kept_group) || !r->points || !r->loo) goto oom;
    r->k = k;
    r->d = d;
    r->n = m;
    r->rate = (float)rate;
    for (size_t i = 0; i < m; i++) {
        memcpy(r->points + i * d, x + idx[i] * d, (size_t)d * sizeof *x);
        fb_reject_normalise(r->points + i * d, d);
        if (kept_group) kept_group[i] = group[idx[i]];
    }
    if (held_out_distances(r, kept_group)) goto oom;
    r->cut = fb_reject_cut_for_rate(r, rate);
    free(idx);
    free(kept_group);
    return 0;
oom:
    free(idx);
    free(kept_group);
    fb_reject_free(r);
    snprintf(err, errlen, "rejection: out of memory for %zu training records", n);
    return -1;
}

void fb_reject_free(fb_reject *r)
{
    free(r->points);
    free(r->loo);
    memset(r, 0, sizeof *r);
}

int fb_reject_copy(fb_reject *dst, const fb_reject *src)
{
    *dst = *src;
    dst->points = dst->loo = NULL;
    if (src->n == 0) return 0;
    dst->points = malloc(src->n * (size_t)src->d * sizeof *dst->points);
    dst->loo = malloc(src->n * sizeof *dst->loo);
    if (!dst->points || !dst->loo) {
        fb_reject_free(dst);
        return -1;
    }
    memcpy(dst->points, src->points, src->n * (size_t)src->d * sizeof *dst->points);
    memcpy(dst->loo, src->loo, src->n * sizeof *dst->loo);
    return 0;
}

double fb_reject_distance(const fb_reject *r, const float *x, float *scratch)
{
    float *q = scratch, *sim = scratch + r->d, top[FB_REJECT_MAX_K];
    int k = r->k;
    memcpy(q, x, (size_t)r->d * sizeof *q);
    fb_reject_normalise(q, r->d);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)r->n, r->d, 1.0f, r->points, r->d, q, 1, 0.0f,
                sim, 1);
    return 1.0 - kth_largest(sim, r->n, k, (size_t)-1, NULL, 0, top);
}

double fb_reject_rank(const fb_reject *r, double dist)
{
    size_t lo = 0, hi = r->n;           /* first loo >= dist */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->loo[mid] < dist) lo = mid + 1;
        else hi = mid;
    }
    return r->n ? (double)lo / r->n : 0;
}

float fb_reject_cut_for_rate(const fb_reject *r, double rate)
{
    if (r->n == 0) return INFINITY;
    double want = ceil((1 - rate) * r->n);
    size_t i = want < 1 ? 0 : (size_t)want - 1;
    if (i >= r->n) i = r->n - 1;
    return r->loo[i];
}

int fb_reject_fit_sets(fb_reject *r, const fb_featset *train, const fb_featset *val,
                       const size_t *vrows, size_t nv, double rate, uint64_t seed, char *err,
                       size_t errlen)
{
    memset(r, 0, sizeof *r);
    size_t n = train->n + nv, d = (size_t)train->dim;
    if (n <= FB_REJECT_DEFAULT_K) return 1;
    float *x = malloc(n * d * sizeof *x);
    uint32_t *group = malloc(n * sizeof *group);
    if (!x || !group) {
        free(x);
        free(group);
        snprintf(err, errlen, "out of memory for the unknown test (%zu records)", n);
        return -1;
    }
    memcpy(x, train->x, train->n * d * sizeof *x);
    for (size_t i = 0; i < train->n; i++) group[i] = train->group ? train->group[i] : 0;
    for (size_t i = 0; i < nv; i++) {
        memcpy(x + (train->n + i) * d, val->x + vrows[i] * d, d * sizeof *x);
        group[train->n + i] = val->group ? val->group[vrows[i]] : 0;
    }
    int rc = fb_reject_fit(r, x, n, (int)d, group, FB_REJECT_DEFAULT_K, rate, seed, err, errlen);
    free(x);
    free(group);
    return rc;
}
