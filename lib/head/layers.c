/* The head's layers (see layers.h); the dense layers' GEMMs are split over
 * the pool of lib/core/pool.c.  Built with -O3 -march=native (KERNEL_SRC in
 * the Makefile). */
#include "layers.h"
#include "fb/core.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* [lo, hi) of n items for part t of nt, chunk starts aligned to `align`. */
static void split_range(int n, int t, int nt, int align, int *lo, int *hi)
{
    int chunk = (n + nt - 1) / nt;
    chunk = (chunk + align - 1) / align * align;
    *lo = t * chunk < n ? t * chunk : n;
    *hi = *lo + chunk < n ? *lo + chunk : n;
}

/* Splitting pays only for GEMMs big enough to amortise the hand-off.  The
 * split is the same whatever the thread count: OpenBLAS takes different
 * code paths for different sub-shapes (its small-matrix kernels, say), and
 * three or four parts gave other bits than one, two gave the same; so two
 * parts always (one thread runs both), and a seeded run does not depend on
 * --threads by construction.  With two threads, whichever is running takes
 * the second part: a descheduled partner is not waited for. */
static int parts_for(int B, int K, int N) { return (double)B * K * N >= 1 << 18 ? 2 : 1; }

/* ----------------------------------------------------------------- dense */

typedef struct {
    float *out, *dinp, *dw, *dbias;
    const float *inp, *w, *bias, *dout;
    int B, K, N;
    fb_rows_fn apply;
    void *ctx;
} dense_args;

/* Columns [lo,hi) of out [B,N] = inp [B,K] . w [K,N] + bias. */
static void dense_forward_cols(const dense_args *a, int lo, int hi)
{
    if (hi <= lo) return;
    for (int b = 0; b < a->B; b++)
        memcpy(a->out + (size_t)b * a->N + lo, a->bias + lo, (size_t)(hi - lo) * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->B, hi - lo, a->K, 1.0f,
                a->inp, a->K, a->w + lo, a->N, 1.0f, a->out + lo, a->N);
}

static void dense_forward_part(void *ctx, int t, int nt)
{
    const dense_args *a = ctx;
    int lo, hi;
    split_range(a->N, t, nt, 16, &lo, &hi);
    dense_forward_cols(a, lo, hi);
}

void fb_dense_forward(float *out, const float *inp, const float *w, const float *bias,
                      int B, int K, int N)
{
    dense_args a = { .out = out, .inp = inp, .w = w, .bias = bias, .B = B, .K = K, .N = N };
    fb_par_run(dense_forward_part, &a, parts_for(B, K, N));
}

/* Rows [klo,khi) of dw = inp^T . dout, columns [klo,khi) of dinp = dout . w^T,
 * and (part 0) dbias.  Each output element is computed by exactly one part. */
static void dense_backward_rows(const dense_args *a, int klo, int khi, int do_bias)
{
    int B = a->B, K = a->K, N = a->N;
    if (khi > klo) {
        if (a->dinp)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, khi - klo, N, 1.0f,
                        a->dout, N, a->w + (size_t)klo * N, N, 0.0f, a->dinp + klo, K);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, khi - klo, N, B, 1.0f,
                    a->inp + klo, K, a->dout, N, 0.0f, a->dw + (size_t)klo * N, N);
    }
    if (do_bias) {
        memset(a->dbias, 0, (size_t)N * sizeof(float));
        for (int b = 0; b < B; b++) {
            const float *d = a->dout + (size_t)b * N;
            for (int n = 0; n < N; n++) a->dbias[n] += d[n];
        }
    }
}

static void dense_backward_part(void *ctx, int t, int nt)
{
    const dense_args *a = ctx;
    int lo, hi;
    split_range(a->K, t, nt, 16, &lo, &hi);
    dense_backward_rows(a, lo, hi, t == nt - 1);
}

void fb_dense_backward(float *dinp, float *dw, float *dbias, const float *dout,
                       const float *inp, const float *w, int B, int K, int N)
{
    dense_args a = { .dinp = dinp, .dw = dw, .dbias = dbias, .dout = dout, .inp = inp,
                     .w = w, .B = B, .K = K, .N = N };
    fb_par_run(dense_backward_part, &a, parts_for(B, K, N));
}

