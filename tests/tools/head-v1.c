/* head-v1: rewrites a head.bin as version 1 (the format before normalisation
 * and threshold were stored), to test that old files still load; versions
 * before 3 also lose the rejection model (the tail version 3 added).
 *   head-v1 IN.bin OUT.bin      (IN must have norm none and threshold 0:
 *                                what a version-1 file means)
 *   head-v1 --version N IN OUT  any version number, CRC fixed (refusal tests) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fb/head.h"
#include "common/common.h"

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    uint32_t version = 1;
    int a = 1;
    if (argc == 5 && strcmp(argv[1], "--version") == 0) { version = (uint32_t)atoi(argv[2]); a = 3; }
    if (argc - a != 2) fb_die(FB_EXIT_USAGE, "usage: head-v1 [--version N] IN.bin OUT.bin");
    fb_head h;
    char err[512];
    if (fb_head_load(&h, argv[a], err, sizeof err) != 0) fb_die(1, "%s", err);
    if (version == 1 && (h.norm || h.threshold != 0))
        fb_die(1, "%s: has a normalisation or threshold, which version 1 cannot hold", argv[a]);
    unsigned char *buf;
    size_t len;
    if (fb_head_serialize(&h, &buf, &len) != 0) fb_die(1, "out of memory");
    if (version < 3) {             /* version 3's tail: u32 k, then the model */
        const fb_reject *r = &h.reject;
        len -= 4 + (r->n ? 8 + 4 + 4 + r->n * (size_t)(r->d + 1) * sizeof(float) : 0);
    }
    if (version == 1) len -= 8;    /* version 2's tail: u32 norm, f32 threshold */
    uint64_t payload = len - FB_HEAD_HEADER_SIZE;
    uint32_t crc = (uint32_t)crc32(0L, buf + FB_HEAD_HEADER_SIZE, (uInt)payload);
    memcpy(buf + 8, &version, 4);
    memcpy(buf + 16, &payload, 8);
    memcpy(buf + 24, &crc, 4);
    FILE *f = fopen(argv[a + 1], "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) fb_die(1, "%s: cannot write", argv[a + 1]);
    free(buf);
    fb_head_free(&h);
    return 0;
}
