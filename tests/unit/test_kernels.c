/* Every kernel of lib/backbone/kern_*.c against a naive loop written straight from
 * the definition, on small random shapes with odd sizes, strides, paddings
 * and row ranges. */
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

/* out[oy][ox][o] = act(b[o] + res + sum in[iy][ix][c] * w[ky][kx][c][o]), zero outside. */
static void naive_conv(const float *in, int h, int w, int cin, const float *wt, const float *b,
                       int k, int stride, int pad, int cout, const float *res, int relu, float *out)
{
    int ho = fb_conv_out(h, k, stride, pad), wo = fb_conv_out(w, k, stride, pad);
    for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++)
            for (int o = 0; o < cout; o++) {
                double s = b[o];
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                        for (int c = 0; c < cin; c++)
                            s += (double)in[((size_t)iy * w + ix) * cin + c] *
                                 wt[(((size_t)ky * k + kx) * cin + c) * cout + o];
                    }
                size_t i = ((size_t)oy * wo + ox) * cout + o;
                if (res) s += res[i];
                out[i] = (float)(relu && s < 0 ? 0 : s);
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
    float *want = malloc(nout * sizeof *want), *got = malloc(nout * sizeof *got);
    size_t sc = fb_kern_conv2d_scratch(h, w, cin, k, stride, pad);
    float *scratch = malloc((sc ? sc : 1) * sizeof *scratch);
    naive_conv(in, h, w, cin, wt, b, k, stride, pad, cout, res, relu, want);
    for (size_t i = 0; i < nout; i++) got[i] = NAN;
    /* Computed in nsplit row ranges, as threads sharing an image do. */
    int m = ho * wo;
    for (int part = 0; part < nsplit; part++)
        fb_kern_conv2d(in, h, w, cin, wt, b, k, stride, pad, cout, res, relu, got, scratch,
                       m * part / nsplit, m * (part + 1) / nsplit);
    double d = check_max_abs_diff(got, want, nout);
    int negatives = 0;
    for (size_t i = 0; i < nout; i++) negatives += got[i] < 0;
    CHECK(d <= 1e-4, "%s: %dx%dx%d -> %dx%dx%d, k%d s%d p%d%s%s in %d part(s): max |delta| %.2g",
          what, h, w, cin, ho, wo, cout, k, stride, pad, with_res ? " +res" : "", relu ? " relu" : "",
          nsplit, d);
    if (relu) CHECK(negatives == 0, "%s: ReLU leaves no negative output", what);

    /* The AVX-512 packed path, split by rows (in 14-row tiles or not) and by
     * 32-column panels as threads sharing an image do. */
    if (fb_kern_gemm_available()) {
        int kdim = k * k * cin;
        float *packed = aligned_alloc(64, fb_kern_packed_weights_floats(kdim, cout) * sizeof *packed);
        float *pscratch = aligned_alloc(64, fb_kern_conv2d_packed_scratch(h, w, cin, k, stride, pad) * sizeof *pscratch);
        fb_kern_pack_weights(wt, kdim, cout, packed);
        int panels = (cout + 31) / 32;
        for (int by_cols = 0; by_cols < 2; by_cols++) {
            for (size_t i = 0; i < nout; i++) got[i] = NAN;
            for (int part = 0; part < nsplit; part++) {
                int r0 = 0, r1 = m, c0 = 0, c1 = cout;
                if (by_cols) {
                    c0 = panels * part / nsplit * 32;
                    c1 = panels * (part + 1) / nsplit * 32;
                    if (c1 > cout) c1 = cout;
                } else {
                    r0 = m * part / nsplit;
                    r1 = m * (part + 1) / nsplit;
                }
                fb_kern_conv2d_packed(in, h, w, cin, packed, b, k, stride, pad, cout, res, relu, got,
                                      pscratch, r0, r1, c0, c1);
            }
            d = check_max_abs_diff(got, want, nout);   /* NaN left anywhere fails too */
            CHECK(d <= 1e-4, "%s, AVX-512 packed (K %d, split by %s): max |delta| %.2g",
                  what, kdim, by_cols ? "columns" : "rows", d);
        }
        free(packed);
        free(pscratch);
    }
    free(in); free(wt); free(b); free(res); free(want); free(got); free(scratch);
}

