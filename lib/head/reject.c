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

/* What a held-out distance leaves out besides the photo itself: its
 * same-photo group (near-duplicates) and, when calibrating for unseen
 * subjects, its proxy subject.  Either array may be NULL; id 0 is "none". */
typedef struct {
    const uint32_t *group, *subject;
} leave_out;

static int left_out(const leave_out *lo, size_t self, size_t i)
{
    if (i == self) return 1;
    if (lo->group && lo->group[self] && lo->group[i] == lo->group[self]) return 1;
    return lo->subject && lo->subject[self] && lo->subject[i] == lo->subject[self];
}

/* The k-th largest of the similarities `sim[0..n)`, without those that
 * `lo` leaves out for point `self` ((size_t)-1: a new record, nothing left
 * out).  top[] holds k floats, kept in descending order. */
static float kth_largest(const float *sim, size_t n, int k, size_t self, const leave_out *lo,
                         float *top)
{
    int have = 0;
    for (size_t i = 0; i < n; i++) {
        if (self != (size_t)-1 && left_out(lo, self, i)) continue;
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
 * m x n floats.  self: query i is stored point i (left out, with what lo
 * says); else nothing is left out.  Into out[m], as float or double. */
static int kth_distances(const fb_reject *r, const float *q, size_t m, int self,
                         const leave_out *lo, float *outf, double *outd)
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
            size_t who = self ? i0 + i : (size_t)-1;
            float dist = 1.0f - kth_largest(sim + i * n, n, r->k, who, lo, top);
            if (outf) outf[i0 + i] = dist;
            else outd[i0 + i] = dist;
        }
    }
    free(sim);
    free(top);
    return 0;
}

/* Held-out distances of the stored points, sorted. */
static int held_out_distances(fb_reject *r, const leave_out *lo)
{
    if (kth_distances(r, r->points, r->n, 1, lo, r->loo, NULL)) return -1;
    qsort(r->loo, r->n, sizeof *r->loo, cmp_float);
    return 0;
}

int fb_reject_held_out(const fb_reject *r, const uint32_t *group, double *dist)
{
    leave_out lo = { group, NULL };
    return kth_distances(r, r->points, r->n, 1, &lo, NULL, dist);
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

/* ------------------------------------------------------ proxy subjects */

/* Spherical k-means (cosine similarity, centres of unit length) of the m
 * unit rows x [m, d] into c clusters: cluster[m].  Seeded k-means++ start,
 * then Lloyd steps until nothing moves (at most 20).  0 ok, -1 no memory. */
static int spherical_kmeans(const float *x, size_t m, int d, size_t c, fb_rng *rng,
                            uint32_t *cluster)
{
    float *cen = malloc(c * (size_t)d * sizeof *cen), *sim = malloc(m * c * sizeof *sim);
    float *near = malloc(m * sizeof *near);
    size_t *members = malloc(c * sizeof *members);
    if (!cen || !sim || !near || !members) {
        free(cen);
        free(sim);
        free(near);
        free(members);
        return -1;
    }
    /* k-means++: each next centre drawn with probability ~ its distance
     * (1 - cosine, half the squared distance of unit vectors) to the nearest
     * centre so far. */
    for (size_t i = 0; i < m; i++) near[i] = -2;
    size_t pick = (size_t)fb_rng_below(rng, m);
    for (size_t j = 0; j < c; j++) {
        memcpy(cen + j * d, x + pick * d, (size_t)d * sizeof *cen);
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, d, 1.0f, x, d, cen + j * d, 1, 0.0f, sim, 1);
        double total = 0;
        for (size_t i = 0; i < m; i++) {
            if (sim[i] > near[i]) near[i] = sim[i];
            total += near[i] < 1 ? 1 - near[i] : 0;
        }
        double u = fb_rng_uniform(rng) * total;
        pick = (size_t)fb_rng_below(rng, m);      /* all alike: any will do */
        for (size_t i = 0; i < m && total > 0; i++) {
            u -= near[i] < 1 ? 1 - near[i] : 0;
            if (u <= 0 && near[i] < 1) {
                pick = i;
                break;
            }
        }
    }
    for (size_t i = 0; i < m; i++) cluster[i] = UINT32_MAX;
    for (int step = 0; step < 20; step++) {
        /* sim[m x c] = x . cen^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)c, d, 1.0f, x, d, cen, d,
                    0.0f, sim, (int)c);
        int moved = 0;
        for (size_t i = 0; i < m; i++) {
            uint32_t best = 0;
            for (size_t j = 1; j < c; j++)
                if (sim[i * c + j] > sim[i * c + best]) best = (uint32_t)j;
            moved |= cluster[i] != best;
            cluster[i] = best;
        }
        if (!moved) break;
        /* centres: the members' mean, scaled to unit length (an emptied
         * cluster keeps its centre) */
        memset(members, 0, c * sizeof *members);
        for (size_t i = 0; i < m; i++)
            if (!members[cluster[i]]++) memset(cen + cluster[i] * d, 0, (size_t)d * sizeof *cen);
        for (size_t i = 0; i < m; i++)
            cblas_saxpy(d, 1.0f, x + i * d, 1, cen + cluster[i] * d, 1);
        for (size_t j = 0; j < c; j++) {
            float len = cblas_snrm2(d, cen + j * d, 1);
            if (members[j] && len > 0) cblas_sscal(d, 1.0f / len, cen + j * d, 1);
        }
    }
    free(cen);
    free(sim);
    free(near);
    free(members);
    return 0;
}

