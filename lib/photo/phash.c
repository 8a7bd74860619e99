/* The perceptual hash of an image (fb/photo.h). */
#include "fb/photo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

int fb_hamming(uint64_t a, uint64_t b) { return __builtin_popcountll(a ^ b); }

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

uint64_t fb_phash_pixels(const double pixels[32 * 32])
{
    /* DCT-II basis for the 9 lowest frequencies; row/column 0 (mean and
     * pure horizontal/vertical means) are dropped, as in the classic pHash,
     * so brightness changes do not matter. */
    double basis[9][32];
    for (int u = 0; u < 9; u++)
        for (int x = 0; x < 32; x++)
            basis[u][x] = cos(M_PI * (2 * x + 1) * u / 64.0);
    double rows[32][9];   /* DCT along each row */
    for (int y = 0; y < 32; y++)
        for (int u = 0; u < 9; u++) {
            double s = 0;
            for (int x = 0; x < 32; x++) s += pixels[y * 32 + x] * basis[u][x];
            rows[y][u] = s;
        }
    double coef[64];
    for (int v = 1; v < 9; v++)
        for (int u = 1; u < 9; u++) {
            double s = 0;
            for (int y = 0; y < 32; y++) s += rows[y][u] * basis[v][y];
            coef[(v - 1) * 8 + (u - 1)] = s;
        }
    double sorted[64];
    memcpy(sorted, coef, sizeof sorted);
    qsort(sorted, 64, sizeof sorted[0], compare_double);
    double median = (sorted[31] + sorted[32]) / 2;
    uint64_t hash = 0;
    for (int i = 0; i < 64; i++)
        if (coef[i] > median) hash |= 1ULL << i;
    return hash;
}

/* Side of the grayscale thumbnail every hash is computed from. */
#define GRAY 128

/* GRAYxGRAY grayscale doubles from a GRAYxGRAY thumbnail.  0 ok, -1 with
 * the reason in libvips' error buffer. */
static int gray_of_thumb(VipsImage *thumb, double *out)
{
    VipsImage *flat = NULL, *gray = NULL, *dbl = NULL;
    int rc = -1;
    VipsImage *in = thumb;
    if (vips_image_hasalpha(in)) {
        /* Transparent areas count as white, the way most viewers show them. */
        VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
        int bad = vips_flatten(in, &flat, "background", white, NULL);
        vips_area_unref(VIPS_AREA(white));
        if (bad) goto done;
        in = flat;
    }
    if (vips_colourspace(in, &gray, VIPS_INTERPRETATION_B_W, NULL)) goto done;
    if (vips_cast(gray, &dbl, VIPS_FORMAT_DOUBLE, NULL)) goto done;
    size_t n = 0;
    double *mem = vips_image_write_to_memory(dbl, &n);
    if (!mem) goto done;
    if (dbl->Xsize != GRAY || dbl->Ysize != GRAY || n < (size_t)GRAY * GRAY * dbl->Bands * sizeof(double)) {
        g_free(mem);
        vips_error("fb", "thumbnail is %dx%d, not %dx%d", dbl->Xsize, dbl->Ysize, GRAY, GRAY);
        goto done;
    }
    for (int i = 0; i < GRAY * GRAY; i++) out[i] = mem[i * dbl->Bands];
    g_free(mem);
    rc = 0;
done:
    if (dbl) g_object_unref(dbl);
    if (gray) g_object_unref(gray);
    if (flat) g_object_unref(flat);
    return rc;
}

/* Moves libvips' error text into err (one line) and clears it. */
static int vips_failure(char *err, size_t errlen)
{
    const char *msg = vips_error_buffer();
    snprintf(err, errlen, "%s", *msg ? msg : "cannot decode");
    /* vips messages end in a newline; ours must not. */
    size_t len = strlen(err);
    while (len && (err[len - 1] == '\n' || err[len - 1] == ' ')) err[--len] = 0;
    for (char *p = err; *p; p++) if (*p == '\n') *p = ' ';
    vips_error_clear();
    return -1;
}

/* GRAYxGRAY grayscale doubles from an image file (path) or from its bytes
 * (data, len), EXIF orientation applied. */
static int load_gray(const char *path, const void *data, size_t len, int jpeg, double *out, char *err,
                     size_t errlen)
{
    VipsImage *thumb = NULL;
    /* vips_thumbnail shrinks on load (fast for big JPEGs) and autorotates.
     * Damaged data fails the file as in fb-prep (lib/photo/prep.c: for
     * JPEG, a libjpeg warning), rather than hashing grey fill. */
    VipsFailOn fail = jpeg ? VIPS_FAIL_ON_WARNING : VIPS_FAIL_ON_ERROR;
    int bad = path ? vips_thumbnail(path, &thumb, GRAY, "height", GRAY, "size", VIPS_SIZE_FORCE,
                                    "fail_on", fail, NULL)
                   : vips_thumbnail_buffer((void *)data, len, &thumb, GRAY, "height", GRAY, "size",
                                           VIPS_SIZE_FORCE, "fail_on", fail, NULL);
    if (!bad) bad = gray_of_thumb(thumb, out);
    if (thumb) g_object_unref(thumb);
    return bad ? vips_failure(err, errlen) : 0;
}

