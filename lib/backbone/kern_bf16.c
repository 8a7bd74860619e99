/* bfloat16 convolutions as GEMMs with pre-packed weights, fp32 accumulation
 * (see lib/backbone/kern.h, "bf16 path").
 *
 *   out[M x N] = act(bf16(A)[M x K] * bf16(B)[K x N] + bias [+ residual])
 *
 * Where values are rounded: B (the weights) once, when packed at load
 * time; A (the activations, fp32 in memory) where it enters the GEMM, into
 * a bf16 copy made per block of rows.  Products are summed in fp32, and the
 * epilogue (bias, residual, ReLU) is fp32, so only the GEMM's inputs lose
 * precision.  Rounding is round-to-nearest-even with denormals flushed to
 * signed zero (fb_bf16_round, as VCVTNEPS2BF16 does).
 *
 * The arithmetic is VDPBF16PS (AVX512_BF16): per 32-bit lane
 *   acc = acc + a[2p+1] * b[2p+1]   (rounded to fp32, denormals flushed)
 *   acc = acc + a[2p]   * b[2p]     (rounded to fp32, denormals flushed)
 * the odd product first, as Intel's pseudo-code orders them; each product of
 * two bf16 values is exact in fp32, so each step is one fused multiply-add.
 * Measured on an AMD EPYC (Zen 4): 2,000,000 random operands, tiny and
 * denormal ones included, all bit-identical to that model (the even product
 * first matched 87%, one rounding of both products 92%).  The scalar
 * reference (dot_pair_ref) computes exactly that model, so it checks the
 * instruction where the CPU has it and stands in for it where it does not.
 *
 * B packing: column panels of NR = 32, k in pairs:
 *   packed[N/32 panels][kpad/2 pairs][32 columns][2]   (uint16 bf16)
 * so one step of the microkernel loads 128 bytes of B (two zmm: 16 columns'
 * pairs each) and broadcasts one 4-byte pair of A per row, feeding 28
 * VDPBF16PS: 896 multiply-adds per 16 loads, twice the fp32 kernel's.
 * kpad is K rounded up to a chunk (16 values); conv1 (7x7 on 3 channels) is
 * packed by kernel rows: 7 taps x 3 channels and one zero, 22 values a
 * chunk, so that its A is read in place (below).
 *
 * A, the bf16 copy of the activations, in one of three forms:
 * - LINEAR: rows [r0, r0 + MC) of the im2col matrix, kpad values a row
 *   (1x1 convs of any stride, the subsampling done by the copy; 3x3 convs
 *   whose tiles would cross output rows; the fc layer);
 * - BORDERED: 3x3 stride-1 pad-1 convs with cin % 16 == 0: the input with a
 *   zero border, read in place: tap (ky, kx) of output pixel (oy, ox) is
 *   bordered pixel (oy + ky, ox + kx), a 16-value chunk is one offset;
 * - KROWS: conv1: the input with a zero border, one chunk per kernel row:
 *   its 21 values are contiguous, and the 22nd (the next pixel's first
 *   channel, or a zeroed slack value) meets a zero weight.
 * Full 14-row tiles whose rows are evenly spaced go through the assembly
 * tile of kern_asm.h; partial tiles, column tails and rows that cross an
 * output row go through the intrinsics tile (or the scalar reference), which
 * take one pointer per row.  Every tile sums a k block (16 chunks) from zero
 * and then adds what earlier k blocks left in out, so results are the same
 * bits whichever tile, thread split or path computes them. */
#include "kern.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MR 14
#define NR 32
#define KU 16          /* values of k per chunk (8 pairs), but for KROWS */
#define KROW_VALUES 22 /* KROWS: a 7 x 3 kernel row and one zero weight */
#define KCH 16         /* chunks per k block: 256 values, a 16 KB slice of B */
#define MC (MR * 16)   /* rows per block of A */

enum { LINEAR, BORDERED, KROWS };

/* conv1's layout: 7x7 on 3 channels, read by kernel rows of 4 channels. */
static int krows_layout(int k, int cin)
{
    return k == 7 && cin == 3;
}

/* Values of k per chunk and the padded K of a conv's packed weights. */
static int chunk_values(int k, int cin)
{
    return krows_layout(k, cin) ? KROW_VALUES : KU;
}

