/* The bf16 kernels of lib/backbone/kern_bf16.c and kern_winograd.c:
 * - fb_bf16_round against hand-worked bit patterns;
 * - every conv shape class of ResNet50 (conv1, 1x1 of stride 1 and 2, 3x3
 *   bordered in place and across output rows, the fc layer), tile, panel,
 *   k-block and row-block edges included, against a naive loop on the same
 *   bf16-rounded inputs summed in double: within the bound of fp32
 *   accumulation, (K + 3) * 2^-24 * (sum |products| + |bias| + |residual|);
 * - the scalar reference (what a CPU without AVX512_BF16 runs) on every
 *   machine, and where the CPU has AVX512_BF16, VDPBF16PS against it: the
 *   same bits;
 * - the same bits whichever way the rows or columns are split (threads). */
#include "check.h"
#include "backbone/kern.h"
#include "fb/core.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

static fb_rng rng;

static float *random_floats(size_t n, double scale)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = (float)(scale * fb_rng_normal(&rng));
    return v;
}

static float bf16(float x)
{
    return fb_bf16_float(fb_bf16_round(x));
}

static uint16_t round_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return fb_bf16_round(f);
}

static void test_rounding(void)
{
    CHECK(round_bits(0x3f800000) == 0x3f80, "1.0 is exact");
    CHECK(round_bits(0x3f808000) == 0x3f80, "halfway, even below: down (1 + 2^-8 -> 1)");
    CHECK(round_bits(0x3f818000) == 0x3f82, "halfway, odd below: up to even");
    CHECK(round_bits(0x3f808001) == 0x3f81, "just past halfway: up");
    CHECK(round_bits(0x3f807fff) == 0x3f80, "just below halfway: down");
    CHECK(round_bits(0xbf818000) == 0xbf82, "negative halfway: to even, by magnitude");
    CHECK(round_bits(0x00400000) == 0x0000, "a denormal flushes to +0");
    CHECK(round_bits(0x80000001) == 0x8000, "a negative denormal flushes to -0");
    CHECK(round_bits(0x00800000) == 0x0080, "the smallest normal stays");
    CHECK(round_bits(0x7f7fffff) == 0x7f80, "FLT_MAX rounds up to infinity");
    CHECK(round_bits(0xff800000) == 0xff80, "-infinity stays");
    uint16_t nan = round_bits(0x7f800001);
    CHECK((nan & 0x7f80) == 0x7f80 && (nan & 0x7f) != 0, "a NaN stays a NaN (0x%04x)", nan);
    CHECK(fb_bf16_float(0x4049) == 3.140625f, "bf16 0x4049 is 3.140625");

    /* the AVX-512 copy rounds as fb_bf16_round does, on every kind of value
     * (ties both ways, denormals, zeros, infinities, NaNs) and any length */
    enum { N = 4099 };
    float *x = malloc(N * sizeof *x);
    uint16_t *want = malloc(N * sizeof *want), *got = malloc(N * sizeof *got);
    for (int i = 0; i < N; i++) {
        uint32_t u = (uint32_t)fb_rng_u64(&rng);
        if (i % 7 == 0) u = (u & 0x807fffffu);                       /* zero exponent */
        if (i % 7 == 1) u = (u & 0xffff0000u) | 0x8000u;             /* a tie */
        if (i % 7 == 2) u = (u | 0x7f800000u);                       /* inf or NaN */
        memcpy(&x[i], &u, 4);
        want[i] = fb_bf16_round(x[i]);
    }
    fb_kern_bf16_round_floats(0, x, N, got);
    CHECK(memcmp(got, want, N * sizeof *got) == 0, "scalar array rounding: the same bits as fb_bf16_round");
    if (fb_kern_bf16_native()) {
        for (int n = N; n > N - 17; n--) {
            memset(got, 0xAB, N * sizeof *got);
            fb_kern_bf16_round_floats(1, x, (size_t)n, got);
            int ok = memcmp(got, want, (size_t)n * sizeof *got) == 0 && (n == N || got[n] == 0xABAB);
            if (!ok || n == N) CHECK(ok, "AVX-512 rounding of %d values: the same bits, nothing written past", n);
        }
    }
    free(x); free(want); free(got);
}

/* out = act(b + res + sum bf16(in) * bf16(w)) in double, and the bound of
 * fp32 accumulation on each output. */
