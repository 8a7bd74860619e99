/* Pooling, dense and softmax (see include/fb/kern.h). */
#include "kern.h"

#include <math.h>
#include <string.h>

void fb_kern_maxpool(const float *restrict in, int h, int w, int c, int k, int stride, int pad,
                     float *restrict out, int oy0, int oy1)
{
    int wo = fb_conv_out(w, k, stride, pad);
    for (int oy = oy0; oy < oy1; oy++)
        for (int ox = 0; ox < wo; ox++) {
            float *o = out + ((size_t)oy * wo + ox) * c;
            int y0 = oy * stride - pad, x0 = ox * stride - pad;
            /* A window reaching into the zero padding has 0 among its values. */
            int padded = y0 < 0 || x0 < 0 || y0 + k > h || x0 + k > w;
            int first = 1;
            for (int ky = 0; ky < k; ky++) {
                int iy = y0 + ky;
                if (iy < 0 || iy >= h) continue;
                for (int kx = 0; kx < k; kx++) {
                    int ix = x0 + kx;
                    if (ix < 0 || ix >= w) continue;
                    const float *p = in + ((size_t)iy * w + ix) * c;
                    if (first) {
                        memcpy(o, p, (size_t)c * sizeof *o);
                        first = 0;
                    } else {
                        for (int i = 0; i < c; i++) o[i] = p[i] > o[i] ? p[i] : o[i];
                    }
                }
            }
            if (first) memset(o, 0, (size_t)c * sizeof *o);
            else if (padded)
                for (int i = 0; i < c; i++) o[i] = o[i] > 0 ? o[i] : 0;
        }
}

void fb_kern_avgpool(const float *restrict in, size_t n, int c, float *restrict out)
{
    /* Sum in double: 49 positions of values up to ~20 would lose the last
     * bits of float precision in some orders; this keeps features exact to
     * rounding of the final division. */
    double acc[c];
    for (int i = 0; i < c; i++) acc[i] = 0;
    for (size_t p = 0; p < n; p++)
        for (int i = 0; i < c; i++) acc[i] += in[p * (size_t)c + i];
    for (int i = 0; i < c; i++) out[i] = (float)(acc[i] / (double)n);
}

void fb_kern_dense(const float *restrict in, int cin, const float *restrict w,
                   const float *restrict bias, int cout, float *restrict out)
{
    /* Accumulated in double: fc1000 sums 2048 products into logits whose
     * differences the softmax turns into probabilities; float accumulation
     * alone moves them by ~1e-5 (measured against the reference), double
     * costs nothing next to the convolutions. */
    double acc[cout];
    for (int o = 0; o < cout; o++) acc[o] = bias[o];
    for (int i = 0; i < cin; i++) {
        double x = in[i];
        const float *row = w + (size_t)i * cout;
        for (int o = 0; o < cout; o++) acc[o] += x * (double)row[o];
    }
    for (int o = 0; o < cout; o++) out[o] = (float)acc[o];
}

void fb_kern_softmax(const float *in, int n, float *out)
{
    float max = in[0];
    for (int i = 1; i < n; i++) max = in[i] > max ? in[i] : max;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += exp((double)in[i] - max);
    for (int i = 0; i < n; i++) out[i] = (float)(exp((double)in[i] - max) / sum);
}
