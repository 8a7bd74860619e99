/* 3x3 stride-1 pad-1 convolutions by Winograd's minimal filtering F(2x2, 3x3)
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2015), on the packed AVX-512 GEMM (see include/fb/kern.h).
 *
 * Each 2x2 block of output pixels (a "tile") is computed from the 4x4 input
 * patch around it as
 *   Y = A^T [ U (.) V ] A,   U = G g G^T (per cin, cout),  V = B^T d B (per cin)
 * with 16 multiplications per tile and channel pair instead of 36: over all
 * channels the elementwise product becomes 16 GEMMs, one per transformed
 * position xi:
 *   M[xi][tiles x cout] = V[xi][tiles x cin] * U[xi][cin x cout]
 * so the multiply-adds drop by 2.25x; the transforms are additions only.
 *
 *   B^T = | 1  0 -1  0 |    G = | 1    0    0  |    A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |        | 1/2  1/2  1/2|          | 0  1 -1 -1 |
 *         | 0 -1  1  0 |        | 1/2 -1/2  1/2|
 *         | 0  1  0 -1 |        | 0    0    1  |
 *
 * Tiles are taken in groups small enough that a group's V and M stay in L2
 * between the transforms and the GEMMs. */
#include "kern.h"

#include <stdlib.h>
#include <string.h>

#define XI 16   /* transformed positions of a 4x4 patch */
#define CV 16   /* channels handled together: one AVX-512 vector */

int fb_kern_winograd_tiles(int h, int w)
{
    return ((h + 1) / 2) * ((w + 1) / 2);
}

size_t fb_kern_winograd_weights_floats(int cin, int cout)
{
    return XI * fb_kern_packed_weights_floats(cin, cout);
}

/* U[xi] = G g G^T for each of the 16 transformed positions, each handed to
 * pack(u [cin][cout], xi) in turn.  0, or -1 when out of memory. */
static int transform_weights(const float *w, int cin, int cout,
                             void (*pack)(const float *u, int xi, int cin, int cout, void *packed),
                             void *packed)
{
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    size_t n = (size_t)cin * cout;
    float *u = malloc(n * sizeof *u);
    if (!u) return -1;
    for (int xi = 0; xi < XI; xi++) {
        int i = xi / 4, j = xi % 4;
        for (size_t co = 0; co < n; co++) {   /* co = c * cout + o */
            double s = 0;
            for (int ky = 0; ky < 3; ky++)
                for (int kx = 0; kx < 3; kx++)
                    s += G[i][ky] * G[j][kx] * w[(size_t)(ky * 3 + kx) * n + co];
            u[co] = (float)s;
        }
        pack(u, xi, cin, cout, packed);
    }
    free(u);
    return 0;
}

static void pack_fp32(const float *u, int xi, int cin, int cout, void *packed)
{
    fb_kern_pack_weights(u, cin, cout, (float *)packed + xi * fb_kern_packed_weights_floats(cin, cout));
}

static void pack_bf16(const float *u, int xi, int cin, int cout, void *packed)
{
    fb_kern_bf16_pack_weights(u, 1, cin, cout,
                              (uint16_t *)packed + xi * fb_kern_bf16_weights_size(1, cin, cout));
}

int fb_kern_winograd_pack_weights(const float *w, int cin, int cout, float *packed)
{
    return transform_weights(w, cin, cout, pack_fp32, packed);
}

size_t fb_kern_winograd_bf16_weights_size(int cin, int cout)
{
    return XI * fb_kern_bf16_weights_size(1, cin, cout);
}

int fb_kern_winograd_bf16_pack_weights(const float *w, int cin, int cout, uint16_t *packed)
{
    return transform_weights(w, cin, cout, pack_bf16, packed);
}

/* Tiles per group: all of them when their V and M (16 x (cin + cout)
 * floats each) fit in 2 MB (one core's L2), else a multiple of 14 (the
 * GEMM's tile height) within 1 MB. */
