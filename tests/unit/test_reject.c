/* Rejection of records unlike every training photo (lib/head/reject.c):
 * each quantity against a brute-force computation or a hand-computed value. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fb/core.h"
#include "head/reject.h"

#include <math.h>
#include <zlib.h>

/* Naive: 1 - (k-th largest cosine of sqrt features), skipping `self` and,
 * when group != NULL, every point of self's group. */
static double naive_kth(const float *pts, size_t n, int d, const float *q, int k, size_t self,
                        const uint32_t *group)
{
    double *sims = malloc(n * sizeof *sims);
    size_t m = 0;
    double qn = 0;
    for (int j = 0; j < d; j++) qn += q[j] > 0 ? q[j] : 0;
    for (size_t i = 0; i < n; i++) {
        if (i == self) continue;
        if (group && self < n && group[self] && group[i] == group[self]) continue;
        double dot = 0, pn = 0;
        for (int j = 0; j < d; j++) {
            double a = pts[i * d + j] > 0 ? sqrt(pts[i * d + j]) : 0;
            double b = q[j] > 0 ? sqrt(q[j]) : 0;
            dot += a * b;
            pn += a * a;
        }
        sims[m++] = dot / sqrt(pn * qn);
    }
    for (size_t a = 0; a < m; a++)          /* selection sort, descending */
        for (size_t b = a + 1; b < m; b++)
            if (sims[b] > sims[a]) { double t = sims[a]; sims[a] = sims[b]; sims[b] = t; }
    double kth = sims[(size_t)k - 1 < m ? (size_t)k - 1 : m - 1];
    free(sims);
    return 1 - kth;
}

/* A cluster around centre c (non-negative features, like ReLU averages). */
static void sample(float *x, const float *c, int d, double spread, fb_rng *rng)
{
    for (int j = 0; j < d; j++) {
        double v = c[j] + spread * fb_rng_normal(rng);
        x[j] = (float)(v > 0 ? v : 0);
    }
}

static void test_normalise(void)
{
    float x[4] = {4, 0, 9, -1};
    fb_reject_normalise(x, 4);
    CHECK_NEAR(x[0], 2 / sqrt(13), 1e-7, "sqrt then unit length: 4 -> 2/sqrt(13)");
    CHECK_NEAR(x[2], 3 / sqrt(13), 1e-7, "9 -> 3/sqrt(13)");
    CHECK(x[1] == 0 && x[3] == 0, "0 and negatives -> 0");
    float z[3] = {0, 0, 0};
    fb_reject_normalise(z, 3);
    CHECK(z[0] == 0 && z[1] == 0 && z[2] == 0, "an all-zero vector stays zero");
}

static void test_against_brute_force(void)
{
    enum { N = 300, D = 24, K = 5 };
    fb_rng rng;
    fb_rng_seed(&rng, 7);
    float *x = malloc(N * D * sizeof *x), c[2][D];
    uint32_t group[N];
    for (int j = 0; j < D; j++) { c[0][j] = (float)fb_rng_uniform(&rng); c[1][j] = (float)fb_rng_uniform(&rng); }
    for (int i = 0; i < N; i++) {
        sample(x + i * D, c[i % 2], D, 0.3, &rng);
        group[i] = i % 7 == 0 ? (uint32_t)(i / 14 + 1) : 0;  /* some pairs share a group */
    }
    fb_reject r;
    char err[256] = "";
    CHECK(fb_reject_fit(&r, x, N, D, group, K, 0.05, 1, err, sizeof err) == 0, "fit %d x %d%s", N, D, err);
    /* Held-out distances: recompute each naively, sort, compare. */
    double *want = malloc(N * sizeof *want), worst = 0;
    for (int i = 0; i < N; i++) want[i] = naive_kth(x, N, D, x + i * D, K, i, group);
    for (int a = 0; a < N; a++)
        for (int b = a + 1; b < N; b++)
            if (want[b] < want[a]) { double t = want[a]; want[a] = want[b]; want[b] = t; }
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(want[i] - r.loo[i]));
    CHECK(worst < 1e-5, "every held-out distance (groups left out) matches brute force: %.2g", worst);
    /* A new point's distance. */
    float q[D], scratch[D + N];
    sample(q, c[1], D, 0.3, &rng);
    CHECK_NEAR(fb_reject_distance(&r, q, scratch), naive_kth(x, N, D, q, K, (size_t)-1, NULL), 1e-5,
               "a new record's distance to its %d-th neighbour matches brute force", K);
    fb_reject_free(&r);
    free(want);
    free(x);
}

