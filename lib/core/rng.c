/* xoshiro256** (Blackman & Vigna), seeded through splitmix64. */
#include "fb/core.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void fb_rng_seed(fb_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fb_rng_u64(fb_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t fb_rng_below(fb_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    /* Rejection sampling: no modulo bias. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = fb_rng_u64(r); while (x >= limit);
    return x % n;
}

double fb_rng_uniform(fb_rng *r) { return (fb_rng_u64(r) >> 11) * 0x1.0p-53; }

double fb_rng_normal(fb_rng *r)
{
    /* Box-Muller; one value per call keeps the state explicit and simple. */
    double u1 = fb_rng_uniform(r), u2 = fb_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void fb_rng_shuffle(fb_rng *r, void *base, size_t n, size_t size)
{
    unsigned char *a = base, tmp[256];
    if (size > sizeof tmp) return;   /* callers shuffle indices or pointers */
    for (size_t i = n; i > 1; i--) {
        size_t j = fb_rng_below(r, i);
        memcpy(tmp, a + (i - 1) * size, size);
        memcpy(a + (i - 1) * size, a + j * size, size);
        memcpy(a + j * size, tmp, size);
    }
}