static int padded_k(int k, int cin)
{
    if (krows_layout(k, cin)) return k * KROW_VALUES;
    int kdim = k * k * cin;
    return (kdim + KU - 1) / KU * KU;
}

size_t fb_kern_bf16_weights_size(int k, int cin, int cout)
{
    size_t panels = ((size_t)cout + NR - 1) / NR;
    return panels * (size_t)padded_k(k, cin) * NR;
}

/* w [k][k][cin][cout] -> packed [cout/32][kpad/2][32][2] bf16, zero past
 * K and cout (and at the end of each of conv1's kernel rows). */
void fb_kern_bf16_pack_weights(const float *w, int k, int cin, int cout, uint16_t *packed)
{
    int kpad = padded_k(k, cin), panels = (cout + NR - 1) / NR, krows = krows_layout(k, cin);
    for (int p = 0; p < panels; p++)
        for (int kk = 0; kk < kpad; kk++) {
            long src = kk;   /* row of w [k*k*cin][cout], or -1: zero */
            if (krows) {
                int ky = kk / KROW_VALUES, e = kk % KROW_VALUES;
                src = e < k * cin ? (long)ky * k * cin + e : -1;
            } else if (kk >= k * k * cin) {
                src = -1;
            }
            uint16_t *dst = packed + ((size_t)p * kpad + (kk & ~1)) * NR + (kk & 1);
            for (int j = 0; j < NR; j++) {
                int col = p * NR + j;
                dst[2 * j] = src >= 0 && col < cout ? fb_bf16_round(w[(size_t)src * cout + col]) : 0;
            }
        }
}

/* ------------------------------------------------------- the A copy */

typedef void round_fn(const float *src, int n, uint16_t *dst);

typedef struct {
    round_fn *round;              /* fp32 -> bf16 of n values: SIMD or scalar, the same bits */
    const float *in;
    int h, w, cin, k, stride, pad, wo;
    int mode, kpad, kv;           /* kv: values per chunk */
    int lda;                      /* LINEAR: values from one row to the next */
    int nchunks;
    /* BORDERED / KROWS: the bordered copy holds bordered rows [py0, py1) */
    int bw, cpix, py0;            /* bordered width, channels per pixel */
} geom;

static void round_floats(const float *src, int n, uint16_t *dst)
{
    for (int i = 0; i < n; i++) dst[i] = fb_bf16_round(src[i]);
}

/* Rows [r0, r0 + n) of the im2col matrix in bf16: a[i][kpad], zeros for
 * padding and past K. */
static void copy_linear(const geom *g, int r0, int n, uint16_t *restrict a)
{
    int kdim = g->k * g->k * g->cin;
    if (g->k == 1 && g->stride == 1 && g->lda == g->cin) {   /* rows are pixels: one run */
        g->round(g->in + (size_t)r0 * g->cin, n * g->cin, a);
        return;
    }
    for (int i = 0; i < n; i++) {
        uint16_t *dst = a + (size_t)i * g->lda;
        int r = r0 + i, oy = r / g->wo, ox = r % g->wo;
        for (int ky = 0; ky < g->k; ky++) {
            int iy = oy * g->stride - g->pad + ky;
            for (int kx = 0; kx < g->k; kx++) {
                int ix = ox * g->stride - g->pad + kx;
                uint16_t *tap = dst + ((size_t)ky * g->k + kx) * g->cin;
                if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w)
                    memset(tap, 0, (size_t)g->cin * sizeof *tap);
                else
                    g->round(g->in + ((size_t)iy * g->w + ix) * g->cin, g->cin, tap);
            }
        }
        memset(dst + kdim, 0, (size_t)(g->kpad - kdim) * sizeof *dst);
    }
}

/* Bordered rows [py0, py1): bordered pixel (py, px) is input pixel
 * (py - pad, px - pad), zero outside; then one zero pixel of slack (what
 * conv1's last kernel row reads past its end). */
static void copy_bordered(const geom *g, int py0, int py1, uint16_t *restrict b)
{
    for (int py = py0; py < py1; py++) {
        uint16_t *row = b + (size_t)(py - py0) * g->bw * g->cpix;
        int iy = py - g->pad;
        if (iy < 0 || iy >= g->h) {
            memset(row, 0, (size_t)g->bw * g->cpix * sizeof *row);
            continue;
        }
        size_t side = (size_t)g->pad * g->cpix, inner = (size_t)g->w * g->cpix;
        memset(row, 0, side * sizeof *row);
        memset(row + side + inner, 0, side * sizeof *row);
        g->round(g->in + (size_t)iy * g->w * g->cin, g->w * g->cin, row + side);
    }
    memset(b + (size_t)(py1 - py0) * g->bw * g->cpix, 0, (size_t)g->cpix * sizeof *b);
}

