/* Per-file facts for fb-audit, and the tiny-image rule (fb/audit.h). */
#include "fb/audit.h"

#include <ctype.h>
#include <errno.h>
#include <libexif/exif-data.h>
#include <stdint.h>
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

void fb_audit_inspect(fb_audit_file *f, double max_pixels)
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
    if (fb_phash_file(f->path, max_pixels, &f->phash, err, sizeof err) != 0) {
        char msg[sizeof f->problem];
        snprintf(msg, sizeof msg, "cannot decode: %s", err);
        set_problem(f, FB_FILE_UNREADABLE, msg);
        return;
    }
    f->has_phash = 1;
}


/* ---- in decoder processes ---- */

/* What a decoder process sends back for one file: fb_audit_file's facts
 * as plain bytes (the format as its index in fb_audit_formats, -1 none). */
typedef struct {
    int32_t state, format, width, height, jpeg_quality, has_exif, has_phash, has_digest;
    uint64_t size, digest;
    fb_phash phash;
    char problem[sizeof ((fb_audit_file *)0)->problem];
    char camera[sizeof ((fb_audit_file *)0)->camera];
} file_facts;

typedef struct {
    const fb_decode_limits *limits;
    fb_audit_file *files;
    fb_audit_inspected each;
    void *ctx;
} inspect_run;

static int inspect_start(void *ctx)
{
    const inspect_run *r = ctx;
    char err[256];
    return fb_photo_vips_start(r->limits->argv0, err, sizeof err);
}

/* In the decoder process. */
static int inspect_one(void *ctx, const char *path, void *out, char *reason, size_t len)
{
    const inspect_run *r = ctx;
    (void)reason; (void)len;   /* never fails: problems are facts */
    fb_audit_file f = { .path = path };
    fb_audit_inspect(&f, r->limits->max_pixels);
    file_facts *x = out;
    memset(x, 0, sizeof *x);
    int code = fb_audit_format_code(f.format);
    *x = (file_facts){ .state = (int32_t)f.state, .format = code < FB_AUDIT_NFORMATS ? code : -1,
                       .width = f.width, .height = f.height, .jpeg_quality = f.jpeg_quality,
                       .has_exif = f.has_exif, .has_phash = f.has_phash, .has_digest = f.has_digest,
                       .size = f.size, .digest = f.digest, .phash = f.phash };
    memcpy(x->problem, f.problem, sizeof x->problem);
    memcpy(x->camera, f.camera, sizeof x->camera);
    return 0;
}

/* In the parent, in input order. */
static int inspected(void *ctx, size_t i, const void *result, const char *reason)
{
    const inspect_run *r = ctx;
    fb_audit_file *f = &r->files[i];
    const file_facts *x = result;
    if (!x) {
        /* The decoder hung or died on this file.  Its bytes can still be
         * read here (no decoding), so a byte-identical copy still counts. */
        char why[200];
        f->state = FB_FILE_UNREADABLE;
        snprintf(f->problem, sizeof f->problem, "cannot decode: %s", reason);
        f->format = NULL;
        f->width = f->height = 0;
        f->jpeg_quality = -1;
        f->has_exif = f->has_phash = 0;
        f->camera[0] = 0;
        f->has_digest = fb_file_digest(f->path, &f->size, &f->digest, why, sizeof why) == 0;
    } else {
        f->state = (fb_file_state)x->state;
        f->format = x->format >= 0 && x->format < FB_AUDIT_NFORMATS ? fb_audit_formats[x->format] : NULL;
        f->width = x->width;
        f->height = x->height;
        f->jpeg_quality = x->jpeg_quality;
        f->has_exif = x->has_exif;
        f->has_phash = x->has_phash;
        f->has_digest = x->has_digest;
        f->size = x->size;
        f->digest = x->digest;
        f->phash = x->phash;
        memcpy(f->problem, x->problem, sizeof f->problem);
        f->problem[sizeof f->problem - 1] = 0;
        memcpy(f->camera, x->camera, sizeof f->camera);
        f->camera[sizeof f->camera - 1] = 0;
    }
    if (r->each) r->each(r->ctx, i, f);
    return 0;
}

int fb_audit_inspect_all(fb_audit_file *files, size_t n, const fb_decode_limits *limits,
                         fb_audit_inspected each, void *ctx, char *err, size_t errlen)
{
    const char **paths = malloc((n ? n : 1) * sizeof *paths);
    if (!paths) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) paths[i] = files[i].path;
    inspect_run r = { limits, files, each, ctx };
    fb_decoder_job job = { .start = inspect_start, .run = inspect_one, .ctx = &r,
                           .result_size = sizeof(file_facts), .jobs = limits->jobs,
                           .timeout = limits->timeout };
    int rc = fb_decoders_run(&job, paths, n, inspected, &r, err, errlen);
    free(paths);
    return rc < 0 ? -1 : 0;
}
