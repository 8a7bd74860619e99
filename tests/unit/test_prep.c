/* Unit tests for fb-prep's pure parts: format sniffing, option parsing,
 * geometry, resampling and orientation. */
#include "check.h"
#include "fb/photo.h"

#include <string.h>

static void test_sniff(void)
{
    CHECK(fb_prep_sniff((const unsigned char *)"\xFF\xD8\xFF\xE0", 4) == FB_FMT_JPEG, "JPEG magic");
    CHECK(fb_prep_sniff((const unsigned char *)"\x89PNG\r\n\x1A\n", 8) == FB_FMT_PNG, "PNG magic");
    CHECK(fb_prep_sniff((const unsigned char *)"RIFF\0\0\0\0WEBPVP8 ", 16) == FB_FMT_WEBP, "WebP magic");
    CHECK(fb_prep_sniff((const unsigned char *)"\0\0\0\x1C" "ftypheic", 12) == FB_FMT_HEIF, "HEIC brand");
    CHECK(fb_prep_sniff((const unsigned char *)"\0\0\0\x1C" "ftypisom", 12) == FB_FMT_UNKNOWN, "MP4 is not a photo");
    CHECK(fb_prep_sniff((const unsigned char *)"\0\0\0\x0CjP  \r\n\x87\n", 12) == FB_FMT_JPEG2000, "JP2 recognised");
    CHECK(!fb_prep_format_accepted(FB_FMT_JPEG2000), "JPEG 2000 refused");
    CHECK(fb_prep_sniff((const unsigned char *)"hello", 5) == FB_FMT_UNKNOWN, "text is unknown");
    CHECK(fb_prep_sniff((const unsigned char *)"", 0) == FB_FMT_EMPTY, "empty");
}

static void test_parse(void)
{
    uint8_t c[3];
    CHECK(fb_prep_parse_colour("#0a0b0c", c) == 0 && c[0] == 10 && c[2] == 12, "#rrggbb");
    CHECK(fb_prep_parse_colour("1,2,300", c) != 0, "component over 255 refused");
    fb_resize_policy p;
    CHECK(fb_prep_parse_policy("pad", &p) == 0 && p == FB_RESIZE_PAD, "pad");
    CHECK(fb_prep_parse_policy("fit", &p) != 0, "unknown policy refused");
}

static void test_geometry(void)
{
    double box[4];
    int at[4];
    fb_prep_geometry(400, 200, 100, FB_RESIZE_CROP, box, at);
    CHECK(box[0] == 100 && box[2] == 300 && box[1] == 0 && box[3] == 200, "crop takes the centre square");
    fb_prep_geometry(400, 200, 100, FB_RESIZE_PAD, box, at);
    CHECK(at[2] == 100 && at[3] == 50 && at[1] == 25 && at[0] == 0, "pad centres 100x50");
}

static void test_resample(void)
{
    /* A constant image stays constant; a 1-pixel-wide vertical line keeps
     * its mass when shrunk 4x with antialiasing (no aliasing away). */
    enum { W = 64, H = 64, S = 16 };
    static uint8_t src[H][W][3], dst[S][S][3];
    memset(src, 77, sizeof src);
    double box[4] = { 0, 0, W, H };
    CHECK(fb_prep_resample(&src[0][0][0], W, H, W * 3, box, &dst[0][0][0], S, S, S * 3, FB_KERNEL_LINEAR) == 0, "resample runs");
    int same = 1;
    for (int y = 0; y < S; y++) for (int x = 0; x < S; x++) same &= dst[y][x][1] == 77;
    CHECK(same, "constant stays constant");
    memset(src, 0, sizeof src);
    for (int y = 0; y < H; y++) src[y][33][0] = 255;
    fb_prep_resample(&src[0][0][0], W, H, W * 3, box, &dst[0][0][0], S, S, S * 3, FB_KERNEL_LINEAR);
    double sum = 0;
    for (int x = 0; x < S; x++) sum += dst[8][x][0];
    CHECK_NEAR(sum, 255.0 / 4, 3, "a thin line keeps its mass (antialiased)");
}

/* The SIMD passes must give exactly the scalar loop's bytes (same float
 * operations in the same order), on odd widths that leave vector tails,
 * fractional crop boxes, upscaling and every kernel. */
static void test_resample_variants(void)
{
    enum { W = 157, H = 93 };
    static uint8_t src[H * W * 3];
    uint32_t seed = 12345;
    for (size_t i = 0; i < sizeof src; i++) {
        seed = seed * 1664525u + 1013904223u;
        src[i] = (uint8_t)(seed >> 24);
    }
    static const int sizes[][2] = { { 37, 41 }, { 224, 224 }, { 1, 3 } };
    static const double boxes[][4] = { { 0, 0, W, H }, { 32.5, 0, 125.5, H } };
    const char *caps[] = { "sse2", "avx2" };
    int all_same = 1, runs = 0;
    for (int k = 0; k < 3; k++)
        for (size_t si = 0; si < 3; si++)
            for (size_t bi = 0; bi < 2; bi++) {
                int ow = sizes[si][0], oh = sizes[si][1];
                static uint8_t ref[224 * 224 * 3], got[224 * 224 * 3];
                fb_prep_simd_cap(fb_prep_simd_parse("0"));
                fb_prep_resample(src, W, H, W * 3, boxes[bi], ref, ow, oh, (size_t)ow * 3, (fb_prep_kernel)k);
                for (int c = 0; c < 2; c++) {
                    fb_prep_simd_cap(fb_prep_simd_parse(caps[c]));
                    memset(got, 0xAB, sizeof got);
                    fb_prep_resample(src, W, H, W * 3, boxes[bi], got, ow, oh, (size_t)ow * 3, (fb_prep_kernel)k);
                    if (memcmp(ref, got, (size_t)ow * oh * 3) != 0) {
                        all_same = 0;
                        printf("# %s differs: kernel %d, %dx%d, box %zu\n", caps[c], k, ow, oh, bi);
                    }
                    runs++;
                }
            }
    fb_prep_simd_cap(-1);
    CHECK(all_same, "SIMD resampling gives the scalar loop's bytes (%d runs)", runs);
}

static void test_orient(void)
{
    uint8_t img[2][2][3] = { { { 1 }, { 2 } }, { { 3 }, { 4 } } };
    fb_prep_orient(&img[0][0][0], 2, 6);     /* clockwise: 3 1 / 4 2 */
    CHECK(img[0][0][0] == 3 && img[0][1][0] == 1 && img[1][0][0] == 4 && img[1][1][0] == 2, "orientation 6 turns clockwise");
}

int main(void)
{
    test_sniff();
    test_parse();
    test_geometry();
    test_resample();
    test_resample_variants();
    test_orient();
    return check_done();
}
