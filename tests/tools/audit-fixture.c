/* Fixture maker for the split and audit suites: genuinely different
 * synthetic photos (a pHash sees smooth gradients as all alike), and copies
 * with EXIF orientation, camera and GPS tags.
 *
 *   audit-fixture noise SEED W H OUT        smooth random colour blobs, seeded
 *   audit-fixture exif IN OUT ORIENT MAKE MODEL [gps]
 *       JPEG whose pixels are stored turned so that a viewer applying EXIF
 *       orientation ORIENT (1, 3, 6 or 8) shows IN; MAKE/MODEL ("" = none)
 *       and, with "gps", a GPS position 48.8584 N 2.2945 E. */
#include "fb/core.h"

#include <libexif/exif-data.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

static void die_vips(const char *what)
{
    fprintf(stderr, "audit-fixture: %s: %s", what, vips_error_buffer());
    exit(1);
}

static int make_noise(unsigned long seed, int w, int h, const char *out)
{
    /* 6x6 random colours blown up with a smooth kernel: big blobs whose
     * layout (hence the low DCT frequencies) depends on the seed. */
    enum { G = 6 };
    static unsigned char grid[G * G * 3];
    fb_rng rng;
    fb_rng_seed(&rng, seed);
    for (size_t i = 0; i < sizeof grid; i++) grid[i] = (unsigned char)fb_rng_below(&rng, 256);
    VipsImage *small = vips_image_new_from_memory(grid, sizeof grid, G, G, 3, VIPS_FORMAT_UCHAR);
    VipsImage *big, *cropped;
    if (!small) die_vips("new");
    if (vips_resize(small, &big, (double)w / (G - 1), "vscale", (double)h / (G - 1),
                    "kernel", VIPS_KERNEL_CUBIC, NULL)) die_vips("resize");
    if (vips_crop(big, &cropped, 0, 0, w, h, NULL)) die_vips("crop");
    if (vips_image_write_to_file(cropped, out, NULL)) die_vips(out);
    g_object_unref(cropped); g_object_unref(big); g_object_unref(small);
    return 0;
}

static void set_ascii(ExifData *ed, ExifIfd ifd, ExifTag tag, const char *s)
{
    ExifEntry *e = exif_entry_new();
    exif_content_add_entry(ed->ifd[ifd], e);
    exif_entry_initialize(e, tag);
    free(e->data);
    e->format = EXIF_FORMAT_ASCII;
    e->components = strlen(s) + 1;
    e->size = e->components;
    e->data = malloc(e->size);
    memcpy(e->data, s, e->size);
    exif_entry_unref(e);
}

static void set_rationals(ExifData *ed, ExifTag tag, const ExifRational *r, int n)
{
    ExifEntry *e = exif_entry_new();
    exif_content_add_entry(ed->ifd[EXIF_IFD_GPS], e);
    e->tag = tag;
    e->format = EXIF_FORMAT_RATIONAL;
    e->components = n;
    e->size = 8 * n;
    e->data = calloc(1, e->size);
    for (int i = 0; i < n; i++) exif_set_rational(e->data + 8 * i, EXIF_BYTE_ORDER_MOTOROLA, r[i]);
    exif_entry_unref(e);
}

static void set_gps_ascii(ExifData *ed, ExifTag tag, const char *s)
{
    ExifEntry *e = exif_entry_new();
    exif_content_add_entry(ed->ifd[EXIF_IFD_GPS], e);
    e->tag = tag;
    e->format = EXIF_FORMAT_ASCII;
    e->components = strlen(s) + 1;
    e->size = e->components;
    e->data = malloc(e->size);
    memcpy(e->data, s, e->size);
    exif_entry_unref(e);
}

static int make_exif(const char *in, const char *out, int orient, const char *make,
                     const char *model, int gps)
{
    VipsImage *img = vips_image_new_from_file(in, NULL), *turned, *copy;
    if (!img) die_vips(in);
    /* Store the pixels turned the other way, so applying ORIENT restores IN. */
    VipsAngle angle = orient == 3 ? VIPS_ANGLE_D180 : orient == 6 ? VIPS_ANGLE_D270
                    : orient == 8 ? VIPS_ANGLE_D90 : VIPS_ANGLE_D0;
    if (vips_rot(img, &turned, angle, NULL)) die_vips("rot");
    if (vips_copy(turned, &copy, NULL)) die_vips("copy");

    ExifData *ed = exif_data_new();
    exif_data_set_byte_order(ed, EXIF_BYTE_ORDER_MOTOROLA);
    if (*make) set_ascii(ed, EXIF_IFD_0, EXIF_TAG_MAKE, make);
    if (*model) set_ascii(ed, EXIF_IFD_0, EXIF_TAG_MODEL, model);
    set_ascii(ed, EXIF_IFD_0, EXIF_TAG_ARTIST, "Jane Owner");
    if (gps) {
        ExifRational lat[3] = { { 48, 1 }, { 51, 1 }, { 3024, 100 } };
        ExifRational lon[3] = { { 2, 1 }, { 17, 1 }, { 4020, 100 } };
        set_gps_ascii(ed, EXIF_TAG_GPS_LATITUDE_REF, "N");
        set_rationals(ed, EXIF_TAG_GPS_LATITUDE, lat, 3);
        set_gps_ascii(ed, EXIF_TAG_GPS_LONGITUDE_REF, "E");
        set_rationals(ed, EXIF_TAG_GPS_LONGITUDE, lon, 3);
    }
    unsigned char *blob = NULL;
    unsigned int bloblen = 0;
    exif_data_save_data(ed, &blob, &bloblen);
    exif_data_unref(ed);
    vips_image_set_blob_copy(copy, VIPS_META_EXIF_NAME, blob, bloblen);
    free(blob);
    vips_image_set_int(copy, VIPS_META_ORIENTATION, orient);
    if (vips_jpegsave(copy, out, "Q", 75, NULL)) die_vips(out);
    g_object_unref(copy); g_object_unref(turned); g_object_unref(img);
    return 0;
}

int main(int argc, char **argv)
{
    if (VIPS_INIT(argv[0])) die_vips("init");
    if (argc == 6 && strcmp(argv[1], "noise") == 0)
        return make_noise(strtoul(argv[2], NULL, 10), atoi(argv[3]), atoi(argv[4]), argv[5]);
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "exif") == 0)
        return make_exif(argv[2], argv[3], atoi(argv[4]), argv[5], argv[6],
                         argc == 8 && strcmp(argv[7], "gps") == 0);
    fprintf(stderr, "usage: audit-fixture noise SEED W H OUT\n"
                    "       audit-fixture exif IN OUT ORIENT MAKE MODEL [gps]\n");
    return 2;
}
