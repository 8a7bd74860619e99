/* Perceptual hash, loader allowlist and duplicate grouping (see fb/phash.h). */
#include "fb/phash.h"
#include "fb/prep.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

/* Loader class name -> short format.  Exact names, not substrings. */
static const struct { const char *loader, *format; } allowed_loaders[] = {
    { "VipsForeignLoadJpegFile", "jpeg" },
    { "VipsForeignLoadPngFile", "png" },
    { "VipsForeignLoadWebpFile", "webp" },
    { "VipsForeignLoadTiffFile", "tiff" },
    { "VipsForeignLoadNsgifFile", "gif" },
    { "VipsForeignLoadHeifFile", "heif" },
};

static void drop_vips_warning(const char *domain, GLogLevelFlags level, const char *msg, void *data)
{
    /* "Unexpected end of GIF source data" and the like would reach stderr
     * without the file's name; real failures come back as errors. */
    (void)domain; (void)level; (void)msg; (void)data;
}

void fb_phash_vips_setup(void)
{
    /* Same loader families as fb-prep; everything else is blocked. */
    static const char *const families[] = { "VipsForeignLoadJpeg", "VipsForeignLoadPng",
        "VipsForeignLoadWebp", "VipsForeignLoadTiff", "VipsForeignLoadNsgif", "VipsForeignLoadHeif" };
    vips_operation_block_set("VipsForeignLoad", TRUE);
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        vips_operation_block_set(families[i], FALSE);
    vips_cache_set_max(0);   /* every image is seen once */
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, drop_vips_warning, NULL);
}

const char *fb_photo_format(const char *path)
{
    /* The first bytes decide, before libvips sees the file: asking libvips
     * which loader fits runs every loader's sniffer, and the SVG one hangs
     * on a truncated SVGZ. */
    unsigned char head[64];
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (!fb_prep_format_accepted(fb_prep_sniff(head, n))) return NULL;
    /* An accepted magic number: the photo loaders outrank SVG, ImageMagick
     * and the rest, so this search stops at one of them. */
    const char *loader = vips_foreign_find_load(path);
    if (!loader) {
        vips_error_clear();
        return NULL;
    }
    for (size_t i = 0; i < sizeof allowed_loaders / sizeof allowed_loaders[0]; i++)
        if (strcmp(loader, allowed_loaders[i].loader) == 0) return allowed_loaders[i].format;
    return NULL;
}

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

