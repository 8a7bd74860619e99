/* hostile-make: writes small hostile files to standard output, for
 * tests/hostile.bats.  Each is the smallest file that reaches one reader's
 * weak spot.
 *   hostile-make weights-wrap   a weights header whose payload size makes
 *                               header + payload wrap to 0 (64 bytes)
 *   hostile-make head-wide      a head.bin with a valid CRC whose header
 *                               widths ask for 2^40 parameters, with none
 *                               of them present
 *   hostile-make head-nan IN.bin    IN with its first parameter NaN and the
 *                               checksum made to match
 *   hostile-make jpeg-eoi IN.jpg    IN's first third and an EOI marker: the
 *                               scan ends early, which libjpeg reports only as
 *                               a warning (and fills the rest with grey)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "fb/backbone.h"
#include "fb/head.h"
#include "common/common.h"

static unsigned char buf[1 << 20];
static size_t len;

static void put(const void *p, size_t n) { memcpy(buf + len, p, n); len += n; }
static void put_u32(uint32_t v) { put(&v, 4); }
static void put_u64(uint64_t v) { put(&v, 8); }
static void put_f32(float v) { put(&v, 4); }
static void put_str(const char *s) { put_u32((uint32_t)strlen(s)); put(s, strlen(s)); }

static void weights_wrap(void)
{
    put(FB_WEIGHTS_MAGIC, 8);
    put_u32(FB_WEIGHTS_VERSION);
    put_u32(FB_WEIGHTS_HEADER_SIZE);
    put_u64(0xFFFFFFFFFFFFFFC0ull);   /* + 64 = 2^64 = 0 */
    put_u32(0);                       /* crc */
    put_u32(1);                       /* tensors */
    put_u32(0);                       /* labels */
    while (len < FB_WEIGHTS_HEADER_SIZE) buf[len++] = 0;
}

static void head_wide(void)
{
    len = FB_HEAD_HEADER_SIZE;
    put_u32(1u << 24);                /* in_dim */
    put_u32(2);                       /* classes */
    put_u32(1);                       /* one hidden block ... */
    put_u32(FB_HEAD_MAX_WIDTH);       /* ... as wide as allowed */
    put_f32(0); put_f32(1e-3f); put_f32(0.9f);
    put_u64(((uint64_t)1 << 24) * FB_HEAD_MAX_WIDTH + 3 * FB_HEAD_MAX_WIDTH   /* exactly what */
            + (uint64_t)FB_HEAD_MAX_WIDTH * 2 + 2);                           /* that takes */
    put_u64(2 * FB_HEAD_MAX_WIDTH);
    put_str("a"); put_str("b"); put_str(""); put_str("");
    put_u32(0); put_f32(0);           /* version 2 tail */
    put_u32(0);                       /* version 3 tail */
    uint64_t payload = len - FB_HEAD_HEADER_SIZE;
    uint32_t crc = (uint32_t)crc32(0L, buf + FB_HEAD_HEADER_SIZE, (uInt)payload);
    uint32_t version = FB_HEAD_VERSION, hsize = FB_HEAD_HEADER_SIZE;
    memcpy(buf, FB_HEAD_MAGIC, 8);
    memcpy(buf + 8, &version, 4);
    memcpy(buf + 12, &hsize, 4);
    memcpy(buf + 16, &payload, 8);
    memcpy(buf + 24, &crc, 4);
}

static uint32_t u32_at(size_t off) { uint32_t v; memcpy(&v, buf + off, 4); return v; }

static void head_nan(const char *in)
{
    FILE *f = fopen(in, "rb");
    if (!f) fb_die(1, "%s: cannot open", in);
    len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    size_t off = FB_HEAD_HEADER_SIZE;
    uint32_t nclasses = u32_at(off + 4), nhidden = u32_at(off + 8);
    off += 12 + 4 * (size_t)nhidden + 12 + 16;
    for (uint32_t i = 0; i < nclasses + 2; i++) off += 4 + u32_at(off);   /* names, provenance, training */
    if (off + 4 > len) fb_die(1, "%s: not a head file this fixture understands", in);
    float nan = NAN;
    memcpy(buf + off, &nan, 4);
    uint32_t crc = (uint32_t)crc32(0L, buf + FB_HEAD_HEADER_SIZE, (uInt)(len - FB_HEAD_HEADER_SIZE));
    memcpy(buf + 24, &crc, 4);
}

static void jpeg_eoi(const char *in)
{
    FILE *f = fopen(in, "rb");
    if (!f) fb_die(1, "%s: cannot open", in);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n < 1000 || n == sizeof buf) fb_die(1, "%s: want a JPEG of 1 kB to 1 MB", in);
    len = n / 3;
    buf[len++] = 0xFF;
    buf[len++] = 0xD9;
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    if (argc < 2) fb_die(FB_EXIT_USAGE, "usage: hostile-make weights-wrap|head-wide|jpeg-eoi IN");
    if (strcmp(argv[1], "weights-wrap") == 0) weights_wrap();
    else if (strcmp(argv[1], "jpeg-eoi") == 0 && argc == 3) jpeg_eoi(argv[2]);
    else if (strcmp(argv[1], "head-nan") == 0 && argc == 3) head_nan(argv[2]);
    else if (strcmp(argv[1], "head-wide") == 0) head_wide();
    else fb_die(FB_EXIT_USAGE, "unknown fixture '%s'", argv[1]);
    if (fwrite(buf, 1, len, stdout) != len || fflush(stdout)) fb_die(1, "write error");
    return 0;
}
