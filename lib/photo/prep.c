/* fb-prep's per-image pipeline: sniff the format from the bytes, load with
 * shrink-on-load, flatten alpha, resize by policy, convert to 8-bit sRGB,
 * apply the EXIF orientation and write size×size×3 RGB into memory.
 *
 * Cost per image is dominated by fixed overheads (building the vips
 * pipeline), so the common case — an sRGB JPEG with no alpha and no
 * orientation — takes the shortest route: one reload with shrink, one
 * resize, one write to memory. */
#include "fb/photo.h"
#include "allowlist.h"
#include "fb/core.h"
#include "prep.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <vips/vips.h>

void fb_prep_opts_default(fb_prep_opts *o)
{
    memset(o, 0, sizeof *o);
    o->size = 224;
    o->policy = FB_RESIZE_SQUASH;
    o->kernel = FB_KERNEL_LINEAR;
    o->background[0] = o->background[1] = o->background[2] = 255;
    o->max_pixels = FB_PHOTO_MAX_PIXELS;
    o->vipshome = NULL;
    o->augment = 0;
    o->tta_flip = 0;
    o->seed = 0;
}

int fb_prep_parse_reencode(const char *s, int *quality, int *side)
{
    char *end;
    errno = 0;
    long q = strtol(s, &end, 10), sd = 0;
    if (end == s || errno || q < 1 || q > 100) return -1;
    if (*end == ':') {
        const char *p = end + 1;
        sd = strtol(p, &end, 10);
        if (end == p || errno || sd < 8 || sd > 4096) return -1;
    }
    if (*end) return -1;
    *quality = (int)q;
    *side = (int)sd;
    return 0;
}

static const char *const policy_names[] = { "squash", "crop", "pad" };

int fb_prep_parse_policy(const char *s, fb_resize_policy *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, policy_names[i]) == 0) { *out = (fb_resize_policy)i; return 0; }
    return -1;
}

const char *fb_prep_policy_name(fb_resize_policy p)
{
    return (unsigned)p < 3 ? policy_names[p] : "?";
}

static const char *const kernel_names[] = { "linear", "cubic", "lanczos3" };

int fb_prep_parse_kernel(const char *s, fb_prep_kernel *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, kernel_names[i]) == 0) { *out = (fb_prep_kernel)i; return 0; }
    return -1;
}

const char *fb_prep_kernel_name(fb_prep_kernel k)
{
    return (unsigned)k < 3 ? kernel_names[k] : "?";
}

int fb_prep_parse_colour(const char *s, uint8_t rgb[3])
{
    static const struct { const char *name; uint8_t v[3]; } named[] = {
        { "white", { 255, 255, 255 } }, { "black", { 0, 0, 0 } },
        { "gray", { 128, 128, 128 } }, { "grey", { 128, 128, 128 } },
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcasecmp(s, named[i].name) == 0) { memcpy(rgb, named[i].v, 3); return 0; }
    unsigned r, g, b;
    char tail;
    if (s[0] == '#' && strlen(s) == 7 && sscanf(s + 1, "%2x%2x%2x%c", &r, &g, &b, &tail) == 3) {
        rgb[0] = (uint8_t)r; rgb[1] = (uint8_t)g; rgb[2] = (uint8_t)b;
        return 0;
    }
    if (sscanf(s, "%u,%u,%u%c", &r, &g, &b, &tail) == 3 && r < 256 && g < 256 && b < 256) {
        rgb[0] = (uint8_t)r; rgb[1] = (uint8_t)g; rgb[2] = (uint8_t)b;
        return 0;
    }
    return -1;
}

/* ---- formats ---- */

static int starts(const unsigned char *h, size_t n, const void *magic, size_t m)
{
    return n >= m && memcmp(h, magic, m) == 0;
}

/* HEIF and AVIF are ISO media files whose "ftyp" brand names an image
 * codec; the same container with a video brand is not a photo. */
static int is_heif(const unsigned char *h, size_t n)
{
    static const char *const brands[] = { "heic", "heix", "hevc", "hevx", "heim", "heis",
                                          "mif1", "msf1", "avif", "avis" };
    if (n < 12 || memcmp(h + 4, "ftyp", 4) != 0) return 0;
    for (size_t i = 0; i < sizeof brands / sizeof brands[0]; i++)
        if (memcmp(h + 8, brands[i], 4) == 0) return 1;
    return 0;
}