/* The cut rejects about `rate` of new in-class photos and all of a far cluster. */
static void test_rates(void)
{
    enum { N = 400, D = 32, FRESH = 2000 };
    fb_rng rng;
    fb_rng_seed(&rng, 11);
    float c[3][D];
    for (int j = 0; j < D; j++)
        for (int k = 0; k < 3; k++) c[k][j] = (float)fb_rng_uniform(&rng);
    for (int j = 0; j < D; j++) c[2][j] = j < D / 2 ? 2.0f * c[2][j] : 0;   /* far: other half */
    float *x = malloc(N * D * sizeof *x);
    for (int i = 0; i < N; i++) sample(x + i * D, c[i % 2], D, 0.25, &rng);
    const double rates[2] = {0.02, 0.10};
    for (int t = 0; t < 2; t++) {
        fb_reject r;
        char err[256];
        fb_reject_fit(&r, x, N, D, NULL, FB_REJECT_DEFAULT_K, rates[t], 3, err, sizeof err);
        float q[D], scratch[D + N];
        int in_rejected = 0, far_rejected = 0;
        for (int i = 0; i < FRESH; i++) {
            sample(q, c[i % 2], D, 0.25, &rng);
            in_rejected += fb_reject_distance(&r, q, scratch) > r.cut;
        }
        for (int i = 0; i < 200; i++) {
            sample(q, c[2], D, 0.25, &rng);
            far_rejected += fb_reject_distance(&r, q, scratch) > r.cut;
        }
        /* Sampling error: the cut is a quantile of 400 held-out distances
         * (sd about 0.7-1.5 points) and 2000 new photos (0.3-0.7 points). */
        CHECK(fabs((double)in_rejected / FRESH - rates[t]) < 0.03,
              "rate %.2f: %.3f of new in-class photos rejected", rates[t], (double)in_rejected / FRESH);
        CHECK(far_rejected == 200, "rate %.2f: all 200 photos of a far cluster rejected (%d)",
              rates[t], far_rejected);
        fb_reject_free(&r);
    }
    free(x);
}

/* Near-duplicates in training must not pull the cut in: with each photo's
 * copy in its group, the held-out distances are those of the photos alone. */
static void test_groups_keep_duplicates_out(void)
{
    enum { N = 200, D = 16 };
    fb_rng rng;
    fb_rng_seed(&rng, 5);
    float c[D], *x = malloc(2 * N * D * sizeof *x);
    uint32_t group[2 * N];
    for (int j = 0; j < D; j++) c[j] = (float)fb_rng_uniform(&rng);
    for (int i = 0; i < N; i++) {
        sample(x + 2 * i * D, c, D, 0.3, &rng);
        for (int j = 0; j < D; j++)     /* the copy: a re-encode, a hair off */
            x[(2 * i + 1) * D + j] = x[2 * i * D + j] * 1.001f;
        group[2 * i] = group[2 * i + 1] = (uint32_t)i + 1;
    }
    fb_reject with, without;
    char err[256];
    fb_reject_fit(&with, x, 2 * N, D, group, 1, 0.05, 1, err, sizeof err);
    fb_reject_fit(&without, x, 2 * N, D, NULL, 1, 0.05, 1, err, sizeof err);
    CHECK(without.cut < 1e-4 && with.cut > 100 * without.cut,
          "k=1: copies make the cut vanish without groups (%.2g), not with them (%.2g)",
          without.cut, with.cut);
    fb_reject_free(&with);
    fb_reject_free(&without);
    free(x);
}

