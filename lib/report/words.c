/* The numbers with their uncertainty, in plain words (include/fb/report.h,
 * "numbers in words"). */
#include "fb/head.h"
#include "fb/report.h"

#include <math.h>
#include <stdio.h>

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
