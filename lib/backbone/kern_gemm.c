/* AVX-512 fp32 convolution as a GEMM with pre-packed weights (see
 * include/fb/kern.h, "packed path").
 *
 *   out[M x N] = act(A[M x K] * B[K x N] + bias [+ residual])
 *
 * M = output positions (NHWC rows), K = kh*kw*cin, N = cout.
 *
 * B (the weights) is packed once at load time into column panels of NR = 32:
 *   packed[N/32 panels][kpad][32]        kpad = K rounded up to KU = 16
 * so the microkernel reads two zmm of B per k, contiguous.
 *
 * A (the activations) is read in place where a 14-row tile's rows are
 * evenly spaced (1x1 stride-1 convs; 3x3 stride-1 convs and conv1 through
 * a zero-bordered copy of the input), see fb_kern_conv2d_packed.  Otherwise
 * (strided 1x1, stage 5's 3x3, partial tiles) it is packed per
 * (row block, k block) into tiles of MR = 14 rows, k-interleaved in chunks
 * of 16:
 *   tile[kc/16][14][16]
 * i.e. one 64-byte vector copy per 16 values of one row (cheap even when
 * N = 64; a scalar row->column transpose would cost as much as the GEMM
 * there).  The same copy gathers the im2col patch of 3x3/7x7 convs and the
 * subsampled pixels of strided 1x1 convs, so nothing is materialised.
 *
 * Microkernel: 14 x 32 accumulators = 28 zmm, + 2 B vectors + 1 broadcast
 * = 31 of the 32 registers; per k 2 B loads + 14 broadcasts feed 28 FMAs.
 *
 * Blocking (per core: L1d 48 KB, L2 2 MB):
 *   for row block (MC = 224 rows)
 *     for k block (KC = 128)             A block 224 x 128 x 4 = 115 KB -> L2
 *       pack A block (where not read in place)
 *       for column panel (32)            B slice 128 x 32 x 4 = 16 KB  -> L1
 *         for row tile (14)              A tile 14 x 128 x 4 = 7 KB streams from L2
 *           microkernel (accumulates over k blocks in out; the last k block
 *           applies bias, residual and ReLU on the way to the store; the
 *           tiles meanwhile prefetch the next B slice into L2)
 * conv1 has its own in-place path (conv_kernel_rows), and
 * lib/backbone/kern_winograd.c runs the 3x3 convs of stages 2-4 on this GEMM.
 */
#include "kern.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MR 14
#define NR 32
#define KU 16
#define MAX_KERNEL_ROWS 7   /* conv_kernel_rows: kernels up to 7 x 7 */
#ifndef KC   /* overridable for tuning experiments */
#define KC 128
#endif
#ifndef MC
#define MC (MR * 16)
#endif

size_t fb_kern_packed_weights_floats(int k, int n)
{
    size_t kpad = ((size_t)k + KU - 1) / KU * KU, panels = ((size_t)n + NR - 1) / NR;
    return panels * kpad * NR;
}

/* w [k][n] -> packed [n/32][kpad][32], zero past k and n. */
void fb_kern_pack_weights(const float *restrict w, int k, int n, float *restrict packed)
{
    int kpad = (k + KU - 1) / KU * KU, panels = (n + NR - 1) / NR;
    for (int p = 0; p < panels; p++)
        for (int kk = 0; kk < kpad; kk++) {
            float *dst = packed + ((size_t)p * kpad + kk) * NR;
            for (int j = 0; j < NR; j++) {
                int col = p * NR + j;
                dst[j] = (kk < k && col < n) ? w[(size_t)kk * n + col] : 0.0f;
            }
        }
}

/* 3x3 stride-1 pad-1 convs whose output rows hold whole 14-row tiles read
 * A in place from a zero-bordered copy of the input (see
 * fb_kern_conv2d_packed); cin <= 512 keeps a tile's 14 rows out of one L1
 * set (rows 4 KB apart would share it). */