static int cmp_label_row(const void *a, const void *b)
{
    const int *x = a, *y = b;   /* {label, row} */
    return x[0] != y[0] ? (x[0] > y[0]) - (x[0] < y[0]) : (x[1] > y[1]) - (x[1] < y[1]);
}

/* Proxy subjects of the m stored points: within each class (label[i]; NULL
 * one class), k-means clusters of about `size` points, at least 2 per class
 * of 2 or more.  subject[m]: ids from 1.  0 ok, -1 no memory. */
static int proxy_subjects(const float *p, size_t m, int d, const int *label, int size,
                          uint64_t seed, uint32_t *subject)
{
    int *order = malloc(2 * m * sizeof *order);
    float *x = malloc(m * (size_t)d * sizeof *x);
    uint32_t *cluster = malloc(m * sizeof *cluster);
    if (!order || !x || !cluster) {
        free(order);
        free(x);
        free(cluster);
        return -1;
    }
    for (size_t i = 0; i < m; i++) {
        order[2 * i] = label ? label[i] : 0;
        order[2 * i + 1] = (int)i;
    }
    qsort(order, m, 2 * sizeof *order, cmp_label_row);
    fb_rng rng;
    fb_rng_seed(&rng, seed);
    uint32_t next = 1;
    int rc = 0;
    for (size_t a = 0, b; a < m && rc == 0; a = b) {
        for (b = a; b < m && order[2 * b] == order[2 * a]; b++)
            memcpy(x + (b - a) * d, p + (size_t)order[2 * b + 1] * d, (size_t)d * sizeof *x);
        size_t n = b - a, c = (n + (size_t)size / 2) / (size_t)size;
        if (c < 2) c = 2;
        if (c > n) c = n;
        rc = spherical_kmeans(x, n, d, c, &rng, cluster);
        for (size_t i = a; i < b; i++) subject[order[2 * i + 1]] = next + cluster[i - a];
        next += (uint32_t)c;
    }
    free(order);
    free(x);
    free(cluster);
    return rc;
}

/* ------------------------------------------------------------- the fit */

/* fb_reject_fit and fb_reject_fit_subjects: subject_size 0 holds out one
 * photo (and its group) at a time; else whole proxy subjects of label's
 * classes. */