/* Where row r of A starts (its chunk c is at + offsets[c]). */
static const char *row_at(const geom *g, const uint16_t *a, int r, int r0)
{
    if (g->mode == LINEAR) return (const char *)(a + (size_t)(r - r0) * g->lda);
    int oy = r / g->wo, ox = r % g->wo;
    size_t px = (size_t)(oy * g->stride - g->py0) * g->bw + (size_t)ox * g->stride;
    return (const char *)(a + px * g->cpix);
}

/* Offsets of chunks [c0, c0 + n), into offsets[0, n). */
static void chunk_offsets(const geom *g, int c0, int n, long *offsets)
{
    for (int c = c0; c < c0 + n; c++) {
        if (g->mode == LINEAR) {
            offsets[c - c0] = (long)c * KU * 2;
        } else if (g->mode == KROWS) {
            offsets[c - c0] = (long)c * g->bw * g->cpix * 2;   /* chunk c = kernel row ky */
        } else {
            int kk = c * KU, tap = kk / g->cin, ky = tap / 3, kx = tap % 3;
            offsets[c - c0] = (((long)ky * g->bw + kx) * g->cin + kk % g->cin) * 2;
        }
    }
}

/* ------------------------------------------------ the scalar reference */

static float ftz(float x)
{
    return fabsf(x) < FLT_MIN ? copysignf(0.0f, x) : x;
}

/* One VDPBF16PS lane: acc + a.pair . b.pair, the odd product first, each
 * step rounded to fp32 with denormal inputs and results flushed to zero.
 * (a and b come from fb_bf16_round or packing: never denormal.) */
static float dot_pair_ref(float acc, uint32_t a, uint32_t b)
{
    acc = ftz(acc);
    acc = ftz(fmaf(fb_bf16_float((uint16_t)(a >> 16)), fb_bf16_float((uint16_t)(b >> 16)), acc));
    return ftz(fmaf(fb_bf16_float((uint16_t)a), fb_bf16_float((uint16_t)b), acc));
}

/* What a tile does, in scalar code: c[mr][ncols] (+)= rows . pb over
 * chunks, then the epilogue.  pb: [chunks * kv / 2][32][2]. */
typedef struct {
    const float *bias;            /* at the tile's first column */
    const float *residual;        /* NULL or at the tile */
    int relu;
} epilogue;

static void tile_ref(int mr, int ncols, int chunks, int kv, const char *const *rows,
                     const long *offsets, const uint16_t *pb, float *c, size_t ldc, int first,
                     int last, const epilogue *e)
{
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < ncols; j++) {
            float acc = 0;
            const uint16_t *b = pb + 2 * j;
            for (int ch = 0; ch < chunks; ch++)
                for (int q = 0; q < kv / 2; q++, b += 2 * NR) {
                    uint32_t av, bv = (uint32_t)b[0] | (uint32_t)b[1] << 16;
                    memcpy(&av, rows[i] + offsets[ch] + 4 * q, 4);
                    acc = dot_pair_ref(acc, av, bv);
                }
            float v = first ? acc : acc + c[i * ldc + j];
            if (last) {
                v = v + e->bias[j];
                if (e->residual) v = v + e->residual[i * ldc + j];
                if (e->relu) v = v > 0 ? v : 0;
            }
            c[i * ldc + j] = v;
        }
}

/* ------------------------------------------------ AVX512_BF16 tiles */

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f")))
#define BF16 __attribute__((target("avx512f,avx512bf16")))
#include "kern_asm.h"

int fb_kern_bf16_cpu(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
}

