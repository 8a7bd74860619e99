/* libFuzzer target: the head.bin loader (fb_head_deserialize).  The header's
 * payload size and CRC-32 are set from the input before loading, so that the
 * fuzzer spends its time past the checksum, in the body's parser (the size
 * and checksum checks themselves are a few comparisons, tested in
 * tests/train.bats). */
#include "fb/head.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t u32_at(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Until the head-allocation fix of issue 17 is merged, fb_head_deserialize
 * allocates the parameters the header's shape calls for before it compares
 * them with the bytes present (tests/fuzz/known/head/ holds such a file):
 * inputs whose weight matrices alone cannot fit in the file are skipped. */
static int shape_fits(const uint8_t *body, size_t len)
{
    if (len < 12) return 1;
    uint64_t prev = u32_at(body), nclasses = u32_at(body + 4), nhidden = u32_at(body + 8);
    if (nhidden > FB_HEAD_MAX_HIDDEN || 12 + 4 * nhidden > len) return 1;
    uint64_t floats = 0;
    for (uint64_t l = 0; l < nhidden; l++) {
        uint64_t w = u32_at(body + 12 + 4 * l);
        floats += prev * w;
        prev = w;
    }
    floats += prev * nclasses;
    return floats <= len / 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    if (size >= FB_HEAD_HEADER_SIZE) {
        uint64_t payload = size - FB_HEAD_HEADER_SIZE;
        uint32_t crc = (uint32_t)crc32(0L, buf + FB_HEAD_HEADER_SIZE, (uInt)payload);
        memcpy(buf + 16, &payload, 8);
        memcpy(buf + 24, &crc, 4);
        if (!shape_fits(buf + FB_HEAD_HEADER_SIZE, payload)) { free(buf); return 0; }
    }
    fb_head h;
    char err[512] = "";
    if (fb_head_deserialize(&h, buf, size, err, sizeof err) == 0) {
        /* What was read writes back to the same bytes' meaning: serialise
         * and load again; both must agree. */
        unsigned char *out = NULL;
        size_t outlen = 0;
        if (fb_head_serialize(&h, &out, &outlen) != 0) abort();
        fb_head again;
        if (fb_head_deserialize(&again, out, outlen, err, sizeof err) != 0) abort();
        if (again.nparams != h.nparams || again.nclasses != h.nclasses ||
            memcmp(again.params, h.params, h.nparams * sizeof(float)) != 0)
            abort();
        for (int i = 0; i < h.nclasses; i++)
            if (strcmp(again.classes[i], h.classes[i]) != 0) abort();
        fb_head_free(&again);
        free(out);
        fb_head_free(&h);
    } else if (!err[0]) {
        abort();
    }
    free(buf);
    return 0;
}
