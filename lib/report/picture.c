/* Pictures of photos for the report and the contact sheets
 * (include/fb/report.h, "pictures"): what the network saw, recomputed from
 * the path through lib/photo exactly as fb-prep made it; the whole photo as
 * a tile; JPEG and PNG encodings. */
#include "fb/report.h"
#include "fb/stream.h"
#include "fb/core.h"

#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

int fb_pic_opts_from_provenance(const char *prov, fb_prep_opts *o, char *err, size_t errlen)
{
    fb_prep_opts_default(o);
    const char *keys[4] = { "resize", "size", "kernel", "background" };
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++) {
        char *v = fb_prov_get(prov, keys[i]);
        if (!v) {
            snprintf(err, errlen, "the stream's provenance has no '%s' (not made by fb-prep?)", keys[i]);
            return -1;
        }
        char *end;
        long size;
        switch (i) {
        case 0: rc = fb_prep_parse_policy(v, &o->policy); break;
        case 1:
            size = strtol(v, &end, 10);
            rc = (*end || size < 1 || size > 4096) ? -1 : 0;
            o->size = (int)size;
            break;
        case 2: rc = fb_prep_parse_kernel(v, &o->kernel); break;
        case 3: rc = fb_prep_parse_colour(v, o->background); break;
        }
        if (rc) snprintf(err, errlen, "the stream's provenance has %s=%s, which fb-prep does not make",
                         keys[i], v);
        free(v);
    }
    return rc;
}

/* ---- decoding many photos through fb-prep's decoder processes ---- */

typedef struct {
    fb_pic *pics;
    size_t bytes;
    int which;   /* 0: the whole photo, 1: what the network saw */
} sink_ctx;

static int take(void *ctx, size_t index, const uint8_t *pixels, const char *reason)
{
    sink_ctx *s = ctx;
    fb_pic *p = &s->pics[index];
    if (!pixels) {
        if (!p->problem) p->problem = strdup(reason ? reason : "cannot be read");
        return 0;
    }
    uint8_t *copy = malloc(s->bytes);
    if (!copy) return 1;
    memcpy(copy, pixels, s->bytes);
    if (s->which == 0) p->whole = copy;
    else p->seen = copy;
    return 0;
}

int fb_pic_render(const char *const *paths, size_t n, const fb_prep_opts *seen, int tile,
                  const uint8_t background[3], int jobs, fb_pic *pics, char *err, size_t errlen)
{
    memset(pics, 0, n * sizeof *pics);
    fb_prep_opts whole = *seen;
    whole.size = tile;
    whole.policy = FB_RESIZE_PAD;     /* the whole photo, its shape kept */
    memcpy(whole.background, background, 3);
    const fb_prep_opts *opts[2] = { &whole, seen };
    for (int which = 0; which < 2; which++) {
        sink_ctx s = { pics, (size_t)opts[which]->size * opts[which]->size * 3, which };
        /* 30 s a photo, as fb-prep: a photo that hangs the decoder is a placeholder */
        int rc = fb_prep_run(opts[which], jobs, 30, paths, n, take, &s, err, errlen);
        if (rc != 0) {
            if (rc == 1) snprintf(err, errlen, "out of memory");
            fb_pic_free(pics, n);
            return -1;
        }
    }
    return 0;
}

void fb_pic_free(fb_pic *pics, size_t n)
{
    for (size_t i = 0; pics && i < n; i++) {
        free(pics[i].whole);
        free(pics[i].seen);
        free(pics[i].problem);
        memset(&pics[i], 0, sizeof pics[i]);
    }
}

/* ---- encodings ---- */

static void vips_message(char *err, size_t errlen, const char *what)
{
    const char *e = vips_error_buffer();
    size_t n = strcspn(e, "\n");
    snprintf(err, errlen, "%s: %.*s", what, (int)(n < 200 ? n : 200), e);
    vips_error_clear();
}

int fb_pic_encode(const uint8_t *rgb, int w, int h, int side, int quality, int png,
                  void **buf, size_t *len, char *err, size_t errlen)
{
    VipsImage *img = vips_image_new_from_memory(rgb, (size_t)w * h * 3, w, h, 3, VIPS_FORMAT_UCHAR);
    if (!img) { vips_message(err, errlen, "picture"); return -1; }
    VipsImage *out = img;
    if (side > 0 && (w > side || h > side)) {
        /* shrink with antialiasing; never enlarge */
        double scale = (double)side / (w > h ? w : h);
        if (vips_resize(img, &out, scale, "kernel", VIPS_KERNEL_LINEAR, NULL)) {
            g_object_unref(img);
            vips_message(err, errlen, "resizing a picture");
            return -1;
        }
        g_object_unref(img);
    }
    int rc = png ? vips_pngsave_buffer(out, buf, len, "compression", 6, NULL)
                 : vips_jpegsave_buffer(out, buf, len, "Q", quality, "strip", TRUE,
                                        "optimize_coding", TRUE, NULL);
    g_object_unref(out);
    if (rc) { vips_message(err, errlen, png ? "encoding PNG" : "encoding JPEG"); return -1; }
    return 0;
}

char *fb_pic_data_uri(const uint8_t *rgb, int w, int h, int side, int quality, char *err,
                      size_t errlen)
{
    void *buf;
    size_t len;
    if (fb_pic_encode(rgb, w, h, side, quality, 0, &buf, &len, err, errlen)) return NULL;
    gchar *b64 = g_base64_encode(buf, len);
    g_free(buf);
    static const char prefix[] = "data:image/jpeg;base64,";
    size_t n = strlen(b64);
    char *uri = malloc(sizeof prefix + n);
    if (uri) {
        memcpy(uri, prefix, sizeof prefix - 1);
        memcpy(uri + sizeof prefix - 1, b64, n + 1);
    } else {
        snprintf(err, errlen, "out of memory");
    }
    g_free(b64);
    return uri;
}

int fb_pic_write_png(const uint8_t *rgb, int w, int h, const char *path, char *err, size_t errlen)
{
    void *buf;
    size_t len;
    if (fb_pic_encode(rgb, w, h, 0, 0, 1, &buf, &len, err, errlen)) return -1;
    int rc = fb_write_file_atomic(path, buf, len, err, errlen);
    g_free(buf);
    return rc;
}
