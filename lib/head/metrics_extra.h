/* Metrics the head's training and fb-eval share beyond include/fb/metrics.h:
 * balanced accuracy, the majority-class baseline and the Wilson interval. */
#ifndef FB_HEAD_METRICS_EXTRA_H
#define FB_HEAD_METRICS_EXTRA_H

#include <stddef.h>

/* Mean over classes of the recall (classes with no records left out):
 * confusion [k][k], row = true class, column = predicted.  NaN when empty. */
double fb_balanced_accuracy(const size_t *confusion, int k);
/* The same from label arrays (truth and prediction in 0..k-1; others skipped). */
double fb_balanced_accuracy_labels(const int *truth, const int *pred, size_t n, int k);
/* Accuracy of always answering the most common true class: max row sum / n. */
double fb_majority_baseline(const size_t *confusion, int k);
/* Wilson score interval for a proportion of `successes` in n at normal
 * quantile z (1.959964 for 95%).  n = 0: [0, 1]. */
void   fb_wilson_interval(size_t successes, size_t n, double z, double *lo, double *hi);

#endif
