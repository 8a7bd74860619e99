/* Seeded, explicit random numbers: no global state, the same seed gives the
 * same sequence on every machine (xoshiro256** seeded by splitmix64). */
#ifndef FB_RNG_H
#define FB_RNG_H

#include <stdint.h>
#include <stddef.h>

typedef struct { uint64_t s[4]; } fb_rng;

void     fb_rng_seed(fb_rng *r, uint64_t seed);
uint64_t fb_rng_u64(fb_rng *r);
/* Uniform in [0, n), unbiased. */
uint64_t fb_rng_below(fb_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double   fb_rng_uniform(fb_rng *r);
/* Standard normal. */
double   fb_rng_normal(fb_rng *r);
/* Fisher-Yates shuffle of n elements of size `size`. */
void     fb_rng_shuffle(fb_rng *r, void *base, size_t n, size_t size);

#endif
