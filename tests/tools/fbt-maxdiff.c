/* Test fixture: compares a float32 stream with a raw float32 file of the same
 * records (e.g. ../shared/reference/features.f32).
 *   fbt-maxdiff STREAM RAWFILE
 * Prints "records N max_abs_diff D argmax_agree A" and exits 0; exits 1 when
 * the two differ in record count or size. */
#include <math.h>
#include <stdlib.h>

#include "fb/stream.h"
#include "fb/util.h"

static size_t argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    if (argc != 3) fb_die(2, "usage: fbt-maxdiff STREAM RAWFILE");
    FILE *f = fb_open_input(argv[1]), *raw = fopen(argv[2], "rb");
    if (!f || !raw) fb_die(1, "cannot open the inputs");
    char err[512];
    fb_reader *r = fb_reader_open(f, argv[1], err, sizeof err);
    if (!r) fb_die(1, "%s", err);
    const fb_header *h = fb_reader_header(r);
    if (h->dtype != FB_F32) fb_die(1, "%s: not float32", argv[1]);
    size_t n = fb_header_count(h);
    float *want = fb_xmalloc(n * sizeof *want);
    double maxdiff = 0;
    unsigned long records = 0, agree = 0;
    fb_record rec;
    int rc;
    while ((rc = fb_reader_next(r, &rec)) == 1) {
        if (fread(want, sizeof *want, n, raw) != n) fb_die(1, "%s: fewer records", argv[2]);
        const float *got = rec.data;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)got[i] - want[i]);
            if (d > maxdiff || d != d) maxdiff = d;
        }
        agree += argmax(got, n) == argmax(want, n);
        records++;
    }
    if (rc < 0) fb_die(1, "%s", fb_reader_error(r));
    if (fread(want, 1, 1, raw) != 0) fb_die(1, "%s: more records than the stream", argv[2]);
    printf("records %lu max_abs_diff %.3g argmax_agree %lu\n", records, maxdiff, agree);
    return 0;
}
