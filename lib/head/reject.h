/* "None of these": rejecting records unlike every training photo.
 *
 * The test is the distance from a record to its k-th nearest training photo
 * in a normalised feature space: square root of each feature (they are
 * averages of ReLU outputs, so non-negative), then scaled to unit length;
 * distance = 1 - cosine similarity.  The cut is the (1 - rate) quantile of
 * the same distance measured for each training photo against the others
 * with its proxy subject left out (fb-train): k-means clusters of about
 * FB_REJECT_SUBJECT_SIZE similar photos within each class, plus the photo's
 * same-photo group.  A training photo's nearest neighbours are mostly photos
 * of the same dog, room, day; a photo of a subject never seen has none, so a
 * cut from one-photo-out distances (fb_reject_fit: what fb-audit uses)
 * rejects many more of them than the rate.
 *
 * Measured on the shared sets (scripts/bench-unknown; rate 0.01, k = 5):
 *                         one dog vs 30 (dogfacenet)   3 breeds (stanford)
 *                         own  unseen  non-dog  cats   own   non-dog  cats
 *   one photo held out    .984  .886   1.000    .999   .978   .992    .855
 *   clusters of 5         .997  .984    .998    .921   .980   .981    .830
 *   clusters of 10        .997  .992    .998    .912   .980   .977    .767
 * (own, unseen: share kept; non-dog, cats: share rejected.)  In Python on
 * the same features: k = 20 one-out kept .969 of unseen dogs but rejected
 * .924 of their cats; the distance to the nearest class centre kept .976
 * and rejected .749; a shrunk-covariance Mahalanobis distance rejected only
 * 75-89% of the cats of a 3-breed head, the mass of the backbone's ImageNet
 * prediction on the training photos' classes 79-83% of a one-dog head's.
 * Clusters of 5 (not 10): the 3-breed head keeps its test photos as well
 * either way and rejects more outsiders.
 *
 * The type and its functions are in the head area's door, include/fb/head.h
 * (fb_reject): a head carries one, fb-train fits it, fb-predict, fb-eval and
 * fb-audit use it.
 */
#ifndef FB_HEAD_REJECT_H
#define FB_HEAD_REJECT_H

#include "fb/head.h"

#endif