static int fit(fb_reject *r, const float *x, size_t n, int d, const uint32_t *group,
               const int *label, int subject_size, int k, double rate, uint64_t seed, char *err,
               size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (k < 1 || k > FB_REJECT_MAX_K || d < 1 || !(rate >= 0 && rate <= 1) || subject_size < 0) {
        snprintf(err, errlen, "rejection: k %d, dimension %d, rate %g, subject size %d out of range",
                 k, d, rate, subject_size);
        return -1;
    }
    if (n <= (size_t)k) {
        snprintf(err, errlen, "rejection needs more than %d training records (got %zu)", k, n);
        return -1;
    }
    size_t m = 0, *idx = choose_points(n, seed, &m);
    uint32_t *kept_group = group ? malloc(m * sizeof *kept_group) : NULL;
    int *kept_label = label ? malloc(m * sizeof *kept_label) : NULL;
    uint32_t *subject = subject_size ? malloc(m * sizeof *subject) : NULL;
    r->points = malloc(m * (size_t)d * sizeof *r->points);
    r->loo = malloc(m * sizeof *r->loo);
    if (!idx || (group && !kept_group) || (label && !kept_label) || (subject_size && !subject) ||
        !r->points || !r->loo)
        goto oom;
    r->k = k;
    r->d = d;
    r->n = m;
    r->rate = (float)rate;
    for (size_t i = 0; i < m; i++) {
        memcpy(r->points + i * d, x + idx[i] * d, (size_t)d * sizeof *x);
        fb_reject_normalise(r->points + i * d, d);
        if (kept_group) kept_group[i] = group[idx[i]];
        if (kept_label) kept_label[i] = label[idx[i]];
    }
    if (subject_size &&
        proxy_subjects(r->points, m, d, kept_label, subject_size, seed, subject) != 0)
        goto oom;
    leave_out lo = { kept_group, subject };
    if (held_out_distances(r, &lo)) goto oom;
    r->cut = fb_reject_cut_for_rate(r, rate);
    free(idx);
    free(kept_group);
    free(kept_label);
    free(subject);
    return 0;
oom:
    free(idx);
    free(kept_group);
    free(kept_label);
    free(subject);
    fb_reject_free(r);
    snprintf(err, errlen, "rejection: out of memory for %zu training records", n);
    return -1;
}

int fb_reject_fit(fb_reject *r, const float *x, size_t n, int d, const uint32_t *group, int k,
                  double rate, uint64_t seed, char *err, size_t errlen)
{
    return fit(r, x, n, d, group, NULL, 0, k, rate, seed, err, errlen);
}

int fb_reject_fit_subjects(fb_reject *r, const float *x, size_t n, int d, const uint32_t *group,
                           const int *label, int subject_size, int k, double rate, uint64_t seed,
                           char *err, size_t errlen)
{
    return fit(r, x, n, d, group, label, subject_size, k, rate, seed, err, errlen);
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
    return 1.0 - kth_largest(sim, r->n, k, (size_t)-1, NULL, top);
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
                       const size_t *vrows, size_t nv, double rate, int subject_size,
                       uint64_t seed, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    size_t n = train->n + nv, d = (size_t)train->dim;
    if (n <= FB_REJECT_DEFAULT_K) return 1;
    float *x = malloc(n * d * sizeof *x);
    uint32_t *group = malloc(n * sizeof *group);
    int *label = malloc(n * sizeof *label);
    if (!x || !group || !label) {
        free(x);
        free(group);
        free(label);
        snprintf(err, errlen, "out of memory for the unknown test (%zu records)", n);
        return -1;
    }
    memcpy(x, train->x, train->n * d * sizeof *x);
    for (size_t i = 0; i < train->n; i++) {
        group[i] = train->group ? train->group[i] : 0;
        label[i] = train->y[i];
    }
    for (size_t i = 0; i < nv; i++) {
        memcpy(x + (train->n + i) * d, val->x + vrows[i] * d, d * sizeof *x);
        group[train->n + i] = val->group ? val->group[vrows[i]] : 0;
        label[train->n + i] = val->y[vrows[i]];
    }
    int rc = fb_reject_fit_subjects(r, x, n, (int)d, group, label, subject_size,
                                    FB_REJECT_DEFAULT_K, rate, seed, err, errlen);
    free(x);
    free(group);
    free(label);
    return rc;
}