/* GRAYxGRAY grayscale doubles from an image file, EXIF orientation applied. */
static int load_gray(const char *path, double *out, char *err, size_t errlen)
{
    VipsImage *thumb = NULL, *flat = NULL, *gray = NULL, *dbl = NULL;
    int rc = -1;
    /* vips_thumbnail shrinks on load (fast for big JPEGs) and autorotates. */
    if (vips_thumbnail(path, &thumb, GRAY, "height", GRAY, "size", VIPS_SIZE_FORCE, NULL)) goto done;
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
    if (rc) {
        const char *msg = vips_error_buffer();
        snprintf(err, errlen, "%s", *msg ? msg : "cannot decode");
        /* vips messages end in a newline; ours must not. */
        size_t len = strlen(err);
        while (len && (err[len - 1] == '\n' || err[len - 1] == ' ')) err[--len] = 0;
        for (char *p = err; *p; p++) if (*p == '\n') *p = ' ';
        vips_error_clear();
    }
    if (dbl) g_object_unref(dbl);
    if (gray) g_object_unref(gray);
    if (flat) g_object_unref(flat);
    if (thumb) g_object_unref(thumb);
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

int fb_phash_file(const char *path, fb_phash *hash, char *err, size_t errlen)
{
    if (!fb_photo_format(path)) {
        snprintf(err, errlen, "not an image fb can read");
        return -1;
    }
    double *gray = malloc(GRAY * GRAY * sizeof *gray);
    if (!gray) { snprintf(err, errlen, "out of memory"); return -1; }
    int rc = load_gray(path, gray, err, errlen);
    if (rc == 0) fb_phash_from_gray128(gray, hash);
    free(gray);
    return rc;
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

/* ---- union-find ---- */

int fb_groups_init(fb_groups *g, size_t n)
{
    g->n = n;
    g->parent = malloc((n ? n : 1) * sizeof *g->parent);
    if (!g->parent) return -1;
    for (size_t i = 0; i < n; i++) g->parent[i] = i;
    return 0;
}

void fb_groups_free(fb_groups *g)
{
    free(g->parent);
    g->parent = NULL;
    g->n = 0;
}

size_t fb_groups_find(fb_groups *g, size_t i)
{
    size_t root = i;
    while (g->parent[root] != root) root = g->parent[root];
    while (g->parent[i] != root) {   /* path compression */
        size_t next = g->parent[i];
        g->parent[i] = root;
        i = next;
    }
    return root;
}

void fb_groups_join(fb_groups *g, size_t a, size_t b)
{
    size_t ra = fb_groups_find(g, a), rb = fb_groups_find(g, b);
    /* The smaller index stays the root, so representatives do not depend on
     * the order pairs were found in. */
    if (ra < rb) g->parent[rb] = ra;
    else if (rb < ra) g->parent[ra] = rb;
}

size_t fb_groups_join_phash(fb_groups *g, const fb_phash *hash,
                            const unsigned char *has_hash, int maxdist)
{
    size_t pairs = 0;
    if (maxdist < 0) return 0;
    /* All pairs: 1e4 photos are 5e7 comparisons of up to 11 popcounts. */
    for (size_t i = 0; i < g->n; i++) {
        if (!has_hash[i]) continue;
        for (size_t j = i + 1; j < g->n; j++)
            if (has_hash[j] && fb_phash_near(&hash[i], &hash[j], maxdist)) {
                fb_groups_join(g, i, j);
                pairs++;
            }
    }
    return pairs;
}

/* ---- byte identity ---- */

int fb_file_digest(const char *path, uint64_t *size, uint64_t *digest)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    uint64_t h = 0xcbf29ce484222325ULL, n = 0;
    unsigned char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < got; i++) {
            h ^= buf[i];
            h *= 0x100000001b3ULL;
        }
        n += got;
    }
    int bad = ferror(f);
    int e = errno;
    fclose(f);
    if (bad) { errno = e ? e : EIO; return -1; }
    *size = n;
    *digest = h;
    return 0;
}

int fb_files_identical(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int result = -1;
    if (!fa || !fb) goto done;
    unsigned char ba[65536], bb[65536];
    for (;;) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        if (ferror(fa) || ferror(fb)) goto done;
        if (na != nb || memcmp(ba, bb, na) != 0) { result = 0; goto done; }
        if (na == 0) { result = 1; goto done; }
    }
done:
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return result;
}

typedef struct { uint64_t size, digest; size_t index; } digest_entry;

static int compare_digest_entry(const void *a, const void *b)
{
    const digest_entry *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? -1 : 1;
    if (x->digest != y->digest) return x->digest < y->digest ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

size_t fb_groups_join_identical(fb_groups *g, char *const *paths, const uint64_t *size,
                                const uint64_t *digest, const unsigned char *has_digest)
{
    digest_entry *e = malloc((g->n ? g->n : 1) * sizeof *e);
    if (!e) return 0;
    size_t m = 0, pairs = 0;
    for (size_t i = 0; i < g->n; i++)
        if (has_digest[i]) e[m++] = (digest_entry){ size[i], digest[i], i };
    qsort(e, m, sizeof *e, compare_digest_entry);
    for (size_t i = 0; i < m; ) {
        size_t j = i + 1;
        while (j < m && e[j].size == e[i].size && e[j].digest == e[i].digest) j++;
        /* Same digest: confirm byte by byte against the run's first file. */
        for (size_t k = i + 1; k < j; k++)
            if (fb_files_identical(paths[e[i].index], paths[e[k].index]) == 1) {
                fb_groups_join(g, e[i].index, e[k].index);
                pairs++;
            }
        i = j;
    }
    free(e);
    return pairs;
}