static int padded_in_place(int w, int cin, int k, int stride, int pad)
{
    return k == 3 && stride == 1 && pad == 1 && cin % 16 == 0 && cin <= 512 && w % 14 == 0;
}

size_t fb_kern_conv2d_packed_scratch(int h, int w, int cin, int k, int stride, int pad)
{
    /* the A block, one im2col row segment of KC floats, the bordered input */
    size_t n = (size_t)MC * KC + KC;
    if (padded_in_place(w, cin, k, stride, pad)) n += (size_t)(h + 2) * (w + 2) * cin;
    if (k * cin == 21 && k <= MAX_KERNEL_ROWS && fb_conv_out(w, k, stride, pad) % MR == 0)   /* kernel_rows_in_place */
        n += (size_t)(h + 2 * pad) * (w + 2 * pad) * cin;
    return (n + 15) / 16 * 16;   /* whole 64-byte lines: aligned_alloc wants a multiple */
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AVX512 __attribute__((target("avx512f")))
#define INLINE_AVX512 static inline __attribute__((always_inline, target("avx512f")))
#include "kern_asm.h"   /* the fused 14 x 32 tile, shared with kern_bf16.c */

int fb_kern_gemm_available(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

/* The conv geometry the A packer needs. */
typedef struct {
    const float *in;
    int h, w, cin, k, stride, pad, wo, kdim;   /* kdim = k*k*cin */
} conv_geom;

/* Values [k0, k0 + n) of im2col row r (output position r), n a multiple of
 * 16: a pointer straight into the input when that range is contiguous
 * there (1x1 convs, or one in-bounds tap of a conv with cin % 16 == 0),
 * else gathered into tmp with zeros for padding and past kdim. */
/* Short copies and fills (conv1's runs are 21 floats): 16 at a time, the
 * last masked, no library call (masked stores also keep GCC from turning
 * the loop back into a memmove call). */
INLINE_AVX512 __mmask16 first_n(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

INLINE_AVX512 void copy_floats(float *restrict dst, const float *restrict src, int n)
{
    for (; n > 0; n -= 16, dst += 16, src += 16)
        _mm512_mask_storeu_ps(dst, first_n(n), _mm512_maskz_loadu_ps(first_n(n), src));
}

INLINE_AVX512 void zero_floats(float *dst, int n)
{
    for (; n > 0; n -= 16, dst += 16) _mm512_mask_storeu_ps(dst, first_n(n), _mm512_setzero_ps());
}

/* Element e of kernel row iy of a patch whose first column is ix0:
 * in[(iy * w + ix0) * cin + e].  ix0 is negative at the left edge, where
 * only e >= -ix0 * cin is ever asked for; the offset is summed as a signed
 * number first, so no pointer below the buffer is ever formed. */
static inline const float *patch_row_at(const conv_geom *g, int iy, int ix0, int e)
{
    ptrdiff_t off = ((ptrdiff_t)iy * g->w + ix0) * g->cin + e;
    return g->in + off;
}

AVX512 static const float *row_segment(const conv_geom *g, int r, int k0, int n, float *restrict tmp)
{
    int oy = r / g->wo, ox = r % g->wo;
    if (g->k == 1) {
        const float *px = g->in + ((size_t)oy * g->stride * g->w + (size_t)ox * g->stride) * g->cin;
        if (k0 + n <= g->kdim) return px + k0;
        int have = g->kdim - k0;
        copy_floats(tmp, px + k0, have);
        zero_floats(tmp + have, n - have);
        return tmp;
    }
    int cin = g->cin, tap = k0 / cin, c0 = k0 % cin;
    if (c0 + n <= cin && k0 + n <= g->kdim) {
        int ky = tap / g->k, kx = tap % g->k;
        int iy = oy * g->stride - g->pad + ky, ix = ox * g->stride - g->pad + kx;
        if (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w)
            return g->in + ((size_t)iy * g->w + ix) * cin + c0;
    }
    int row_len = g->k * cin;
    int iy0 = oy * g->stride - g->pad, ix0 = ox * g->stride - g->pad;
    /* in-bounds elements of each kernel row: [lo, hi) (see below).  A row's
     * start (ix0 < 0 at the left edge) may lie before the input: the index
     * is summed first, never a pointer outside the buffer (UBSan). */
    int lo = ix0 < 0 ? -ix0 * cin : 0, hi = (ix0 + g->k > g->w ? g->w - ix0 : g->k) * cin;
    if (hi < lo) hi = lo;
    if (k0 == 0 && n >= g->kdim) {
        /* The whole patch in one block (conv1: 7 x 21 floats): one short
         * copy per kernel row. */
        for (int ky = 0; ky < g->k; ky++) {
            float *dst = tmp + ky * row_len;
            int iy = iy0 + ky;
            if (iy < 0 || iy >= g->h) {
                zero_floats(dst, row_len);
                continue;
            }
            zero_floats(dst, lo);
            copy_floats(dst + lo, patch_row_at(g, iy, ix0, lo), hi - lo);
            zero_floats(dst + hi, row_len - hi);
        }
        zero_floats(tmp + g->kdim, n - g->kdim);
        return tmp;
    }
    /* General case, one kernel row (ky) at a time: in NHWC the in-bounds
     * taps of a kernel row are one contiguous run of the input, so element
     * e of row ky (kx = e / cin) is at in[(iy * w + ix0) * cin + e]. */
    int done = 0;
    while (done < n) {
        int kk = k0 + done;
        if (kk >= g->kdim) {
            zero_floats(tmp + done, n - done);
            break;
        }
        int ky = kk / row_len, e = kk % row_len;
        int run = row_len - e < n - done ? row_len - e : n - done;
        int iy = iy0 + ky, row_lo = lo, row_hi = hi;
        if (iy < 0 || iy >= g->h) row_lo = row_hi = 0;
        for (int x = e; x < e + run;) {
            float *dst = tmp + done + (x - e);
            if (x < row_lo || x >= row_hi) {
                int stop = x < row_lo ? row_lo : e + run;
                if (stop > e + run) stop = e + run;
                zero_floats(dst, stop - x);
                x = stop;
            } else {
                int stop = row_hi < e + run ? row_hi : e + run;
                copy_floats(dst, patch_row_at(g, iy, ix0, x), stop - x);
                x = stop;
            }
        }
        done += run;
    }
    return tmp;
}

/* Packs rows [r0, r0 + m) x k [k0, k0 + kc) into tiles [m/14][kc/16][14][16]
 * (the last tile's missing rows are left as they are: never read). */
AVX512 static void pack_a(const conv_geom *g, int r0, int m, int k0, int kc,
                          float *restrict packed, float *restrict tmp)
{
    int chunks = kc / KU, cin = g->cin;
    /* 3x3 convs of ResNet (cin a multiple of 16): every 16-value chunk lies
     * in one tap, so it is copied straight from the input or zeroed, with
     * the tap position stepped along instead of divided out per chunk. */
    int whole_taps = g->k > 1 && cin % KU == 0;
    for (int i = 0; i < m; i++) {
        float *dst = packed + (size_t)(i / MR) * chunks * MR * KU + (size_t)(i % MR) * KU;
        if (whole_taps) {
            int r = r0 + i, oy = r / g->wo, ox = r % g->wo;
            int tap = k0 / cin, c0 = k0 % cin, ky = tap / g->k, kx = tap % g->k;
            int iy0 = oy * g->stride - g->pad, ix0 = ox * g->stride - g->pad;
            for (int c = 0; c < chunks; c++) {
                int iy = iy0 + ky, ix = ix0 + kx;
                __m512 v = _mm512_setzero_ps();
                if (iy >= 0 && iy < g->h && ix >= 0 && ix < g->w)
                    v = _mm512_loadu_ps(g->in + ((size_t)iy * g->w + ix) * cin + c0);
                _mm512_storeu_ps(dst + (size_t)c * MR * KU, v);
                if ((c0 += KU) == cin) {
                    c0 = 0;
                    if (++kx == g->k) {
                        kx = 0;
                        ky++;
                    }
                }
            }
            continue;
        }
        const float *src = row_segment(g, r0 + i, k0, kc, tmp);
        for (int c = 0; c < chunks; c++)
            _mm512_storeu_ps(dst + (size_t)c * MR * KU, _mm512_loadu_ps(src + (size_t)c * KU));
    }
}

/* What the last k block does on the way out. */
typedef struct {
    const float *bias;            /* [32] of this panel */
    const float *residual;        /* NULL or [mr][ldc] at this tile */
    int relu;
    const char *prefetch;         /* micro_14: lines to prefetch into L2 ... */
    long prefetch_lines;          /* ... this many per chunk */
    const long *packed_offsets;   /* micro_14: chunk c of a packed tile at [c] bytes */
} epilogue;

/* c[mr][32] (+)= pa[chunks][14][16] * pb[chunks*16][32].
 * first: start from 0, else from c; last: + bias + residual, ReLU.
 * mask0/mask1: the columns of the two halves that exist (N tail). */
INLINE_AVX512 void micro(const int mr, int chunks, const float *restrict pa, const float *restrict pb,
                         float *restrict c, size_t ldc, int first, int last, const epilogue *e,
                         __mmask16 mask0, __mmask16 mask1)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
        if (i >= mr) break;
        if (first) {
            c0[i] = _mm512_setzero_ps();
            c1[i] = _mm512_setzero_ps();
        } else {
            c0[i] = _mm512_maskz_loadu_ps(mask0, c + i * ldc);
            c1[i] = _mm512_maskz_loadu_ps(mask1, c + i * ldc + 16);
        }
    }
    for (int ch = 0; ch < chunks; ch++) {
#pragma GCC unroll 16
        for (int j = 0; j < KU; j++) {
            __m512 b0 = _mm512_loadu_ps(pb + j * NR), b1 = _mm512_loadu_ps(pb + j * NR + 16);
#pragma GCC unroll 14
            for (int i = 0; i < MR; i++) {
                if (i >= mr) break;
                __m512 a = _mm512_set1_ps(pa[i * KU + j]);
                c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
                c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
            }
        }
        pa += MR * KU;
        pb += KU * NR;
    }
    if (last) {
        __m512 bias0 = _mm512_maskz_loadu_ps(mask0, e->bias), bias1 = _mm512_maskz_loadu_ps(mask1, e->bias + 16);
        __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 14
        for (int i = 0; i < MR; i++) {
            if (i >= mr) break;
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
    }
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
        if (i >= mr) break;
        _mm512_mask_storeu_ps(c + i * ldc, mask0, c0[i]);
        _mm512_mask_storeu_ps(c + i * ldc + 16, mask1, c1[i]);
    }
}

/* The full 14-row tile, the one that does nearly all the work, in inline
 * assembly: GCC spills some of the 28 accumulators of the intrinsics
 * version (31 live zmm).  Accumulators: zmm0-13 columns 0-15 of rows 0-13,
 * zmm14-27 columns 16-31; zmm28/29 the two B vectors; zmm30 the broadcast.
 * Computes tile[14][32] = pa[chunks][14][16] * pb[chunks*16][32] from zero. */
#define ROW_FMA(i, lo, hi)                                        \
    "vbroadcastss " #i "*64+\\j*4(%[pa]), %%zmm30\n\t"            \
    "vfmadd231ps %%zmm30, %%zmm28, %%zmm" #lo "\n\t"              \
    "vfmadd231ps %%zmm30, %%zmm29, %%zmm" #hi "\n\t"
#define ROW_STORE(i, lo, hi)                                      \
    "vmovups %%zmm" #lo ", " #i "*128(%[tile])\n\t"               \
    "vmovups %%zmm" #hi ", " #i "*128+64(%[tile])\n\t"

AVX512 static void micro_14_asm(long chunks, const float *pa, const float *pb, float *tile,
                                const char *prefetch)
{
    __asm__ volatile(
        ROWS(ZERO)
        "1:\n\t"
        ".irp j, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
        "vmovups \\j*128(%[pb]), %%zmm28\n\t"
        "vmovups \\j*128+64(%[pb]), %%zmm29\n\t"
        ROWS(ROW_FMA)
        ".endr\n\t"
        "prefetcht1 (%[pf])\n\t"     /* 4 lines of what comes next per 448 FMAs */
        "prefetcht1 64(%[pf])\n\t"
        "prefetcht1 128(%[pf])\n\t"
        "prefetcht1 192(%[pf])\n\t"
        "add $256, %[pf]\n\t"
        "add $896, %[pa]\n\t"        /* 14 x 16 floats */
        "add $2048, %[pb]\n\t"       /* 16 x 32 floats */
        "dec %[chunks]\n\t"
        "jnz 1b\n\t"
        ROWS(ROW_STORE)
        : [pa] "+r"(pa), [pb] "+r"(pb), [chunks] "+r"(chunks), [pf] "+r"(prefetch)
        : [tile] "r"(tile)
        : "memory", "cc",
          "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
          "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
          "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
          "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30");
}

MICRO_14_FUSED(micro_14_fused, 16, "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15", "vbroadcastss", "vfmadd231ps")
MICRO_14_FUSED(micro_14_fused21, 21, "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20",
               "vbroadcastss", "vfmadd231ps")

/* mr = 14: the fused assembly for whole panels; with an N tail (masks not
 * full) the product goes through a tile and the masked epilogue below. */
AVX512 static void micro_14(int chunks, const float *pa, const float *pb, float *c, size_t ldc,
                            int first, int last, const epilogue *e, __mmask16 mask0, __mmask16 mask1)
{
    if (mask0 == 0xFFFF && mask1 == 0xFFFF) {
        fused_epilogue ep = {c, (long)ldc * 4, !first, last, e->bias, e->residual, e->relu, e->prefetch_lines};
        micro_14_fused(chunks, pa, KU * 4, e->packed_offsets, pb, &ep, e->prefetch);
        return;
    }
    float tile[MR * NR] __attribute__((aligned(64)));
    micro_14_asm(chunks, pa, pb, tile, e->prefetch);
    __m512 bias0 = _mm512_maskz_loadu_ps(mask0, e->bias), bias1 = _mm512_maskz_loadu_ps(mask1, e->bias + 16);
    __m512 zero = _mm512_setzero_ps();
    for (int i = 0; i < MR; i++) {
        __m512 v0 = _mm512_load_ps(tile + i * NR), v1 = _mm512_load_ps(tile + i * NR + 16);
        if (!first) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, c + i * ldc));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, c + i * ldc + 16));
        }
        if (last) {
            v0 = _mm512_add_ps(v0, bias0);
            v1 = _mm512_add_ps(v1, bias1);
            if (e->residual) {
                v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask0, e->residual + i * ldc));
                v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask1, e->residual + i * ldc + 16));
            }
            if (e->relu) {
                v0 = _mm512_max_ps(v0, zero);
                v1 = _mm512_max_ps(v1, zero);
            }
        }
        _mm512_mask_storeu_ps(c + i * ldc, mask0, v0);
        _mm512_mask_storeu_ps(c + i * ldc + 16, mask1, v1);
    }
}