static int is_svg(const unsigned char *h, size_t n)
{
    size_t i = 0;
    if (starts(h, n, "\xEF\xBB\xBF", 3)) i = 3;
    while (i < n && (h[i] == ' ' || h[i] == '\t' || h[i] == '\r' || h[i] == '\n')) i++;
    if (i >= n || h[i] != '<') return 0;
    return memmem(h, n, "<svg", 4) != NULL;
}

fb_image_format fb_prep_sniff(const unsigned char *h, size_t n)
{
    if (n == 0) return FB_FMT_EMPTY;
    if (starts(h, n, "\xFF\xD8\xFF", 3)) return FB_FMT_JPEG;
    if (starts(h, n, "\x89PNG\r\n\x1A\n", 8)) return FB_FMT_PNG;
    if (starts(h, n, "GIF87a", 6) || starts(h, n, "GIF89a", 6)) return FB_FMT_GIF;
    if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0) return FB_FMT_WEBP;
    if (starts(h, n, "II*\0", 4) || starts(h, n, "MM\0*", 4) ||
        starts(h, n, "II+\0", 4) || starts(h, n, "MM\0+", 4)) return FB_FMT_TIFF;
    if (is_heif(h, n)) return FB_FMT_HEIF;
    if (starts(h, n, "\0\0\0\x0CjP  \r\n\x87\n", 12) || starts(h, n, "\xFF\x4F\xFF\x51", 4))
        return FB_FMT_JPEG2000;
    if (starts(h, n, "\0\0\0\x0CJXL \r\n\x87\n", 12) || starts(h, n, "\xFF\x0A", 2)) return FB_FMT_JXL;
    if (starts(h, n, "BM", 2) && n >= 14) return FB_FMT_BMP;
    if (starts(h, n, "%PDF", 4)) return FB_FMT_PDF;
    if (starts(h, n, "\x1F\x8B", 2)) return FB_FMT_GZIP;
    if (starts(h, n, "8BPS", 4)) return FB_FMT_PSD;
    if (starts(h, n, "\0\0\1\0", 4) || starts(h, n, "\0\0\2\0", 4)) return FB_FMT_ICO;
    if (starts(h, n, "\x76\x2F\x31\x01", 4)) return FB_FMT_EXR;
    if (starts(h, n, "SIMPLE  =", 9)) return FB_FMT_FITS;
    if (starts(h, n, "\x08\xF2\xA6\xB6", 4) || starts(h, n, "\xB6\xA6\xF2\x08", 4)) return FB_FMT_VIPS;
    if (n >= 3 && h[0] == 'P' && strchr("1234567Ff", h[1]) && h[1] &&
        (h[2] == '\n' || h[2] == ' ' || h[2] == '\r' || h[2] == '\t')) return FB_FMT_PNM;
    if (is_svg(h, n)) return FB_FMT_SVG;
    return FB_FMT_UNKNOWN;
}

const char *fb_prep_format_name(fb_image_format f)
{
    switch (f) {
    case FB_FMT_EMPTY: return "empty";
    case FB_FMT_JPEG: return "JPEG";
    case FB_FMT_PNG: return "PNG";
    case FB_FMT_WEBP: return "WebP";
    case FB_FMT_TIFF: return "TIFF";
    case FB_FMT_GIF: return "GIF";
    case FB_FMT_HEIF: return "HEIF/AVIF";
    case FB_FMT_JPEG2000: return "JPEG 2000";
    case FB_FMT_BMP: return "BMP";
    case FB_FMT_SVG: return "SVG";
    case FB_FMT_PDF: return "PDF";
    case FB_FMT_PNM: return "PNM";
    case FB_FMT_GZIP: return "gzip (SVGZ?)";
    case FB_FMT_JXL: return "JPEG XL";
    case FB_FMT_PSD: return "Photoshop";
    case FB_FMT_ICO: return "ICO/CUR";
    case FB_FMT_EXR: return "OpenEXR";
    case FB_FMT_FITS: return "FITS";
    case FB_FMT_VIPS: return "VIPS";
    case FB_FMT_UNKNOWN: break;
    }
    return "unknown";
}

/* ---- one image ---- */

/* vips' error buffer as one line: its first and last messages, which name
 * the problem and the step that gave up; the middle repeats itself. */