/* Photos of subjects: each subject a centre near its class's, each photo
 * near its subject's.  x gets nsub * per photos, label[] the class and
 * subj[] the subject (from 1). */
static void subjects(float *x, int *label, uint32_t *subj, int nclass, int nsub, int per, int d,
                     float (*c)[64], double between, double within, fb_rng *rng)
{
    float s[64];
    for (int u = 0; u < nsub; u++) {
        sample(s, c[u % nclass], d, between, rng);
        for (int p = 0; p < per; p++) {
            size_t i = (size_t)u * per + p;
            sample(x + i * d, s, d, within, rng);
            if (label) label[i] = u % nclass;
            if (subj) subj[i] = (uint32_t)u + 1;
        }
    }
}

/* Held out by proxy subjects: with subjects far apart and tight, k-means
 * finds them, and every held-out distance is the brute-force one leaving
 * the photo's whole subject out (and never another class's photos). */
static void test_subjects_against_brute_force(void)
{
    enum { NCLASS = 2, NSUB = 16, PER = 5, N = NSUB * PER, D = 24, K = 3 };
    fb_rng rng;
    fb_rng_seed(&rng, 17);
    float c[NCLASS][64], *x = malloc(N * D * sizeof *x);
    int label[N];
    uint32_t subj[N];
    for (int j = 0; j < D; j++) { c[0][j] = (float)fb_rng_uniform(&rng); c[1][j] = (float)fb_rng_uniform(&rng); }
    subjects(x, label, subj, NCLASS, NSUB, PER, D, c, 0.5, 0.01, &rng);
    fb_reject r;
    char err[256] = "";
    CHECK(fb_reject_fit_subjects(&r, x, N, D, NULL, label, PER, K, 0.05, 1, err, sizeof err) == 0,
          "fit by subjects: %s", err);
    double want[N], worst = 0;
    for (int i = 0; i < N; i++) want[i] = naive_kth(x, N, D, x + i * D, K, i, subj);
    for (int a = 0; a < N; a++)
        for (int b = a + 1; b < N; b++)
            if (want[b] < want[a]) { double t = want[a]; want[a] = want[b]; want[b] = t; }
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(want[i] - r.loo[i]));
    CHECK(worst < 1e-5, "every held-out distance leaves the photo's subject out: %.2g", worst);
    fb_reject one;
    CHECK(fb_reject_fit_subjects(&one, x, N, D, NULL, label, 0, K, 0.05, 1, err, sizeof err) == 0 &&
          one.loo[N / 2] < 0.5 * r.loo[N / 2],
          "subject size 0 holds out one photo: its median distance %.3g is far below %.3g",
          one.loo[N / 2], r.loo[N / 2]);
    fb_reject_free(&one);
    fb_reject_free(&r);
    free(x);
}

/* The rate is the share of photos of NEW subjects rejected: the cut held
 * out by proxy subjects keeps it (within sampling error), the cut held out
 * one photo at a time rejects several times more of them. */
