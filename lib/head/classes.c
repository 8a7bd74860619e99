/* Choosing a class: argmax with its tie rule, classes by name, class weights.
 * Each is defined once here and used everywhere (fb/head.h). */
#include "fb/head.h"

#include <math.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int fb_argmax(const float *v, int n)
{
    /* strictly greater: an equal later value never takes over, so ties go to
     * the lowest index */
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

int fb_class_index(char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

void fb_class_map(char *const *from, int nfrom, char *const *to, int nto, int *map)
{
    for (int i = 0; i < nfrom; i++) map[i] = fb_class_index(to, nto, from[i]);
}

/* "balanced": n / (k * n_c), as scikit-learn: every class carries equal total
 * weight; k counts the classes present. */
static void balanced_weights(const fb_featset *ds, const size_t *count, float *w)
{
    int present = 0;
    for (int c = 0; c < ds->nclasses; c++) present += count[c] > 0;
    for (int c = 0; c < ds->nclasses; c++)
        w[c] = count[c] ? (float)((double)ds->n / ((double)present * count[c])) : 0;
}

/* One "name=w" item into w; 0 ok, -1 with a message. */
static int named_weight(char *item, const fb_featset *ds, float *w, char *err, size_t errlen)
{
    char *eq = strrchr(item, '=');
    if (!eq) {
        snprintf(err, errlen, "want 'balanced' or name=weight,..., not '%s'", item);
        return -1;
    }
    *eq = 0;
    int c = fb_class_index(ds->classes, ds->nclasses, item);
    if (c < 0) {
        snprintf(err, errlen, "no class '%s' in the training stream", item);
        return -1;
    }
    const char *num = eq + 1;
    char *end = NULL;
    int starts = *num && *num != ' ' && *num != '\t';   /* strtod would skip blanks */
    errno = 0;
    double v = starts ? strtod(num, &end) : 0;
    if (!starts || *end || errno || !(v >= 0 && v <= 1e6)) {
        snprintf(err, errlen, "weight of '%s': '%s' is not a number from 0 to 1e+06", item, num);
        return -1;
    }
    w[c] = (float)v;
    return 0;
}

float *fb_class_weights(const char *spec, const fb_featset *ds, char *err, size_t errlen)
{
    float *w = malloc(((size_t)ds->nclasses + 1) * sizeof(float));
    size_t *count = calloc((size_t)ds->nclasses + 1, sizeof(size_t));
    char *copy = strdup(spec);
    int rc = w && count && copy ? 0 : -1;
    if (rc) snprintf(err, errlen, "out of memory");
    for (int c = 0; rc == 0 && c < ds->nclasses; c++) w[c] = 1;
    if (rc == 0 && strcmp(spec, "balanced") == 0) {
        fb_featset_class_counts(ds, count);
        balanced_weights(ds, count, w);
    } else if (rc == 0) {
        char *save = NULL;
        for (char *item = strtok_r(copy, ",", &save); item && rc == 0;
             item = strtok_r(NULL, ",", &save))
            rc = named_weight(item, ds, w, err, errlen);
    }
    free(count);
    free(copy);
    if (rc) {
        free(w);
        return NULL;
    }
    return w;
}

int fb_head_decide(const fb_head *h, const float *probs)
{
    if (h->nclasses == 2 && h->threshold != 0) {
        /* ln(p1/p0) from the probabilities; floored so a saturated 0 or 1
         * still compares (it is then far from any threshold) */
        double p0 = probs[0] > 1e-38f ? probs[0] : 1e-38, p1 = probs[1] > 1e-38f ? probs[1] : 1e-38;
        return log(p1 / p0) > h->threshold;
    }
    return fb_argmax(probs, h->nclasses);
}
