/* Convolutions as GEMMs on NHWC tensors (see include/fb/kern.h). */
#include "kern.h"

#include <cblas.h>
#include <string.h>

void fb_kern_preprocess(const uint8_t *rgb, size_t n, float *bgr)
{
    /* Keras preprocess_input(mode="caffe"): x[..., ::-1] - mean, computed in
     * float exactly as numpy/tf do (uint8 -> float32, then subtract). */
    const float mean_b = 103.939f, mean_g = 116.779f, mean_r = 123.68f;
    for (size_t i = 0; i < n; i++) {
        bgr[3 * i + 0] = (float)rgb[3 * i + 2] - mean_b;
        bgr[3 * i + 1] = (float)rgb[3 * i + 1] - mean_g;
        bgr[3 * i + 2] = (float)rgb[3 * i + 0] - mean_r;
    }
}

void fb_kern_bias_init(float *restrict out, const float *restrict bias,
                       const float *restrict residual, size_t rows, int cols)
{
    for (size_t r = 0; r < rows; r++) {
        float *o = out + r * (size_t)cols;
        if (residual) {
            const float *s = residual + r * (size_t)cols;
            for (int c = 0; c < cols; c++) o[c] = bias[c] + s[c];
        } else {
            memcpy(o, bias, (size_t)cols * sizeof *o);
        }
    }
}

void fb_kern_relu(float *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

size_t fb_kern_conv2d_scratch(int h, int w, int cin, int k, int stride, int pad)
{
    if (k == 1 && stride == 1 && pad == 0) return 0;
    size_t ho = (size_t)fb_conv_out(h, k, stride, pad), wo = (size_t)fb_conv_out(w, k, stride, pad);
    return ho * wo * (size_t)k * k * cin;
}

/* Gathers the k x k x cin patch of output positions [row0, row1) into rows
 * of cols[row1-row0][k*k*cin], in the (ky, kx, c) order of the weights;
 * positions outside the image are zero. */
void fb_kern_im2col(const float *restrict in, int h, int w, int cin, int k, int stride, int pad,
                   float *restrict cols, int row0, int row1)
{
    int wo = fb_conv_out(w, k, stride, pad);
    size_t row_len = (size_t)k * k * cin;
    for (int r = row0; r < row1; r++) {
        int oy = r / wo, ox = r % wo;
        float *dst = cols + (size_t)(r - row0) * row_len;
        for (int ky = 0; ky < k; ky++) {
            int iy = oy * stride - pad + ky;
            if (iy < 0 || iy >= h) {
                memset(dst, 0, (size_t)k * cin * sizeof *dst);
                dst += (size_t)k * cin;
                continue;
            }
            int ix0 = ox * stride - pad;
            /* Copy the in-bounds run of kx in one memcpy (it is contiguous in NHWC). */
            int kx_lo = ix0 < 0 ? (-ix0 < k ? -ix0 : k) : 0;
            int kx_hi = ix0 + k > w ? w - ix0 : k;
            if (kx_hi < kx_lo) kx_hi = kx_lo;
            if (kx_lo > 0) memset(dst, 0, (size_t)kx_lo * cin * sizeof *dst);
            if (kx_hi > kx_lo)
                memcpy(dst + (size_t)kx_lo * cin, in + ((size_t)iy * w + ix0 + kx_lo) * cin,
                       (size_t)(kx_hi - kx_lo) * cin * sizeof *dst);
            if (kx_hi < k)
                memset(dst + (size_t)kx_hi * cin, 0, (size_t)(k - kx_hi) * cin * sizeof *dst);
            dst += (size_t)k * cin;
        }
    }
}

/* A 1x1 conv with stride s reads every s-th pixel of every s-th row;
 * gathers those of output positions [row0, row1). */
static void subsample(const float *restrict in, int w, int c, int stride, float *restrict out,
                      int row0, int row1)
{
    int wo = fb_conv_out(w, 1, stride, 0);
    for (int r = row0; r < row1; r++) {
        int oy = r / wo, ox = r % wo;
        memcpy(out + (size_t)(r - row0) * c, in + ((size_t)oy * stride * w + (size_t)ox * stride) * c,
               (size_t)c * sizeof *out);
    }
}

void fb_kern_conv2d(const float *in, int h, int w, int cin,
                    const float *weights, const float *bias, int k, int stride, int pad, int cout,
                    const float *residual, int relu, float *out, float *scratch,
                    int row0, int row1)
{
    (void)h;
    if (row1 <= row0) return;
    const float *a = in + (size_t)row0 * cin;
    if (k == 1 && pad == 0) {
        if (stride != 1) {
            subsample(in, w, cin, stride, scratch, row0, row1);
            a = scratch;
        }
    } else {
        fb_kern_im2col(in, h, w, cin, k, stride, pad, scratch, row0, row1);
        a = scratch;
    }
    int m = row1 - row0, kk = k * k * cin;
    float *o = out + (size_t)row0 * cout;
    /* The GEMM accumulates onto bias (+ residual) already in out (beta = 1):
     * with beta = 0 OpenBLAS would spend a pass zeroing out first. */
    fb_kern_bias_init(o, bias, residual ? residual + (size_t)row0 * cout : NULL, (size_t)m, cout);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, cout, kk,
                1.0f, a, kk, weights, cout, 1.0f, o, cout);
    if (relu) fb_kern_relu(o, (size_t)m * cout);
}
