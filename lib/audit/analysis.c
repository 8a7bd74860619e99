/* The analysis behind fb-audit's report: same-photo groups, per-class
 * summaries, the metadata shortcut test and the verdict (fb/audit.h). */
#include "fb/audit.h"
#include "fb/core.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- same-photo groups ---- */

fb_photo_group *fb_audit_near_duplicates(const fb_audit_file *files, size_t n, int near_dup_bits,
                                         const char *features, double cosine,
                                         size_t *ngroups, long *feature_rows_used,
                                         const fb_notes *notes, char *err, size_t errlen)
{
    fb_groups g = { 0 };
    fb_photo_group *groups = NULL;
    fb_photo_key *keys = malloc((n ? n : 1) * sizeof *keys);
    *ngroups = 0;
    *feature_rows_used = -1;
    if (!keys || fb_groups_init(&g, n) != 0) goto done;
    for (size_t i = 0; i < n; i++) {
        const fb_audit_file *f = &files[i];
        keys[i] = (fb_photo_key){ f->path, f->label, f->split, f->has_digest, f->size, f->digest,
                                  f->has_phash, f->phash };
    }
    if (fb_same_photo_join(&g, keys, n, near_dup_bits) != 0) goto done;
    if (features) {
        size_t rows;
        int rc = fb_same_photo_join_features(&g, keys, n, features, cosine, &rows, notes);
        if (rc < 0) goto done;
        if (rc == 0) *feature_rows_used = (long)rows;
    }
    groups = fb_photo_groups(&g, keys, n, ngroups);
done:
    if (!groups) snprintf(err, errlen, "out of memory for the same-photo groups of %zu files", n);
    free(keys);
    fb_groups_free(&g);
    return groups;
}

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

int fb_audit_summarise_class(const fb_audit_file *files, size_t n, int label, fb_class_summary *s)
{
    memset(s, 0, sizeof *s);
    double *w = malloc((n + 1) * sizeof *w), *h = malloc((n + 1) * sizeof *h);
    double *a = malloc((n + 1) * sizeof *a), *q = malloc((n + 1) * sizeof *q);
    size_t nq = 0;
    s->cameras = malloc((n + 1) * sizeof *s->cameras);
    if (!w || !h || !a || !q || !s->cameras) {
        free(w); free(h); free(a); free(q);
        fb_class_summary_free(s);
        return -1;
    }
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
        s->tiny += fb_audit_is_tiny(f->width, f->height);
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
    return 0;
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

int fb_audit_test_shortcut(const fb_audit_file *files, size_t n, int nclasses, uint64_t seed,
                           fb_shortcut_result *out)
{
    fb_shortcut_result res = { 0 };
    double *x = malloc((n + 1) * FB_NFEATURES * sizeof *x);
    int *y = malloc((n + 1) * sizeof *y);
    long *count = calloc(nclasses + 1, sizeof *count);
    if (!x || !y || !count) {
        free(x); free(y); free(count);
        return -1;
    }
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
    *out = res;
    return 0;
}

/* ---- the verdict ---- */

fb_audit_verdict fb_audit_judge(const fb_audit_file *files, size_t n,
                                const fb_photo_group *groups, size_t ngroups,
                                const fb_shortcut_result *shortcut, int input_problems)
{
    fb_audit_verdict v = { 0 };
    for (size_t k = 0; k < ngroups; k++) {
        v.leaks += fb_photo_group_is_leak(&groups[k]);
        v.conflicts += groups[k].nclasses > 1;
    }
    for (size_t i = 0; i < n; i++) {
        v.unusable += files[i].state != FB_FILE_OK;
        v.tiny += fb_audit_file_is_tiny(&files[i]);
    }
    v.shortcut = shortcut->strong;
    v.input_problems = input_problems;
    v.status = v.leaks && v.shortcut ? FB_AUDIT_LEAK_AND_SHORTCUT
             : v.leaks ? FB_AUDIT_LEAK : v.shortcut ? FB_AUDIT_SHORTCUT
             : v.unusable || input_problems ? FB_AUDIT_PROBLEMS : FB_AUDIT_CLEAN;
    if (v.leaks) strcat(v.words, " LEAK");
    if (v.shortcut) strcat(v.words, " SHORTCUT");
    if (v.unusable) strcat(v.words, " UNUSABLE-FILES");
    /* A tree or list the audit could not read whole (a symlink loop, an
     * unreadable folder, bad features) is not clean, whatever it did read. */
    if (input_problems) strcat(v.words, " INPUT-PROBLEMS");
    if (v.words[0]) memmove(v.words, v.words + 1, strlen(v.words));
    else strcpy(v.words, "clean");
    return v;
}