/* fb_bf16_round on 16 values at a time, in AVX-512F integer arithmetic. */
AVX512 static void round_floats_simd(const float *src, int n, uint16_t *dst)
{
    const __m512i exp_bits = _mm512_set1_epi32(0x7f800000), abs_bits = _mm512_set1_epi32(0x7fffffff);
    const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff);
    const __m512i sign16 = _mm512_set1_epi32(0x8000), quiet = _mm512_set1_epi32(0x40);
    for (; n > 0; n -= 16, src += 16, dst += 16) {
        __mmask16 m = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
        __m512i u = _mm512_castps_si512(_mm512_maskz_loadu_ps(m, src));
        __m512i hi = _mm512_srli_epi32(u, 16);
        __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(bias, _mm512_and_si512(hi, one))), 16);
        __mmask16 tiny = _mm512_testn_epi32_mask(u, exp_bits);
        __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, abs_bits), exp_bits);
        r = _mm512_mask_mov_epi32(r, tiny, _mm512_and_si512(hi, sign16));
        r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(hi, quiet));
        _mm512_mask_cvtepi32_storeu_epi16(dst, m, r);
    }
}

/* The full 14 x 32 tile, A at a + i * a_row_bytes + offsets[c] + 4 q. */
MICRO_14_FUSED(tile_asm8, 8, "0,1,2,3,4,5,6,7", "vpbroadcastd", "vdpbf16ps")
MICRO_14_FUSED(tile_asm11, 11, "0,1,2,3,4,5,6,7,8,9,10", "vpbroadcastd", "vdpbf16ps")

/* Any tile: mr rows at rows[i], columns by mask0/mask1.  One
 * specialisation per height keeps the accumulators in registers. */
static inline __attribute__((always_inline, target("avx512f,avx512bf16")))
void tile_any(const int mr, int chunks, int kv, const char *const *rows, const long *offsets,
              const uint16_t *pb, float *c, size_t ldc, int first, int last, const epilogue *e,
              __mmask16 mask0, __mmask16 mask1)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
        if (i >= mr) break;
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();
    }
    for (int ch = 0; ch < chunks; ch++) {
        for (int q = 0; q < kv / 2; q++, pb += 2 * NR) {
            __m512bh b0 = (__m512bh)_mm512_loadu_si512(pb), b1 = (__m512bh)_mm512_loadu_si512(pb + NR);
#pragma GCC unroll 14
            for (int i = 0; i < MR; i++) {
                if (i >= mr) break;
                int pair;
                memcpy(&pair, rows[i] + offsets[ch] + 4 * q, 4);
                __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
                c0[i] = _mm512_dpbf16_ps(c0[i], a, b0);
                c1[i] = _mm512_dpbf16_ps(c1[i], a, b1);
            }
        }
    }
    __m512 bias0 = _mm512_setzero_ps(), bias1 = bias0, zero = bias0;
    if (last) {
        bias0 = _mm512_maskz_loadu_ps(mask0, e->bias);
        bias1 = _mm512_maskz_loadu_ps(mask1, e->bias + 16);
    }
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
        if (i >= mr) break;
        if (!first) {
            c0[i] = _mm512_add_ps(c0[i], _mm512_maskz_loadu_ps(mask0, c + i * ldc));
            c1[i] = _mm512_add_ps(c1[i], _mm512_maskz_loadu_ps(mask1, c + i * ldc + 16));
        }
        if (last) {
            c0[i] = _mm512_add_ps(c0[i], bias0);
            c1[i] = _mm512_add_ps(c1[i], bias1);
            if (e->residual) {
                c0[i] = _mm512_add_ps(c0[i], _mm512_maskz_loadu_ps(mask0, e->residual + i * ldc));
                c1[i] = _mm512_add_ps(c1[i], _mm512_maskz_loadu_ps(mask1, e->residual + i * ldc + 16));
            }
            if (e->relu) {
                c0[i] = _mm512_max_ps(c0[i], zero);
                c1[i] = _mm512_max_ps(c1[i], zero);
            }
        }
        _mm512_mask_storeu_ps(c + i * ldc, mask0, c0[i]);
        _mm512_mask_storeu_ps(c + i * ldc + 16, mask1, c1[i]);
    }
}

#define TILE(n)                                                                                    \
    BF16 static void tile_##n(int chunks, int kv, const char *const *rows, const long *offsets,     \
                              const uint16_t *pb, float *c, size_t ldc, int first, int last,        \
                              const epilogue *e, __mmask16 m0, __mmask16 m1)                        \
    {                                                                                              \
        tile_any(n, chunks, kv, rows, offsets, pb, c, ldc, first, last, e, m0, m1);                \
    }
