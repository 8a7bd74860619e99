/* "None of these": rejecting records unlike every training photo.
 *
 * The test is the distance from a record to its k-th nearest training photo
 * in a normalised feature space: square root of each feature (they are
 * averages of ReLU outputs, so non-negative), then scaled to unit length;
 * distance = 1 - cosine similarity.  The cut is the (1 - rate) quantile of
 * the same distance measured for each training photo against the others
 * (leave one out, and leave out its same-photo group too: a near-duplicate
 * would make a photo look closer to the data than a new photo ever is).
 * So about `rate` of new in-class photos are rejected, and a photo far from
 * all of them is.
 *
 * Measured on the shared sets before choosing it (k = 5, rate 2%): a
 * 3-breed head rejected 100% of non-dog ImageNet photos and 93% of cats while
 * rejecting 3.3% of its own test photos; a shrunk-covariance Mahalanobis
 * distance rejected only 75-89% of the cats; the mass of the backbone's
 * ImageNet prediction on the classes the training photos use was weaker on
 * face crops (79-83% of cats).
 *
 *   points  n x d   the stored training photos, normalised
 *   loo     n       their held-out distances, ascending (for confidences)
 */
#ifndef FB_HEAD_REJECT_H
#define FB_HEAD_REJECT_H

#include <stddef.h>
#include <stdint.h>

/* Training photos kept: beyond this a seeded sample (memory and head.bin
 * size stay bounded: 4096 x 2048 floats = 32 MB). */
#define FB_REJECT_MAX_POINTS 4096
#define FB_REJECT_DEFAULT_K 5
#define FB_REJECT_MAX_K 64

typedef struct {
    int k, d;
    size_t n;
    float *points;           /* n x d */
    float *loo;              /* n, ascending */
    float cut;               /* distance above which a record is unknown */
    float rate;              /* the share of held-out photos the cut rejects */
} fb_reject;

/* Square root then unit length, in place, on one d-vector.  An all-zero
 * vector stays zero (its distance to everything is 1). */
void fb_reject_normalise(float *x, int d);

/* Fits on n raw feature vectors (n x d).  group[i] (may be NULL) is the
 * record's same-photo group, 0 for none.  Needs n > k.  seed picks the
 * sample when n > FB_REJECT_MAX_POINTS.  0 ok; -1 with a message in err. */
int  fb_reject_fit(fb_reject *r, const float *x, size_t n, int d, const uint32_t *group, int k,
                   double rate, uint64_t seed, char *err, size_t errlen);
void fb_reject_free(fb_reject *r);

/* Distance of one raw feature vector (d floats) to its k-th nearest stored
 * photo.  `scratch` holds d + n floats. */
double fb_reject_distance(const fb_reject *r, const float *x, float *scratch);

/* Share of the training photos' held-out distances below `dist`: 0.99 means
 * farther than 99% of in-class photos were.  This is the confidence that a
 * record beyond the cut is unknown. */
double fb_reject_rank(const fb_reject *r, double dist);

/* The cut that would reject `rate` of the held-out training distances
 * (rate in [0, 1]): what --reject-rate changes at predict time. */
float fb_reject_cut_for_rate(const fb_reject *r, double rate);

#endif
