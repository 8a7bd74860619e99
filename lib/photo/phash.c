/* The perceptual hash of an image (fb/photo.h). */
#include "fb/photo.h"
#include "prep.h"

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

/* GRAYxGRAY grayscale doubles from a GRAYxGRAY image.  0 ok, -1 with the
 * reason in libvips' error buffer. */
static int gray_of_thumb(VipsImage *thumb, double *out)
{
    VipsImage *flat = NULL, *gray = NULL, *dbl = NULL;
    int rc = -1;
    VipsImage *in = thumb;
    if (vips_image_hasalpha(in)) {
        /* Transparent areas count as white, the way most viewers show them. */
        double max = in->BandFmt == VIPS_FORMAT_USHORT ? 65535.0 : 255.0;
        VipsArrayDouble *white = vips_array_double_newv(1, max);
        int bad = vips_flatten(in, &flat, "background", white, "max_alpha", max, NULL);
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

/* The image fb_photo_open_checked loaded (shrunk on load towards GRAY),
 * squashed to GRAYxGRAY, EXIF orientation applied, as grayscale doubles.
 * 0 ok, -1 with the reason in libvips' error buffer. */
static int gray_of_image(VipsImage *loaded, double *out)
{
    VipsImage *decoded = NULL, *squashed = NULL, *small = NULL, *upright = NULL;
    int rc = -1;
    /* Decoded whole first, as fb-prep decodes it: vips_resize reads its
     * input through a line cache that turns a loader's error (a JPEG cut
     * in its scan data) into a warning and grey rows, and the hash of a
     * photo fb-prep refuses would come out as if it were fine. */
    if (!(decoded = vips_image_copy_memory(loaded))) goto done;
    /* Lanczos3 from the shrunk image, as vips_thumbnail did before: the
     * hashes of normal photos stay as they were. */
    if (vips_resize(decoded, &squashed, (double)GRAY / decoded->Xsize, "vscale",
                    (double)GRAY / decoded->Ysize, NULL)) goto done;
    /* Into memory before turning: a turn reads out of order, which the
     * sequential loader refuses; squashing first is exact for a square. */
    if (!(small = vips_image_copy_memory(squashed))) goto done;
    if (vips_autorot(small, &upright, NULL)) goto done;
    rc = gray_of_thumb(upright, out);
done:
    if (upright) g_object_unref(upright);
    if (small) g_object_unref(small);
    if (squashed) g_object_unref(squashed);
    if (decoded) g_object_unref(decoded);
    return rc;
}

/* Hashes of the file's bytes (buf, len), opened as fb-prep opens them
 * (fb_photo_open_checked); path, when known, lets TIFF load from the
 * file.  0 ok, -1 with err set. */
static int hash_bytes(const char *path, const void *buf, size_t len, double max_pixels, fb_phash *hash,
                      char *err, size_t errlen)
{
    if (!fb_prep_format_accepted(fb_prep_sniff(buf, len))) {
        snprintf(err, errlen, "not an image fb can read");
        return -1;
    }
    fb_prep_opts o;
    fb_prep_opts_default(&o);
    o.size = GRAY;   /* squash to GRAYxGRAY: shrink on load as far as that allows */
    o.max_pixels = max_pixels;
    VipsImage *loaded = fb_photo_open_checked(path, buf, len, &o, err, errlen);
    if (!loaded) return -1;
    double *gray = malloc(GRAY * GRAY * sizeof *gray);
    int rc = -1;
    if (!gray) snprintf(err, errlen, "out of memory");
    else if (gray_of_image(loaded, gray) != 0) fb_photo_take_vips_error(err, errlen, "cannot decode");
    else {
        fb_phash_from_gray128(gray, hash);
        rc = 0;
    }
    free(gray);
    g_object_unref(loaded);
    return rc;
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

int fb_phash_file(const char *path, double max_pixels, fb_phash *hash, char *err, size_t errlen)
{
    vips_error_clear();   /* an earlier file's messages are not this one's */
    size_t len = 0;
    char *buf = fb_photo_read_file(path, max_pixels, &len, err, errlen);
    if (!buf) return -1;
    int rc = hash_bytes(path, buf, len, max_pixels, hash, err, errlen);
    free(buf);
    return rc;
}

int fb_phash_buffer(const void *data, size_t len, fb_phash *hash, char *err, size_t errlen)
{
    vips_error_clear();
    return hash_bytes(NULL, data, len, FB_PHOTO_MAX_PIXELS, hash, err, errlen);
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

