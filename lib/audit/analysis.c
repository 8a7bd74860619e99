/* The analysis behind fb-audit's report: near-duplicate groups, per-class
 * summaries and the metadata shortcut test over inspected files. */
#include "fb/audit.h"
#include "fb/phash.h"
#include "fb/split.h"
#include "fb/stream.h"
#include "fb/util.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- near-duplicate groups ---- */

/* Joins photos whose backbone features are nearly parallel.  Returns the
 * number of stream records that matched a file, -1 when the stream is unusable. */
static long join_by_features(fb_groups *g, const fb_audit_file *files, size_t n,
                             const char *path, double cosine)
{
    FILE *f = fb_open_input(path);
    if (!f) { fb_warn("%s: %s", path, strerror(errno)); return -1; }
    char err[256];
    fb_reader *r = fb_reader_open(f, path, err, sizeof err);
    if (!r) { fb_warn("%s", err); if (f != stdin) fclose(f); return -1; }
    const fb_header *h = fb_reader_header(r);
    if (h->dtype != FB_F32 || h->rank != 1) {
        fb_warn("%s: expected feature vectors (float32, one dimension), got %s rank %d",
                path, fb_dtype_name(h->dtype), h->rank);
        fb_reader_close(r); if (f != stdin) fclose(f);
        return -1;
    }
    size_t d = h->dims[0];
    float *vec = calloc(n * d, sizeof *vec);
    size_t *which = malloc(n * sizeof *which);   /* matched file index per row */
    unsigned char *seen = calloc(n, 1);
    if (!vec || !which || !seen) fb_die(FB_EXIT_FAILURE, "out of memory for %zu features", n);
    size_t rows = 0;
    long unmatched = 0;
    fb_record rec;
    int got;
    while ((got = fb_reader_next(r, &rec)) == 1) {
        size_t i;
        for (i = 0; i < n && (seen[i] || strcmp(files[i].path, rec.id) != 0); i++) {}
        if (i == n) { unmatched++; continue; }
        seen[i] = 1;
        const float *x = rec.data;
        double norm = 0;
        for (size_t k = 0; k < d; k++) norm += (double)x[k] * x[k];
        norm = norm > 0 ? 1 / sqrt(norm) : 0;
        for (size_t k = 0; k < d; k++) vec[rows * d + k] = (float)(x[k] * norm);
        which[rows++] = i;
    }
    if (got < 0) fb_warn("%s: %s (using the %zu records before)", path, fb_reader_error(r), rows);
    if (unmatched) fb_warn("%s: %ld records name no file of this audit", path, unmatched);
    fb_reader_close(r);
    if (f != stdin) fclose(f);
    /* All cosines, a block of rows at a time: X_block * X^T. */
    enum { BLOCK = 256 };
    float *sim = malloc((size_t)BLOCK * (rows ? rows : 1) * sizeof *sim);
    if (!sim) fb_die(FB_EXIT_FAILURE, "out of memory");
    for (size_t b = 0; b < rows; b += BLOCK) {
        size_t m = rows - b < BLOCK ? rows - b : BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)rows, (int)d, 1.0f,
                    vec + b * d, (int)d, vec, (int)d, 0.0f, sim, (int)rows);
        for (size_t i = 0; i < m; i++)
            for (size_t j = b + i + 1; j < rows; j++)
                if (sim[i * rows + j] >= cosine) fb_groups_join(g, which[b + i], which[j]);
    }
    free(sim); free(vec); free(which); free(seen);
    return (long)rows;
}

