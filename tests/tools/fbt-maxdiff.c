/* Test fixture: compares a float32 stream with the same records in a raw
 * float32 file (e.g. ../shared/reference/features.f32) or in another stream
 * (e.g. fb-feat --precision bf16 against fp32).
 *   fbt-maxdiff STREAM RAWFILE|STREAM
 * Prints "records N max_abs_diff D argmax_agree A min_cosine C" (C: the
 * lowest cosine similarity of a record pair) and exits 0; exits 1 when the
 * two differ in record count or size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fb/stream.h"
#include "common/common.h"

static size_t argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static double cosine(const float *a, const float *b, size_t n)
{
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : (aa == bb ? 1 : 0);
}

static fb_reader *open_stream(const char *path)
{
    FILE *f = fb_open_input(path);
    if (!f) fb_die(1, "cannot open %s", path);
    char err[512];
    fb_reader *r = fb_reader_open(f, path, err, sizeof err);
    if (!r) fb_die(1, "%s", err);
    if (fb_reader_header(r)->dtype != FB_F32) fb_die(1, "%s: not float32", path);
    return r;
}

/* A stream starts with the magic of lib/stream/stream.c (PNG-like: \x89FBT
 * CR LF ^Z LF); anything else is raw floats. */
static int is_stream(const char *path)
{
    char magic[8] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) fb_die(1, "cannot open %s", path);
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return got == sizeof magic && memcmp(magic, "\x89" "FBT\r\n\x1a\n", 8) == 0;
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    if (argc != 3) fb_die(2, "usage: fbt-maxdiff STREAM RAWFILE|STREAM");
    fb_reader *r = open_stream(argv[1]), *r2 = NULL;
    FILE *raw = NULL;
    if (is_stream(argv[2])) r2 = open_stream(argv[2]);
    else if (!(raw = fopen(argv[2], "rb"))) fb_die(1, "cannot open %s", argv[2]);
    size_t n = fb_header_count(fb_reader_header(r));
    if (r2 && fb_header_count(fb_reader_header(r2)) != n) fb_die(1, "%s: another record size", argv[2]);
    float *want = fb_xmalloc(n * sizeof *want);
    double maxdiff = 0, mincos = 1;
    unsigned long records = 0, agree = 0;
    fb_record rec, rec2;
    int rc;
    while ((rc = fb_reader_next(r, &rec)) == 1) {
        if (r2) {
            if (fb_reader_next(r2, &rec2) != 1) fb_die(1, "%s: fewer records", argv[2]);
            memcpy(want, rec2.data, n * sizeof *want);
        } else if (fread(want, sizeof *want, n, raw) != n) {
            fb_die(1, "%s: fewer records", argv[2]);
        }
        const float *got = rec.data;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)got[i] - want[i]);
            if (d > maxdiff || d != d) maxdiff = d;
        }
        double c = cosine(got, want, n);
        if (!(c >= mincos)) mincos = c;
        agree += argmax(got, n) == argmax(want, n);
        records++;
    }
    if (rc < 0) fb_die(1, "%s", fb_reader_error(r));
    if (r2 ? fb_reader_next(r2, &rec2) != 0 : fread(want, 1, 1, raw) != 0)
        fb_die(1, "%s: more records than the stream", argv[2]);
    printf("records %lu max_abs_diff %.3g argmax_agree %lu min_cosine %.6f\n", records, maxdiff, agree, mincos);
    free(want);
    fb_reader_close(r);
    if (r2) fb_reader_close(r2);
    if (raw) fclose(raw);
    return 0;
}