/* One specialisation per tile height, so the accumulators stay in registers. */
#define MICRO(n)                                                                                   \
    AVX512 static void micro_##n(int chunks, const float *pa, const float *pb, float *c, size_t ldc, \
                                 int first, int last, const epilogue *e, __mmask16 m0, __mmask16 m1) \
    {                                                                                              \
        micro(n, chunks, pa, pb, c, ldc, first, last, e, m0, m1);                                  \
    }
MICRO(1) MICRO(2) MICRO(3) MICRO(4) MICRO(5) MICRO(6) MICRO(7)
MICRO(8) MICRO(9) MICRO(10) MICRO(11) MICRO(12) MICRO(13)

typedef void micro_fn(int, const float *, const float *, float *, size_t, int, int, const epilogue *,
                      __mmask16, __mmask16);
static micro_fn *const micro_by_rows[MR + 1] = {
    NULL, micro_1, micro_2, micro_3, micro_4, micro_5, micro_6, micro_7,
    micro_8, micro_9, micro_10, micro_11, micro_12, micro_13, micro_14,
};

static __mmask16 cols_mask(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1);
}

/* Lines to prefetch per chunk so that `tiles` full tiles of `chunks` chunks
 * each bring `lines` lines in all (at least one, to keep the loop simple). */
static long prefetch_per_chunk(long lines, int tiles, int chunks)
{
    long slots = (long)tiles * chunks;
    long n = slots > 0 ? (lines + slots - 1) / slots : 1;
    return n > 0 ? n : 1;
}

