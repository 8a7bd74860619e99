/* Per-file facts for fb-audit, and the tiny-image rule (fb/audit.h). */
#include "fb/audit.h"

#include <ctype.h>
#include <errno.h>
#include <libexif/exif-data.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <vips/vips.h>

int fb_audit_is_tiny(int width, int height)
{
    return width < FB_AUDIT_TINY || height < FB_AUDIT_TINY;
}

int fb_audit_file_is_tiny(const fb_audit_file *f)
{
    return f->state == FB_FILE_OK && fb_audit_is_tiny(f->width, f->height);
}

/* ---- per-file facts ---- */

static void set_problem(fb_audit_file *f, fb_file_state state, const char *msg)
{
    f->state = state;
    snprintf(f->problem, sizeof f->problem, "%s", msg);
}

/* Printable ASCII, trimmed: EXIF strings are often NUL- or space-padded. */
static void clean_ascii(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++)
        if (isprint((unsigned char)*r) && (w > s || *r != ' ')) *w++ = *r;
    while (w > s && w[-1] == ' ') w--;
    *w = 0;
}

static void exif_string(ExifData *ed, ExifTag tag, char *out, size_t outlen)
{
    out[0] = 0;
    ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], tag);
    if (!e || e->format != EXIF_FORMAT_ASCII || !e->data) return;
    size_t n = e->size < outlen - 1 ? e->size : outlen - 1;
    memcpy(out, e->data, n);
    out[n] = 0;
    clean_ascii(out);
}

/* EXIF presence and camera.  Only Make and Model are looked at: the GPS
 * directory, serial numbers and owner names are never read. */
static void read_exif(fb_audit_file *f, VipsImage *img)
{
    const void *blob;
    size_t len;
    if (vips_image_get_typeof(img, VIPS_META_EXIF_NAME) == 0 ||
        vips_image_get_blob(img, VIPS_META_EXIF_NAME, &blob, &len) != 0 || len < 8) return;
    ExifData *ed = exif_data_new_from_data(blob, (unsigned)len);
    if (!ed) return;
    /* Every encoder may write a bare EXIF block (resolution, colour space):
     * what marks a camera original is capture information. */
    static const ExifTag capture_tags[] = {
        EXIF_TAG_MAKE, EXIF_TAG_MODEL, EXIF_TAG_DATE_TIME_ORIGINAL, EXIF_TAG_EXPOSURE_TIME,
        EXIF_TAG_FNUMBER, EXIF_TAG_ISO_SPEED_RATINGS, EXIF_TAG_FOCAL_LENGTH };
    for (size_t k = 0; k < sizeof capture_tags / sizeof capture_tags[0]; k++)
        if (exif_content_get_entry(ed->ifd[EXIF_IFD_0], capture_tags[k]) ||
            exif_content_get_entry(ed->ifd[EXIF_IFD_EXIF], capture_tags[k]))
            f->has_exif = 1;
    char make[40], model[40];
    exif_string(ed, EXIF_TAG_MAKE, make, sizeof make);
    exif_string(ed, EXIF_TAG_MODEL, model, sizeof model);
    exif_data_unref(ed);
    if (*make && strncasecmp(model, make, strlen(make)) != 0)
        snprintf(f->camera, sizeof f->camera, "%s%s%s", make, *model ? " " : "", model);
    else
        snprintf(f->camera, sizeof f->camera, "%s", model);
}

static void take_vips_error(char *buf, size_t len, const char *prefix)
{
    const char *msg = vips_error_buffer();
    snprintf(buf, len, "%s%s", prefix, *msg ? msg : "unknown error");
    for (char *p = buf; *p; p++) if (*p == '\n') *p = ' ';
    size_t n = strlen(buf);
    while (n && buf[n - 1] == ' ') buf[--n] = 0;
    vips_error_clear();
}

void fb_audit_inspect(fb_audit_file *f)
{
    vips_error_clear();   /* an earlier file's messages are not this one's */
    f->state = FB_FILE_OK;
    f->problem[0] = 0;
    f->format = NULL;
    f->width = f->height = 0;
    f->jpeg_quality = -1;
    f->has_exif = f->has_phash = f->has_digest = 0;
    f->camera[0] = 0;
    char why[200];
    if (fb_file_digest(f->path, &f->size, &f->digest, why, sizeof why) != 0) {
        char msg[sizeof f->problem];
        snprintf(msg, sizeof msg, "cannot read: %s", why);
        set_problem(f, FB_FILE_UNREADABLE, msg);
        return;
    }
    f->has_digest = 1;
    f->format = fb_photo_format(f->path);
    if (!f->format) {
        set_problem(f, FB_FILE_NOT_IMAGE, "not an image in a format fb reads "
                    "(JPEG, PNG, WebP, TIFF, GIF, HEIF)");
        return;
    }
    /* Header only: libvips reads pixels lazily.  By the loader of the
     * format fb_photo_format named ("tiffload", ...), as fb-prep loads it:
     * vips_image_new_from_file would ask vips_foreign_find_load, which
     * picks OpenSlide for a TIFF slide and ImageMagick for an AVIF
     * sequence, both blocked. */
    char loader[32];
    snprintf(loader, sizeof loader, "%sload", f->format);
    VipsImage *img = NULL;
    if (vips_call(loader, f->path, &img, "access", VIPS_ACCESS_SEQUENTIAL, NULL)) img = NULL;
    if (!img) {
        take_vips_error(f->problem, sizeof f->problem, "cannot read header: ");
        f->state = FB_FILE_UNREADABLE;
        return;
    }
    f->width = img->Xsize;
    f->height = img->Ysize;
    int orientation = 1;
    if (vips_image_get_typeof(img, VIPS_META_ORIENTATION))
        vips_image_get_int(img, VIPS_META_ORIENTATION, &orientation);
    if (orientation >= 5 && orientation <= 8) {   /* shown turned by 90 degrees */
        f->width = img->Ysize;
        f->height = img->Xsize;
    }
    read_exif(f, img);
    g_object_unref(img);
    if (strcmp(f->format, "jpeg") == 0) f->jpeg_quality = fb_jpeg_quality(f->path);
    char err[200];
    if (fb_phash_file(f->path, &f->phash, err, sizeof err) != 0) {
        char msg[sizeof f->problem];
        snprintf(msg, sizeof msg, "cannot decode: %s", err);
        set_problem(f, FB_FILE_UNREADABLE, msg);
        return;
    }
    f->has_phash = 1;
}

