/* Compute kernels for the ResNet50 forward pass (lib/backbone/kern_*.c, built with
 * -O3 -march=native).  Every tensor is one image, NHWC without the N:
 * element (y, x, c) of an H x W x C tensor is at (y * W + x) * C + c.
 * Convolution weights are [kh][kw][cin][cout] (Keras order), so a conv is
 * out[H'W' x cout] = patches[H'W' x kh*kw*cin] * w[kh*kw*cin x cout].
 * All kernels are single-threaded; fb runs one image per thread, or splits
 * one image's rows or output channels between threads.
 * Two conv paths: fb_kern_conv2d_packed (lib/backbone/kern_gemm.c, AVX-512, weights
 * packed at load time) where the CPU has AVX-512, else fb_kern_conv2d
 * (OpenBLAS sgemm on im2col patches). */
#ifndef FB_KERN_H
#define FB_KERN_H

#include <stddef.h>
#include <stdint.h>

/* Keras "caffe" preprocessing: RGB uint8 -> BGR float minus the ImageNet
 * mean [103.939, 116.779, 123.68] (B, G, R), no scaling.
 * rgb: [n][3] uint8  ->  bgr: [n][3] float */
void fb_kern_preprocess(const uint8_t *rgb, size_t n, float *bgr);

/* Output side of a k x k conv with stride s and symmetric zero padding p. */
static inline int fb_conv_out(int in, int k, int stride, int pad)
{
    return (in + 2 * pad - k) / stride + 1;
}

/* Gathers the k x k x cin patch of output positions [row0, row1) of in
 * [h][w][cin] into cols [row1-row0][k*k*cin], in the (ky, kx, c) order of
 * the weights; positions outside the image are zero.  (fb_kern_conv2d's
 * patches; lib/backbone/stage5.c's backward scatters them back.) */
void fb_kern_im2col(const float *in, int h, int w, int cin, int k, int stride, int pad,
                    float *cols, int row0, int row1);

/* Floats of scratch fb_kern_conv2d needs for these shapes (0 for 1x1 stride 1). */
size_t fb_kern_conv2d_scratch(int h, int w, int cin, int k, int stride, int pad);

/* Convolution with the fused epilogue
 *   out = act(conv(in, w) + bias [+ residual])
 * for output positions (rows of the GEMM) [row0, row1) only, so that several
 * threads can share one image; (0, ho*wo) is the whole conv.
 * in: [h][w][cin], w: [k][k][cin][cout], bias: [cout], residual: NULL or
 * [ho][wo][cout] (may not alias out), out: [ho][wo][cout], relu: 0/1.
 * out must not alias in; 1x1 stride 1 is a plain GEMM on the input; 1x1 stride s subsamples first;
 * larger kernels gather patches (im2col) into scratch. */
void fb_kern_conv2d(const float *in, int h, int w, int cin,
                    const float *weights, const float *bias, int k, int stride, int pad, int cout,
                    const float *residual, int relu, float *out, float *scratch,
                    int row0, int row1);

/* The packed path (lib/backbone/kern_gemm.c): an AVX-512 GEMM whose weights are
 * packed once, at load time, into the microkernel's column panels.
 * fb_kern_gemm_available(): 1 when the CPU has AVX-512; else use
 * fb_kern_conv2d (OpenBLAS).  (The runner may be told to use OpenBLAS
 * anyway: fb_resnet_options.no_avx512.)
 * Packed weights: fb_kern_packed_weights_floats(k*k*cin, cout) floats,
 * 64-byte aligned for speed, filled by fb_kern_pack_weights from
 * w [k*k*cin][cout]. */
int fb_kern_gemm_available(void);
size_t fb_kern_packed_weights_floats(int k, int n);
void fb_kern_pack_weights(const float *w, int k, int n, float *packed);
/* Floats of scratch fb_kern_conv2d_packed needs for this conv (a multiple
 * of 16, so that aligned_alloc(64, floats * 4) is valid). */
size_t fb_kern_conv2d_packed_scratch(int h, int w, int cin, int k, int stride, int pad);
/* The same conv and fused epilogue as fb_kern_conv2d, on the packed weights,
 * for output rows [row0, row1) and output channels [col0, col1) only, so
 * that threads sharing an image can split either; col0 must be a multiple
 * of 32 (or 0), col1 a multiple of 32 or cout. */
void fb_kern_conv2d_packed(const float *in, int h, int w, int cin,
                           const float *packed_weights, const float *bias, int k, int stride,
                           int pad, int cout, const float *residual, int relu, float *out,
                           float *scratch, int row0, int row1, int col0, int col1);

/* 3x3 stride-1 pad-1 convs by Winograd F(2x2, 3x3) on the packed GEMM
 * (lib/backbone/kern_winograd.c): 2.25x fewer multiply-adds, results within float
 * rounding of the direct conv (the transforms add and subtract
 * activations before the products).  Needs fb_kern_gemm_available(),
 * cin % 16 == 0 and cout % 32 == 0.
 * The output is cut into 2x2 tiles, fb_kern_winograd_tiles(h, w) of them in
 * row-major order; threads sharing an image split the tiles [tile0, tile1)
 * (multiples of 14 keep results identical to an unsplit run) or the output
 * channels [col0, col1) (multiples of 32, or cout).
 * Weights: fb_kern_winograd_weights_floats(cin, cout) floats, filled from
 * w [3][3][cin][cout] by fb_kern_winograd_pack_weights (0, or -1 when out
 * of memory). */