static void naive_bf16_conv(const float *in, int h, int w, int cin, const float *wt, const float *b, int k,
                            int stride, int pad, int cout, const float *res, int relu, double *out,
                            double *bound)
{
    int ho = fb_conv_out(h, k, stride, pad), wo = fb_conv_out(w, k, stride, pad);
    double kdim = (double)k * k * cin;
    for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++)
            for (int o = 0; o < cout; o++) {
                size_t i = ((size_t)oy * wo + ox) * cout + o;
                double s = b[o], mag = fabs(b[o]);
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        for (int c = 0; c < cin; c++) {
                            double p = (double)bf16(in[((size_t)iy * w + ix) * cin + c]) *
                                       bf16(wt[(((size_t)ky * k + kx) * cin + c) * cout + o]);
                            s += p;
                            mag += fabs(p);
                        }
                    }
                if (res) {
                    s += res[i];
                    mag += fabs(res[i]);
                }
                out[i] = relu && s < 0 ? 0 : s;
                bound[i] = (kdim + 3) * ldexp(1, -24) * mag + 1e-30;
            }
}

/* How far outside its bound the worst output is (<= 1: all within). */
static double worst(const float *got, const double *want, const double *bound, size_t n)
{
    double r = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / bound[i];
        if (!(d <= r)) r = d;   /* NaN counts as out of bounds */
    }
    return r;
}

/* One conv through fb_kern_conv2d_bf16 in nsplit parts, by rows or by
 * 32-column panels. */
static void run_conv(int native, const float *in, int h, int w, int cin, const uint16_t *packed, const float *b,
                     int k, int stride, int pad, int cout, const float *res, int relu, float *out,
                     float *scratch, int nsplit, int by_cols, int tile_rows)
{
    int m = fb_conv_out(h, k, stride, pad) * fb_conv_out(w, k, stride, pad), panels = (cout + 31) / 32;
    for (int part = 0; part < nsplit; part++) {
        int r0 = 0, r1 = m, c0 = 0, c1 = cout;
        if (by_cols) {
            c0 = panels * part / nsplit * 32;
            c1 = panels * (part + 1) / nsplit * 32;
            if (c1 > cout) c1 = cout;
        } else {
            r0 = m * part / nsplit;
            r1 = m * (part + 1) / nsplit;
            if (tile_rows) {   /* as the runner splits: whole 14-row tiles */
                r0 = r0 / 14 * 14;
                r1 = part == nsplit - 1 ? m : r1 / 14 * 14;
            }
        }
        fb_kern_conv2d_bf16(native, in, h, w, cin, packed, b, k, stride, pad, cout, res, relu, out,
                            scratch, r0, r1, c0, c1);
    }
}