void fb_photo_take_vips_error(char *err, size_t errlen, const char *fallback)
{
    const char *buf = vips_error_buffer();
    if (!buf || !*buf) buf = fallback;
    size_t first_len = strcspn(buf, "\n");
    const char *last = buf + first_len;
    const char *p = buf;
    while (*p) {
        size_t n = strcspn(p, "\n");
        if (n) last = p;
        p += n;
        if (*p) p++;
    }
    size_t last_len = strcspn(last, "\n");
    if (last == buf || last_len == 0)
        snprintf(err, errlen, "%.*s", (int)(first_len < 200 ? first_len : 200), buf);
    else
        snprintf(err, errlen, "%.*s; %.*s", (int)(first_len < 200 ? first_len : 200), buf,
                 (int)(last_len < 200 ? last_len : 200), last);
    vips_error_clear();
}

/* Loads page 0 with the loader for the sniffed format, from the bytes
 * already in memory (cheaper per file than a file source), or from the
 * file for TIFF, which may be large and wants random access (from the
 * bytes when there is no path: fb_phash_buffer).  shrink is an integer
 * shrink-on-load factor for JPEG and WebP. */
static VipsImage *load(const char *path, const void *buf, size_t len, fb_image_format fmt, int shrink)
{
    VipsImage *x = NULL;
    int rc = -1;
    VipsAccess seq = VIPS_ACCESS_SEQUENTIAL;
    /* Truncated or corrupt data is an error, not half a photo. */
    VipsFailOn fail = VIPS_FAIL_ON_ERROR;
    switch (fmt) {
    case FB_FMT_JPEG:
        /* libjpeg reports damaged entropy-coded data and a scan that ends
         * early only as warnings, and fills the rest with grey: a record
         * that is two thirds fill.  For JPEG a warning fails the photo. */
        rc = vips_jpegload_buffer((void *)buf, len, &x, "access", seq,
                                  "fail_on", VIPS_FAIL_ON_WARNING, "shrink", shrink, NULL);
        break;
    case FB_FMT_WEBP:
        rc = vips_webpload_buffer((void *)buf, len, &x, "access", seq, "fail_on", fail,
                                  "scale", 1.0 / shrink, NULL);
        break;
    case FB_FMT_PNG: rc = vips_pngload_buffer((void *)buf, len, &x, "access", seq, "fail_on", fail, NULL); break;
    case FB_FMT_GIF: rc = vips_gifload_buffer((void *)buf, len, &x, "access", seq, "fail_on", fail, NULL); break;
    case FB_FMT_HEIF: if (fb_photo_need_heif()) break;
        rc = vips_heifload_buffer((void *)buf, len, &x, "access", seq, "fail_on", fail, NULL); break;
    case FB_FMT_TIFF:
        rc = path ? vips_tiffload(path, &x, "access", seq, "fail_on", fail, NULL)
                  : vips_tiffload_buffer((void *)buf, len, &x, "access", seq, "fail_on", fail, NULL);
        break;
    default: vips_error("fb-prep", "no loader"); break;
    }
    return rc ? NULL : x;
}

/* The overall reduction from the stored image to the output: squash and
 * crop fit the shorter side, pad the longer. */
static double reduction(int w, int h, const fb_prep_opts *o)
{
    int side = o->policy == FB_RESIZE_PAD ? (w > h ? w : h) : (w < h ? w : h);
    /* A re-encode to a larger side must not be starved by the shrink. */
    int target = o->reencode_quality && o->reencode_side > o->size ? o->reencode_side : o->size;
    return (double)side / target;
}

/* Shrink-on-load is a box-like DCT reduction: leave at least a factor of
 * two for the antialiasing filter, as vips_thumbnail does. */
static int load_shrink(fb_image_format fmt, double factor)
{
    if (fmt != FB_FMT_JPEG && fmt != FB_FMT_WEBP) return 1;
    for (int s = 8; s > 1; s /= 2)
        if (factor >= 2.0 * s) return s;
    return 1;
}

/* Gives x an interpretation vips can convert from when the file's is
 * missing or odd (e.g. a 2-band TIFF tagged "multiband"). */
static int normalise_interpretation(VipsImage *in, VipsImage **out)
{
    VipsInterpretation guess = vips_image_guess_interpretation(in);
    if (guess == vips_image_get_interpretation(in)) {
        *out = in;
        g_object_ref(in);
        return 0;
    }
    return vips_copy(in, out, "interpretation", guess, NULL);
}

static int has_icc(VipsImage *x)
{
    return vips_image_get_typeof(x, VIPS_META_ICC_NAME) != 0;
}

/* To 8-bit sRGB, keeping any alpha band.  An embedded ICC profile is
 * honoured (this is how CMYK and wide-gamut photos come out right); a
 * profile lcms cannot use falls back to vips' built-in conversion rather
 * than losing the photo. */
