/* Feature normalisation (norm.h). */
#include "norm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { int bit; const char *name; } step_names[] = {
    { FB_NORM_SQRT, "sqrt" }, { FB_NORM_L2, "l2" }, { FB_NORM_STD, "std" },
};

int fb_norm_parse(const char *spec, int *steps, char *err, size_t errlen)
{
    *steps = 0;
    if (!strcmp(spec, "none")) return 0;
    const char *s = spec;
    while (*s) {
        size_t len = strcspn(s, ",");
        int found = 0;
        for (size_t i = 0; i < sizeof step_names / sizeof *step_names; i++)
            if (strlen(step_names[i].name) == len && !strncmp(s, step_names[i].name, len)) {
                *steps |= step_names[i].bit;
                found = 1;
            }
        if (!found) {
            snprintf(err, errlen, "normalisation '%s': expected none or sqrt,l2,std steps joined by commas", spec);
            return -1;
        }
        s += len;
        if (*s == ',') s++;
    }
    return 0;
}

void fb_norm_string(int steps, char *buf, size_t n)
{
    if (!n) return;
    buf[0] = 0;
    if (!steps) { snprintf(buf, n, "none"); return; }
    size_t used = 0;
    for (size_t i = 0; i < sizeof step_names / sizeof *step_names; i++)
        if (steps & step_names[i].bit) {
            int w = snprintf(buf + used, n - used, "%s%s", used ? "," : "", step_names[i].name);
            if (w < 0 || (size_t)w >= n - used) return;
            used += w;
        }
}

/* The steps before std, on one record. */
static void row_transform(int steps, float *x, int dim)
{
    if (steps & FB_NORM_SQRT)
        for (int j = 0; j < dim; j++) x[j] = x[j] < 0 ? -sqrtf(-x[j]) : sqrtf(x[j]);
    if (steps & FB_NORM_L2) {
        double ss = 0;
        for (int j = 0; j < dim; j++) ss += (double)x[j] * x[j];
        if (ss > 0) {
            float inv = (float)(1.0 / sqrt(ss));
            for (int j = 0; j < dim; j++) x[j] *= inv;
        }
    }
}

int fb_norm_fit(fb_norm *nm, int steps, const float *x, size_t n, int dim, char *err, size_t errlen)
{
    memset(nm, 0, sizeof *nm);
    nm->steps = steps;
    nm->dim = dim;
    if (!(steps & FB_NORM_STD)) return 0;
    nm->mean = calloc((size_t)dim, sizeof(float));
    nm->inv_std = calloc((size_t)dim, sizeof(float));
    double *sum = calloc((size_t)dim, sizeof(double)), *sq = calloc((size_t)dim, sizeof(double));
    float *row = malloc((size_t)dim * sizeof(float));
    if (!nm->mean || !nm->inv_std || !sum || !sq || !row) {
        free(sum); free(sq); free(row); fb_norm_free(nm);
        snprintf(err, errlen, "normalisation: out of memory");
        return -1;
    }
    /* two passes (mean, then squared deviations) for a stable variance */
    for (size_t i = 0; i < n; i++) {
        memcpy(row, x + i * dim, (size_t)dim * sizeof(float));
        row_transform(steps, row, dim);
        for (int j = 0; j < dim; j++) sum[j] += row[j];
    }
    for (int j = 0; j < dim; j++) nm->mean[j] = n ? (float)(sum[j] / n) : 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(row, x + i * dim, (size_t)dim * sizeof(float));
        row_transform(steps, row, dim);
        for (int j = 0; j < dim; j++) { double e = row[j] - nm->mean[j]; sq[j] += e * e; }
    }
    /* A feature constant on the training set (a dead ReLU unit) is only
     * centred: dividing by a zero deviation would blow up any predict-time
     * deviation. */
    for (int j = 0; j < dim; j++) {
        double sd = n ? sqrt(sq[j] / n) : 0;
        nm->inv_std[j] = sd > 1e-12 ? (float)(1.0 / sd) : 1.0f;
    }
    free(sum); free(sq); free(row);
    return 0;
}

void fb_norm_apply(const fb_norm *nm, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float *r = x + i * nm->dim;
        row_transform(nm->steps, r, nm->dim);
        if (nm->steps & FB_NORM_STD)
            for (int j = 0; j < nm->dim; j++) r[j] = (r[j] - nm->mean[j]) * nm->inv_std[j];
    }
}

void fb_norm_free(fb_norm *nm)
{
    free(nm->mean);
    free(nm->inv_std);
    nm->mean = nm->inv_std = NULL;
}

/* ------------------------------------------------ the head's normalisation */

int fb_head_fit_norm(fb_head *h, int steps, const float *x, size_t n, char *err, size_t errlen)
{
    fb_norm nm;
    if (fb_norm_fit(&nm, steps, x, n, h->in_dim, err, errlen) != 0) return -1;
    free(h->norm_mean);
    free(h->norm_inv_std);
    h->norm = steps;
    h->norm_mean = nm.mean;          /* the head owns them now */
    h->norm_inv_std = nm.inv_std;
    return 0;
}

void fb_head_normalise(const fb_head *h, float *x, size_t n)
{
    if (!h->norm) return;
    fb_norm nm = { h->norm, h->in_dim, h->norm_mean, h->norm_inv_std };
    fb_norm_apply(&nm, x, n);
}