/* Weight-gradient rows go through a per-thread buffer of about 128 KB (fits
 * L2 with the matching rows of w and the optimizer state). */
static _Thread_local float *rows_buf;
static _Thread_local size_t rows_cap;
/* A thread's buffer is freed when the thread ends (fb_par_shutdown joins the
 * pool's workers): the key's destructor holds it. */
static pthread_key_t rows_key;
static pthread_once_t rows_once = PTHREAD_ONCE_INIT;
static void rows_key_init(void) { (void)pthread_key_create(&rows_key, free); }

static void dense_backward_apply_part(void *ctx, int t, int nt)
{
    const dense_args *a = ctx;
    int B = a->B, K = a->K, N = a->N, lo, hi;
    split_range(K, t, nt, 16, &lo, &hi);
    if (a->dinp && hi > lo)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, hi - lo, N, 1.0f,
                    a->dout, N, a->w + (size_t)lo * N, N, 0.0f, a->dinp + lo, K);
    if (t == nt - 1) dense_backward_rows(a, 0, 0, 1);   /* dbias only */
    /* 32 rows at a time when the block is small enough for OpenBLAS's
     * unpacked small-matrix SGEMM (SkylakeX: a column count of 8, 16 or 32
     * and M*N*K <= 1e6 in its column-major terms): at B = 32, K = 2048,
     * N = 512, 32 rows ran at 95 GFLOP/s against 55 for 64 rows (thread CPU
     * time).  Else blocks of about 128 KB. */
    int rows = (double)N * 32 * B <= 1e6 ? 32 : (32768 / N > 0 ? 32768 / N : 1);
    if ((size_t)rows * N > rows_cap) {
        free(rows_buf);
        rows_cap = (size_t)rows * N;
        rows_buf = malloc(rows_cap * sizeof(float));
        if (!rows_buf) { rows_cap = 0; rows = 0; }
        pthread_once(&rows_once, rows_key_init);
        pthread_setspecific(rows_key, rows_buf);
    }
    for (int k = lo; rows && k < hi; k += rows) {
        int nr = hi - k < rows ? hi - k : rows;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nr, N, B, 1.0f,
                    a->inp + k, K, a->dout, N, 0.0f, rows_buf, N);
        a->apply(a->ctx, (size_t)k, (size_t)nr, rows_buf);
    }
}

void fb_dense_backward_apply(float *dinp, float *dbias, const float *dout, const float *inp,
                             const float *w, int B, int K, int N, fb_rows_fn apply, void *ctx)
{
    dense_args a = { .dinp = dinp, .dbias = dbias, .dout = dout, .inp = inp, .w = w,
                     .B = B, .K = K, .N = N, .apply = apply, .ctx = ctx };
    fb_par_run(dense_backward_apply_part, &a, parts_for(B, K, N));
}

/* ------------------------------------------------------------------ ReLU */

void fb_relu_forward(float *out, const float *inp, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0 ? inp[i] : 0;
}

void fb_relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] = out[i] > 0 ? dout[i] : 0;
}

/* --------------------------------------------------------------- dropout */

/* splitmix64's output function: a counter through it is a good stream */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void fb_dropout_mask(float *mask, size_t n, float rate, fb_rng *rng)
{
    if (rate <= 0) {
        for (size_t i = 0; i < n; i++) mask[i] = 1;
        return;
    }
    float keep = 1.0f / (1.0f - rate);
    uint32_t threshold = (uint32_t)((double)rate * 4294967296.0);
    /* One draw from rng seeds a counter-based stream: element i is decided
     * by the top 32 bits of mix64(seed + (i+1) * golden ratio), a loop the
     * compiler vectorises (a call to fb_rng_u64 per two elements was 5% of
     * training time). */
    uint64_t seed = fb_rng_u64(rng);
    for (size_t i = 0; i < n; i++) {
        uint32_t r = (uint32_t)(mix64(seed + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull) >> 32);
        mask[i] = r >= threshold ? keep : 0;
    }
}

