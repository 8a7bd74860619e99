/* Writes the fuzz targets' seed corpus: small valid inputs of each reader, and
 * nearly valid ones (cut short, one byte changed), made with fb's own writers
 * (and libvips for the images), so that the fuzzers start inside each format.
 *   fuzz-seeds DIR       writes DIR/corpus/TARGET/NAME
 * `make fuzz-corpus` runs it over tests/fuzz; the files are committed. */
#include "fb/backbone.h"
#include "fb/dataset.h"
#include "fb/head.h"
#include "fb/stream.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <vips/vips.h>
#include <zlib.h>

static const char *root;

static void die(const char *what)
{
    fprintf(stderr, "fuzz-seeds: %s\n", what);
    exit(1);
}

static void mkdirs(const char *sub)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, sub);
    for (char *p = path + 1; *p; p++)
        if (*p == '/') { *p = 0; mkdir(path, 0755); *p = '/'; }
    if (mkdir(path, 0755) != 0 && errno != EEXIST) die(path);
}

static void put(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    mkdirs(dir);
    snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) die(path);
}

/* The file, then nearly valid ones: the first half, and one byte changed in
 * the middle. */
static void put_variants(const char *dir, const char *name, const unsigned char *data, size_t len)
{
    char n[256];
    put(dir, name, data, len);
    snprintf(n, sizeof n, "%s-half", name);
    put(dir, n, data, len / 2);
    unsigned char *flip = malloc(len);
    memcpy(flip, data, len);
    flip[len / 2] ^= 0x5a;
    snprintf(n, sizeof n, "%s-flip", name);
    put(dir, n, flip, len);
    free(flip);
}

/* ---- streams ---- */

static void stream_segment(FILE *f, fb_dtype dtype, int rank, const uint32_t *dims,
                           const char *const *classes, int nclasses, int compress, int nrec)
{
    fb_header h;
    fb_header_init(&h, dtype, rank, dims);
    for (int i = 0; i < nclasses; i++) fb_header_add_class(&h, classes[i]);
    fb_prov_set(&h.provenance, "model", "fuzz-seed");
    char err[256];
    fb_writer *w = fb_writer_open(f, &h, compress, err, sizeof err);
    if (!w) die(err);
    size_t n = fb_header_count(&h), bytes = n * fb_dtype_size(dtype);
    unsigned char *data = calloc(1, bytes);
    for (int r = 0; r < nrec; r++) {
        for (size_t i = 0; i < n; i++) {
            if (dtype == FB_F32) ((float *)data)[i] = (float)(r + 1) * 0.25f - (float)i;
            else data[i] = (unsigned char)(17 * r + i);
        }
        char id[64];
        snprintf(id, sizeof id, "photos/%s/%d.jpg", nclasses ? classes[r % nclasses] : "x", r);
        int label = nclasses && r != 1 ? r % nclasses : FB_NO_LABEL;
        if (fb_writer_put_grouped(w, id, label, r == 2 ? 7u : FB_NO_GROUP, data) != 0)
            die(fb_writer_error(w));
    }
    if (fb_writer_close(w) != 0) die("cannot close a stream");
    free(data);
    fb_header_free(&h);
}

static void streams(void)
{
    const char *two[] = { "cat", "dog" }, *three[] = { "dog", "fox", "cat" };
    const uint32_t img[3] = { 4, 3, 3 }, feat[1] = { 8 };
    struct { const char *name; fb_dtype t; int rank; const uint32_t *dims; int segs, compress; } s[] = {
        { "u8-images", FB_U8, 3, img, 1, 0 },
        { "u8-zlib", FB_U8, 3, img, 1, 6 },
        { "f32-features", FB_F32, 1, feat, 1, 0 },
        { "f32-two-segments", FB_F32, 1, feat, 2, 1 },
    };
    for (size_t k = 0; k < sizeof s / sizeof s[0]; k++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        stream_segment(f, s[k].t, s[k].rank, s[k].dims, two, 2, s[k].compress, 4);
        if (s[k].segs == 2) stream_segment(f, s[k].t, s[k].rank, s[k].dims, three, 3, 0, 3);
        fclose(f);
        put_variants("corpus/stream", s[k].name, (unsigned char *)buf, len);
        free(buf);
    }
    /* No classes, no records. */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    stream_segment(f, FB_F32, 1, feat, NULL, 0, 0, 0);
    fclose(f);
    put("corpus/stream", "empty-segment", buf, len);
    free(buf);
}

/* ---- head.bin ---- */

static void put_head(fb_head *h, const char *name)
{
    for (size_t i = 0; i < h->nparams; i++) h->params[i] = (float)((int)(i % 7) - 3) / 8;
    unsigned char *buf;
    size_t len;
    if (fb_head_serialize(h, &buf, &len) != 0) die("cannot serialise a head");
    put_variants("corpus/head", name, buf, len);
    free(buf);
    fb_head_free(h);
}

