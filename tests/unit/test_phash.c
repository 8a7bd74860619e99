/* pHash, duplicate groups and the JPEG quality estimate. */
#include "check.h"
#include "fb/audit.h"
#include "fb/dataset.h"
#include "fb/photo.h"
#include "fb/core.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

static void blobs(uint64_t seed, double px[32 * 32])
{
    /* smooth random pattern: sum of a few random 2-D cosines */
    fb_rng r;
    fb_rng_seed(&r, seed);
    double a[6], fx[6], fy[6], ph[6];
    for (int k = 0; k < 6; k++) {
        a[k] = fb_rng_uniform(&r);
        fx[k] = 0.5 + 3 * fb_rng_uniform(&r);
        fy[k] = 0.5 + 3 * fb_rng_uniform(&r);
        ph[k] = 6.28 * fb_rng_uniform(&r);
    }
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) {
            double v = 0;
            for (int k = 0; k < 6; k++) v += a[k] * cos(fx[k] * x / 5.0 + fy[k] * y / 5.0 + ph[k]);
            px[y * 32 + x] = v;
        }
}

static void test_hash_properties(void)
{
    double p[1024], q[1024];
    blobs(1, p);
    uint64_t h = fb_phash_pixels(p);
    CHECK(__builtin_popcountll(h) == 32, "median split sets 32 of 64 bits (got %d)",
          __builtin_popcountll(h));
    for (int i = 0; i < 1024; i++) q[i] = 3 * p[i] + 40;   /* contrast and brightness */
    CHECK(fb_hamming(h, fb_phash_pixels(q)) == 0, "contrast and brightness do not change the hash");
    int min_other = 64;
    for (uint64_t s = 2; s < 40; s++) {
        blobs(s, q);
        int d = fb_hamming(h, fb_phash_pixels(q));
        if (d < min_other) min_other = d;
    }
    CHECK(min_other > FB_PHASH_DEFAULT_MAXDIST, "38 other patterns are all beyond the threshold "
          "(closest %d bits)", min_other);
    CHECK(fb_hamming(0, ~0ULL) == 64 && fb_hamming(5, 4) == 1, "hamming distance");
}

static void test_groups(void)
{
    fb_groups g;
    CHECK(fb_groups_init(&g, 6) == 0, "groups init");
    fb_groups_join(&g, 4, 2);
    fb_groups_join(&g, 5, 4);
    fb_groups_join(&g, 3, 1);
    CHECK(fb_groups_find(&g, 5) == 2 && fb_groups_find(&g, 4) == 2, "joins are transitive, "
          "smallest index is the representative");
    CHECK(fb_groups_find(&g, 3) == 1 && fb_groups_find(&g, 0) == 0, "other groups untouched");
    fb_groups_free(&g);

    /* whole-frame hashes only; crops far from everything */
    uint64_t full[4] = { 0, 0x3FF, 0xFFF, 0xFFFFFFFF00000000ULL };
    fb_phash hash[4];
    for (int i = 0; i < 4; i++) {
        hash[i].full = full[i];
        for (int k = 0; k < FB_PHASH_CROPS; k++) hash[i].crop[k] = 0x5555555555555555ULL;
    }
    unsigned char has[4] = { 1, 1, 1, 1 };
    fb_groups_init(&g, 4);
    size_t pairs = fb_groups_join_phash(&g, hash, has, 10);
    CHECK(pairs == 2, "pairs within 10 bits: 0-1 (10), 1-2 (2); 0-2 is 12 (got %zu)", pairs);
    CHECK(fb_groups_find(&g, 2) == 0 && fb_groups_find(&g, 3) == 3, "chained into one group");
    fb_groups_free(&g);
    has[1] = 0;
    fb_groups_init(&g, 4);
    fb_groups_join_phash(&g, hash, has, 10);
    CHECK(fb_groups_find(&g, 2) == 2, "items without a hash are never joined");
    fb_groups_free(&g);
    /* a crop of 3 equal to the whole of 0 joins them */
    hash[3].crop[2] = hash[0].full;
    CHECK(fb_phash_near(&hash[3], &hash[0], 0) && fb_phash_near(&hash[0], &hash[3], 0),
          "a crop matching the other's whole frame is the same photo, both ways round");
    CHECK(!fb_phash_near(&hash[3], &hash[0], -1), "maxdist < 0 never matches");
}

/* A 128x128 pattern, its copy cropped by 4% on every side and scaled back
 * (what a slightly cropped photo looks like), and another pattern. */
