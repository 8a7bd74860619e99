/* What the tools share and lib must not do: options checked or the tool
 * exits, and set-up that reads the environment.  (Messages, allocation that
 * dies and progress lines are in fb/util.h for now.) */
#ifndef FB_CMD_COMMON_H
#define FB_CMD_COMMON_H

#include <stdint.h>

/* ---- numeric options: one checked parser for every tool ----
 * `name` is the option as the user spells it ("--mistakes", "-j").  A value
 * that is not a number, has anything after it, is not finite or lies outside
 * [lo, hi] is a usage error: a message naming the option and the range on
 * stderr, exit 2 (FB_EXIT_USAGE). */
long   fb_opt_long(const char *name, const char *arg, long lo, long hi);
double fb_opt_double(const char *name, const char *arg, double lo, double hi);
/* A seed: any whole number from 0 to 2^64-1. */
uint64_t fb_opt_seed(const char *name, const char *arg);
/* "WxH" with both sides in [lo, hi]. */
void   fb_opt_size(const char *name, const char *arg, int lo, int hi, int *w, int *h);

/* ---- OpenBLAS on CPUs it does not recognise ----
 * OpenBLAS 0.3.21 does not recognise some recent Xeons (e.g. a VM's
 * "Intel(R) Xeon(R) Processor" with AVX-512) and falls back to its Prescott
 * (SSE3) kernels, ~10x slower.  Its core type can only be chosen through
 * OPENBLAS_CORETYPE before the library initialises, i.e. before main(): so
 * when detection fell back and the CPU has AVX-512, this sets
 * OPENBLAS_CORETYPE=SkylakeX and re-executes the program with the same
 * argv.  Call it first thing in main(), before reading any input.  Does
 * nothing when OPENBLAS_CORETYPE is already set (the user's choice wins). */
void fb_tune_blas(char **argv);

#endif