static void test_convs(void)
{
    test_conv("1x1 stride 1", 5, 7, 3, 5, 1, 1, 0, 0, 0, 1);
    test_conv("1x1 stride 1", 9, 9, 16, 33, 1, 1, 0, 1, 1, 3);
    test_conv("1x1 stride 2", 7, 9, 6, 10, 1, 2, 0, 0, 1, 1);
    test_conv("1x1 stride 2", 8, 8, 17, 8, 1, 2, 0, 1, 1, 2);
    test_conv("3x3 pad 1", 6, 5, 4, 7, 3, 1, 1, 0, 1, 1);
    test_conv("3x3 pad 1", 11, 13, 9, 19, 3, 1, 1, 1, 0, 4);
    test_conv("3x3 pad 1 on 1x1", 1, 1, 5, 3, 3, 1, 1, 0, 0, 1);
    test_conv("7x7 stride 2 pad 3", 15, 17, 3, 8, 7, 2, 3, 0, 1, 1);
    test_conv("7x7 stride 2 pad 3", 10, 9, 3, 5, 7, 2, 3, 0, 0, 3);
    test_conv("7x7 stride 2 pad 3 on 4x4", 4, 4, 2, 3, 7, 2, 3, 0, 1, 2);
    /* Shapes that cross the packed GEMM's blocks: 14-row tiles, 224-row
     * blocks, 256-deep k blocks, 32-column panels (masked tails). */
    test_conv("1x1 stride 1, 3 row blocks, 2 k blocks", 23, 21, 300, 70, 1, 1, 0, 1, 1, 2);
    test_conv("1x1 stride 1, exact tiles", 14, 16, 64, 64, 1, 1, 0, 1, 1, 2);
    /* A read in place (cin % 16 == 0, cout % 32 == 0), with a packed tail tile */
    test_conv("1x1 stride 1, A in place, tail tile, 2 k blocks", 17, 19, 288, 96, 1, 1, 0, 1, 1, 3);
    test_conv("1x1 stride 1, A in place, no residual", 7, 9, 32, 64, 1, 1, 0, 0, 1, 1);
    test_conv("1x1 stride 2, 2 k blocks", 13, 15, 272, 96, 1, 2, 0, 1, 0, 3);
    test_conv("3x3 pad 1, cin 64 (taps copied whole)", 9, 8, 64, 40, 3, 1, 1, 1, 1, 2);
    test_conv("3x3 pad 1, cin 48, 2 k blocks", 7, 7, 48, 65, 3, 1, 1, 0, 1, 2);
    test_conv("3x3 stride 2 pad 1", 12, 11, 20, 33, 3, 2, 1, 0, 0, 1);
    test_conv("3x3 pad 1, cin 30: taps straddle chunks and k blocks", 8, 9, 30, 40, 3, 1, 1, 1, 1, 2);
    /* A in place from a zero-bordered copy (w % 14 == 0, cin % 16 == 0) */
    test_conv("3x3 pad 1, bordered in place, 3 k blocks", 5, 28, 64, 64, 3, 1, 1, 1, 1, 2);
    test_conv("3x3 pad 1, bordered in place, cin 32, tail tile", 9, 14, 32, 32, 3, 1, 1, 0, 1, 1);
    test_conv("3x3 pad 1, bordered in place, 2 row blocks", 17, 14, 16, 96, 3, 1, 1, 1, 0, 2);
    test_conv("7x7 stride 2 pad 3, conv1-like", 40, 38, 3, 64, 7, 2, 3, 0, 1, 2);
    /* conv1 read in place by kernel rows of 21 values (wo % 14 == 0, cout % 32 == 0),
     * with partial tiles where a split falls inside one */
    test_conv("7x7 stride 2 pad 3, kernel rows in place", 20, 56, 3, 64, 7, 2, 3, 0, 1, 3);
    test_conv("7x7 stride 2 pad 3, kernel rows in place, residual", 13, 28, 3, 32, 7, 2, 3, 1, 0, 1);
    test_conv("7x7 stride 1 pad 3, kernel rows in place", 9, 14, 3, 96, 7, 1, 3, 1, 1, 2);
    test_conv("3x3 cin 7, kernel rows in place", 5, 28, 7, 64, 3, 1, 1, 0, 1, 2);
    test_conv("1x1 cin 21, kernel rows in place", 3, 14, 21, 32, 1, 1, 0, 1, 1, 2);
    test_conv("21x21 cin 1: kernel rows too many for in place", 22, 42, 1, 32, 21, 1, 10, 0, 1, 1);
}

/* Winograd F(2x2, 3x3) against the naive 3x3 conv, whole and split by
 * tiles (in multiples of 14 or not) and by 32-column panels. */