static void test_conv(const char *what, int h, int w, int cin, int cout, int k, int stride, int pad,
                      int with_res, int relu, int nsplit)
{
    int ho = fb_conv_out(h, k, stride, pad), wo = fb_conv_out(w, k, stride, pad);
    size_t nout = (size_t)ho * wo * cout;
    float *in = random_floats((size_t)h * w * cin, 1.0);
    float *wt = random_floats((size_t)k * k * cin * cout, 0.5);
    float *b = random_floats((size_t)cout, 1.0);
    float *res = with_res ? random_floats(nout, 1.0) : NULL;
    double *want = malloc(nout * sizeof *want), *bound = malloc(nout * sizeof *bound);
    float *ref = malloc(nout * sizeof *ref), *got = malloc(nout * sizeof *got);
    uint16_t *packed = aligned_alloc(64, (fb_kern_bf16_weights_size(k, cin, cout) * 2 + 63) / 64 * 64);
    float *scratch = aligned_alloc(64, fb_kern_bf16_conv_scratch(h, w, cin, k, stride, pad) * sizeof(float));
    fb_kern_bf16_pack_weights(wt, k, cin, cout, packed);
    naive_bf16_conv(in, h, w, cin, wt, b, k, stride, pad, cout, res, relu, want, bound);
    char shape[160];
    snprintf(shape, sizeof shape, "%s: %dx%dx%d -> %dx%dx%d, k%d s%d p%d%s%s", what, h, w, cin, ho, wo, cout,
             k, stride, pad, with_res ? " +res" : "", relu ? " relu" : "");

    /* The scalar reference, whole: what every CPU can run. */
    for (size_t i = 0; i < nout; i++) ref[i] = NAN;
    run_conv(0, in, h, w, cin, packed, b, k, stride, pad, cout, res, relu, ref, scratch, 1, 0, 0);
    double r = worst(ref, want, bound, nout);
    CHECK(r <= 1, "%s, scalar reference: within the fp32 bound (worst %.2g of it)", shape, r);
    /* Split by rows and by columns: the same bits. */
    for (int by_cols = 0; by_cols < 2 && nsplit > 1; by_cols++) {
        for (size_t i = 0; i < nout; i++) got[i] = NAN;
        run_conv(0, in, h, w, cin, packed, b, k, stride, pad, cout, res, relu, got, scratch, nsplit, by_cols, 0);
        CHECK(memcmp(got, ref, nout * sizeof *got) == 0, "%s, scalar reference in %d parts by %s: the same bits",
              shape, nsplit, by_cols ? "columns" : "rows");
    }
    if (fb_kern_bf16_native()) {
        for (int by_cols = 0; by_cols < 2; by_cols++)
            for (int tile_rows = 0; tile_rows < 2 - by_cols; tile_rows++) {
                for (size_t i = 0; i < nout; i++) got[i] = NAN;
                run_conv(1, in, h, w, cin, packed, b, k, stride, pad, cout, res, relu, got, scratch, nsplit,
                         by_cols, tile_rows);
                int same = memcmp(got, ref, nout * sizeof *got) == 0;
                CHECK(same, "%s, VDPBF16PS in %d part(s) by %s: the same bits as the scalar reference", shape,
                      nsplit, by_cols ? "columns" : tile_rows ? "14-row tiles" : "rows");
                if (!same) printf("#   worst %.3g of the bound\n", worst(got, want, bound, nout));
            }
    }
    free(in); free(wt); free(b); free(res); free(want); free(bound); free(ref); free(got);
    free(packed); free(scratch);
}

static void test_convs(void)
{
    /* conv1: 7x7 stride 2 on 3 channels, by kernel rows of 4 channels */
    test_conv("conv1-like, whole tiles", 56, 56, 3, 64, 7, 2, 3, 0, 1, 2);
    test_conv("conv1-like, rows cross tiles", 15, 17, 3, 40, 7, 2, 3, 1, 0, 3);
    test_conv("7x7 stride 1 on 3 channels", 9, 14, 3, 32, 7, 1, 3, 0, 1, 2);
    /* 1x1 stride 1: stage 2-5 shapes, small; k blocks, row blocks, column tails */
    test_conv("1x1 stride 1", 5, 7, 3, 5, 1, 1, 0, 0, 0, 1);
    test_conv("1x1 stride 1, exact tiles", 14, 16, 64, 64, 1, 1, 0, 1, 1, 2);
    test_conv("1x1 stride 1, 2 k blocks, tail tile, column tail", 17, 19, 288, 70, 1, 1, 0, 1, 1, 3);
    test_conv("1x1 stride 1, 3 row blocks", 23, 30, 64, 96, 1, 1, 0, 1, 1, 2);
    test_conv("1x1 stride 1, 5 k blocks", 7, 7, 1040, 64, 1, 1, 0, 1, 1, 2);
    /* 1x1 stride 2: stages 3-5's first 1x1 and projection shortcuts */
    test_conv("1x1 stride 2", 8, 8, 17, 8, 1, 2, 0, 1, 1, 2);
    test_conv("1x1 stride 2, 2 k blocks", 13, 15, 272, 96, 1, 2, 0, 1, 0, 3);
    /* 3x3 stride 1 pad 1: bordered in place (rows of 14), and across rows (7x7) */
    test_conv("3x3 bordered, whole tiles, 3 k blocks", 5, 28, 64, 64, 3, 1, 1, 1, 1, 2);
    test_conv("3x3 bordered, 2 row blocks", 17, 14, 16, 96, 3, 1, 1, 1, 0, 2);
    test_conv("3x3 bordered, stage-5-like 7x7", 7, 7, 64, 64, 3, 1, 1, 0, 1, 2);
    test_conv("3x3 bordered, odd sides", 9, 11, 32, 40, 3, 1, 1, 1, 1, 3);
    test_conv("3x3 stage 5: 7x7 maps, K 4608 in 18 k blocks", 7, 7, 512, 64, 3, 1, 1, 1, 1, 2);
    /* 3x3 that is not bordered: cin not a multiple of 16, or stride 2 */
    test_conv("3x3 cin 30: im2col", 8, 9, 30, 40, 3, 1, 1, 1, 1, 2);
    test_conv("3x3 stride 2: im2col", 12, 11, 20, 33, 3, 2, 1, 0, 0, 1);
    test_conv("3x3 on 1x1", 1, 1, 5, 3, 3, 1, 1, 0, 0, 1);
    /* fc1000: one row, 2048 -> 1000 (a column tail of 8) */
    test_conv("fc1000-like, one row", 1, 1, 2048, 1000, 1, 1, 0, 0, 0, 2);
}

