/* Test fixture maker for tests/prep.bats: writes small images with known
 * pixels, in the colour space, depth, alpha, orientation and page count a
 * test needs.
 *   prep-mkimg [flags] PATTERN WxH OUT
 * PATTERN: solid:R,G,B | halves (left red, right blue) |
 *          quadrants (top-left red, top-right green, bottom-left blue, bottom-right white)
 * flags: --orientation N   EXIF orientation tag (JPEG, PNG, WebP, TIFF)
 *        --cmyk            CMYK with the built-in CMYK ICC profile (JPEG, TIFF)
 *        --cmyk-bare       CMYK, no profile
 *        --grey            one band
 *        --16bit           16 bits per sample (PNG, TIFF)
 *        --alpha           alpha 0 on the left half, 255 on the right
 *        --frames          two pages: the pattern, then solid black (GIF, TIFF, WebP)
 * The format follows OUT's extension.
 *   prep-mkimg bomb WxH OUT.png
 * writes a PNG that declares WxH pixels but holds almost no data: a
 * decompression bomb as far as its header goes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>
#include <zlib.h>

static VipsImage *pattern(const char *spec, int w, int h)
{
    VipsImage *img;
    uint8_t *p = malloc((size_t)w * h * 3);
    unsigned r = 0, g = 0, b = 0;
    if (strncmp(spec, "solid:", 6) == 0 && sscanf(spec + 6, "%u,%u,%u", &r, &g, &b) != 3) return NULL;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * w + x) * 3;
            uint8_t c[3] = { (uint8_t)r, (uint8_t)g, (uint8_t)b };
            int left = x < w / 2, top = y < h / 2;
            if (strcmp(spec, "halves") == 0) {
                c[0] = left ? 255 : 0; c[1] = 0; c[2] = left ? 0 : 255;
            } else if (strcmp(spec, "quadrants") == 0) {
                static const uint8_t quad[4][3] = { { 255, 0, 0 }, { 0, 255, 0 }, { 0, 0, 255 }, { 255, 255, 255 } };
                memcpy(c, quad[(top ? 0 : 2) + (left ? 0 : 1)], 3);
            } else if (strncmp(spec, "solid:", 6) != 0) {
                return NULL;
            }
            memcpy(q, c, 3);
        }
    img = vips_image_new_from_memory_copy(p, (size_t)w * h * 3, w, h, 3, VIPS_FORMAT_UCHAR);
    free(p);
    return img;
}

static void put_chunk(FILE *f, const char *type, const unsigned char *data, uint32_t n)
{
    unsigned char be[4] = { n >> 24, n >> 16, n >> 8, n };
    fwrite(be, 1, 4, f);
    uLong crc = crc32(crc32(0, (const Bytef *)type, 4), data, n);
    fwrite(type, 1, 4, f);
    fwrite(data, 1, n, f);
    unsigned char c[4] = { crc >> 24, crc >> 16, crc >> 8, crc };
    fwrite(c, 1, 4, f);
}

static int bomb(uint32_t w, uint32_t h, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
    unsigned char ihdr[13] = { w >> 24, w >> 16, w >> 8, w, h >> 24, h >> 16, h >> 8, h, 8, 2, 0, 0, 0 };
    put_chunk(f, "IHDR", ihdr, 13);
    unsigned char raw[64] = { 0 }, z[128];
    uLongf zn = sizeof z;
    compress(z, &zn, raw, sizeof raw);
    put_chunk(f, "IDAT", z, (uint32_t)zn);
    put_chunk(f, "IEND", z, 0);
    return fclose(f) != 0;
}

static void die(const char *what)
{
    fprintf(stderr, "prep-mkimg: %s: %s\n", what, vips_error_buffer());
    exit(1);
}

int main(int argc, char **argv)
{
    if (VIPS_INIT(argv[0])) die("vips_init");
    int orientation = 0, cmyk = 0, bare = 0, grey = 0, deep = 0, alpha = 0, frames = 0, i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--orientation") == 0 && i + 1 < argc) orientation = atoi(argv[++i]);
        else if (strcmp(argv[i], "--cmyk") == 0) cmyk = 1;
        else if (strcmp(argv[i], "--cmyk-bare") == 0) cmyk = bare = 1;
        else if (strcmp(argv[i], "--grey") == 0) grey = 1;
        else if (strcmp(argv[i], "--16bit") == 0) deep = 1;
        else if (strcmp(argv[i], "--alpha") == 0) alpha = 1;
        else if (strcmp(argv[i], "--frames") == 0) frames = 1;
        else { fprintf(stderr, "prep-mkimg: unknown flag %s\n", argv[i]); return 2; }
    }
    int w, h;
    if (argc - i != 3 || sscanf(argv[i + 1], "%dx%d", &w, &h) != 2) {
        fprintf(stderr, "usage: prep-mkimg [flags] PATTERN WxH OUT\n");
        return 2;
    }
    if (strcmp(argv[i], "bomb") == 0) return bomb((uint32_t)w, (uint32_t)h, argv[i + 2]);
    VipsImage *x = pattern(argv[i], w, h), *y;
    if (!x) { fprintf(stderr, "prep-mkimg: bad pattern %s\n", argv[i]); return 2; }
    if (grey) { if (vips_colourspace(x, &y, VIPS_INTERPRETATION_B_W, NULL)) die("grey"); x = y; }
    if (alpha) {
        VipsImage *a, *ramp, *mask, *a8, *joined;
        if (vips_xyz(&ramp, w, h, NULL) || vips_extract_band(ramp, &mask, 0, NULL) ||
            vips_more_const1(mask, &a, w / 2 - 1, NULL) || vips_cast_uchar(a, &a8, NULL) ||
            vips_bandjoin2(x, a8, &joined, NULL)) die("alpha");
        x = joined;
    }
    if (cmyk) {
        if (vips_icc_export(x, &y, "output_profile", "cmyk", NULL)) die("cmyk");
        x = y;
        if (bare) { vips_image_remove(x, VIPS_META_ICC_NAME); }
    }
    if (deep) {
        VipsImage *m;
        VipsInterpretation t = x->Bands >= 3 ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_GREY16;
        if (vips_linear1(x, &m, 257.0, 0.0, NULL) || vips_cast_ushort(m, &y, NULL)) die("16bit");
        if (vips_copy(y, &x, "interpretation", t, NULL)) die("16bit");
    }
    if (frames) {
        VipsImage *black, *pages[2], *stack;
        if (vips_black(&black, w, h, "bands", x->Bands, NULL) || vips_cast(black, &pages[1], x->BandFmt, NULL)) die("frames");
        pages[0] = x;
        if (vips_arrayjoin(pages, &stack, 2, "across", 1, NULL)) die("frames");
        if (vips_copy(stack, &x, "interpretation", pages[0]->Type, NULL)) die("frames");
        vips_image_set_int(x, "page-height", h);
    }
    if (orientation) {
        if (vips_copy(x, &y, NULL)) die("copy");
        x = y;
        vips_image_set_int(x, VIPS_META_ORIENTATION, orientation);
    }
    if (vips_image_write_to_file(x, argv[i + 2], NULL)) die(argv[i + 2]);
    return 0;
}
