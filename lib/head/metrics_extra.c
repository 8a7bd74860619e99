/* Balanced accuracy, majority baseline, Wilson interval (fb/head.h, metrics). */
#include "fb/head.h"

#include <math.h>
#include <stdlib.h>

double fb_balanced_accuracy(const size_t *confusion, int k)
{
    double sum = 0;
    int present = 0;
    for (int t = 0; t < k; t++) {
        size_t row = 0;
        for (int p = 0; p < k; p++) row += confusion[(size_t)t * k + p];
        if (!row) continue;
        sum += (double)confusion[(size_t)t * k + t] / row;
        present++;
    }
    return present ? sum / present : NAN;
}

double fb_balanced_accuracy_labels(const int *truth, const int *pred, size_t n, int k)
{
    size_t *conf = calloc((size_t)k * k, sizeof *conf);
    if (!conf) return NAN;
    for (size_t i = 0; i < n; i++)
        if (truth[i] >= 0 && truth[i] < k && pred[i] >= 0 && pred[i] < k)
            conf[(size_t)truth[i] * k + pred[i]]++;
    double b = fb_balanced_accuracy(conf, k);
    free(conf);
    return b;
}

double fb_majority_baseline(const size_t *confusion, int k)
{
    size_t n = 0, most = 0;
    for (int t = 0; t < k; t++) {
        size_t row = 0;
        for (int p = 0; p < k; p++) row += confusion[(size_t)t * k + p];
        n += row;
        if (row > most) most = row;
    }
    return n ? (double)most / n : NAN;
}

void fb_wilson_interval(size_t successes, size_t n, double z, double *lo, double *hi)
{
    if (!n) { *lo = 0; *hi = 1; return; }
    double p = (double)successes / n, z2 = z * z, nn = (double)n;
    double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
    double half = z / (1 + z2 / nn) * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    *lo = fmax(0, centre - half);
    *hi = fmin(1, centre + half);
}
