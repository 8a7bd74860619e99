/* The feature set: a whole feature stream in memory, and what training asks
 * of it (fb/head.h). */
#include "fb/head.h"
#include "fb/stream.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

void fb_featset_free(fb_featset *ds)
{
    for (size_t i = 0; i < ds->n; i++) free(ds->ids[i]);
    for (int c = 0; c < ds->nclasses; c++) free(ds->classes[c]);
    free(ds->ids);
    free(ds->group);
    free(ds->classes);
    free(ds->x);
    free(ds->y);
    free(ds->provenance);
    memset(ds, 0, sizeof *ds);
}

int fb_featset_grow(fb_featset *ds)
{
    size_t cap = ds->cap ? ds->cap * 2 : 256;
    float *x = realloc(ds->x, cap * ds->dim * sizeof(float));
    if (x) ds->x = x;
    int *y = realloc(ds->y, cap * sizeof(int));
    if (y) ds->y = y;
    char **ids = realloc(ds->ids, cap * sizeof(char *));
    if (ids) ds->ids = ids;
    uint32_t *group = realloc(ds->group, cap * sizeof *group);
    if (group) ds->group = group;
    if (!x || !y || !ids || !group) return -1;
    ds->cap = cap;
    return 0;
}

int fb_featset_read(fb_featset *ds, FILE *f, const char *name, char *err, size_t errlen)
{
    memset(ds, 0, sizeof *ds);
    if (errlen) err[0] = 0;
    fb_reader *r = fb_reader_open(f, name, err, errlen);
    if (!r) return -1;
    const fb_header *h = fb_reader_header(r);
    char why[8];
    if (fb_stage4_check(h, name, why, sizeof why) == 0) {
        snprintf(err, errlen, "%s: stage-4 maps (fb-feat --layer stage4): only fb-train --fine-tune trains "
                 "on them and only the heads it makes read them; for this, make features with fb-feat "
                 "(without --layer stage4)", name);
        fb_reader_close(r);
        return -1;
    }
    if (h->dtype != FB_F32 || h->rank != 1) {
        snprintf(err, errlen, "%s: records are %s of rank %d, not feature vectors "
                 "(float32, rank 1) as fb-feat writes them", name, fb_dtype_name(h->dtype), h->rank);
        fb_reader_close(r);
        return -1;
    }
    int rc = fb_featset_read_from(ds, r, name, err, errlen);
    fb_reader_close(r);
    return rc;
}

int fb_featset_read_from(fb_featset *ds, fb_reader *r, const char *name, char *err, size_t errlen)
{
    memset(ds, 0, sizeof *ds);
    if (errlen) err[0] = 0;
    const fb_header *h = fb_reader_header(r);
    if (h->dtype != FB_F32 || h->rank != 1) {
        snprintf(err, errlen, "%s: records are %s of rank %d, not feature vectors (float32, rank 1)",
                 name, fb_dtype_name(h->dtype), h->rank);
        return -1;
    }
    ds->dim = (int)h->dims[0];
    fb_record rec;
    int rc;
    while ((rc = fb_reader_next(r, &rec)) == 1) {
        if (ds->n == ds->cap && fb_featset_grow(ds) != 0) {
            snprintf(err, errlen, "%s: out of memory after %zu records", name, ds->n);
            rc = -1;
            break;
        }
        memcpy(ds->x + ds->n * ds->dim, rec.data, (size_t)ds->dim * sizeof(float));
        ds->y[ds->n] = rec.label;
        ds->group[ds->n] = rec.group;
        if (!(ds->ids[ds->n] = strdup(rec.id ? rec.id : ""))) {
            snprintf(err, errlen, "%s: out of memory", name);
            rc = -1;
            break;
        }
        ds->n++;
    }
    if (rc < 0 && !err[0]) {
        const char *why = fb_reader_error(r);
        why = why ? why : "read error";
        /* the reader's message may or may not name the stream already */
        if (strncmp(why, name, strlen(name)) == 0) snprintf(err, errlen, "%s", why);
        else snprintf(err, errlen, "%s: %s", name, why);
    }
    if (rc == 0) {
        /* the header is final only now: later segments may add classes */
        h = fb_reader_header(r);
        ds->nclasses = h->nclasses;
        ds->classes = calloc((size_t)h->nclasses + 1, sizeof(char *));
        ds->provenance = strdup(h->provenance ? h->provenance : "");
        if (!ds->classes || !ds->provenance) rc = -1;
        for (int c = 0; rc == 0 && c < h->nclasses; c++)
            if (!(ds->classes[c] = strdup(h->classes[c]))) rc = -1;
        if (rc < 0) snprintf(err, errlen, "%s: out of memory", name);
    }
    if (rc < 0) {
        fb_featset_free(ds);
        return -1;
    }
    return 0;
}

void fb_featset_class_counts(const fb_featset *ds, size_t *count)
{
    for (int c = 0; c < ds->nclasses; c++) count[c] = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] >= 0 && ds->y[i] < ds->nclasses) count[ds->y[i]]++;
}

int fb_featset_check_trainable(const fb_featset *ds, const char *name, int nhidden,
                               char *err, size_t errlen)
{
    if (ds->n == 0) {
        snprintf(err, errlen, "%s: no records to train on", name);
        return -1;
    }
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] < 0) {
            snprintf(err, errlen, "%s: record '%s' has no label; training needs a class for "
                     "every record", name, ds->ids[i]);
            return -1;
        }
    size_t *count = calloc((size_t)ds->nclasses + 1, sizeof(size_t));
    if (!count) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fb_featset_class_counts(ds, count);
    int present = 0;
    for (int c = 0; c < ds->nclasses; c++) present += count[c] > 0;
    free(count);
    if (ds->nclasses < 2 || present < 2) {
        snprintf(err, errlen, "%s: records of %d class%s; a classifier needs at least two",
                 name, present, present == 1 ? "" : "es");
        return -1;
    }
    if (nhidden > 0 && ds->n < 2) {
        snprintf(err, errlen, "%s: one record; BatchNorm needs a batch of at least two", name);
        return -1;
    }
    return 0;
}

static char **copy_table(char *const *names, int n)
{
    char **c = calloc((size_t)n + 1, sizeof *c);
    for (int i = 0; c && i < n; i++)
        if (!(c[i] = strdup(names[i]))) {
            while (i--) free(c[i]);
            free(c);
            return NULL;
        }
    return c;
}

int fb_featset_relabel(fb_featset *ds, char *const *classes, int nclasses, size_t *unknown,
                       size_t *unlabelled)
{
    int *map = malloc(((size_t)ds->nclasses + 1) * sizeof(int));
    char **table = copy_table(classes, nclasses);
    if (!map || !table) {
        free(map);
        if (table) for (int c = 0; c < nclasses; c++) free(table[c]);
        free(table);
        return -1;
    }
    fb_class_map(ds->classes, ds->nclasses, classes, nclasses, map);
    *unknown = *unlabelled = 0;
    for (size_t i = 0; i < ds->n; i++) {
        if (ds->y[i] < 0) { (*unlabelled)++; continue; }
        ds->y[i] = map[ds->y[i]];
        *unknown += ds->y[i] < 0;
    }
    for (int c = 0; c < ds->nclasses; c++) free(ds->classes[c]);
    free(ds->classes);
    ds->classes = table;
    ds->nclasses = nclasses;
    free(map);
    return 0;
}