/* Rows [py0, py1) of the input with a zero border of pad pixels:
 * bordered [h + 2 pad][w + 2 pad][cin], row py = input row py - pad. */
static void copy_bordered(const float *in, int h, int w, int cin, int pad, int py0, int py1,
                          float *bordered)
{
    size_t px = (size_t)cin, row = (size_t)(w + 2 * pad) * px, side = (size_t)pad * px;
    for (int py = py0; py < py1; py++) {
        float *dst = bordered + (size_t)py * row;
        int iy = py - pad;
        if (iy < 0 || iy >= h) {
            memset(dst, 0, row * sizeof *dst);
            continue;
        }
        memset(dst, 0, side * sizeof *dst);
        memcpy(dst + side, in + (size_t)iy * w * px, (size_t)w * px * sizeof *dst);
        memset(dst + side + (size_t)w * px, 0, side * sizeof *dst);
    }
}

/* conv1 (7x7, 3 channels) with no packing and no padding of k: one chunk
 * is one kernel row's 21 values (7 taps x 3 channels), which in a
 * zero-bordered copy of the input are 21 contiguous floats, so A is read in
 * place as for the 3x3 convs: tap row ky of output pixel (oy, ox) starts at
 * bordered pixel (oy * stride + ky, ox * stride), the 14 rows of a tile
 * (consecutive ox) are stride * cin floats apart, and chunk ky is a fixed
 * offset of ky bordered rows.  Whole 14-row tiles, rows [row0, row1). */