static void test_crop(void)
{
    static double big[160 * 160], whole[128 * 128], cropped[128 * 128];
    fb_rng r;
    fb_rng_seed(&r, 11);
    double a[8], fx[8], fy[8], ph[8];
    for (int k = 0; k < 8; k++) {
        a[k] = fb_rng_uniform(&r); fx[k] = 0.3 + 2 * fb_rng_uniform(&r);
        fy[k] = 0.3 + 2 * fb_rng_uniform(&r); ph[k] = 6.28 * fb_rng_uniform(&r);
    }
    for (int y = 0; y < 160; y++)
        for (int x = 0; x < 160; x++) {
            double v = 0;
            for (int k = 0; k < 8; k++) v += a[k] * cos(fx[k] * x / 20.0 + fy[k] * y / 20.0 + ph[k]);
            big[y * 160 + x] = v;
        }
    /* whole: 160 -> 128 by nearest sampling; cropped: the centre 92% -> 128 */
    for (int y = 0; y < 128; y++)
        for (int x = 0; x < 128; x++) {
            whole[y * 128 + x] = big[(y * 160 / 128) * 160 + x * 160 / 128];
            int cx = (int)(6.4 + x * 147.2 / 128), cy = (int)(6.4 + y * 147.2 / 128);
            cropped[y * 128 + x] = big[cy * 160 + cx];
        }
    fb_phash hw, hc;
    fb_phash_from_gray128(whole, &hw);
    fb_phash_from_gray128(cropped, &hc);
    int whole_bits = fb_hamming(hw.full, hc.full), crop_bits = fb_hamming(hw.crop[0], hc.full);
    CHECK(crop_bits < whole_bits && crop_bits <= 4, "the centre crop hash sees through an 8%% crop "
          "(whole frames %d bits apart, crop vs whole %d)", whole_bits, crop_bits);
    CHECK(fb_phash_near(&hw, &hc, FB_PHASH_DEFAULT_MAXDIST), "so they are the same photo");
}

static void test_jpeg_quality_tables(void)
{
    uint16_t t[64];
    fb_jpeg_ijg_table(50, t);
    CHECK(t[0] == 16 && t[63] == 99, "quality 50 is the Annex K table");
    int exact = 0;
    for (int q = 1; q <= 100; q++) {
        fb_jpeg_ijg_table(q, t);
        exact += fb_jpeg_quality_from_table(t) == q;
    }
    CHECK(exact == 100, "every IJG table maps back to its quality (%d of 100)", exact);
    fb_jpeg_ijg_table(80, t);
    for (int i = 0; i < 64; i++) t[i] += (i % 3 == 0);   /* a camera's own, slightly off, table */
    int q = fb_jpeg_quality_from_table(t);
    CHECK(q >= 77 && q <= 80, "a nearby custom table reads as about 80 (got %d)", q);
}

/* The whole file in memory (malloc'd), or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (*len = (size_t)ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc(*len)) && fread(buf, 1, *len, f) != *len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* The hash opens a photo as fb-prep does (fb_photo_open_checked): what
 * fb-prep refuses is refused here, from a path and from memory alike. */
static void check_same_open_as_prep(const char *dir)
{
    char why[256] = "", path[300];
    fb_phash a, b;
    /* A real-size JPEG cut 90% into its scan data: shrunk on load and
     * resized, the missing rows used to come out grey and the hash fine. */
    VipsImage *noise = NULL, *u8 = NULL;
    void *jpeg = NULL;
    size_t len = 0;
    vips_gaussnoise(&noise, 1512, 2688, "seed", 5, "sigma", 30.0, "mean", 128.0, NULL);
    vips_cast(noise, &u8, VIPS_FORMAT_UCHAR, NULL);
    vips_jpegsave_buffer(u8, &jpeg, &len, "Q", 85, NULL);
    CHECK(jpeg && fb_phash_buffer(jpeg, len, &a, why, sizeof why) == 0, "the whole JPEG hashes (%s)", why);
    size_t cut = len / 10 * 9;
    CHECK(jpeg && fb_phash_buffer(jpeg, cut, &a, why, sizeof why) == -1 && strstr(why, "Premature end"),
          "the JPEG cut in its scan data is refused from memory (\"%s\")", why);
    snprintf(path, sizeof path, "%s/cut.jpg", dir);
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(jpeg, 1, cut, f); fclose(f); }
    CHECK(fb_phash_file(path, FB_PHOTO_MAX_PIXELS, &a, why, sizeof why) == -1 && strstr(why, "Premature end"),
          "and from its file (\"%s\")", why);
    g_free(jpeg);
    /* TIFF loads from the file in fb-prep; from memory it must hash the same. */
    why[0] = 0;
    snprintf(path, sizeof path, "%s/p.tif", dir);
    vips_tiffsave(u8, path, NULL);
    gchar *tif = NULL;
    gsize tlen = 0;
    g_file_get_contents(path, &tif, &tlen, NULL);
    CHECK(fb_phash_file(path, FB_PHOTO_MAX_PIXELS, &a, why, sizeof why) == 0 && tif &&
          fb_phash_buffer(tif, tlen, &b, why, sizeof why) == 0 && memcmp(&a, &b, sizeof a) == 0,
          "a TIFF hashes the same from its file and from memory (%s)", why);
    g_free(tif);
    /* The pixel limit holds from memory too: a 35-byte GIF claiming
     * 65535x65535 is refused by its header, not decoded. */
    static const unsigned char huge[] =
        "GIF89a\xff\xff\xff\xff\x80\x00\x00\x00\x00\x00\xff\xff\xff"
        ",\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02\x44\x01\x00;";
    CHECK(fb_phash_buffer(huge, sizeof huge - 1, &a, why, sizeof why) == -1 && strstr(why, "megapixels"),
          "a GIF claiming 65535x65535 is refused by the pixel limit (\"%s\")", why);
    g_object_unref(u8);
    g_object_unref(noise);
}

