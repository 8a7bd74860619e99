/* head.bin with a fine-tuned stage 5 (version 4): round trip, deep copy,
 * a head without one still written as version 3, and the loader's
 * refusals (a shape that does not feed the head, too few bytes, NaN). */
#include "check.h"
#include "fb/head.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static unsigned version_of(const unsigned char *buf)
{
    uint32_t v;
    memcpy(&v, buf + 8, 4);
    return v;
}

/* Rewrites the payload's checksum after a deliberate change. */
static void reseal(unsigned char *buf, size_t len)
{
    uint32_t crc = (uint32_t)crc32(0L, buf + FB_HEAD_HEADER_SIZE, (uInt)(len - FB_HEAD_HEADER_SIZE));
    memcpy(buf + 24, &crc, 4);
}

int main(void)
{
    const char *classes[] = {"cat", "dog"};
    fb_head h;
    CHECK(fb_head_init(&h, 16, 2, classes, 0, NULL, 0, "feat_output=stage4\n") == 0, "head 16 -> 2");
    for (size_t i = 0; i < h.nparams; i++) h.params[i] = (float)i / 7;
    unsigned char *buf;
    size_t len;
    CHECK(fb_head_serialize(&h, &buf, &len) == 0 && version_of(buf) == 3, "without stage 5: version 3");
    free(buf);

    CHECK(fb_stage5_init(&h.stage5, 6, 8, 4) == 0, "stage 5 6x6x8, width 4 (out 16)");
    for (size_t i = 0; i < h.stage5.nparams; i++) h.stage5.params[i] = (float)i * 0.001f - 0.3f;
    CHECK(fb_head_serialize(&h, &buf, &len) == 0 && version_of(buf) == 4, "with stage 5: version 4");
    fb_head g;
    char err[256] = "";
    CHECK(fb_head_deserialize(&g, buf, len, err, sizeof err) == 0, "loads: %s", err);
    CHECK(g.stage5.params && g.stage5.side == 6 && g.stage5.cin == 8 && g.stage5.width == 4 &&
          g.stage5.nparams == h.stage5.nparams &&
          memcmp(g.stage5.params, h.stage5.params, h.stage5.nparams * sizeof(float)) == 0,
          "stage 5 comes back bit for bit");
    CHECK(memcmp(g.params, h.params, h.nparams * sizeof(float)) == 0, "the head's parameters too");
    fb_head c;
    CHECK(fb_head_copy(&c, &g) == 0 && c.stage5.params != g.stage5.params &&
          memcmp(c.stage5.params, g.stage5.params, g.stage5.nparams * sizeof(float)) == 0, "deep copy");
    fb_head_free(&c);
    fb_head_free(&g);

    /* too few bytes: the last parameter cut off (header sizes adjusted) */
    unsigned char *cut = malloc(len);
    memcpy(cut, buf, len);
    uint64_t payload = len - 4 - FB_HEAD_HEADER_SIZE;
    memcpy(cut + 16, &payload, 8);
    reseal(cut, len - 4);
    CHECK(fb_head_deserialize(&g, cut, len - 4, err, sizeof err) != 0 && strstr(err, "stage 5"),
          "truncated stage 5 refused: %s", err);
    /* a NaN weight */
    memcpy(cut, buf, len);
    float nan = NAN;
    memcpy(cut + len - 4, &nan, 4);
    reseal(cut, len);
    CHECK(fb_head_deserialize(&g, cut, len, err, sizeof err) != 0 && strstr(err, "stage 5"),
          "NaN refused: %s", err);
    /* a width whose output is not the head's input: width is 3 u32 + params before the end */
    memcpy(cut, buf, len);
    size_t at = len - h.stage5.nparams * sizeof(float) - 4;
    uint32_t width = 5;
    memcpy(cut + at, &width, 4);
    reseal(cut, len);
    CHECK(fb_head_deserialize(&g, cut, len, err, sizeof err) != 0 && strstr(err, "stage 5"),
          "a stage whose output is not the head's input refused: %s", err);
    free(cut);
    free(buf);
    fb_head_free(&h);
    return check_done();
}