int fb_kern_winograd_tiles(int h, int w);
size_t fb_kern_winograd_weights_floats(int cin, int cout);
int fb_kern_winograd_pack_weights(const float *w, int cin, int cout, float *packed);
size_t fb_kern_winograd_scratch(int h, int w, int cin, int cout);
void fb_kern_conv3x3_winograd(const float *in, int h, int w, int cin, const float *packed_weights,
                              const float *bias, int cout, int relu, float *out, float *scratch,
                              int tile0, int tile1, int col0, int col1);

/* ---- the bf16 path (lib/backbone/kern_bf16.c) ----
 * The same convs and fused epilogues as fb_kern_conv2d_packed, with the
 * GEMM's inputs rounded to bfloat16 (weights when packed, activations as
 * they enter the GEMM) and fp32 accumulation and epilogue: VDPBF16PS
 * (AVX512_BF16) where native is set and the CPU has it, else a scalar
 * reference that gives the same bits (kern_bf16.c says how it was checked).
 * Weights: fb_kern_bf16_weights_size(k, cin, cout) uint16, 64-byte aligned,
 * filled by fb_kern_bf16_pack_weights from w [k][k][cin][cout].  Rows
 * [row0, row1) and columns [col0, col1) as fb_kern_conv2d_packed's (col0 a
 * multiple of 32); the results are the same bits however they are split.
 * Scratch: fb_kern_bf16_conv_scratch floats (a multiple of 16). */
/* bf16 of x, rounded to nearest even; zero and denormals to signed zero,
 * NaN stays NaN (as VCVTNEPS2BF16 does). */
static inline uint16_t fb_bf16_round(float x)
{
    union { float f; uint32_t u; } v = {x};
    if ((v.u & 0x7f800000u) == 0) return (uint16_t)((v.u >> 16) & 0x8000u);
    if ((v.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((v.u >> 16) | 0x40u);
    return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}
static inline float fb_bf16_float(uint16_t b)
{
    union { uint32_t u; float f; } v = {(uint32_t)b << 16};
    return v.f;
}
int fb_kern_bf16_cpu(void);      /* 1: the CPU has AVX-512F and AVX512_BF16 */
int fb_kern_bf16_native(void);   /* 1: this build can use them here */
/* fb_bf16_round over n values, by AVX-512 where native (the same bits). */
void fb_kern_bf16_round_floats(int native, const float *src, size_t n, uint16_t *dst);
size_t fb_kern_bf16_weights_size(int k, int cin, int cout);
void fb_kern_bf16_pack_weights(const float *w, int k, int cin, int cout, uint16_t *packed);
size_t fb_kern_bf16_conv_scratch(int h, int w, int cin, int k, int stride, int pad);
void fb_kern_conv2d_bf16(int native, const float *in, int h, int w, int cin,
                         const uint16_t *packed_weights, const float *bias, int k, int stride,
                         int pad, int cout, const float *residual, int relu, float *out,
                         float *scratch, int row0, int row1, int col0, int col1);
/* Winograd F(2x2, 3x3) on the bf16 GEMM: the transforms in fp32, the
 * transformed input rounded to bf16 where it enters the GEMM, the
 * transformed weights when packed.  As fb_kern_conv3x3_winograd. */
size_t fb_kern_winograd_bf16_weights_size(int cin, int cout);
int fb_kern_winograd_bf16_pack_weights(const float *w, int cin, int cout, uint16_t *packed);
size_t fb_kern_winograd_bf16_scratch(int h, int w, int cin, int cout);
void fb_kern_conv3x3_winograd_bf16(int native, const float *in, int h, int w, int cin,
                                   const uint16_t *packed_weights, const float *bias, int cout,
                                   int relu, float *out, float *scratch, int tile0, int tile1,
                                   int col0, int col1);

/* The epilogue, in two passes around the GEMM (which accumulates onto out):
 * before, out[r][c] = bias[c] + residual[r][c] (residual may be NULL);
 * after, ReLU in place over n values. */
void fb_kern_bias_init(float *out, const float *bias, const float *residual, size_t rows, int cols);
void fb_kern_relu(float *x, size_t n);

/* Max pool k x k / stride over the input zero-padded by pad on every side
 * (Keras ZeroPadding2D + MaxPooling2D "valid": padding counts as 0).
 * in: [h][w][c] -> out: [ho][wo][c], output rows oy in [oy0, oy1) only. */
void fb_kern_maxpool(const float *in, int h, int w, int c, int k, int stride, int pad, float *out,
                     int oy0, int oy1);

/* Global average pool: in [n][c] -> out [c] (mean over the n positions). */
void fb_kern_avgpool(const float *in, size_t n, int c, float *out);

/* Dense layer: out[cout] = in[cin] * w[cin][cout] + bias[cout]. */
void fb_kern_dense(const float *in, int cin, const float *w, const float *bias, int cout, float *out);

/* Softmax over n values (max-subtracted, accumulated in double). */
void fb_kern_softmax(const float *in, int n, float *out);

#endif
