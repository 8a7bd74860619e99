/* Test fixture: writes a small synthetic fb stream.
 *   fbt-make [-t u8|f32] [-d 4x3] [-n RECORDS] [-C a,b,c] [-p key=value]... [-z LEVEL]
 *            [-s SEED | -r RAWFILE]
 * Record i is labelled class i % nclasses (no label when -C is empty) and has
 * id "rec<i>"; values are pseudo-random from the seed, or read in order from
 * RAWFILE (raw little-endian elements, e.g. ../shared/reference/inputs.u8).
 * FB_LIMITS applies as to the tools (a larger record needs record=N). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fb/core.h"
#include "fb/stream.h"
#include "common/common.h"
#include "common/input.h"

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_input_limits();   /* FB_LIMITS, as the tools' writers take it */
    fb_dtype dtype = FB_F32;
    uint32_t dims[FB_MAX_RANK] = {4};
    int rank = 1, n = 3, compress = 0, c;
    uint64_t seed = 1;
    char *classes = NULL, *prov = NULL;
    FILE *raw = NULL;
    while ((c = getopt(argc, argv, "t:d:n:C:p:z:s:r:")) != -1) {
        switch (c) {
        case 't': dtype = strcmp(optarg, "u8") == 0 ? FB_U8 : FB_F32; break;
        case 'd':
            rank = 0;
            for (char *s = strtok(optarg, "x"); s && rank < FB_MAX_RANK; s = strtok(NULL, "x"))
                dims[rank++] = (uint32_t)atoi(s);
            break;
        case 'n': n = atoi(optarg); break;
        case 'C': classes = optarg; break;
        case 'p': {
            char *eq = strchr(optarg, '=');
            if (!eq) fb_die(2, "-p wants key=value");
            *eq = 0;
            fb_prov_set(&prov, optarg, eq + 1);
            break;
        }
        case 'z': compress = atoi(optarg); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'r':
            if (!(raw = fopen(optarg, "rb"))) fb_die(1, "%s: cannot open", optarg);
            break;
        default: return 2;
        }
    }
    fb_header h;
    fb_header_init(&h, dtype, rank, dims);
    h.provenance = prov ? prov : fb_xstrdup("");
    for (char *s = classes ? strtok(classes, ",") : NULL; s; s = strtok(NULL, ","))
        fb_header_add_class(&h, s);
    char err[256];
    fb_writer *w = fb_writer_open(stdout, &h, compress, err, sizeof err);
    if (!w) fb_die(1, "%s", err);
    size_t count = fb_header_count(&h);
    unsigned char *data = fb_xmalloc(n > 0 ? count * 4 : 1);   /* -n 0: a header alone */
    fb_rng rng;
    fb_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++) {
        if (raw) {
            if (fread(data, fb_dtype_size(dtype), count, raw) != count)
                fb_die(1, "raw input ends before record %d", i);
        } else
        for (size_t k = 0; k < count; k++) {
            if (dtype == FB_U8) data[k] = (unsigned char)fb_rng_below(&rng, 256);
            else ((float *)data)[k] = (float)fb_rng_normal(&rng);
        }
        char id[32];
        snprintf(id, sizeof id, "rec%d", i);
        if (fb_writer_put(w, id, h.nclasses ? i % h.nclasses : FB_NO_LABEL, data))
            fb_die(1, "%s", fb_writer_error(w));
    }
    if (fb_writer_close(w)) fb_die(1, "%s", fb_writer_error(w));
    free(data);
    if (raw) fclose(raw);
    fb_header_free(&h);
    return 0;
}
