/* Test fixture: a feature stream (float32 vectors, as fb-feat writes) of
 * Gaussian clusters, one per class.
 *
 *   synth-features [-n N] [-d DIM] [-k CLASSES] [-s SEPARATION] [-i IMBALANCE]
 *                  [-C name,name,...] [-p key=value]... [--seed S] [--draw D]
 *                  [--no-labels] [--reverse-table] > out.fbt
 *
 * Class c's centre is a shared offset plus SEPARATION along axis c (mod DIM); every point is its
 * centre plus N(0, 1) noise in each dimension.  --seed fixes the centres and
 * --draw the samples, so a train and a test stream from the same problem share
 * --seed and differ in --draw.  IMBALANCE R gives class c a share
 * proportional to R^(-c/(k-1)): with two classes, R times as many of class 0
 * as of class 1.  Records are interleaved in a seeded random order.
 * --reverse-table writes the class table in reverse order (same data, same
 * names, different indices), to test that tools match classes by name.
 * --shift S moves every centre S along the last axis: with the same --seed,
 * a cluster far from every class of the unshifted problem (outsiders). */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fb/core.h"
#include "fb/stream.h"
#include "common/common.h"

static const char usage[] =
    "usage: synth-features [-n N] [-d DIM] [-k CLASSES] [-s SEPARATION] [-i IMBALANCE]\n"
    "                      [-C names] [-p key=value]... [--seed S] [--draw D] [--no-labels]\n"
    "                      [--reverse-table] [--shift S]\n";

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_handle_help_version(argc, argv, usage);
    long n = 200, dim = 16, k = 2;
    double sep = 4, imbalance = 1, shift = 0;
    uint64_t seed = 1, draw = 1;
    int labels = 1, reverse = 0;
    char *names = NULL, *prov = NULL;
    static const struct option longopts[] = {
        { "seed", required_argument, NULL, 'S' },
        { "draw", required_argument, NULL, 'D' },
        { "no-labels", no_argument, NULL, 'L' },
        { "reverse-table", no_argument, NULL, 'R' },
        { "shift", required_argument, NULL, 'F' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    while ((c = getopt_long(argc, argv, "n:d:k:s:i:C:p:", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': n = atol(optarg); break;
        case 'd': dim = atol(optarg); break;
        case 'k': k = atol(optarg); break;
        case 's': sep = atof(optarg); break;
        case 'i': imbalance = atof(optarg); break;
        case 'C': names = optarg; break;
        case 'p': {
            char *eq = strchr(optarg, '=');
            if (!eq) fb_die(FB_EXIT_USAGE, "-p wants key=value, not '%s'", optarg);
            *eq = 0;
            if (fb_prov_set(&prov, optarg, eq + 1)) fb_die(1, "out of memory");
            break;
        }
        case 'S': seed = strtoull(optarg, NULL, 10); break;
        case 'D': draw = strtoull(optarg, NULL, 10); break;
        case 'L': labels = 0; break;
        case 'R': reverse = 1; break;
        case 'F': shift = atof(optarg); break;
        default: fputs(usage, stderr); return FB_EXIT_USAGE;
        }
    }
    if (n < 1 || dim < 1 || k < 2 || imbalance < 1)
        fb_die(FB_EXIT_USAGE, "want -n >= 1, -d >= 1, -k >= 2, -i >= 1");
    fb_refuse_binary_tty(stdout);

    uint32_t dims[1] = { (uint32_t)dim };
    fb_header h;
    fb_header_init(&h, FB_F32, 1, dims);
    h.provenance = prov ? prov : fb_xstrdup("backbone=synthetic\n");
    char **name = fb_xcalloc((size_t)k, sizeof(char *));
    long nnames = 0;
    for (char *s = names ? strtok(names, ",") : NULL; s && nnames < k; s = strtok(NULL, ","))
        name[nnames++] = fb_xstrdup(s);
    if (names && nnames != k) fb_die(FB_EXIT_USAGE, "-C names %ld classes, -k says %ld", nnames, k);
    for (long i = 0; i < k; i++) {
        if (!names) {
            name[i] = fb_xmalloc(32);
            snprintf(name[i], 32, "class%ld", i);
        }
    }
    /* the table: name[i] at index i, or at k-1-i when reversed */
    for (long i = 0; i < k; i++) fb_header_add_class(&h, name[reverse ? k - 1 - i : i]);

    /* class of every record: counts by share, then a seeded shuffle */
    fb_rng rng;
    fb_rng_seed(&rng, draw * 0x9e3779b97f4a7c15ULL + 12345);
    double total_share = 0;
    for (long i = 0; i < k; i++) total_share += pow(imbalance, -(double)i / (k - 1));
    int *cls = fb_xmalloc((size_t)n * sizeof(int));
    long filled = 0;
    for (long i = 0; i < k; i++) {
        long count = i == k - 1 ? n - filled
                   : lround(n * pow(imbalance, -(double)i / (k - 1)) / total_share);
        for (long j = 0; j < count && filled < n; j++) cls[filled++] = (int)i;
    }
    fb_rng_shuffle(&rng, cls, (size_t)n, sizeof(int));

    /* centres from --seed only, so they are shared between draws; one random
     * offset common to all classes keeps the problem off the origin without
     * changing the distance between centres (SEPARATION * sqrt 2) */
    fb_rng crng;
    fb_rng_seed(&crng, seed);
    float *centre = fb_xcalloc((size_t)(k * dim), sizeof(float));
    for (long j = 0; j < dim; j++) {
        float offset = (float)fb_rng_normal(&crng);
        for (long i = 0; i < k; i++) centre[i * dim + j] = offset;
    }
    for (long i = 0; i < k; i++) centre[i * dim + i % dim] += (float)sep;
    for (long i = 0; i < k; i++) centre[i * dim + dim - 1] += (float)shift;

    char err[256];
    fb_writer *w = fb_writer_open(stdout, &h, 0, err, sizeof err);
    if (!w) fb_die(1, "%s", err);
    float *x = fb_xmalloc((size_t)dim * sizeof(float));
    for (long r = 0; r < n; r++) {
        for (long j = 0; j < dim; j++)
            x[j] = centre[cls[r] * dim + j] + (float)fb_rng_normal(&rng);
        char id[64];
        snprintf(id, sizeof id, "synth/%s/%ld.jpg", name[cls[r]], r);
        int label = reverse ? (int)(k - 1 - cls[r]) : cls[r];
        if (fb_writer_put(w, id, labels ? label : FB_NO_LABEL, x))
            fb_die(1, "%s", fb_writer_error(w));
    }
    if (fb_writer_close(w)) fb_die(1, "%s", fb_writer_error(w));
    free(x);
    free(centre);
    free(cls);
    for (long i = 0; i < k; i++) free(name[i]);
    free(name);
    fb_header_free(&h);
    return 0;
}