/* The groups of two or more files that g has joined. */
static fb_dup_group *collect_groups(fb_groups *g, const fb_audit_file *files, size_t n, size_t *ngroups)
{
    size_t *count = calloc(n ? n : 1, sizeof *count);
    if (!count) fb_die(FB_EXIT_FAILURE, "out of memory");
    for (size_t i = 0; i < n; i++) count[fb_groups_find(g, i)]++;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += count[i] > 1;
    fb_dup_group *groups = fb_xcalloc(m ? m : 1, sizeof *groups);
    m = 0;
    for (size_t r = 0; r < n; r++) {
        if (count[r] < 2) continue;
        fb_dup_group *dg = &groups[m++];
        dg->members = fb_xmalloc(count[r] * sizeof *dg->members);
        dg->identical = 1;
        dg->max_bits = 0;
        for (size_t i = r; i < n; i++) {
            if (fb_groups_find(g, i) != r) continue;
            const fb_audit_file *a = &files[r], *b = &files[i];
            dg->members[dg->n++] = i;
            dg->identical &= a->has_digest && b->has_digest && a->size == b->size &&
                             a->digest == b->digest;
            int bits = a->has_phash && b->has_phash ? fb_hamming(a->phash.full, b->phash.full) : -1;
            if (bits < 0) dg->max_bits = -1;
            else if (dg->max_bits >= 0 && bits > dg->max_bits) dg->max_bits = bits;
            if (b->split != FB_NO_SPLIT) dg->splits |= 1u << b->split;
        }
        dg->nclasses = 1;
        for (size_t k = 1; k < dg->n; k++) {
            int fresh = 1;
            for (size_t l = 0; l < k; l++)
                if (files[dg->members[l]].label == files[dg->members[k]].label) fresh = 0;
            dg->nclasses += fresh;
        }
    }
    free(count);
    *ngroups = m;
    return groups;
}

fb_dup_group *fb_audit_near_duplicates(const fb_audit_file *files, size_t n, int near_dup_bits,
                                       const char *features, double cosine,
                                       size_t *ngroups, long *feature_rows)
{
    fb_groups g;
    if (fb_groups_init(&g, n)) fb_die(FB_EXIT_FAILURE, "out of memory");
    fb_phash *hash = fb_xmalloc(n * sizeof *hash);
    uint64_t *size = fb_xmalloc(n * 8), *digest = fb_xmalloc(n * 8);
    unsigned char *has_hash = fb_xmalloc(n), *has_digest = fb_xmalloc(n);
    char **paths = fb_xmalloc(n * sizeof *paths);
    for (size_t i = 0; i < n; i++) {
        hash[i] = files[i].phash; has_hash[i] = (unsigned char)files[i].has_phash;
        size[i] = files[i].size; digest[i] = files[i].digest;
        has_digest[i] = (unsigned char)files[i].has_digest;
        paths[i] = (char *)files[i].path;
    }
    fb_groups_join_identical(&g, paths, size, digest, has_digest);
    fb_groups_join_phash(&g, hash, has_hash, near_dup_bits);
    *feature_rows = features ? join_by_features(&g, files, n, features, cosine) : -1;
    fb_dup_group *groups = collect_groups(&g, files, n, ngroups);
    free(hash); free(size); free(digest); free(has_hash); free(has_digest); free(paths);
    fb_groups_free(&g);
    return groups;
}

void fb_dup_groups_free(fb_dup_group *groups, size_t ngroups)
{
    for (size_t k = 0; k < ngroups; k++) free(groups[k].members);
    free(groups);
}

int fb_dup_group_is_leak(const fb_dup_group *g) { return __builtin_popcount(g->splits) > 1; }

/* ---- per-class summaries ---- */

const char *const fb_audit_formats[FB_AUDIT_NFORMATS] = { "jpeg", "png", "webp", "tiff", "gif", "heif" };