static int kernel_rows_in_place(int wo, int cin, int k, int cout)
{
    return k * cin == 21 && k <= MAX_KERNEL_ROWS && wo % MR == 0 && cout % NR == 0;
}

AVX512 static void conv_kernel_rows(const conv_geom *g, const float *packed_weights, int kpad,
                                    const float *bias, int cout, const float *residual, int relu,
                                    float *out, float *bordered, int row0, int row1, int col0, int col1)
{
    int bw = g->w + 2 * g->pad, oy0 = row0 / g->wo, oy1 = (row1 - 1) / g->wo;
    copy_bordered(g->in, g->h, g->w, g->cin, g->pad, oy0 * g->stride, oy1 * g->stride + g->k, bordered);
    long offsets[MAX_KERNEL_ROWS], row_bytes = (long)g->stride * g->cin * 4;
    for (int ky = 0; ky < g->k; ky++) offsets[ky] = (long)ky * bw * g->cin * 4;
    for (int b0 = row0; b0 < row1; b0 += MC) {
        int b1 = row1 - b0 < MC ? row1 : b0 + MC;
        /* the next panel's weights into L2 (see fb_kern_conv2d_packed) */
        long lines = (long)g->kdim * 2, per_chunk = prefetch_per_chunk(lines, (b1 - b0) / MR, g->k);
        for (int p = col0 / NR; p < col1 / NR; p++) {
            const float *pb = packed_weights + (size_t)p * kpad * NR;
            const char *next = (const char *)(pb + (size_t)kpad * NR);
            for (int r = b0; r < b1; r += MR) {
                int oy = r / g->wo, ox = r % g->wo;
                long from = (r - b0) / MR * g->k * per_chunk;
                const char *prefetch = p + 1 < col1 / NR && from < lines ? next + from * 64
                                                                         : (const char *)pb;
                const float *a = bordered + ((size_t)oy * g->stride * bw + (size_t)ox * g->stride) * g->cin;
                size_t at = (size_t)r * cout + (size_t)p * NR;
                fused_epilogue ep = {out + at, (long)cout * 4, 0, 1, bias + p * NR,
                                     residual ? residual + at : NULL, relu, per_chunk};
                micro_14_fused21(g->k, a, row_bytes, offsets, pb, &ep, prefetch);
            }
        }
    }
}

