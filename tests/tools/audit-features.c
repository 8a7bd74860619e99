/* Fixture maker: a feature stream (float32, 64-d) for fb-audit -f.
 *   audit-features OUT.fbt PATH=SEED ...
 * Records with the same SEED get the same vector (cosine 1); different seeds
 * give independent random vectors (cosine near 0 after centring).  A seed
 * written ~SEED gives a vector near one shared positive centre instead
 * (1 + N(0,1) per feature): a cluster of different photos alike (cosine about
 * 0.5, below fb-audit's same-photo cut) against
 * which an independent vector is unlike every other (fb-audit's unusual
 * training photos). */
#include "fb/core.h"
#include "fb/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: audit-features OUT.fbt PATH=SEED...\n"); return 2; }
    FILE *f = fopen(argv[1], "wb");
    if (!f) { perror(argv[1]); return 1; }
    uint32_t dims[1] = { 64 };
    fb_header h;
    fb_header_init(&h, FB_F32, 1, dims);
    char err[256];
    fb_writer *w = fb_writer_open(f, &h, 0, err, sizeof err);
    if (!w) { fprintf(stderr, "audit-features: %s\n", err); return 1; }
    for (int i = 2; i < argc; i++) {
        char *eq = strrchr(argv[i], '=');
        if (!eq) { fprintf(stderr, "audit-features: expected PATH=SEED: %s\n", argv[i]); return 2; }
        *eq = 0;
        fb_rng rng;
        int near = eq[1] == '~';
        fb_rng_seed(&rng, strtoull(eq + 1 + near, NULL, 10));
        float v[64];
        for (int k = 0; k < 64; k++)
            v[k] = near ? (float)(1 + fb_rng_normal(&rng)) : (float)fb_rng_normal(&rng);
        if (fb_writer_put(w, argv[i], FB_NO_LABEL, v)) {
            fprintf(stderr, "audit-features: %s\n", fb_writer_error(w));
            return 1;
        }
    }
    if (fb_writer_close(w)) { fprintf(stderr, "audit-features: write failed\n"); return 1; }
    fb_header_free(&h);
    return fclose(f) ? 1 : 0;
}
