/* libFuzzer target: the stream reader (lib/stream) on any bytes, read the way
 * every tool reads a stream: open, then every record to the end or the first
 * error.  Built by `make fuzz` (see README.md, "Fuzzing"). */
#include "fb/stream.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the bytes read go, so that reading them is not optimised away. */
volatile unsigned sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* fmemopen refuses a zero-length buffer: an empty stream is a one-byte
     * buffer read as zero bytes. */
    FILE *f = fmemopen((void *)(size ? data : (const uint8_t *)""), size ? size : 1, "rb");
    if (!f) return 0;
    if (!size) getc(f);
    char err[600];
    fb_reader *r = fb_reader_open(f, "fuzz", err, sizeof err);
    if (r) {
        const fb_header *h = fb_reader_header(r);
        for (int i = 0; i < h->nclasses; i++)
            if (!h->classes[i]) abort();
        fb_record rec;
        unsigned sum = 0;
        while (fb_reader_next(r, &rec) == 1) {
            /* Every byte the reader hands out must be readable (ASan checks). */
            const unsigned char *p = rec.data;
            for (size_t i = 0; i < rec.nbytes; i += 61) sum += p[i];
            sum += (unsigned)strlen(rec.id);
            if (rec.label != FB_NO_LABEL && (rec.label < 0 || rec.label >= h->nclasses)) abort();
        }
        sink = sum;
        fb_reader_close(r);
    } else if (!err[0]) {
        abort();   /* refused without a word */
    }
    fclose(f);
    return 0;
}