TILE(1) TILE(2) TILE(3) TILE(4) TILE(5) TILE(6) TILE(7)
TILE(8) TILE(9) TILE(10) TILE(11) TILE(12) TILE(13) TILE(14)

typedef void tile_fn(int, int, const char *const *, const long *, const uint16_t *, float *, size_t,
                     int, int, const epilogue *, __mmask16, __mmask16);
static tile_fn *const tile_by_rows[MR + 1] = {
    NULL, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6, tile_7,
    tile_8, tile_9, tile_10, tile_11, tile_12, tile_13, tile_14,
};

static __mmask16 cols_mask(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

static int have_native = 1;

#else /* no x86-64: the scalar reference only */

int fb_kern_bf16_cpu(void) { return 0; }
static int have_native = 0;

#endif

/* Lines to prefetch per chunk so that `tiles` full tiles of `chunks` chunks
 * each bring `lines` lines in all (at least one). */
static long prefetch_per_chunk(long lines, int tiles, int chunks)
{
    long slots = (long)tiles * chunks;
    long n = slots > 0 ? (lines + slots - 1) / slots : 1;
    return n > 0 ? n : 1;
}

/* One tile of mr rows and columns [c_lo, c_hi) (c_hi - c_lo <= 32). */
static void run_tile(int native, const geom *g, const uint16_t *a, int r, int r0, int mr,
                     int c_lo, int c_hi, int chunks, const long *offsets, const uint16_t *pb,
                     float *out, int cout, int first, int last, const float *bias,
                     const float *residual, int relu, const char *prefetch, long per_chunk)
{
    size_t at = (size_t)r * cout + c_lo;
    epilogue e = {bias + c_lo, residual ? residual + at : NULL, relu};
    const char *rows[MR];
    for (int i = 0; i < mr; i++) rows[i] = row_at(g, a, r + i, r0);
#if defined(__x86_64__) && defined(__GNUC__)
    if (native) {
        long row_bytes = mr > 1 ? (long)(rows[1] - rows[0]) : 0;
        int even = mr == MR && c_hi - c_lo == NR && (g->mode == LINEAR || r % g->wo + MR <= g->wo);
        if (even && (g->kv == 16 || g->kv == KROW_VALUES)) {
            fused_epilogue ep = {out + at, (long)cout * 4, !first, last, e.bias, e.residual, relu, per_chunk};
            if (g->kv == 16) tile_asm8(chunks, rows[0], row_bytes, offsets, pb, &ep, prefetch);
            else tile_asm11(chunks, rows[0], row_bytes, offsets, pb, &ep, prefetch);
            return;
        }
        tile_by_rows[mr](chunks, g->kv, rows, offsets, pb, out + at, (size_t)cout, first, last, &e,
                         cols_mask(c_hi - c_lo), cols_mask(c_hi - c_lo - 16));
        return;
    }
#else
    (void)native; (void)prefetch; (void)per_chunk;
#endif
    tile_ref(mr, c_hi - c_lo, chunks, g->kv, rows, offsets, pb, out + at, (size_t)cout, first, last, &e);
}

/* LINEAR rows a multiple of 1 KB long would put a tile's 14 rows in a few
 * L1 sets (4 KB apart: all in one): one more line apart spreads them. */
static int linear_stride(int kpad)
{
    return kpad * 2 % 1024 == 0 ? kpad + 32 : kpad;
}

/* BORDERED where whole 14-row tiles stay within an output row (stages
 * 2-4); else (stage 5's 7x7) the im2col copy, so that its full tiles still
 * take the assembly. */
static int choose_mode(int w, int cin, int k, int stride, int pad)
{
    if (krows_layout(k, cin)) return KROWS;
    if (k == 3 && stride == 1 && pad == 1 && cin % KU == 0 && w % MR == 0) return BORDERED;
    return LINEAR;
}

size_t fb_kern_bf16_conv_scratch(int h, int w, int cin, int k, int stride, int pad)
{
    size_t bytes;
    int mode = choose_mode(w, cin, k, stride, pad);
    int rows = fb_conv_out(h, k, stride, pad) * fb_conv_out(w, k, stride, pad);
    if (mode == LINEAR) bytes = (size_t)(rows < MC ? rows : MC) * linear_stride(padded_k(k, cin)) * 2;
    else bytes = ((size_t)(h + 2 * pad) * (w + 2 * pad) + 1) * cin * 2;
    return (bytes + 63) / 64 * 16;   /* floats, whole 64-byte lines */
}

int fb_kern_bf16_native(void)
{
    static int known = -1;
    if (known < 0) known = have_native && fb_kern_bf16_cpu();
    return known;
}

void fb_kern_bf16_round_floats(int native, const float *src, size_t n, uint16_t *dst)
{
    for (size_t done = 0; done < n; done += 1 << 20) {
        int part = n - done < (size_t)1 << 20 ? (int)(n - done) : 1 << 20;
#if defined(__x86_64__) && defined(__GNUC__)
        if (native && fb_kern_bf16_native()) {
            round_floats_simd(src + done, part, dst + done);
            continue;
        }
#endif
        round_floats(src + done, part, dst + done);
    }
}

void fb_kern_conv2d_bf16(int native, const float *in, int h, int w, int cin,
                         const uint16_t *packed_weights, const float *bias, int k, int stride,
                         int pad, int cout, const float *residual, int relu, float *out,
                         float *scratch, int row0, int row1, int col0, int col1)
{
    if (row1 <= row0 || col1 <= col0) return;
    native = native && fb_kern_bf16_native();
    round_fn *round = round_floats;
#if defined(__x86_64__) && defined(__GNUC__)
    if (native) round = round_floats_simd;
#endif
    geom g = {round, in, h, w, cin, k, stride, pad, fb_conv_out(w, k, stride, pad), choose_mode(w, cin, k, stride, pad),
              padded_k(k, cin), chunk_values(k, cin), linear_stride(padded_k(k, cin)), 0, 0, 0, 0};
    g.nchunks = g.kpad / g.kv;
    long offsets[KCH];
    uint16_t *a = (uint16_t *)scratch;
    if (g.mode != LINEAR) {
        g.bw = w + 2 * pad;
        g.cpix = cin;
        int oy0 = row0 / g.wo, oy1 = (row1 - 1) / g.wo;   /* output rows touched */
        g.py0 = oy0 * stride;
        copy_bordered(&g, g.py0, oy1 * stride + k, a);
    }
    int p0 = col0 / NR, p1 = (col1 + NR - 1) / NR;
    size_t panel_values = (size_t)g.kpad * NR;   /* uint16 per panel */
    for (int mc0 = row0; mc0 < row1; mc0 += MC) {
        int mc = row1 - mc0 < MC ? row1 - mc0 : MC;
        if (g.mode == LINEAR) copy_linear(&g, mc0, mc, a);
        for (int ch0 = 0; ch0 < g.nchunks; ch0 += KCH) {
            int chunks = g.nchunks - ch0 < KCH ? g.nchunks - ch0 : KCH;
            int first = ch0 == 0, last = ch0 + chunks == g.nchunks;
            chunk_offsets(&g, ch0, chunks, offsets);
            for (int p = p0; p < p1; p++) {
                int c_lo = p * NR, c_hi = c_lo + NR < col1 ? c_lo + NR : col1;
                const uint16_t *pb = packed_weights + p * panel_values + (size_t)ch0 * g.kv * NR;
                /* the next slice of B (next panel's, or the first panel's
                 * next k block) into L2 while this panel's tiles run */
                const char *next = NULL;
                long lines = 0;
                if (p + 1 < p1) {
                    next = (const char *)(pb + panel_values);
                    lines = (long)chunks * g.kv * NR * 2 / 64;
                } else if (ch0 + chunks < g.nchunks) {
                    int more = g.nchunks - ch0 - chunks < KCH ? g.nchunks - ch0 - chunks : KCH;
                    next = (const char *)(packed_weights + p0 * panel_values + (size_t)(ch0 + chunks) * g.kv * NR);
                    lines = (long)more * g.kv * NR * 2 / 64;
                }
                long per_chunk = prefetch_per_chunk(lines, mc / MR, chunks);
                for (int t = 0; t < mc; t += MR) {
                    int mr = mc - t < MR ? mc - t : MR;
                    long from = (long)t / MR * chunks * per_chunk;
                    const char *prefetch = next && from < lines ? next + from * 64 : (const char *)pb;
                    run_tile(native, &g, a, mc0 + t, mc0, mr, c_lo, c_hi, chunks, offsets, pb, out,
                             cout, first, last, bias, residual, relu, prefetch, per_chunk);
                }
            }
        }
    }
}