static void test_files(void)
{
    char dir[] = "/tmp/fb-phash-XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    VipsImage *img;
    vips_gaussnoise(&img, 96, 64, "seed", 3, NULL);
    VipsImage *u8;
    vips_cast(img, &u8, VIPS_FORMAT_UCHAR, NULL);
    char path[256], other[256];
    int qualities[] = { 20, 50, 75, 95 };
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/q%d.jpg", dir, qualities[i]);
        vips_jpegsave(u8, path, "Q", qualities[i], NULL);
        int got = fb_jpeg_quality(path);
        CHECK(got == qualities[i], "libjpeg Q=%d file reads as %d", qualities[i], got);
    }
    /* The same file's bytes, through the FILE and memory entry points (the
     * fuzz targets' way in), give the same answers as the path. */
    size_t len = 0;
    char *bytes = slurp(path, &len);
    FILE *mem = bytes ? fmemopen(bytes, len, "rb") : NULL;
    CHECK(mem && fb_jpeg_quality_stream(mem) == 95, "quality from a FILE at the file's start");
    if (mem) fclose(mem);
    fb_phash from_path, from_bytes;
    char why[256] = "";
    CHECK(fb_phash_file(path, FB_PHOTO_MAX_PIXELS, &from_path, why, sizeof why) == 0 && bytes &&
          fb_phash_buffer(bytes, len, &from_bytes, why, sizeof why) == 0 &&
          memcmp(&from_path, &from_bytes, sizeof from_path) == 0,
          "pHash of the bytes in memory is the file's (%s)", why[0] ? why : "ok");
    CHECK(bytes && fb_phash_buffer(bytes, 100, &from_bytes, why, sizeof why) == -1 && why[0] &&
          !strchr(why, '\n'), "a JPEG cut to 100 bytes is refused with one line (\"%s\")", why);
    CHECK(fb_phash_buffer("hello", 5, &from_bytes, why, sizeof why) == -1 &&
          strstr(why, "not an image"), "text in memory is not an image (\"%s\")", why);
    free(bytes);
    check_same_open_as_prep(dir);
    snprintf(path, sizeof path, "%s/n.png", dir);
    vips_pngsave(u8, path, NULL);
    CHECK(fb_jpeg_quality(path) == -1, "a PNG has no JPEG quality");
    CHECK(fb_photo_format(path) && strcmp(fb_photo_format(path), "png") == 0, "format by content: png");
    snprintf(other, sizeof other, "%s/png-data.jpg", dir);
    vips_pngsave(u8, other, NULL);
    CHECK(fb_photo_format(other) && strcmp(fb_photo_format(other), "png") == 0,
          "PNG data named .jpg is a png");
    CHECK(fb_files_identical(path, other) == 1, "same encoder, same pixels: identical bytes");
    uint64_t s1, d1, s2, d2;
    char err[256] = "";
    CHECK(fb_file_digest(path, &s1, &d1, err, sizeof err) == 0 && fb_file_digest(other, &s2, &d2, err, sizeof err) == 0 &&
          s1 == s2 && d1 == d2, "digest of identical files agrees");
    snprintf(other, sizeof other, "%s/text.jpg", dir);
    FILE *f = fopen(other, "w");
    fputs("hello", f);
    fclose(f);
    fb_phash h;
    CHECK(fb_phash_file(other, FB_PHOTO_MAX_PIXELS, &h, err, sizeof err) == -1 && strstr(err, "not an image"),
          "text named .jpg is refused: %s", err);
    CHECK(fb_files_identical(path, other) == 0, "different files differ");
    snprintf(other, sizeof other, "%s/x.svg", dir);
    f = fopen(other, "w");
    fputs("<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>", f);
    fclose(f);
    CHECK(fb_photo_format(other) == NULL, "SVG is not on the loader allowlist");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) CHECK(0, "cleanup");
    g_object_unref(u8);
    g_object_unref(img);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (VIPS_INIT(argv[0])) SKIP_ALL("libvips does not start");
    test_hash_properties();
    test_groups();
    test_crop();
    test_jpeg_quality_tables();
    test_files();
    return check_done();
}