static int to_srgb(VipsImage *in, VipsImage **out)
{
    VipsInterpretation in_type = vips_image_get_interpretation(in);
    if (has_icc(in) && in_type != VIPS_INTERPRETATION_LAB) {
        if (vips_icc_transform(in, out, "srgb", "embedded", TRUE, "depth", 8,
                               "intent", VIPS_INTENT_RELATIVE, NULL) == 0)
            return 0;
        vips_error_clear();
    }
    if (in_type == VIPS_INTERPRETATION_sRGB && in->BandFmt == VIPS_FORMAT_UCHAR) {
        *out = in;
        g_object_ref(in);
        return 0;
    }
    return vips_colourspace(in, out, VIPS_INTERPRETATION_sRGB, NULL);
}

/* Whatever came out of the colour conversion, make it exactly 3 uchar bands. */
static int to_rgb8(VipsImage *in, VipsImage **out, VipsImage **t)
{
    VipsImage *x = in;
    if (x->BandFmt == VIPS_FORMAT_USHORT) {
        if (vips_rshift_const1(x, &t[0], 8, NULL) || vips_cast_uchar(t[0], &t[1], NULL)) return -1;
        x = t[1];
    } else if (x->BandFmt != VIPS_FORMAT_UCHAR) {
        if (vips_cast_uchar(x, &t[1], NULL)) return -1;
        x = t[1];
    }
    if (x->Bands == 1 || x->Bands == 2) {
        if (vips_extract_band(x, &t[2], 0, NULL)) return -1;
        VipsImage *grey[3] = { t[2], t[2], t[2] };
        if (vips_bandjoin(grey, &t[3], 3, NULL)) return -1;
        x = t[3];
    } else if (x->Bands > 3) {
        if (vips_extract_band(x, &t[3], 0, "n", 3, NULL)) return -1;
        x = t[3];
    }
    *out = x;
    g_object_ref(x);
    return 0;
}

/* Flattens alpha onto the background in the image's own depth, before the
 * resize: that is what a premultiplied resize followed by flattening gives,
 * without colour fringes at transparent edges.  Grey+alpha becomes RGB+alpha
 * first so that a coloured background stays coloured. */
static int flatten(VipsImage *in, VipsImage **out, const fb_prep_opts *o, VipsImage **t)
{
    VipsImage *x = in;
    if (vips_image_get_interpretation(x) == VIPS_INTERPRETATION_CMYK) {
        if (to_srgb(x, &t[0])) return -1;
        x = t[0];
    }
    if (x->Bands == 2) {
        if (vips_extract_band(x, &t[1], 0, NULL) || vips_extract_band(x, &t[2], 1, NULL)) return -1;
        VipsImage *rgba[4] = { t[1], t[1], t[1], t[2] };
        VipsInterpretation type = x->BandFmt == VIPS_FORMAT_USHORT ?
            VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB;
        if (vips_bandjoin(rgba, &t[3], 4, NULL) ||
            vips_copy(t[3], &t[4], "interpretation", type, NULL)) return -1;
        vips_image_remove(t[4], VIPS_META_ICC_NAME);   /* a grey profile no longer fits */
        x = t[4];
    }
    double scale = x->BandFmt == VIPS_FORMAT_USHORT ? 257.0 : 1.0;
    double bg[3] = { o->background[0] * scale, o->background[1] * scale, o->background[2] * scale };
    VipsArrayDouble *a = vips_array_double_new(bg, 3);
    int rc = vips_flatten(x, out, "background", a, "max_alpha", 255.0 * scale, NULL);
    vips_area_unref(VIPS_AREA(a));
    return rc;
}

/* Reads the whole file (a regular file only: a FIFO would block forever,
 * /dev/zero behind a photo's name would fill memory), at most max bytes (a
 * /proc file is "regular" with size 0 and may never end); NULL with err
 * set. */
static char *read_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
    FILE *f = fb_open_regular(path, err, errlen);
    if (!f) {
        if (strstr(err, "No such file")) snprintf(err, errlen, "no such file");
        else if (strstr(err, "Permission denied")) snprintf(err, errlen, "permission denied");
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            size_t more = cap ? 2 * cap : 1 << 16;
            char *p = realloc(buf, more);
            if (!p) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            buf = p;
            cap = more;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
        if (n > max) {
            snprintf(err, errlen, "over %.0f MB, more than any image within the pixel limit "
                     "(--max-pixels) takes", max / 1e6);
            goto fail;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "read error: %s", strerror(errno));
        goto fail;
    }
    fclose(f);
    *len = n;
    return buf;