/* Winograd in bf16 against the naive conv on bf16 inputs: the transformed
 * input and weights are rounded, not the input and weights, so the bound is
 * looser: 2^-7 of the magnitude (a few bf16 roundings of each term); the
 * scalar reference and VDPBF16PS give the same bits, however split. */
static void test_winograd(int h, int w, int cin, int cout, int relu)
{
    size_t nout = (size_t)h * w * cout;
    float *in = random_floats((size_t)h * w * cin, 1.0);
    float *wt = random_floats((size_t)9 * cin * cout, 0.5);
    float *b = random_floats((size_t)cout, 1.0);
    double *want = malloc(nout * sizeof *want), *bound = malloc(nout * sizeof *bound);
    float *ref = malloc(nout * sizeof *ref), *got = malloc(nout * sizeof *got);
    uint16_t *packed = aligned_alloc(64, (fb_kern_winograd_bf16_weights_size(cin, cout) * 2 + 63) / 64 * 64);
    float *scratch = aligned_alloc(64, fb_kern_winograd_bf16_scratch(h, w, cin, cout) * sizeof(float));
    naive_bf16_conv(in, h, w, cin, wt, b, 3, 1, 1, cout, NULL, relu, want, bound);
    for (size_t i = 0; i < nout; i++) bound[i] *= ldexp(1, 17) / (9.0 * cin + 3);   /* -> 2^-7 x magnitude */
    CHECK(fb_kern_winograd_bf16_pack_weights(wt, cin, cout, packed) == 0, "winograd bf16 weights packed");
    int tiles = fb_kern_winograd_tiles(h, w);
    fb_kern_conv3x3_winograd_bf16(0, in, h, w, cin, packed, b, cout, relu, ref, scratch, 0, tiles, 0, cout);
    double r = worst(ref, want, bound, nout);
    CHECK(r <= 1, "winograd bf16 %dx%dx%d -> %d, scalar reference: within 2^-7 of the magnitude (worst %.2g of it)",
          h, w, cin, cout, r);
    if (fb_kern_bf16_native()) {
        for (int split = 0; split < 3; split++) {
            for (size_t i = 0; i < nout; i++) got[i] = NAN;
            int parts = split ? 2 : 1;
            for (int part = 0; part < parts; part++) {
                int t0 = 0, t1 = tiles, c0 = 0, c1 = cout;
                if (split == 1) {
                    t0 = tiles * part / parts / 14 * 14;
                    t1 = part == parts - 1 ? tiles : tiles * (part + 1) / parts / 14 * 14;
                } else if (split == 2) {
                    c0 = cout / 32 * part / parts * 32;
                    c1 = part == parts - 1 ? cout : cout / 32 * (part + 1) / parts * 32;
                }
                fb_kern_conv3x3_winograd_bf16(1, in, h, w, cin, packed, b, cout, relu, got, scratch, t0, t1,
                                              c0, c1);
            }
            CHECK(memcmp(got, ref, nout * sizeof *got) == 0,
                  "winograd bf16 %dx%dx%d -> %d, VDPBF16PS %s: the same bits as the scalar reference", h, w,
                  cin, cout, split == 0 ? "whole" : split == 1 ? "split by tiles" : "split by columns");
        }
    }
    free(in); free(wt); free(b); free(want); free(bound); free(ref); free(got); free(packed); free(scratch);
}

int main(void)
{
    fb_rng_seed(&rng, 20261203);
    printf("# AVX512_BF16 on this CPU: %s; %s\n", fb_kern_bf16_cpu() ? "yes" : "no",
           fb_kern_bf16_native() ? "VDPBF16PS checked against the scalar reference"
                                 : "only the scalar reference is tested here");
    test_rounding();
    test_convs();
    test_winograd(7, 5, 16, 32, 0);
    test_winograd(14, 14, 32, 64, 1);
    test_winograd(28, 28, 64, 96, 1);
    return check_done();
}