int fb_audit_format_code(const char *f)
{
    for (int i = 0; i < FB_AUDIT_NFORMATS; i++) if (f && strcmp(f, fb_audit_formats[i]) == 0) return i;
    return FB_AUDIT_NFORMATS;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v. */
static fb_spread spread_of(double *v, size_t n)
{
    fb_spread s = { 0, 0, 0, n };
    if (!n) return s;
    qsort(v, n, sizeof *v, compare_double);
    s.min = v[0];
    s.max = v[n - 1];
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return s;
}

static int compare_camera(const void *a, const void *b)
{
    const fb_camera_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

void fb_audit_summarise_class(const fb_audit_file *files, size_t n, int label, fb_class_summary *s)
{
    memset(s, 0, sizeof *s);
    double *w = fb_xmalloc((n + 1) * sizeof *w), *h = fb_xmalloc((n + 1) * sizeof *h);
    double *a = fb_xmalloc((n + 1) * sizeof *a), *q = fb_xmalloc((n + 1) * sizeof *q);
    size_t nq = 0;
    s->cameras = fb_xmalloc((n + 1) * sizeof *s->cameras);
    for (size_t i = 0; i < n; i++) {
        const fb_audit_file *f = &files[i];
        if (f->label != label) continue;
        s->files++;
        if (f->state != FB_FILE_OK) continue;
        size_t u = s->usable++;
        w[u] = f->width;
        h[u] = f->height;
        a[u] = (double)f->width / f->height;
        if (f->jpeg_quality > 0) q[nq++] = f->jpeg_quality;
        if (f->width < FB_AUDIT_TINY || f->height < FB_AUDIT_TINY) s->tiny++;
        s->with_exif += f->has_exif;
        int fc = fb_audit_format_code(f->format);
        if (fc < FB_AUDIT_NFORMATS) s->format_count[fc]++;
        if (!f->camera[0]) continue;
        size_t k;
        for (k = 0; k < s->ncameras && strcmp(s->cameras[k].name, f->camera) != 0; k++) {}
        if (k == s->ncameras) s->cameras[s->ncameras++] = (fb_camera_count){ f->camera, 0 };
        s->cameras[k].count++;
    }
    s->width = spread_of(w, s->usable);
    s->height = spread_of(h, s->usable);
    s->aspect = spread_of(a, s->usable);
    s->quality = spread_of(q, nq);
    qsort(s->cameras, s->ncameras, sizeof *s->cameras, compare_camera);
    free(w); free(h); free(a); free(q);
}

void fb_class_summary_free(fb_class_summary *s)
{
    free(s->cameras);
    s->cameras = NULL;
    s->ncameras = 0;
}

/* ---- the shortcut test ---- */

/* Small integer code per distinct camera string (0 = none). */
static int camera_code(const fb_audit_file *files, size_t i)
{
    if (!files[i].camera[0]) return 0;
    for (size_t j = 0; j < i; j++)
        if (files[j].camera[0] && strcmp(files[j].camera, files[i].camera) == 0)
            return camera_code(files, j);
    return (int)i + 1;
}

fb_shortcut_result fb_audit_test_shortcut(const fb_audit_file *files, size_t n, int nclasses,
                                          uint64_t seed)
{
    fb_shortcut_result res = { 0 };
    double *x = fb_xmalloc((n + 1) * FB_NFEATURES * sizeof *x);
    int *y = fb_xmalloc((n + 1) * sizeof *y);
    long *count = fb_xcalloc(nclasses + 1, sizeof *count);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const fb_audit_file *f = &files[i];
        if (f->state != FB_FILE_OK) continue;
        double *row = x + m * FB_NFEATURES;
        row[FB_FEAT_LOG_WIDTH] = log2(f->width);
        row[FB_FEAT_LOG_HEIGHT] = log2(f->height);
        row[FB_FEAT_LOG_ASPECT] = log2((double)f->width / f->height);
        row[FB_FEAT_FORMAT] = fb_audit_format_code(f->format);
        row[FB_FEAT_QUALITY] = f->jpeg_quality;
        row[FB_FEAT_HAS_EXIF] = f->has_exif;
        row[FB_FEAT_CAMERA] = camera_code(files, i);
        y[m] = f->label;
        count[f->label]++;
        m++;
    }
    res.rows = m;
    long most = 0;
    for (int c = 0; c < nclasses; c++) if (count[c] > most) most = count[c];
    res.chance = m ? (double)most / m : 0;
    res.accuracy = fb_shortcut_cv_accuracy(x, y, m, nclasses, (1u << FB_NFEATURES) - 1, seed,
                                           &res.folds);
    res.tested = res.folds > 0;
    res.best_group = 0;
    for (int g = 0; res.tested && g < fb_nfeature_groups; g++) {
        int folds;
        res.group_accuracy[g] = fb_shortcut_cv_accuracy(x, y, m, nclasses,
                                                        fb_feature_groups[g].mask, seed, &folds);
        if (res.group_accuracy[g] > res.group_accuracy[res.best_group]) res.best_group = g;
    }
    if (res.tested && res.chance < 1) {
        double skill = (res.accuracy - res.chance) / (1 - res.chance);
        res.strong = skill >= FB_SHORTCUT_STRONG;
        res.notice = skill >= FB_SHORTCUT_NOTICE;
    }
    free(x); free(y); free(count);
    return res;
}