void fb_dropout_forward(float *out, const float *inp, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = inp[i] * mask[i];
}

void fb_dropout_backward(float *dinp, const float *dout, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++) dinp[i] = dout[i] * mask[i];
}

/* ------------------------------------------------------------- BatchNorm */

void fb_batchnorm_forward_train(float *out, float *mean, float *rstd, const float *inp,
                                const float *gamma, const float *beta, int B, int C, float eps)
{
    /* Row-wise passes keep the [B,C] accesses contiguous; sums in double so a
     * channel with a large offset keeps its small variance. */
    double s[C], ss[C];
    for (int c = 0; c < C; c++) s[c] = ss[c] = 0;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) s[c] += inp[(size_t)b * C + c];
    for (int c = 0; c < C; c++) mean[c] = (float)(s[c] / B);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            double d = inp[(size_t)b * C + c] - mean[c];
            ss[c] += d * d;
        }
    for (int c = 0; c < C; c++) rstd[c] = (float)(1.0 / sqrt(ss[c] / B + eps));
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)b * C + c;
            out[i] = (inp[i] - mean[c]) * rstd[c] * gamma[c] + beta[c];
        }
}

void fb_batchnorm_update_running(float *run_mean, float *run_var, const float *mean,
                                 const float *rstd, int B, int C, float momentum, float eps)
{
    double unbias = B > 1 ? (double)B / (B - 1) : 1.0;
    for (int c = 0; c < C; c++) {
        double var = 1.0 / ((double)rstd[c] * rstd[c]) - eps;
        if (var < 0) var = 0;
        run_mean[c] = momentum * run_mean[c] + (1 - momentum) * mean[c];
        run_var[c] = (float)(momentum * run_var[c] + (1 - momentum) * var * unbias);
    }
}

void fb_batchnorm_forward_infer(float *out, const float *inp, const float *gamma,
                                const float *beta, const float *run_mean,
                                const float *run_var, int B, int C, float eps)
{
    float scale[C], shift[C];
    for (int c = 0; c < C; c++) {
        scale[c] = gamma[c] / sqrtf(run_var[c] + eps);
        shift[c] = beta[c] - run_mean[c] * scale[c];
    }
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)b * C + c;
            out[i] = inp[i] * scale[c] + shift[c];
        }
}

void fb_batchnorm_backward_infer(float *dinp, float *dgamma, float *dbeta, const float *dout,
                                 const float *inp, const float *gamma, const float *run_mean,
                                 const float *run_var, int B, int C, float eps)
{
    for (int c = 0; c < C; c++) dgamma[c] = dbeta[c] = 0;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)b * C + c;
            float rs = 1.0f / sqrtf(run_var[c] + eps);
            dbeta[c] += dout[i];
            dgamma[c] += dout[i] * (inp[i] - run_mean[c]) * rs;
            dinp[i] = dout[i] * gamma[c] * rs;
        }
}

void fb_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *rstd,
                           const float *gamma, int B, int C)
{
    /* With xhat = (x - mean) * rstd and g = dout * gamma:
     * dx = rstd * (g - mean_b(g) - xhat * mean_b(g * xhat)) */
    float sum_d[C], sum_dx[C];
    for (int c = 0; c < C; c++) sum_d[c] = sum_dx[c] = 0;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)b * C + c;
            float xhat = (inp[i] - mean[c]) * rstd[c];
            sum_d[c] += dout[i];
            sum_dx[c] += dout[i] * xhat;
        }
    for (int c = 0; c < C; c++) {
        dbeta[c] = sum_d[c];
        dgamma[c] = sum_dx[c];
    }
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)b * C + c;
            float xhat = (inp[i] - mean[c]) * rstd[c];
            float g_mean = gamma[c] * sum_d[c] / B, gx_mean = gamma[c] * sum_dx[c] / B;
            dinp[i] = rstd[c] * (dout[i] * gamma[c] - g_mean - xhat * gx_mean);
        }
}

/* --------------------------------------------------- softmax + x-entropy */

