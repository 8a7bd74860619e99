/* libFuzzer target: the weights file's checks (fb_weights_parse: header,
 * sizes, checksum, tensor table, labels) on small inputs.  The header's
 * payload size and CRC-32 are set from the input first, so that the fuzzer
 * gets past the checksum into the table and labels. */
#include "fb/backbone.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Where the values read go, so that reading them is not optimised away. */
volatile float sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16) return 0;   /* the checks, not the copying */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    if (size >= FB_WEIGHTS_HEADER_SIZE) {
        uint64_t psize = size - FB_WEIGHTS_HEADER_SIZE;
        uint32_t crc = fb_weights_crc(buf + FB_WEIGHTS_HEADER_SIZE, psize);
        for (int i = 0; i < 8; i++) buf[16 + i] = (uint8_t)(psize >> (8 * i));
        for (int i = 0; i < 4; i++) buf[24 + i] = (uint8_t)(crc >> (8 * i));
    }
    fb_weights w;
    char err[512] = "";
    if (fb_weights_parse(&w, "fuzz.fbw", buf, size, err, sizeof err) == 0) {
        float sum = 0;
        for (int i = 0; i < w.ntensors; i++) {
            const fb_conv_params *t = &w.tensors[i];
            size_t n = (size_t)t->kh * t->kw * t->cin * t->cout;
            sum += t->w[0] + t->w[n - 1] + t->b[0] + t->b[t->cout - 1];
            if (fb_weights_find_tensor(&w, t->name) == NULL) abort();
        }
        for (int i = 0; i < w.nlabels; i++) sum += (float)strlen(w.labels[i]);
        sink = sum;
        fb_weights_free(&w);
    } else if (!err[0]) {
        abort();
    }
    free(buf);
    return 0;
}