static void heads(void)
{
    const char *names[] = { "cat", "dog", "fox" };
    fb_head h;
    if (fb_head_init(&h, 4, 2, names, 0, NULL, 0, "model=fuzz-seed\n")) die("no memory");
    h.threshold = 0.5f;
    put_head(&h, "linear-two");
    int hidden[2] = { 5, 3 };
    if (fb_head_init(&h, 6, 3, names, 2, hidden, 0.25f, "model=fuzz-seed\n")) die("no memory");
    h.norm = FB_NORM_SQRT | FB_NORM_L2 | FB_NORM_STD;
    h.norm_mean = calloc(6, sizeof(float));
    h.norm_inv_std = malloc(6 * sizeof(float));
    for (int i = 0; i < 6; i++) h.norm_inv_std[i] = 1.0f + (float)i;
    put_head(&h, "hidden-norm");
    if (fb_head_init(&h, 3, 3, names, 0, NULL, 0, "")) die("no memory");
    fb_reject *r = &h.reject;
    r->k = 1; r->d = 3; r->n = 4; r->rate = 0.05f; r->cut = 0.5f;
    r->points = calloc(4 * 3, sizeof(float));
    r->loo = malloc(4 * sizeof(float));
    for (int i = 0; i < 4; i++) { r->loo[i] = 0.1f * (float)i; r->points[3 * i + i % 3] = 1; }
    put_head(&h, "reject");

    /* Known to fail until issue 17's head-allocation fix is merged: a valid
     * CRC over a header whose shape asks for 2^46 bytes of parameters. */
    unsigned char k[FB_HEAD_HEADER_SIZE + 12 + 12 + 16 + 3 * 6] = { 0 };
    memcpy(k, FB_HEAD_MAGIC, 8);
    uint32_t v32[] = { 1, FB_HEAD_HEADER_SIZE };
    memcpy(k + 8, v32, 8);
    uint64_t payload = sizeof k - FB_HEAD_HEADER_SIZE;
    memcpy(k + 16, &payload, 8);
    uint32_t shape[3] = { 1u << 24, 1u << 20, 0 };
    memcpy(k + FB_HEAD_HEADER_SIZE, shape, sizeof shape);
    uint32_t crc = (uint32_t)crc32(0L, k + FB_HEAD_HEADER_SIZE, (unsigned)payload);
    memcpy(k + 24, &crc, 4);
    put("corpus/head", "huge-shape", k, sizeof k);
}

/* ---- weights files ---- */

static void le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* A weights file of tensors with the given (kh, kw, cin, cout) and labels. */
static void put_weights(const char *name, int ntensors, const int (*shape)[4], int nlabels,
                        const char *const *labels)
{
    size_t size = 64 + ((size_t)ntensors * 64 + 63) / 64 * 64;
    for (int t = 0; t < ntensors; t++) {
        size_t nw = (size_t)shape[t][0] * shape[t][1] * shape[t][2] * shape[t][3];
        size += (nw * 4 + 63) / 64 * 64 + ((size_t)shape[t][3] * 4 + 63) / 64 * 64;
    }
    for (int i = 0; i < nlabels; i++) size += strlen(labels[i]) + 1;
    unsigned char *b = calloc(1, size);
    memcpy(b, FB_WEIGHTS_MAGIC, 8);
    le(b + 8, FB_WEIGHTS_VERSION, 4);
    le(b + 12, FB_WEIGHTS_HEADER_SIZE, 4);
    le(b + 16, size - 64, 8);
    le(b + 28, (uint64_t)ntensors, 4);
    le(b + 32, (uint64_t)nlabels, 4);
    memcpy(b + 36, "fuzz-seed", 9);
    size_t off = 64 + ((size_t)ntensors * 64 + 63) / 64 * 64;
    for (int t = 0; t < ntensors; t++) {
        unsigned char *e = b + 64 + 64 * (size_t)t;
        snprintf((char *)e, FB_WEIGHTS_NAME_MAX, "conv%d", t + 1);
        for (int i = 0; i < 4; i++) le(e + 40 + 4 * i, (uint64_t)shape[t][i], 4);
        le(e + 56, 1, 4);   /* stride */
        le(e + 60, (uint64_t)(shape[t][0] / 2), 4);   /* pad */
        size_t nw = (size_t)shape[t][0] * shape[t][1] * shape[t][2] * shape[t][3];
        float *w = (float *)(b + off);
        for (size_t i = 0; i < nw; i++) w[i] = (float)i / 16;
        off += (nw * 4 + 63) / 64 * 64 + ((size_t)shape[t][3] * 4 + 63) / 64 * 64;
    }
    for (int i = 0; i < nlabels; i++) {
        memcpy(b + off, labels[i], strlen(labels[i]) + 1);
        off += strlen(labels[i]) + 1;
    }
    le(b + 24, fb_weights_crc(b + 64, size - 64), 4);
    fb_weights w;
    char err[256];
    if (fb_weights_parse(&w, name, b, size, err, sizeof err) != 0) die(err);
    fb_weights_free(&w);
    put_variants("corpus/weights", name, b, size);
    free(b);
}