static void test_unseen_subject_rate(void)
{
    enum { NCLASS = 2, NSUB = 120, PER = 5, N = NSUB * PER, D = 32, FRESH_SUB = 600 };
    fb_rng rng;
    fb_rng_seed(&rng, 23);
    float c[NCLASS][64], *x = malloc(N * D * sizeof *x), *fresh = malloc(FRESH_SUB * PER * D * sizeof *fresh);
    int label[N];
    for (int j = 0; j < D; j++) { c[0][j] = (float)fb_rng_uniform(&rng); c[1][j] = (float)fb_rng_uniform(&rng); }
    subjects(x, label, NULL, NCLASS, NSUB, PER, D, c, 0.25, 0.08, &rng);
    subjects(fresh, NULL, NULL, NCLASS, FRESH_SUB, PER, D, c, 0.25, 0.08, &rng);
    const double rate = 0.05;
    fb_reject by_subject, by_photo;
    char err[256];
    fb_reject_fit_subjects(&by_subject, x, N, D, NULL, label, PER, FB_REJECT_DEFAULT_K, rate, 1, err, sizeof err);
    fb_reject_fit(&by_photo, x, N, D, NULL, FB_REJECT_DEFAULT_K, rate, 1, err, sizeof err);
    double *dist = malloc(FRESH_SUB * PER * sizeof *dist);
    int subj_rejected = 0, photo_rejected = 0;
    fb_reject_distances(&by_subject, fresh, FRESH_SUB * PER, dist);
    for (int i = 0; i < FRESH_SUB * PER; i++) subj_rejected += dist[i] > by_subject.cut;
    fb_reject_distances(&by_photo, fresh, FRESH_SUB * PER, dist);
    for (int i = 0; i < FRESH_SUB * PER; i++) photo_rejected += dist[i] > by_photo.cut;
    double s = (double)subj_rejected / (FRESH_SUB * PER), p = (double)photo_rejected / (FRESH_SUB * PER);
    /* Sampling error: a quantile of 600 held-out distances in 120 subjects
     * (sd about 1.5-2 points) and 600 new subjects (about 1 point). */
    CHECK(fabs(s - rate) < 0.035, "rate %.2f: %.3f of new subjects' photos rejected (held out by subject)",
          rate, s);
    CHECK(p > 2 * rate, "held out one photo at a time, %.3f of them rejected (more than twice the rate)", p);
    float far[64], q[64], scratch[64 + N];
    int far_rejected = 0;
    for (int j = 0; j < D; j++) far[j] = j < D / 2 ? 2.0f * (float)fb_rng_uniform(&rng) : 0;
    for (int i = 0; i < 200; i++) {
        sample(q, far, D, 0.25, &rng);
        far_rejected += fb_reject_distance(&by_subject, q, scratch) > by_subject.cut;
    }
    CHECK(far_rejected == 200, "held out by subject, all 200 photos of a far cluster rejected (%d)",
          far_rejected);
    free(dist);
    fb_reject_free(&by_subject);
    fb_reject_free(&by_photo);
    free(fresh);
    free(x);
}

static void test_cut_and_rank(void)
{
    float loo[10] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f};
    fb_reject r = {.k = 1, .d = 1, .n = 10, .loo = loo};
    CHECK(fb_reject_cut_for_rate(&r, 0.2) == 0.8f, "rate 0.2 of 10: cut at the 8th value (2 beyond)");
    CHECK(fb_reject_cut_for_rate(&r, 0.25) == 0.8f, "rate 0.25: rounds towards rejecting fewer");
    CHECK(fb_reject_cut_for_rate(&r, 0) == 1.0f, "rate 0: cut at the largest, rejects none");
    CHECK(fb_reject_cut_for_rate(&r, 1) == 0.1f, "rate 1: cut at the smallest");
    CHECK_NEAR(fb_reject_rank(&r, 0.85), 0.8, 1e-12, "0.85 is beyond 8 of 10 held-out distances");
    CHECK_NEAR(fb_reject_rank(&r, 5), 1.0, 1e-12, "far beyond all: rank 1");
    CHECK_NEAR(fb_reject_rank(&r, 0.0), 0.0, 1e-12, "closer than all: rank 0");
    char err[256];
    fb_reject bad;
    float x[10] = {0};
    CHECK(fb_reject_fit(&bad, x, 5, 2, NULL, 5, 0.02, 1, err, sizeof err) < 0 &&
              strstr(err, "more than 5"), "too few records refused: %s", err);
}

/* Rewrites the CRC of a head.bin buffer after a test edits its payload. */
static void fix_crc(unsigned char *buf, size_t len)
{
    uint32_t crc = (uint32_t)crc32(0L, buf + FB_HEAD_HEADER_SIZE, (uInt)(len - FB_HEAD_HEADER_SIZE));
    memcpy(buf + 24, &crc, 4);
}

/* head.bin version 3 keeps the model bit for bit, fb_head_copy copies it,
 * and the loader refuses impossible sizes (before allocating), NaNs and
 * unsorted held-out distances even under a valid checksum. */