fail:
    free(buf);
    fclose(f);
    return NULL;
}

char *fb_photo_read_file(const char *path, double max_pixels, size_t *len, char *err, size_t errlen)
{
    /* 8 bytes a pixel (16-bit RGBA, uncompressed) and room for metadata:
     * no image within the pixel limit is larger. */
    size_t max_bytes = (size_t)(8 * max_pixels) + (64u << 20);
    return read_file(path, max_bytes, len, err, errlen);
}

VipsImage *fb_photo_open_checked(const char *path, const void *buf, size_t len,
                                 const fb_prep_opts *o, char *err, size_t errlen)
{
    fb_image_format fmt = fb_prep_sniff((const unsigned char *)buf, len);
    if (fmt == FB_FMT_EMPTY) {
        snprintf(err, errlen, "empty file");
        return NULL;
    }
    if (fmt == FB_FMT_UNKNOWN) {
        snprintf(err, errlen, "not a known image format");
        return NULL;
    }
    if (!fb_prep_format_accepted(fmt)) {
        snprintf(err, errlen, "%s images are not accepted (fb-prep reads %s)",
                 fb_prep_format_name(fmt), fb_prep_accepted_list());
        return NULL;
    }
    VipsImage *x = load(path, buf, len, fmt, 1);
    if (!x) {
        fb_photo_take_vips_error(err, errlen, "cannot read the image header");
        return NULL;
    }
    double pixels = (double)x->Xsize * x->Ysize;
    if (pixels > o->max_pixels) {
        snprintf(err, errlen, "%dx%d is %.0f megapixels, over the limit of %.0f (--max-pixels)",
                 x->Xsize, x->Ysize, pixels / 1e6, o->max_pixels / 1e6);
        g_object_unref(x);
        return NULL;
    }
    int shrink = load_shrink(fmt, reduction(x->Xsize, x->Ysize, o));
    if (shrink > 1) {
        g_object_unref(x);
        x = load(path, buf, len, fmt, shrink);
        if (!x) fb_photo_take_vips_error(err, errlen, "cannot load the image");
    }
    return x;
}

/* Decoded, flattened, 8-bit sRGB, still at (shrunk) source size. */
static int to_rgb_image(VipsImage *loaded, const fb_prep_opts *o, VipsImage **t, VipsImage **out)
{
    VipsImage *x = loaded;
    if (normalise_interpretation(x, &t[0])) return -1;
    x = t[0];
    if (vips_image_hasalpha(x)) {
        if (flatten(x, &t[1], o, t + 10)) return -1;
        x = t[1];
    }
    if (to_srgb(x, &t[2]) || to_rgb8(t[2], out, t + 20)) return -1;
    return 0;
}

/* --reencode: rgb (8-bit sRGB) resized so its shorter side is the re-encode
 * side, through a JPEG of the re-encode quality in memory, and decoded
 * again into *out (in memory: the JPEG bytes are freed here).  The EXIF
 * orientation is not touched: place() turns the square after. */
static int reencode(VipsImage *rgb, const fb_prep_opts *o, VipsImage **out)
{
    int side = o->reencode_side > 0 ? o->reencode_side : o->size;
    int shorter = rgb->Xsize < rgb->Ysize ? rgb->Xsize : rgb->Ysize;
    VipsImage *resized = NULL, *decoded = NULL;
    void *jpeg = NULL;
    size_t len = 0;
    int rc = -1;
    if (vips_resize(rgb, &resized, (double)side / shorter, NULL) == 0 &&
        vips_jpegsave_buffer(resized, &jpeg, &len, "Q", o->reencode_quality, "strip", TRUE,
                             "optimize_coding", FALSE, NULL) == 0 &&
        vips_jpegload_buffer(jpeg, len, &decoded, NULL) == 0 &&
        (*out = vips_image_copy_memory(decoded)) != NULL)
        rc = 0;
    if (decoded) g_object_unref(decoded);
    if (resized) g_object_unref(resized);
    g_free(jpeg);
    return rc;
}

/* Resamples the decoded w×h RGB pixels (rows stride bytes apart) into out
 * by policy, then turns the square upright.  Resampling before turning is
 * exact for squash and pad and moves a centre crop by at most half a pixel. */
