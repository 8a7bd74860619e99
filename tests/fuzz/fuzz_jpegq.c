/* libFuzzer target: the JPEG quality estimator (fb_jpeg_quality_stream),
 * which walks a file's markers itself, before any decoder. */
#include "fb/audit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size) return 0;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f) return 0;
    int q = fb_jpeg_quality_stream(f);
    fclose(f);
    if (q != -1 && (q < 1 || q > 100)) abort();
    return 0;
}