AVX512 void fb_kern_conv2d_packed(const float *in, int h, int w, int cin,
                                  const float *packed_weights, const float *bias, int k, int stride,
                                  int pad, int cout, const float *residual, int relu, float *out,
                                  float *scratch, int row0, int row1, int col0, int col1)
{
    if (row1 <= row0 || col1 <= col0) return;
    conv_geom g = {in, h, w, cin, k, stride, pad, fb_conv_out(w, k, stride, pad), k * k * cin};
    int kpad = (g.kdim + KU - 1) / KU * KU;
    float *pa = scratch, *tmp = scratch + (size_t)MC * KC, *bordered = tmp + KC;
    if (kernel_rows_in_place(g.wo, cin, k, cout) && row0 % MR == 0) {
        /* whole tiles in place; a last partial tile goes the general way */
        int whole_end = row0 + (row1 - row0) / MR * MR;
        if (whole_end > row0)
            conv_kernel_rows(&g, packed_weights, kpad, bias, cout, residual, relu, out, bordered,
                             row0, whole_end, col0, col1);
        if ((row0 = whole_end) == row1) return;
    }
    int p0 = col0 / NR, p1 = (col1 + NR - 1) / NR;
    /* Whole 14-row tiles read A in place, with no packing, where the rows of
     * a tile are evenly spaced in memory for every k:
     * - 1x1 stride-1 convs: the input itself, its rows are the GEMM's rows;
     * - 3x3 stride-1 convs whose tiles stay within one output row (w and
     *   row0 multiples of 14): a copy of the input with a zero border, where
     *   tap (ky, kx) of output pixel (oy, ox) is bordered pixel
     *   (oy + ky, ox + kx): a tile's rows are consecutive pixels, and each
     *   16-value chunk of k is one fixed offset from the tile's first pixel.
     * (cin <= 512: a tile's rows 4 KB or more apart would share one L1 set;
     * cout % 32: no column tail.)  A last partial tile is packed. */
    int direct = k == 1 && stride == 1 && pad == 0 && cin % KU == 0 && cin <= 512;
    int padded = padded_in_place(w, cin, k, stride, pad) && row0 % MR == 0;
    int in_place = (direct || padded) && cout % NR == 0;
    long row_bytes = (long)cin * 4, offsets[KC / KU], packed_offsets[KC / KU];
    for (int c = 0; c < KC / KU; c++) packed_offsets[c] = (long)c * MR * KU * 4;   /* c * 14 * 16 floats */
    if (in_place && padded) {
        int oy0 = row0 / g.wo, oy1 = (row1 - 1) / g.wo;   /* output rows touched */
        copy_bordered(in, h, w, cin, 1, oy0, oy1 + 3, bordered);
    }
    for (int mc0 = row0; mc0 < row1; mc0 += MC) {
        int mc = row1 - mc0 < MC ? row1 - mc0 : MC;
        int whole = in_place ? mc / MR * MR : 0;   /* rows read in place */
        for (int kc0 = 0; kc0 < kpad; kc0 += KC) {
            int kc = kpad - kc0 < KC ? kpad - kc0 : KC;
            int first = kc0 == 0, last = kc0 + kc == kpad;
            if (in_place)
                for (int c = 0; c < kc / KU; c++) {
                    int kk = kc0 + c * KU;
                    if (direct) {
                        offsets[c] = (long)kk * 4;
                    } else {
                        int tap = kk / cin, ky = tap / 3, kx = tap % 3;
                        offsets[c] = (((long)ky * (w + 2) + kx) * cin + kk % cin) * 4;
                    }
                }
            /* packed: rows [whole, mc) of the block, as tiles from pa */
            if (whole < mc) pack_a(&g, mc0 + whole, mc - whole, kc0, kc, pa, tmp);
            for (int p = p0; p < p1; p++) {
                int c_lo = p * NR, c_hi = c_lo + NR < col1 ? c_lo + NR : col1;
                __mmask16 m0 = cols_mask(c_hi - c_lo), m1 = cols_mask(c_hi - c_lo - 16);
                const float *pb = packed_weights + ((size_t)p * kpad + kc0) * NR;
                /* The next slice of weights (the next panel's, or at the
                 * last panel the first panel's of the next k block) goes
                 * into L2 while this panel's full tiles run, spread evenly
                 * over their chunks: with few rows (stages 4-5) a slice
                 * serves few tiles and would otherwise come cold from L3
                 * or memory (the weights are 100 MB, read once per image).
                 * Tiles past the slice re-touch this one (hits). */
                const char *next = NULL;
                long lines = 0;
                if (p + 1 < p1) {
                    next = (const char *)(pb + (size_t)kpad * NR);
                    lines = (long)kc * 2;
                } else if (kc0 + kc < kpad) {
                    next = (const char *)(packed_weights + ((size_t)p0 * kpad + kc0 + kc) * NR);
                    lines = (long)(kpad - kc0 - kc < KC ? kpad - kc0 - kc : KC) * 2;
                }
                long per_chunk = prefetch_per_chunk(lines, mc / MR, kc / KU);
                for (int t = 0; t < mc; t += MR) {
                    int mr = mc - t < MR ? mc - t : MR;
                    long from = (long)t / MR * (kc / KU) * per_chunk;
                    const char *prefetch = next && from < lines ? next + from * 64 : (const char *)pb;
                    size_t at = (size_t)(mc0 + t) * cout + c_lo;
                    const float *res = residual ? residual + at : NULL;
                    if (t < whole) {
                        int r = mc0 + t;
                        const float *a = direct ? in + (size_t)r * cin
                                                : bordered + ((size_t)(r / g.wo) * (w + 2) + r % g.wo) * cin;
                        fused_epilogue ep = {out + at, (long)cout * 4, !first, last, bias + c_lo, res, relu,
                                             per_chunk};
                        micro_14_fused(kc / KU, a, row_bytes, offsets, pb, &ep, prefetch);
                        continue;
                    }
                    epilogue e = {bias + c_lo, res, relu, prefetch, per_chunk, packed_offsets};
                    micro_by_rows[mr](kc / KU, pa + (size_t)((t - whole) / MR) * (kc / KU) * MR * KU, pb,
                                      out + at, (size_t)cout, first, last, &e, m0, m1);
                }
            }
        }
    }
}

#else /* no AVX-512 code on this compiler/architecture: the OpenBLAS path only */

int fb_kern_gemm_available(void) { return 0; }

void fb_kern_conv2d_packed(const float *in, int h, int w, int cin, const float *packed_weights,
                           const float *bias, int k, int stride, int pad, int cout,
                           const float *residual, int relu, float *out, float *scratch,
                           int row0, int row1, int col0, int col1)
{
    (void)in; (void)h; (void)w; (void)cin; (void)packed_weights; (void)bias; (void)k; (void)stride;
    (void)pad; (void)cout; (void)residual; (void)relu; (void)out; (void)scratch;
    (void)row0; (void)row1; (void)col0; (void)col1;
    abort();   /* callers check fb_kern_gemm_available() first */
}

#endif