/* Weights of source pixels [k, k+1) covering [a, a + len): area averaging. */
static void box_weights(double a, double len, int *first, int *count, double w[8])
{
    double b = a + len;
    int k0 = (int)floor(a), k1 = (int)ceil(b);
    if (k1 - k0 > 8) k1 = k0 + 8;   /* len <= 4 here: at most 6 pixels */
    *first = k0;
    *count = k1 - k0;
    for (int k = k0; k < k1; k++) {
        double lo = k > a ? k : a, hi = k + 1 < b ? k + 1 : b;
        w[k - k0] = (hi - lo) / len;
    }
}

/* 32x32 area average of the square [x0, x0+size) x [y0, y0+size) of a
 * GRAYxGRAY image. */
static void box_resample(const double *src, double x0, double y0, double size, double out[32 * 32])
{
    double step = size / 32, tmp[GRAY][32];
    for (int j = 0; j < 32; j++) {   /* columns first, for every source row */
        int first, count;
        double w[8];
        box_weights(x0 + j * step, step, &first, &count, w);
        for (int y = 0; y < GRAY; y++) {
            double s = 0;
            for (int k = 0; k < count; k++)
                if (first + k >= 0 && first + k < GRAY) s += w[k] * src[y * GRAY + first + k];
            tmp[y][j] = s;
        }
    }
    for (int i = 0; i < 32; i++) {
        int first, count;
        double w[8];
        box_weights(y0 + i * step, step, &first, &count, w);
        for (int j = 0; j < 32; j++) {
            double s = 0;
            for (int k = 0; k < count; k++)
                if (first + k >= 0 && first + k < GRAY) s += w[k] * tmp[first + k][j];
            out[i * 32 + j] = s;
        }
    }
}

void fb_phash_from_gray128(const double *gray, fb_phash *hash)
{
    double px[32 * 32];
    box_resample(gray, 0, 0, GRAY, px);
    hash->full = fb_phash_pixels(px);
    /* The same photo cropped by a few percent is close to one of these:
     * the centre and the four corners at 92% of each side. */
    double side = GRAY * FB_PHASH_CROP_SIDE, m = GRAY - side;
    const double corner[FB_PHASH_CROPS][2] = { { m / 2, m / 2 }, { 0, 0 }, { m, 0 }, { 0, m }, { m, m } };
    for (int k = 0; k < FB_PHASH_CROPS; k++) {
        box_resample(gray, corner[k][0], corner[k][1], side, px);
        hash->crop[k] = fb_phash_pixels(px);
    }
}

/* The header's size against the pixel limit, before anything is decoded:
 * a 29-byte GIF can declare 65535x65535 (17 GB to decode). */
static int check_pixels(const char *path, double max_pixels, char *err, size_t errlen)
{
    VipsImage *hdr = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!hdr) {
        const char *msg = vips_error_buffer();
        snprintf(err, errlen, "cannot read the image header: %.*s", (int)strcspn(msg, "\n"), msg);
        vips_error_clear();
        return -1;
    }
    double pixels = (double)hdr->Xsize * hdr->Ysize;
    if (pixels > max_pixels)
        snprintf(err, errlen, "%dx%d is %.0f megapixels, over the limit of %.0f (--max-pixels)",
                 hdr->Xsize, hdr->Ysize, pixels / 1e6, max_pixels / 1e6);
    g_object_unref(hdr);
    return pixels > max_pixels ? -1 : 0;
}

static int hash_gray(const char *path, const void *data, size_t len, int jpeg, fb_phash *hash, char *err,
                     size_t errlen)
{
    double *gray = malloc(GRAY * GRAY * sizeof *gray);
    if (!gray) { snprintf(err, errlen, "out of memory"); return -1; }
    int rc = load_gray(path, data, len, jpeg, gray, err, errlen);
    if (rc == 0) fb_phash_from_gray128(gray, hash);
    free(gray);
    return rc;
}

int fb_phash_file(const char *path, double max_pixels, fb_phash *hash, char *err, size_t errlen)
{
    vips_error_clear();   /* an earlier file's messages are not this one's */
    const char *format = fb_photo_format(path);
    if (!format) {
        snprintf(err, errlen, "not an image fb can read");
        return -1;
    }
    if (check_pixels(path, max_pixels, err, errlen) != 0) return -1;
    return hash_gray(path, NULL, 0, strcmp(format, "jpeg") == 0, hash, err, errlen);
}

int fb_phash_buffer(const void *data, size_t len, fb_phash *hash, char *err, size_t errlen)
{
    vips_error_clear();
    fb_image_format f = fb_prep_sniff(data, len);
    if (!fb_prep_format_accepted(f)) {
        snprintf(err, errlen, "not an image fb can read");
        return -1;
    }
    return hash_gray(NULL, data, len, f == FB_FMT_JPEG, hash, err, errlen);
}

int fb_phash_near(const fb_phash *a, const fb_phash *b, int maxdist)
{
    if (maxdist < 0) return 0;
    if (fb_hamming(a->full, b->full) <= maxdist) return 1;
    /* A crop of one against the whole of the other. */
    for (int k = 0; k < FB_PHASH_CROPS; k++)
        if (fb_hamming(a->crop[k], b->full) <= maxdist || fb_hamming(a->full, b->crop[k]) <= maxdist)
            return 1;
    return 0;
}