static void test_winograd(int h, int w, int cin, int cout, int relu, int tile_split)
{
    size_t nout = (size_t)h * w * cout;
    float *in = random_floats((size_t)h * w * cin, 1.0);
    float *wt = random_floats((size_t)9 * cin * cout, 0.5);
    float *b = random_floats((size_t)cout, 1.0);
    float *want = malloc(nout * sizeof *want), *got = malloc(nout * sizeof *got);
    float *packed = aligned_alloc(64, fb_kern_winograd_weights_floats(cin, cout) * sizeof *packed);
    float *scratch = aligned_alloc(64, fb_kern_winograd_scratch(h, w, cin, cout) * sizeof *scratch);
    naive_conv(in, h, w, cin, wt, b, 3, 1, 1, cout, NULL, relu, want);
    CHECK(fb_kern_winograd_pack_weights(wt, cin, cout, packed) == 0, "winograd weights packed");
    int tiles = fb_kern_winograd_tiles(h, w), panels = cout / 32;
    const char *how[3] = {"whole", "split by tiles", "split by columns"};
    float *whole = malloc(nout * sizeof *whole);
    for (int mode = 0; mode < 3; mode++) {
        for (size_t i = 0; i < nout; i++) got[i] = NAN;
        int parts = mode == 0 ? 1 : mode == 1 ? 3 : (panels > 1 ? 2 : 1);
        for (int part = 0; part < parts; part++) {
            int t0 = 0, t1 = tiles, c0 = 0, c1 = cout;
            if (mode == 1) {
                t0 = tiles * part / parts;
                t1 = tiles * (part + 1) / parts;
                if (tile_split) {   /* as the runner splits: whole 14-row GEMM tiles */
                    t0 = t0 / 14 * 14;
                    t1 = part == parts - 1 ? tiles : t1 / 14 * 14;
                }
            } else if (mode == 2) {
                c0 = panels * part / parts * 32;
                c1 = panels * (part + 1) / parts * 32;
            }
            fb_kern_conv3x3_winograd(in, h, w, cin, packed, b, cout, relu, got, scratch, t0, t1, c0, c1);
        }
        double d = check_max_abs_diff(got, want, nout);
        CHECK(d <= 1e-4, "winograd 3x3: %dx%dx%d -> %d%s, %s: max |delta| %.2g", h, w, cin, cout,
              relu ? " relu" : "", how[mode], d);
        if (mode == 0) memcpy(whole, got, nout * sizeof *got);
        else if (mode == 2 || tile_split)   /* how threads split: the same bits as one thread */
            CHECK(memcmp(whole, got, nout * sizeof *got) == 0, "winograd 3x3: %dx%dx%d, %s: "
                  "bit-identical to the whole", h, w, cin, how[mode]);
    }
    free(whole);
    free(in); free(wt); free(b); free(want); free(got); free(packed); free(scratch);
}

static void test_winograds(void)
{
    if (!fb_kern_gemm_available()) {
        printf("# winograd: no AVX-512 here (or FB_NO_AVX512 set), not tested\n");
        return;
    }
    test_winograd(4, 4, 16, 32, 1, 0);
    test_winograd(7, 5, 16, 32, 0, 0);       /* odd sides: tiles past the edge */
    test_winograd(14, 14, 32, 64, 1, 1);     /* stage 4's 49 tiles */
    test_winograd(27, 29, 64, 96, 1, 0);     /* a column tail panel, splits inside GEMM tiles */
    test_winograd(56, 56, 64, 64, 1, 1);     /* stage 2's 784 tiles, in groups of 126 */
    test_winograd(28, 28, 128, 128, 0, 0);   /* groups of 56, splits inside them */
}

static void test_epilogue(void)
{
    const int rows = 13, cols = 37;
    size_t n = (size_t)rows * cols;
    for (int with_res = 0; with_res < 2; with_res++) {
        float *out = random_floats(n, 2.0), *b = random_floats((size_t)cols, 1.0);
        float *res = random_floats(n, 1.0), *want = malloc(n * sizeof *want);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                want[(size_t)r * cols + c] = b[c] + (with_res ? res[(size_t)r * cols + c] : 0);
        fb_kern_bias_init(out, b, with_res ? res : NULL, (size_t)rows, cols);
        double d = check_max_abs_diff(out, want, n);
        CHECK(d == 0, "epilogue init: bias%s on %dx%d: max |delta| %.2g", with_res ? " + residual" : "", rows, cols, d);
        for (size_t i = 0; i < n; i++) want[i] = want[i] > 0 ? want[i] : 0;
        fb_kern_relu(out, n);
        d = check_max_abs_diff(out, want, n);
        CHECK(d == 0, "ReLU on %zu values: max |delta| %.2g", n, d);
        free(out); free(b); free(res); free(want);
    }
}