void fb_softmax(float *probs, const float *logits, int B, int C)
{
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * C;
        float *p = probs + (size_t)b * C;
        float mx = z[0];
        for (int c = 1; c < C; c++) if (z[c] > mx) mx = z[c];
        double sum = 0;
        for (int c = 0; c < C; c++) sum += (p[c] = expf(z[c] - mx));
        for (int c = 0; c < C; c++) p[c] = (float)(p[c] / sum);
    }
}

double fb_softmax_xent_forward(float *probs, float *losses, const float *logits,
                               const int *labels, int B, int C)
{
    double total = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * C;
        float mx = z[0];
        for (int c = 1; c < C; c++) if (z[c] > mx) mx = z[c];
        double sum = 0;
        for (int c = 0; c < C; c++) sum += exp((double)z[c] - mx);
        for (int c = 0; c < C; c++) probs[(size_t)b * C + c] = (float)(exp((double)z[c] - mx) / sum);
        /* log-sum-exp form: finite even when p[label] underflows to 0 */
        double loss = log(sum) - ((double)z[labels[b]] - mx);
        losses[b] = (float)loss;
        total += loss;
    }
    return B > 0 ? total / B : 0;
}

void fb_softmax_xent_backward(float *dlogits, const float *probs, const int *labels,
                              const float *weights, int B, int C)
{
    for (int b = 0; b < B; b++) {
        float w = (weights ? weights[b] : 1.0f) / B;
        for (int c = 0; c < C; c++) {
            size_t i = (size_t)b * C + c;
            dlogits[i] = w * (probs[i] - (c == labels[b] ? 1.0f : 0.0f));
        }
    }
}

/* ------------------------------------------------------------- optimizers */

/* One Adam step for one element; the vector loop below does the same
 * operations in the same order. */
static inline float adam_one(float *p, float g, float *m, float *v, float lr_t, float b1,
                             float b2, float eps, float wd)
{
    g = g + wd * *p;
    *m = b1 * *m + (1 - b1) * g;
    *v = b2 * *v + (1 - b2) * (g * g);
    return *p - lr_t * *m / (sqrtf(*v) + eps);
}

void fb_adam_update(float *restrict params, const float *restrict grads, float *restrict m,
                    float *restrict v, size_t n, float lr_t, float beta1, float beta2,
                    float eps, float weight_decay)
{
    size_t i = 0;
#if defined(__AVX512F__)
    /* Written out because GCC will not vectorise sqrtf without -fno-math-errno:
     * a scalar sqrt and divide per parameter made Adam cost more than the
     * GEMMs. */
    const __m512 b1 = _mm512_set1_ps(beta1), c1 = _mm512_set1_ps(1 - beta1);
    const __m512 b2 = _mm512_set1_ps(beta2), c2 = _mm512_set1_ps(1 - beta2);
    const __m512 lr = _mm512_set1_ps(lr_t), ep = _mm512_set1_ps(eps), wd = _mm512_set1_ps(weight_decay);
    for (; i + 16 <= n; i += 16) {
        __m512 p = _mm512_loadu_ps(params + i);
        __m512 g = _mm512_add_ps(_mm512_loadu_ps(grads + i), _mm512_mul_ps(wd, p));
        __m512 mm = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(c1, g));
        __m512 vv = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_loadu_ps(v + i)),
                                  _mm512_mul_ps(c2, _mm512_mul_ps(g, g)));
        __m512 step = _mm512_div_ps(_mm512_mul_ps(lr, mm), _mm512_add_ps(_mm512_sqrt_ps(vv), ep));
        _mm512_storeu_ps(m + i, mm);
        _mm512_storeu_ps(v + i, vv);
        _mm512_storeu_ps(params + i, _mm512_sub_ps(p, step));
    }
#endif
    for (; i < n; i++)
        params[i] = adam_one(&params[i], grads[i], &m[i], &v[i], lr_t, beta1, beta2, eps, weight_decay);
}

void fb_sgd_update(float *restrict params, const float *restrict grads, float *restrict vel,
                   size_t n, float lr, float momentum, float weight_decay)
{
    for (size_t i = 0; i < n; i++) {
        float g = grads[i] + weight_decay * params[i];
        vel[i] = momentum * vel[i] + g;
        params[i] -= lr * vel[i];
    }
}
