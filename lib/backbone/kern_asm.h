/* The fused 14 x 32 register tile of the packed GEMMs, in inline assembly,
 * shared by the fp32 kernel (lib/backbone/kern_gemm.c: vbroadcastss +
 * vfmadd231ps, one k value per step) and the bf16 kernel
 * (lib/backbone/kern_bf16.c: vpbroadcastd + vdpbf16ps, one pair of k
 * values per step).  Both read B as 128 bytes per step (32 columns of one
 * float, or of one bf16 pair) and A as 4 bytes per step and row, so one
 * macro serves both.  Private to lib/backbone; include after defining
 * AVX512 (the function attribute). */
#ifndef FB_KERN_ASM_H
#define FB_KERN_ASM_H

#include <stddef.h>

/* Accumulators: zmm0-13 columns 0-15 of rows 0-13, zmm14-27 columns 16-31. */
#define ROWS(op)                                                  \
    op(0, 0, 14) op(1, 1, 15) op(2, 2, 16) op(3, 3, 17) op(4, 4, 18) op(5, 5, 19) op(6, 6, 20) \
    op(7, 7, 21) op(8, 8, 22) op(9, 9, 23) op(10, 10, 24) op(11, 11, 25) op(12, 12, 26) op(13, 13, 27)
#define ZERO(i, lo, hi) "vpxord %%zmm" #lo ", %%zmm" #lo ", %%zmm" #lo "\n\t" \
                        "vpxord %%zmm" #hi ", %%zmm" #hi ", %%zmm" #hi "\n\t"

/* The full-width 14 x 32 tile (no N tail) with the epilogue in the same
 * assembly, so the accumulators go straight from registers to out:
 *   out[i][0:32] = (first ? 0 : out[i]) + acc[i]
 *                  [+ bias + residual[i], ReLU  when last]
 * A is addressed generally: value (i, k) of the tile at
 *   a + i * a_row_bytes + chunk_offsets[k / 16] + (k % 16) * 4
 * which is the packed tile (64, c * 896), or the NHWC input itself for
 * 1x1 stride-1 convs (cin * 4, c * 64: its rows are the GEMM's rows), or
 * for 3x3 stride-1 convs a zero-bordered copy of the input, the offsets
 * then stepping through the taps (see fb_kern_conv2d_packed).
 * Rows are reached from three bases (rows 0, 5, 10) with index registers
 * L and 3L, scales 1, 2, 4, leaving enough registers for the rest. */
typedef struct {
    float *c;                     /* out at this tile, [14][ldc] */
    long ldc_bytes;
    long from_c;                  /* a later k block: add the partial sums in c */
    long finish;                  /* the last k block: the epilogue */
    const float *bias;            /* [32] */
    const float *residual;        /* NULL or [14][ldc] */
    long relu;
    long prefetch_lines;          /* lines of the prefetch stream per chunk, >= 1 */
} fused_epilogue;

#define FMA_AT(addr, lo, hi, BCAST, MADD)                         \
    BCAST " \\j*4" addr ", %%zmm30\n\t"                          \
    MADD " %%zmm30, %%zmm28, %%zmm" #lo "\n\t"                    \
    MADD " %%zmm30, %%zmm29, %%zmm" #hi "\n\t"
#define ROWS_FMA_AT(B, M)                                                                             \
    FMA_AT("(%[a0])", 0, 14, B, M) FMA_AT("(%[a0],%[L],1)", 1, 15, B, M) FMA_AT("(%[a0],%[L],2)", 2, 16, B, M)      \
    FMA_AT("(%[a0],%[L3],1)", 3, 17, B, M) FMA_AT("(%[a0],%[L],4)", 4, 18, B, M)                              \
    FMA_AT("(%[a5])", 5, 19, B, M) FMA_AT("(%[a5],%[L],1)", 6, 20, B, M) FMA_AT("(%[a5],%[L],2)", 7, 21, B, M)      \
    FMA_AT("(%[a5],%[L3],1)", 8, 22, B, M) FMA_AT("(%[a5],%[L],4)", 9, 23, B, M)                              \
    FMA_AT("(%[a10])", 10, 24, B, M) FMA_AT("(%[a10],%[L],1)", 11, 25, B, M) FMA_AT("(%[a10],%[L],2)", 12, 26, B, M) \
    FMA_AT("(%[a10],%[L3],1)", 13, 27, B, M)
#define ROW_ADD_MEM(i, lo, hi)                                    \
    "vaddps (%[t]), %%zmm" #lo ", %%zmm" #lo "\n\t"               \
    "vaddps 64(%[t]), %%zmm" #hi ", %%zmm" #hi "\n\t"             \
    "add 8(%[ep]), %[t]\n\t"
#define ROW_ADD_BIAS(i, lo, hi)                                   \
    "vaddps %%zmm28, %%zmm" #lo ", %%zmm" #lo "\n\t"              \
    "vaddps %%zmm29, %%zmm" #hi ", %%zmm" #hi "\n\t"
#define ROW_RELU(i, lo, hi)                                       \
    "vmaxps %%zmm30, %%zmm" #lo ", %%zmm" #lo "\n\t"              \
    "vmaxps %%zmm30, %%zmm" #hi ", %%zmm" #hi "\n\t"