static void test_head_file(void)
{
    enum { N = 40, D = 6 };
    const char *names[2] = { "a", "b" };
    fb_head h, back, copy;
    char err[256] = "";
    CHECK(fb_head_init(&h, D, 2, names, 0, NULL, 0, "backbone=test\n") == 0, "head init");
    fb_rng rng;
    fb_rng_seed(&rng, 9);
    float c[D], x[N * D];
    for (int j = 0; j < D; j++) c[j] = (float)fb_rng_uniform(&rng);
    for (int i = 0; i < N; i++) sample(x + i * D, c, D, 0.3, &rng);
    CHECK(fb_reject_fit(&h.reject, x, N, D, NULL, 3, 0.1, 1, err, sizeof err) == 0, "fit: %s", err);
    unsigned char *buf;
    size_t len;
    CHECK(fb_head_serialize(&h, &buf, &len) == 0, "serialize");
    uint32_t version;
    memcpy(&version, buf + 8, 4);
    CHECK(version == 3, "written as version 3 (%u)", version);
    CHECK(fb_head_deserialize(&back, buf, len, err, sizeof err) == 0, "deserialize: %s", err);
    CHECK(back.reject.n == N && back.reject.k == 3 && back.reject.d == D &&
          back.reject.cut == h.reject.cut && back.reject.rate == h.reject.rate &&
          memcmp(back.reject.loo, h.reject.loo, N * sizeof(float)) == 0 &&
          memcmp(back.reject.points, h.reject.points, N * D * sizeof(float)) == 0,
          "round trip keeps k, n, rate, cut, held-out distances and points");
    CHECK(fb_head_copy(&copy, &back) == 0 && copy.reject.n == N && copy.reject.points != back.reject.points &&
          memcmp(copy.reject.points, h.reject.points, N * D * sizeof(float)) == 0, "copy is deep");
    fb_head_free(&copy);
    fb_head_free(&back);

    /* the tail: u32 k, u64 n, f32 rate, f32 cut, f32 loo[n], f32 points[n * d] */
    size_t tail = len - (4 + 8 + 4 + 4 + (size_t)N * (D + 1) * 4), at_n = tail + 4, at_loo = tail + 20;
    unsigned char *bad = malloc(len);
    uint64_t huge = (uint64_t)1 << 40;
    memcpy(bad, buf, len);
    memcpy(bad + at_n, &huge, 8);
    fix_crc(bad, len);
    CHECK(fb_head_deserialize(&back, bad, len, err, sizeof err) != 0 && strstr(err, "rejection model"),
          "2^40 points refused before allocating (%s)", err);
    uint64_t more = N + 1;
    memcpy(bad, buf, len);
    memcpy(bad + at_n, &more, 8);
    fix_crc(bad, len);
    CHECK(fb_head_deserialize(&back, bad, len, err, sizeof err) != 0, "one point more than the bytes refused");
    float nan = NAN;
    memcpy(bad, buf, len);
    memcpy(bad + at_loo + 4, &nan, 4);
    fix_crc(bad, len);
    CHECK(fb_head_deserialize(&back, bad, len, err, sizeof err) != 0 && strstr(err, "rejection model"),
          "a NaN distance refused (%s)", err);
    float big = 10;
    memcpy(bad, buf, len);
    memcpy(bad + at_loo, &big, 4);
    fix_crc(bad, len);
    CHECK(fb_head_deserialize(&back, bad, len, err, sizeof err) != 0 && strstr(err, "rejection model"),
          "unsorted held-out distances refused (%s)", err);
    uint32_t k0 = 0;    /* k 0 says "none", so the model's bytes are left over */
    memcpy(bad, buf, len);
    memcpy(bad + tail, &k0, 4);
    fix_crc(bad, len);
    CHECK(fb_head_deserialize(&back, bad, len, err, sizeof err) != 0 && strstr(err, "unexpected bytes"),
          "bytes after a k of 0 refused (%s)", err);
    free(bad);
    free(buf);
    fb_head_free(&h);
}

int main(void)
{
    test_normalise();
    test_against_brute_force();
    test_rates();
    test_groups_keep_duplicates_out();
    test_subjects_against_brute_force();
    test_unseen_subject_rate();
    test_cut_and_rank();
    test_head_file();
    return check_done();
}
