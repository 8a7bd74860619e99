/* The numbers with their uncertainty, in plain words (include/fb/report.h,
 * "numbers in words"). */
#include "fb/report.h"

#include <math.h>
#include <stdio.h>

/* The head area's door has no interval yet (it comes with the solved head);
 * until then the report computes the Wilson score interval itself:
 *   centre = (p + z^2/2n) / (1 + z^2/n)
 *   half   = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2)
 * (Wilson 1927; Brown, Cai and DasGupta 2001 recommend it over p +- z se,
 * which leaves [0,1] and is too narrow for small n or p near 0 or 1.) */
void fb_wilson_interval(size_t k, size_t n, double z, double *lo, double *hi)
{
    if (n == 0) { *lo = 0; *hi = 1; return; }
    double p = (double)k / n, z2 = z * z, d = 1 + z2 / n;
    double centre = (p + z2 / (2.0 * n)) / d;
    double half = z / d * sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
    *lo = fmax(0, centre - half);
    *hi = fmin(1, centre + half);
    if (k == 0) *lo = 0;
    if (k == n) *hi = 1;
}

static double pct(double v) { return 100 * v; }

void fb_words_accuracy(size_t right, size_t n, char *buf, size_t len)
{
    double lo, hi;
    fb_wilson_interval(right, n, 1.959964, &lo, &hi);
    snprintf(buf, len,
             "%zu of %zu photos classified right: %.1f%%. With %zu photos this is only an "
             "estimate: the accuracy on photos like these is likely (95%% confidence) between "
             "%.1f%% and %.1f%%.", right, n, n ? pct((double)right / n) : 0.0, n, pct(lo), pct(hi));
}