static int group_tiles(int tiles, int cin, int cout)
{
    size_t per_tile = (size_t)XI * (cin + cout) * sizeof(float);
    if ((size_t)tiles * per_tile <= ((size_t)2 << 20)) return tiles;
    int g = (int)(((size_t)1 << 20) / per_tile) / 14 * 14;
    return g < 14 ? 14 : g;
}

static size_t round16(size_t n)
{
    return (n + 15) / 16 * 16;
}

size_t fb_kern_winograd_scratch(int h, int w, int cin, int cout)
{
    int g = group_tiles(fb_kern_winograd_tiles(h, w), cin, cout);
    /* whole 64-byte lines: aligned_alloc wants a multiple */
    return round16((size_t)XI * g * (cin + cout)) + round16((size_t)cout) +
           fb_kern_conv2d_packed_scratch(1, g, cin, 1, 1, 0);
}

size_t fb_kern_winograd_bf16_scratch(int h, int w, int cin, int cout)
{
    int g = group_tiles(fb_kern_winograd_tiles(h, w), cin, cout);
    return round16((size_t)XI * g * (cin + cout)) + round16((size_t)cout) +
           fb_kern_bf16_conv_scratch(1, g, cin, 1, 1, 0);
}

/* V of tiles [t0, t0 + n): v[xi][i][cin] (i = tile - t0), d the 4x4 input
 * patch from (2 ty - 1, 2 tx - 1), zero outside the image. */
static void input_transform(const float *restrict in, int h, int w, int cin, int t0, int n,
                            float *restrict v, int g)
{
    int tw = (w + 1) / 2;
    size_t xi_stride = (size_t)g * cin;
    static const float zeros[CV];
    for (int i = 0; i < n; i++) {
        int ty = (t0 + i) / tw, tx = (t0 + i) % tw;
        const float *px[4][4];
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) {
                int iy = 2 * ty - 1 + a, ix = 2 * tx - 1 + b;
                px[a][b] = iy >= 0 && iy < h && ix >= 0 && ix < w ? in + ((size_t)iy * w + ix) * cin : NULL;
            }
        for (int c = 0; c < cin; c += CV) {
            float d[4][4][CV], r[4][4][CV];
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++)
                    memcpy(d[a][b], px[a][b] ? px[a][b] + c : zeros, sizeof d[a][b]);
            for (int b = 0; b < 4; b++)         /* B^T d: combine rows */
                for (int l = 0; l < CV; l++) {
                    r[0][b][l] = d[0][b][l] - d[2][b][l];
                    r[1][b][l] = d[1][b][l] + d[2][b][l];
                    r[2][b][l] = d[2][b][l] - d[1][b][l];
                    r[3][b][l] = d[1][b][l] - d[3][b][l];
                }
            float *dst = v + (size_t)i * cin + c;
            for (int a = 0; a < 4; a++)         /* (B^T d) B: combine columns */
                for (int l = 0; l < CV; l++) {
                    dst[(a * 4 + 0) * xi_stride + l] = r[a][0][l] - r[a][2][l];
                    dst[(a * 4 + 1) * xi_stride + l] = r[a][1][l] + r[a][2][l];
                    dst[(a * 4 + 2) * xi_stride + l] = r[a][2][l] - r[a][1][l];
                    dst[(a * 4 + 3) * xi_stride + l] = r[a][1][l] - r[a][3][l];
                }
        }
    }
}

/* out at tiles [t0, t0 + n), channels [col0, col1) = act(A^T m A + bias),
 * m[xi][i][cout] from the GEMMs; pixels past the image's edge (odd h or w)
 * are dropped. */
