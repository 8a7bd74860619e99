/* Prints pixels of one record of a uint8 RGB fb stream (stdin), for
 * tests/prep.bats:  prep-pixel RECORD X Y [X Y ...]  →  "R G B" per point.
 * RECORD is 0-based; the first line printed is the record's id. */
#include "fb/stream.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc < 4 || argc % 2) {
        fprintf(stderr, "usage: prep-pixel RECORD X Y [X Y ...] < stream\n");
        return 2;
    }
    char err[256];
    fb_reader *r = fb_reader_open(stdin, "stdin", err, sizeof err);
    if (!r) { fprintf(stderr, "prep-pixel: %s\n", err); return 1; }
    const fb_header *h = fb_reader_header(r);
    long want = atol(argv[1]);
    fb_record rec;
    int rc;
    for (long i = 0; (rc = fb_reader_next(r, &rec)) == 1; i++) {
        if (i != want) continue;
        printf("%s\n", rec.id);
        const unsigned char *px = rec.data;
        for (int a = 2; a + 1 < argc; a += 2) {
            long x = atol(argv[a]), y = atol(argv[a + 1]);
            if (h->rank != 3 || x < 0 || y < 0 || x >= h->dims[1] || y >= h->dims[0]) {
                fprintf(stderr, "prep-pixel: point %ld,%ld outside the record\n", x, y);
                fb_reader_close(r);
                return 1;
            }
            const unsigned char *p = px + ((size_t)y * h->dims[1] + x) * 3;
            printf("%u %u %u\n", p[0], p[1], p[2]);
        }
        fb_reader_close(r);
        return 0;
    }
    fprintf(stderr, "prep-pixel: %s\n", rc < 0 ? fb_reader_error(r) : "no such record");
    fb_reader_close(r);
    return 1;
}