static void test_maxpool(int h, int w, int c, int k, int stride, int pad, int negative, int nsplit)
{
    int ho = fb_conv_out(h, k, stride, pad), wo = fb_conv_out(w, k, stride, pad);
    float *in = random_floats((size_t)h * w * c, 1.0);
    if (!negative)
        for (size_t i = 0; i < (size_t)h * w * c; i++) in[i] = fabsf(in[i]);
    float *want = malloc((size_t)ho * wo * c * sizeof *want), *got = malloc((size_t)ho * wo * c * sizeof *got);
    for (int oy = 0; oy < ho; oy++)
        for (int ox = 0; ox < wo; ox++)
            for (int ch = 0; ch < c; ch++) {
                float m = -FLT_MAX;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                        /* zero padding takes part in the max, as in Keras */
                        float v = (iy < 0 || iy >= h || ix < 0 || ix >= w) ? 0 : in[((size_t)iy * w + ix) * c + ch];
                        if (v > m) m = v;
                    }
                want[((size_t)oy * wo + ox) * c + ch] = m;
            }
    for (int part = 0; part < nsplit; part++)
        fb_kern_maxpool(in, h, w, c, k, stride, pad, got, ho * part / nsplit, ho * (part + 1) / nsplit);
    double d = check_max_abs_diff(got, want, (size_t)ho * wo * c);
    CHECK(d == 0, "max pool %dx%d/%d pad %d on %dx%dx%d%s in %d part(s): max |delta| %.2g",
          k, k, stride, pad, h, w, c, negative ? " (negative values)" : "", nsplit, d);
    free(in); free(want); free(got);
}

static void test_avgpool(void)
{
    const int n = 49, c = 21;
    float *in = random_floats((size_t)n * c, 5.0), out[21], want[21];
    for (int ch = 0; ch < c; ch++) {
        double s = 0;
        for (int p = 0; p < n; p++) s += in[(size_t)p * c + ch];
        want[ch] = (float)(s / n);
    }
    fb_kern_avgpool(in, (size_t)n, c, out);
    double d = check_max_abs_diff(out, want, (size_t)c);
    CHECK(d <= 1e-6, "global average pool over 7x7x21: max |delta| %.2g", d);
    free(in);
}

static void test_dense_softmax(void)
{
    const int cin = 37, cout = 11;
    float *in = random_floats((size_t)cin, 1.0), *w = random_floats((size_t)cin * cout, 1.0);
    float *b = random_floats((size_t)cout, 1.0), out[11], want[11], p[11];
    for (int o = 0; o < cout; o++) {
        double s = b[o];
        for (int i = 0; i < cin; i++) s += (double)in[i] * w[(size_t)i * cout + o];
        want[o] = (float)s;
    }
    fb_kern_dense(in, cin, w, b, cout, out);
    double d = check_max_abs_diff(out, want, (size_t)cout);
    CHECK(d <= 1e-5, "dense 37 -> 11: max |delta| %.2g", d);

    /* Softmax: exact on a known case, and stable for large logits. */
    /* exp(1000) overflows: only a max-subtracted softmax gets e/(e+2). */
    float logits[3] = {1000.0f, 1001.0f, 1000.0f};
    fb_kern_softmax(logits, 3, p);
    CHECK_NEAR(p[0], 1 / (M_E + 2), 1e-7, "softmax of large logits (1000, 1001, 1000): p0 = 1/(e+2)");
    CHECK_NEAR(p[1], M_E / (M_E + 2), 1e-7, "softmax of large logits: p1 = e/(e+2)");
    double sum = 0;
    fb_kern_softmax(out, cout, p);
    for (int o = 0; o < cout; o++) sum += p[o];
    CHECK_NEAR(sum, 1.0, 1e-6, "softmax sums to 1");
    free(in); free(w); free(b);
}

static void test_preprocess(void)
{
    uint8_t rgb[3 * 3] = {0, 0, 0, 255, 255, 255, 10, 20, 30};
    float bgr[9];
    fb_kern_preprocess(rgb, 3, bgr);
    const float want[9] = {-103.939f, -116.779f, -123.68f, 151.061f, 138.221f, 131.32f,
                           30 - 103.939f, 20 - 116.779f, 10 - 123.68f};
    double d = check_max_abs_diff(bgr, want, 9);
    CHECK(d <= 3e-5, "preprocess: RGB -> BGR minus the caffe mean: max |delta| %.2g", d);
}

int main(void)
{
    fb_rng_seed(&rng, 20240501);
    test_preprocess();
    test_convs();
    test_winograds();
    test_epilogue();
    test_maxpool(112, 112, 8, 3, 2, 1, 0, 1);
    test_maxpool(9, 7, 5, 3, 2, 1, 1, 1);
    test_maxpool(8, 8, 3, 3, 2, 1, 1, 3);
    test_maxpool(5, 6, 4, 2, 1, 0, 1, 2);
    test_avgpool();
    test_dense_softmax();
    return check_done();
}
