/* THE loader allowlist (fb/photo.h): which formats fb accepts, by their
 * first bytes, and that libvips, once set up, runs no other loader. */
#include "check.h"
#include "fb/photo.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

static char dir[] = "/tmp/fb-allow-XXXXXX";

static void test_accepted(void)
{
    const fb_image_format yes[] = { FB_FMT_JPEG, FB_FMT_PNG, FB_FMT_WEBP, FB_FMT_TIFF, FB_FMT_GIF,
                                    FB_FMT_HEIF };
    const fb_image_format no[] = { FB_FMT_UNKNOWN, FB_FMT_EMPTY, FB_FMT_JPEG2000, FB_FMT_BMP,
                                   FB_FMT_SVG, FB_FMT_PDF, FB_FMT_PNM, FB_FMT_GZIP, FB_FMT_JXL,
                                   FB_FMT_PSD, FB_FMT_ICO, FB_FMT_EXR, FB_FMT_FITS, FB_FMT_VIPS };
    int ok = 1;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) ok &= fb_prep_format_accepted(yes[i]) == 1;
    CHECK(ok, "accepted: JPEG, PNG, WebP, TIFF, GIF, HEIF/AVIF");
    ok = 1;
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        int got = fb_prep_format_accepted(no[i]);
        if (got) printf("# %s accepted\n", fb_prep_format_name(no[i]));
        ok &= got == 0;
    }
    CHECK(ok, "refused: the 14 other formats fb recognises, unknown and empty");
    CHECK(strcmp(fb_prep_accepted_list(), "JPEG, PNG, WebP, TIFF, GIF, HEIF/AVIF") == 0,
          "the list users are told");
    /* The brands that make an ISO media file a photo, and one that does not. */
    CHECK(fb_prep_sniff((const unsigned char *)"\0\0\0\x18" "ftypavif", 12) == FB_FMT_HEIF,
          "ftyp avif is HEIF/AVIF");
    CHECK(fb_prep_sniff((const unsigned char *)"\0\0\0\x18" "ftypisom", 12) == FB_FMT_UNKNOWN,
          "ftyp isom (an MP4 video) is not");
}

static void save(const char *name, const void *bytes, size_t n, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(bytes, 1, n, f); fclose(f); }
}

static void test_files(void)
{
    char err[256] = "";
    CHECK(fb_photo_vips_start("test_photo_allowlist", err, sizeof err) == 0, "libvips starts: %s", err);
    VipsImage *img, *u8;
    vips_gaussnoise(&img, 16, 8, "seed", 1, NULL);
    vips_cast(img, &u8, VIPS_FORMAT_UCHAR, NULL);
    char path[300];
    struct { const char *name, *format; int (*save)(VipsImage *, const char *, ...); } kinds[] = {
        { "a.jpg", "jpeg", vips_jpegsave }, { "a.png", "png", vips_pngsave },
        { "a.webp", "webp", vips_webpsave }, { "a.tif", "tiff", vips_tiffsave },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, kinds[i].name);
        kinds[i].save(u8, path, NULL);
        const char *got = fb_photo_format(path);
        CHECK(got && strcmp(got, kinds[i].format) == 0, "%s opens as %s", kinds[i].name, kinds[i].format);
    }
    static const unsigned char gif[] =
        "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
        ",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;";
    save("a.gif", gif, sizeof gif - 1, path, sizeof path);
    CHECK(fb_photo_format(path) && strcmp(fb_photo_format(path), "gif") == 0, "a 1x1 GIF opens as gif");

    /* The first bytes decide, not libvips: a tiled TIFF whose description
     * starts "Aperio" is a slide to OpenSlide's sniffer (a blocked loader
     * vips_foreign_find_load would name), and a TIFF to fb-prep. */
    snprintf(path, sizeof path, "%s/slide.tif", dir);
    vips_tiffsave(u8, path, "tile", TRUE, "properties", TRUE, NULL);
    size_t n = 0;
    char *bytes = NULL;
    if (g_file_get_contents(path, &bytes, &n, NULL)) {
        char *xml = memmem(bytes, n, "<?xml ", 6);
        if (xml) memcpy(xml, "Aperio", 6);
        save("slide.tif", bytes, n, path, sizeof path);
        CHECK(xml != NULL, "the slide's description is in place");
        g_free(bytes);
    }
    const char *slide = fb_photo_format(path);
    CHECK(slide && strcmp(slide, "tiff") == 0, "a TIFF OpenSlide would claim is a tiff (%s)",
          slide ? slide : "NULL");

    /* Formats libvips itself reads, refused by their bytes ... */
    snprintf(path, sizeof path, "%s/a.ppm", dir);
    vips_ppmsave(u8, path, NULL);
    CHECK(fb_photo_format(path) == NULL, "PNM (libvips has a loader) is refused");
    const char svg[] = "<svg xmlns='http://www.w3.org/2000/svg' width='4' height='4'/>";
    save("a.svg", svg, sizeof svg - 1, path, sizeof path);
    CHECK(fb_photo_format(path) == NULL, "SVG is refused");
    /* ... and their loaders blocked even when asked by name. */
    snprintf(path, sizeof path, "%s/a.ppm", dir);
    VipsImage *x = vips_image_new_from_file(path, NULL);
    CHECK(x == NULL, "libvips will not open the PNM itself: its loader is blocked");
    if (x) g_object_unref(x);
    vips_error_clear();
    x = NULL;
    int rc = vips_ppmload(path, &x, NULL);
    CHECK(rc != 0, "nor through vips_ppmload directly");
    if (x) g_object_unref(x);
    vips_error_clear();
    snprintf(path, sizeof path, "%s/a.png", dir);
    x = vips_image_new_from_file(path, NULL);
    CHECK(x != NULL, "an allowed loader still runs");
    if (x) g_object_unref(x);
    g_object_unref(u8);
    g_object_unref(img);
    fb_photo_vips_stop();
}

int main(void)
{
    if (!mkdtemp(dir)) SKIP_ALL("mkdtemp");
    test_accepted();
    test_files();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) CHECK(0, "cleanup");
    return check_done();
}