#define ROW_STORE_C(i, lo, hi)                                    \
    "vmovups %%zmm" #lo ", (%[t])\n\t"                            \
    "vmovups %%zmm" #hi ", 64(%[t])\n\t"                          \
    "add 8(%[ep]), %[t]\n\t"

/* KV values of k per chunk: 16 (KU) for every conv but conv1, whose
 * chunks are the 21 values (7 taps x 3 channels) of one kernel row. */
#define MICRO_14_FUSED(name, KV, KLIST, BCAST, MADD)                                                        \
AVX512 static void name(long chunks, const void *a, long a_row_bytes,                             \
                        const long *chunk_offsets, const void *pb,                                \
                        const fused_epilogue *ep, const char *prefetch)                           \
{                                                                                                \
    const char *base = (const char *)a, *a0, *a5, *a10;                                          \
    long row3 = 3 * a_row_bytes;                                                                 \
    float *t;   /* walks the rows of out or residual */                                          \
    __asm__ volatile(                                                                            \
        ROWS(ZERO)                                                                               \
        "1:\n\t"                                                                                  \
        /* rows 0, 5, 10 of this chunk: base + chunk_offsets[c] + {0, 5, 10} L */                \
        "mov (%[tab]), %[a0]\n\t"                                                                \
        "add %[base], %[a0]\n\t"                                                                 \
        "lea (%[a0],%[L],4), %[a5]\n\t"                                                          \
        "add %[L], %[a5]\n\t"                                                                    \
        "lea (%[a5],%[L],4), %[a10]\n\t"                                                         \
        "add %[L], %[a10]\n\t"                                                                   \
        "add $8, %[tab]\n\t"                                                                     \
        ".irp j, " KLIST "\n\t"                                                                  \
        "vmovups \\j*128(%[pb]), %%zmm28\n\t"                                                    \
        "vmovups \\j*128+64(%[pb]), %%zmm29\n\t"                                                 \
        ROWS_FMA_AT(BCAST, MADD)                                                                 \
        ".endr\n\t"                                                                              \
        /* prefetch_lines lines of what comes next into L2 (t is free here) */                   \
        "mov 56(%[ep]), %[t]\n\t"                                                                \
        "5:\n\t"                                                                                 \
        "prefetcht1 (%[pf])\n\t"                                                                 \
        "add $64, %[pf]\n\t"                                                                     \
        "dec %[t]\n\t"                                                                           \
        "jnz 5b\n\t"                                                                             \
        "add $" #KV "*128, %[pb]\n\t"                                                            \
        "dec %[chunks]\n\t"                                                                      \
        "jnz 1b\n\t"                                                                             \
        /* a later k block: add the partial sums already in out */                               \
        "cmpq $0, 16(%[ep])\n\t"                                                                 \
        "je 2f\n\t"                                                                              \
        "mov (%[ep]), %[t]\n\t"                                                                  \
        ROWS(ROW_ADD_MEM)                                                                        \
        "2:\n\t"                                                                                 \
        "cmpq $0, 24(%[ep])\n\t"                                                                 \
        "je 4f\n\t"                                                                              \
        "mov 32(%[ep]), %[t]\n\t"                                                                \
        "vmovups (%[t]), %%zmm28\n\t"                                                            \
        "vmovups 64(%[t]), %%zmm29\n\t"                                                          \
        ROWS(ROW_ADD_BIAS)                                                                       \
        "mov 40(%[ep]), %[t]\n\t"                                                                \
        "test %[t], %[t]\n\t"                                                                    \
        "jz 3f\n\t"                                                                              \
        ROWS(ROW_ADD_MEM)                                                                        \
        "3:\n\t"                                                                                 \
        "cmpq $0, 48(%[ep])\n\t"                                                                 \
        "je 4f\n\t"                                                                              \
        "vpxord %%zmm30, %%zmm30, %%zmm30\n\t"                                                   \
        ROWS(ROW_RELU)                                                                           \
        "4:\n\t"                                                                                 \
        "mov (%[ep]), %[t]\n\t"                                                                  \
        ROWS(ROW_STORE_C)                                                                        \
        : [a0] "=&r"(a0), [a5] "=&r"(a5), [a10] "=&r"(a10), [pb] "+r"(pb), [chunks] "+r"(chunks), \
          [pf] "+r"(prefetch), [t] "=&r"(t), [tab] "+r"(chunk_offsets)                           \
        : [base] "r"(base), [L] "r"(a_row_bytes), [L3] "r"(row3), [ep] "r"(ep)                   \
        : "memory", "cc",                                                                        \
          "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",                        \
          "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",                  \
          "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",                \
          "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30");                        \
}
_Static_assert(offsetof(fused_epilogue, ldc_bytes) == 8 && offsetof(fused_epilogue, from_c) == 16 &&
               offsetof(fused_epilogue, finish) == 24 && offsetof(fused_epilogue, bias) == 32 &&
               offsetof(fused_epilogue, residual) == 40 && offsetof(fused_epilogue, relu) == 48 &&
               offsetof(fused_epilogue, prefetch_lines) == 56,
               "micro_14_fused reads fused_epilogue at these offsets");

#endif
