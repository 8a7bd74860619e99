/* Feature normalisation, the head's first step, fitted on the training
 * stream and applied the same way at predict time.
 *
 * Steps, in this order, each optional (a bit set in `steps`):
 *   sqrt  signed square root, x -> sign(x) sqrt|x|: ResNet's pooled features
 *         are heavy-tailed (a few large activations dominate distances);
 *   l2    each record scaled to unit length: removes the photo's overall
 *         activation level (exposure, size of the subject);
 *   std   per feature, minus the training mean, over the training standard
 *         deviation (features constant on the training set are only centred).
 * Spelled "none" or steps joined by commas: "sqrt,l2", "sqrt,l2,std", "std".
 */
#ifndef FB_HEAD_NORM_H
#define FB_HEAD_NORM_H

#include <stddef.h>
#include "fb/head.h"    /* FB_NORM_*, fb_norm_parse, fb_norm_string */

#define FB_NORM_ALL (FB_NORM_SQRT | FB_NORM_L2 | FB_NORM_STD)

typedef struct {
    int steps;           /* FB_NORM_* bits */
    int dim;
    float *mean;         /* [dim] with FB_NORM_STD, else NULL */
    float *inv_std;      /* [dim] with FB_NORM_STD, else NULL */
} fb_norm;

/* Fits the statistics the steps need on x [n, dim] (std: mean and deviation
 * after the earlier steps).  0 ok; -1 no memory (message in err). */
int  fb_norm_fit(fb_norm *nm, int steps, const float *x, size_t n, int dim, char *err, size_t errlen);
/* In place on x [n, dim]. */
void fb_norm_apply(const fb_norm *nm, float *x, size_t n);
void fb_norm_free(fb_norm *nm);

#endif
