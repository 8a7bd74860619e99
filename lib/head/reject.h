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
 * The type and its functions are in the head area's door, include/fb/head.h
 * (fb_reject): a head carries one, fb-train fits it, fb-predict, fb-eval and
 * fb-audit use it.
 */
#ifndef FB_HEAD_REJECT_H
#define FB_HEAD_REJECT_H

#include "fb/head.h"

#endif