static void weights(void)
{
    const int one[1][4] = { { 1, 1, 2, 2 } }, two[2][4] = { { 3, 3, 1, 2 }, { 1, 1, 2, 3 } };
    const char *labels[] = { "tench", "goldfish", "great white shark" };
    put_weights("one-tensor", 1, one, 0, NULL);
    put_weights("two-tensors-labels", 2, two, 3, labels);
}

/* ---- lists ---- */

static void lists(void)
{
    const char *l[][2] = {
        { "labelled", "cat\tphotos/cat/1.jpg\ndog\tphotos/dog/2.jpg\n" },
        { "groups", "cat\tphotos/cat/1.jpg\tgroup=1\ncat\tphotos/cat/1b.jpg\tgroup=1\n"
                    "dog\tphotos/dog/2.jpg\tgroup=4294967295\n" },
        { "unlabelled", "photos/a.jpg\n/abs/b c.png\n\n" },
        { "crlf-mixed", "cat\tphotos/cat/1.jpg\r\nphotos/x.jpg\r\ndog\tp\tq\tgroup=0\n" },
        { "odd-groups", "cat\tp\tgroup=\ncat\tp\tgroup=01\ncat\tp\tgroup=99999999999\n\tp\nc\t\n" },
    };
    for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
        put("corpus/lists", l[i][0], l[i][1], strlen(l[i][1]));
}

/* ---- images: JPEG quality and pHash ---- */

static VipsImage *picture(int w, int h, int bands)
{
    unsigned char *px = malloc((size_t)w * h * bands);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < bands; c++)
                px[((size_t)y * w + x) * bands + c] = (unsigned char)(x * 7 + y * 3 + c * 60 + (x ^ y));
    VipsImage *im = vips_image_new_from_memory_copy(px, (size_t)w * h * bands, w, h, bands,
                                                    VIPS_FORMAT_UCHAR);
    free(px);
    if (!im) die("vips");
    return im;
}

static void save(VipsImage *im, const char *suffix, const char *opts, const char *name,
                 const char *dirs)
{
    char fmt[64];
    snprintf(fmt, sizeof fmt, "%s%s", suffix, opts);
    void *buf = NULL;
    size_t len = 0;
    if (vips_image_write_to_buffer(im, fmt, &buf, &len, NULL)) die(vips_error_buffer());
    char dir[64];
    for (const char *d = dirs; *d; d += strcspn(d, ",") + !!d[strcspn(d, ",")]) {
        snprintf(dir, sizeof dir, "corpus/%.*s", (int)strcspn(d, ","), d);
        put(dir, name, buf, len);
    }
    g_free(buf);
}

static void images(void)
{
    VipsImage *rgb = picture(24, 16, 3), *gray = picture(16, 16, 1), *rgba = picture(12, 20, 4);
    save(rgb, ".jpg", "[Q=10]", "q10.jpg", "jpegq");
    save(rgb, ".jpg", "[Q=50]", "q50.jpg", "jpegq,phash");
    save(rgb, ".jpg", "[Q=95,interlace]", "q95-progressive.jpg", "jpegq,phash");
    save(gray, ".jpg", "[Q=75]", "gray.jpg", "jpegq,phash");
    save(rgb, ".jpg", "[Q=100,strip]", "q100.jpg", "jpegq");
    save(rgb, ".png", "", "rgb.png", "phash");
    save(rgba, ".png", "", "alpha.png", "phash");
    save(rgb, ".gif", "", "rgb.gif", "phash");
    save(rgb, ".webp", "[Q=50]", "rgb.webp", "phash");
    save(gray, ".tif", "", "gray.tif", "phash");
    g_object_unref(rgb);
    g_object_unref(gray);
    g_object_unref(rgba);
    /* Markers only: SOI, a 16-bit DQT of table 1 then table 0, SOS. */
    unsigned char j[4 + 4 + 2 * (1 + 128) + 4];
    size_t n = 0;
    j[n++] = 0xFF; j[n++] = 0xD8; j[n++] = 0xFF; j[n++] = 0xDB;
    j[n++] = 0; j[n++] = (unsigned char)(2 + 2 * 129);
    for (int t = 1; t >= 0; t--) {
        j[n++] = (unsigned char)(0x10 | t);
        for (int k = 0; k < 64; k++) { j[n++] = 0; j[n++] = (unsigned char)(2 + k); }
    }
    j[n++] = 0xFF; j[n++] = 0xDA; j[n++] = 0; j[n++] = 2;
    put("corpus/jpegq", "dqt16-markers", j, n);
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: fuzz-seeds DIR\n"); return 2; }
    root = argv[1];
    if (VIPS_INIT(argv[0])) die("cannot start libvips");
    streams();
    heads();
    weights();
    lists();
    images();
    vips_shutdown();
    return 0;
}
