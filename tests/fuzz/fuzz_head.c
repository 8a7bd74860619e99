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