static void output_transform(const float *restrict m, int g, int cout, const float *restrict bias,
                             int relu, float *restrict out, int h, int w, int t0, int n,
                             int col0, int col1)
{
    int tw = (w + 1) / 2;
    size_t xi_stride = (size_t)g * cout;
    for (int i = 0; i < n; i++) {
        int oy = (t0 + i) / tw * 2, ox = (t0 + i) % tw * 2;
        for (int c = col0; c < col1; c += CV) {
            const float *src = m + (size_t)i * cout + c;
            float s[2][4][CV], y[2][2][CV];
            for (int b = 0; b < 4; b++)         /* A^T m: combine rows */
                for (int l = 0; l < CV; l++) {
                    float m0 = src[(0 + b) * xi_stride + l], m1 = src[(4 + b) * xi_stride + l];
                    float m2 = src[(8 + b) * xi_stride + l], m3 = src[(12 + b) * xi_stride + l];
                    s[0][b][l] = m0 + m1 + m2;
                    s[1][b][l] = m1 - m2 - m3;
                }
            for (int a = 0; a < 2; a++)         /* (A^T m) A: combine columns, bias, ReLU */
                for (int l = 0; l < CV; l++) {
                    float y0 = s[a][0][l] + s[a][1][l] + s[a][2][l] + bias[c + l];
                    float y1 = s[a][1][l] - s[a][2][l] - s[a][3][l] + bias[c + l];
                    y[a][0][l] = relu && y0 < 0 ? 0 : y0;
                    y[a][1][l] = relu && y1 < 0 ? 0 : y1;
                }
            for (int a = 0; a < 2 && oy + a < h; a++)
                for (int b = 0; b < 2 && ox + b < w; b++)
                    memcpy(out + ((size_t)(oy + a) * w + ox + b) * cout + c, y[a][b], sizeof y[a][b]);
        }
    }
}

/* The fp32 or bf16 (bf16 = 1 + native) GEMMs between the transforms. */
static void winograd(int bf16, const float *in, int h, int w, int cin, const void *packed_weights,
                     const float *bias, int cout, int relu, float *out, float *scratch,
                     int tile0, int tile1, int col0, int col1)
{
    if (tile1 <= tile0 || col1 <= col0) return;
    int g = group_tiles(fb_kern_winograd_tiles(h, w), cin, cout);
    size_t per = bf16 ? fb_kern_bf16_weights_size(1, cin, cout) : fb_kern_packed_weights_floats(cin, cout);
    float *v = scratch, *m = v + (size_t)XI * g * cin;
    float *zero = m + (size_t)XI * g * cout, *gemm = zero + round16((size_t)cout);
    memset(zero, 0, (size_t)cout * sizeof *zero);   /* the bias is added after the transform */
    for (int t0 = tile0; t0 < tile1; t0 += g) {
        int n = tile1 - t0 < g ? tile1 - t0 : g;
        input_transform(in, h, w, cin, t0, n, v, g);
        for (int xi = 0; xi < XI; xi++) {        /* M[xi] = V[xi] U[xi], as a 1x1 conv on n pixels */
            const float *vx = v + (size_t)xi * g * cin;
            float *mx = m + (size_t)xi * g * cout;
            if (bf16)
                fb_kern_conv2d_bf16(bf16 - 1, vx, 1, n, cin, (const uint16_t *)packed_weights + xi * per,
                                    zero, 1, 1, 0, cout, NULL, 0, mx, gemm, 0, n, col0, col1);
            else
                fb_kern_conv2d_packed(vx, 1, n, cin, (const float *)packed_weights + xi * per, zero,
                                      1, 1, 0, cout, NULL, 0, mx, gemm, 0, n, col0, col1);
        }
        output_transform(m, g, cout, bias, relu, out, h, w, t0, n, col0, col1);
    }
}

void fb_kern_conv3x3_winograd(const float *in, int h, int w, int cin, const float *packed_weights,
                              const float *bias, int cout, int relu, float *out, float *scratch,
                              int tile0, int tile1, int col0, int col1)
{
    winograd(0, in, h, w, cin, packed_weights, bias, cout, relu, out, scratch, tile0, tile1, col0, col1);
}

void fb_kern_conv3x3_winograd_bf16(int native, const float *in, int h, int w, int cin,
                                   const uint16_t *packed_weights, const float *bias, int cout,
                                   int relu, float *out, float *scratch, int tile0, int tile1,
                                   int col0, int col1)
{
    winograd(1 + !!native, in, h, w, cin, packed_weights, bias, cout, relu, out, scratch, tile0, tile1,
             col0, col1);
}