static int place(const uint8_t *rgb, int w, int h, size_t stride, int orientation,
                 const fb_prep_opts *o, uint8_t *out, char *err, size_t errlen)
{
    int s = o->size;
    double box[4];
    int at[4];
    fb_prep_geometry(w, h, s, o->policy, box, at);
    if (at[2] != s || at[3] != s)   /* pad: the background shows */
        for (size_t i = 0; i < (size_t)s * s; i++) memcpy(out + 3 * i, o->background, 3);
    if (fb_prep_resample(rgb, w, h, stride, box, out + ((size_t)at[1] * s + at[0]) * 3,
                         at[2], at[3], (size_t)s * 3, o->kernel) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fb_prep_orient(out, s, orientation);
    return 0;
}

/* The original into out, then its variants after it (fb_prep_outputs). */
static int place_all(const char *path, const uint8_t *rgb, int w, int h, int orientation,
                     const fb_prep_opts *o, uint8_t *out, char *err, size_t errlen)
{
    size_t stride = (size_t)w * 3, one = (size_t)o->size * o->size * 3;
    if (place(rgb, w, h, stride, orientation, o, out, err, errlen)) return -1;
    double box[4];
    int at[4];
    fb_prep_geometry(w, h, o->size, o->policy, box, at);
    int n = fb_prep_outputs(o);
    for (int k = 1; k < n; k++) {
        fb_augment a;
        if (o->tta_flip && k == n - 1) fb_augment_flip(box, &a);
        else fb_augment_draw(path, o->seed, k, box, &a);
        if (fb_augment_render(rgb, w, h, stride, orientation, o, &a, out + k * one, err, errlen))
            return -1;
    }
    return 0;
}

/* The 3-band uchar image's pixels, computed strip by strip in this
 * thread: no threadpool (vips_image_write_to_memory starts one), and each
 * step of the vips pipeline holds only a strip (asked for the whole image
 * at once, every step allocates, zeroes and copies a whole-image buffer).
 * NULL with the vips error set. */
uint8_t *fb_photo_pixels(VipsImage *rgb)
{
    enum { STRIP = 64 };
    int w = rgb->Xsize, h = rgb->Ysize;
    size_t line = (size_t)w * 3;
    if (VIPS_IMAGE_SIZEOF_PEL(rgb) != 3) {
        vips_error("fb-prep", "not 3 uchar bands");
        return NULL;
    }
    uint8_t *pixels = malloc(line * h);
    VipsRegion *region = vips_region_new(rgb);
    if (!pixels || !region) {
        vips_error("fb-prep", "out of memory");
        goto fail;
    }
    for (int y = 0; y < h; y += STRIP) {
        VipsRect r = { 0, y, w, h - y < STRIP ? h - y : STRIP };
        if (vips_region_prepare(region, &r)) goto fail;
        for (int j = 0; j < r.height; j++)
            memcpy(pixels + (size_t)(y + j) * line, VIPS_REGION_ADDR(region, 0, y + j), line);
    }
    g_object_unref(region);
    return pixels;
fail:
    if (region) g_object_unref(region);
    free(pixels);
    return NULL;
}

int fb_prep_image(const char *path, const fb_prep_opts *o, uint8_t *out, char *err, size_t errlen)
{
    size_t len = 0;
    vips_error_clear();   /* warnings about earlier files must not show up here */
    char *buf = fb_photo_read_file(path, o->max_pixels, &len, err, errlen);
    if (!buf) return -1;
    VipsImage *loaded = fb_photo_open_checked(path, buf, len, o, err, errlen);
    if (!loaded) {
        free(buf);
        return -1;
    }
    int orientation = vips_image_get_orientation(loaded);
    VipsImage *base = vips_image_new();
    VipsImage **t = (VipsImage **)vips_object_local_array(VIPS_OBJECT(base), 32);
    t[31] = loaded;
    VipsImage *rgb = NULL;
    int rc = -1;
    int ok = to_rgb_image(loaded, o, t, &rgb) == 0;
    if (ok && o->reencode_quality > 0) {
        VipsImage *again = NULL;
        ok = reencode(rgb, o, &again) == 0;
        g_object_unref(rgb);
        rgb = again;
    }
    if (ok) {
        uint8_t *pixels = fb_photo_pixels(rgb);
        if (pixels)
            rc = place_all(path, pixels, rgb->Xsize, rgb->Ysize, orientation, o, out, err, errlen);
        else
            fb_photo_take_vips_error(err, errlen, "cannot decode the image");
        free(pixels);
        g_object_unref(rgb);
    } else {
        fb_photo_take_vips_error(err, errlen, "cannot convert the image");
    }
    g_object_unref(base);
    free(buf);
    return rc;
}
