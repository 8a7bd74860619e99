/* Variants of a photo (fb-prep --augment, --tta): the random transform of
 * each, drawn from the seed and the photo's id, and its rendering.
 *
 * The crop is resampled from the decoded source with the pipeline's own
 * antialiasing resampler (one step, as the original's resize: cropping the
 * 224×224 output and enlarging it would blur); the colour jitter, the flip
 * and the rotation are libvips operations (vips_recomb + vips_linear,
 * vips_flip, vips_affine) on the size×size result, computed in this thread
 * (fb_photo_pixels), so that the bytes do not depend on threads. */
#include "fb/photo.h"
#include "fb/core.h"
#include "prep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fb_prep_outputs(const fb_prep_opts *o)
{
    return 1 + (o->augment > 0 ? o->augment : 0) + (o->tta_flip ? 1 : 0);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* splitmix64's finaliser: every input bit moves every output bit. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Uniform in [lo, hi). */
static double uniform(fb_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * fb_rng_uniform(r);
}

void fb_augment_draw(const char *id, uint64_t seed, int variant, const double box[4], fb_augment *a)
{
    fb_rng r;
    fb_rng_seed(&r, mix(mix(fnv1a(id) ^ seed) ^ (uint64_t)variant));
    /* Every parameter is drawn, in this order, whatever the others are, so
     * that changing one range leaves the others' draws alone. */
    double area = uniform(&r, FB_AUG_SCALE_MIN, 1.0);
    double aspect = exp(uniform(&r, log(FB_AUG_ASPECT_MIN), log(FB_AUG_ASPECT_MAX)));
    double ux = fb_rng_uniform(&r), uy = fb_rng_uniform(&r);
    a->flip = (int)fb_rng_below(&r, 2);
    a->angle = uniform(&r, -FB_AUG_ROTATE, FB_AUG_ROTATE);
    a->brightness = uniform(&r, 1 - FB_AUG_JITTER, 1 + FB_AUG_JITTER);
    a->contrast = uniform(&r, 1 - FB_AUG_JITTER, 1 + FB_AUG_JITTER);
    a->saturation = uniform(&r, 1 - FB_AUG_JITTER, 1 + FB_AUG_JITTER);
    double bw = box[2] - box[0], bh = box[3] - box[1];
    double cw = bw * sqrt(area * aspect), ch = bh * sqrt(area / aspect);
    if (cw > bw) cw = bw;   /* a wide box's full width: the crop is as wide as it can be */
    if (ch > bh) ch = bh;
    a->box[0] = box[0] + ux * (bw - cw);
    a->box[1] = box[1] + uy * (bh - ch);
    a->box[2] = a->box[0] + cw;
    a->box[3] = a->box[1] + ch;
}

void fb_augment_flip(const double box[4], fb_augment *a)
{
    memcpy(a->box, box, sizeof a->box);
    a->flip = 1;
    a->angle = 0;
    a->brightness = a->contrast = a->saturation = 1;
}

uint32_t fb_augment_group(const char *path, uint32_t group)
{
    return group ? group : 0x80000000u | (uint32_t)(fnv1a(path) & 0x7fffffffu);
}

void fb_augment_describe(const fb_prep_opts *o, char *buf, size_t len)
{
    size_t used = 0;
    if (len) buf[0] = 0;
    if (o->augment > 0)
        used += snprintf(buf, len, "%d random, seed %llu: crop area %g-1 aspect %g-%g, flip 1/2, "
                         "rotate %g deg, brightness contrast saturation %g",
                         o->augment, (unsigned long long)o->seed, FB_AUG_SCALE_MIN,
                         FB_AUG_ASPECT_MIN, FB_AUG_ASPECT_MAX, FB_AUG_ROTATE, FB_AUG_JITTER);
    if (o->tta_flip && used < len)
        snprintf(buf + used, len - used, "%sflip", used ? "; " : "");
}

void fb_augment_suffix(const fb_prep_opts *o, int variant, char *buf, size_t len)
{
    if (o->tta_flip && variant == fb_prep_outputs(o) - 1) snprintf(buf, len, "#flip");
    else snprintf(buf, len, "#aug%d", variant);
}

/* Mean Rec. 601 luma of size×size RGB: the grey contrast pulls towards. */
static double mean_luma(const uint8_t *img, int size)
{
    double sum = 0;
    for (size_t i = 0; i < (size_t)size * size; i++)
        sum += 0.299 * img[3 * i] + 0.587 * img[3 * i + 1] + 0.114 * img[3 * i + 2];
    return sum / ((double)size * size);
}

/* Brightness b, contrast c (towards the mean luma m), saturation s (towards
 * each pixel's luma) compose into one affine map of RGB:
 *   out = c·b·S·x + (1 - c)·b·m,  S = s·I + (1 - s)·1·wᵀ  (S·1 = 1: w sums to 1).
 * 3×3 matrix into mat, offset returned. */
static double colour_map(const fb_augment *a, double m, double mat[9])
{
    static const double w[3] = { 0.299, 0.587, 0.114 };
    double s = a->saturation, cb = a->contrast * a->brightness;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            mat[3 * i + j] = cb * ((i == j ? s : 0) + (1 - s) * w[j]);
    return (1 - a->contrast) * a->brightness * m;
}

/* Colour, flip, rotation of the size×size RGB img in place, with libvips. */
static int transform(uint8_t *img, int size, const fb_augment *a, char *err, size_t errlen)
{
    int colour = a->brightness != 1 || a->contrast != 1 || a->saturation != 1;
    if (!colour && !a->flip && a->angle == 0) return 0;
    size_t bytes = (size_t)size * size * 3;
    VipsImage *base = vips_image_new();
    VipsImage **t = (VipsImage **)vips_object_local_array(VIPS_OBJECT(base), 8);
    int rc = -1;
    VipsImage *x = t[0] = vips_image_new_from_memory(img, bytes, size, size, 3, VIPS_FORMAT_UCHAR);
    if (!x) goto out;
    if (colour) {
        double mat[9];
        double offset = colour_map(a, mean_luma(img, size), mat);
        if (!(t[1] = vips_image_new_matrix_from_array(3, 3, mat, 9)) ||
            vips_recomb(x, &t[2], t[1], NULL) ||
            /* vips_linear's uchar output truncates: +0.5 rounds */
            vips_linear1(t[2], &t[3], 1.0, offset + 0.5, "uchar", TRUE, NULL)) goto out;
        x = t[3];
    }
    if (a->flip) {
        if (vips_flip(x, &t[4], VIPS_DIRECTION_HORIZONTAL, NULL)) goto out;
        x = t[4];
    }
    if (a->angle != 0) {
        /* vips_affine fills what lies outside its input with the background:
         * the edge is first repeated outwards far enough for the corners (a
         * square turned by at most 45 degrees needs 0.21 of its side). */
        int margin = size / 4 + 2;
        if (vips_embed(x, &t[5], margin, margin, size + 2 * margin, size + 2 * margin,
                       "extend", VIPS_EXTEND_COPY, NULL)) goto out;
        /* Output = R·input + d, the embedded centre m onto the output's c;
         * y points down, so this matrix turns the picture counter-clockwise
         * as seen. */
        double r = a->angle * M_PI / 180, cs = cos(r), sn = sin(r);
        double c = (size - 1) / 2.0, m = c + margin;
        VipsArrayInt *area = vips_array_int_newv(4, 0, 0, size, size);
        int bad = vips_affine(t[5], &t[6], cs, sn, -sn, cs, "oarea", area,
                              "odx", c - (cs + sn) * m, "ody", c - (cs - sn) * m, NULL);
        vips_area_unref(VIPS_AREA(area));
        if (bad) goto out;
        x = t[6];
    }
    uint8_t *px = fb_photo_pixels(x);
    if (px) {
        memcpy(img, px, bytes);
        free(px);
        rc = 0;
    }
out:
    if (rc) fb_photo_take_vips_error(err, errlen, "cannot transform the variant");
    g_object_unref(base);
    return rc;
}

int fb_augment_render(const uint8_t *rgb, int w, int h, size_t stride, int orientation,
                      const fb_prep_opts *o, const fb_augment *a, uint8_t *out,
                      char *err, size_t errlen)
{
    int s = o->size;
    double box[4];
    int at[4];
    fb_prep_geometry(w, h, s, o->policy, box, at);
    if (at[2] != s || at[3] != s)   /* pad: the background shows */
        for (size_t i = 0; i < (size_t)s * s; i++) memcpy(out + 3 * i, o->background, 3);
    if (fb_prep_resample(rgb, w, h, stride, a->box, out + ((size_t)at[1] * s + at[0]) * 3,
                         at[2], at[3], (size_t)s * 3, o->kernel) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fb_prep_orient(out, s, orientation);
    return transform(out, s, a, err, errlen);
}
