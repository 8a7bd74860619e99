/* Classification metrics: confusion matrix, per-class precision / recall /
 * F1 with macro averages, mean loss, and ROC AUC for two classes. */
#ifndef FB_METRICS_H
#define FB_METRICS_H

#include <stddef.h>

typedef struct {
    int k;                   /* classes */
    size_t n, correct;
    double loss_sum;         /* sum of -ln p(true class) */
    size_t *confusion;       /* [k][k]: row = true class, column = predicted */
    /* two classes only: score of class 1 and truth, for the ROC AUC */
    float *score;
    unsigned char *positive;
    size_t cap;
} fb_metrics;

int    fb_metrics_init(fb_metrics *m, int k);      /* 0 ok, -1 no memory */
void   fb_metrics_free(fb_metrics *m);
/* One record: true class and the k class probabilities.  Returns the
 * predicted class (the most probable; ties go to the lower index), -1 on no
 * memory. */
int    fb_metrics_add(fb_metrics *m, int truth, const float *probs);
double fb_metrics_accuracy(const fb_metrics *m);
double fb_metrics_mean_loss(const fb_metrics *m);
/* NaN when undefined (no predictions of / no records of class c) */
double fb_metrics_precision(const fb_metrics *m, int c);
double fb_metrics_recall(const fb_metrics *m, int c);
double fb_metrics_f1(const fb_metrics *m, int c);
/* means over classes where the value is defined */
double fb_metrics_macro_precision(const fb_metrics *m);
double fb_metrics_macro_recall(const fb_metrics *m);
double fb_metrics_macro_f1(const fb_metrics *m);
/* ROC AUC with class 1 as positive (k == 2), NaN when a class is absent. */
double fb_metrics_auc(const fb_metrics *m);
/* The same from raw scores: probability that a random positive scores
 * higher than a random negative, ties counting one half. */
double fb_roc_auc(const float *score, const unsigned char *positive, size_t n);

#endif
