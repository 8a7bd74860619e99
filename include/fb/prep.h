/* fb-prep's image pipeline: sniff, decode, orient, colour-convert and resize
 * one photo into size×size×3 uint8 RGB (HWC), and a pool of decoder
 * processes that does this for many files in input order.
 *
 * Decoding runs in child processes because a decoder library can abort,
 * corrupt its heap or spin forever on a hostile file; a child that dies or
 * overruns its time is killed, the file is reported, and a new child
 * takes over.  See man/fb-prep.1.
 */
#ifndef FB_PREP_H
#define FB_PREP_H

#include <stddef.h>
#include <stdint.h>

typedef enum { FB_RESIZE_SQUASH, FB_RESIZE_CROP, FB_RESIZE_PAD } fb_resize_policy;
/* Antialiasing filters: triangle (Pillow's BILINEAR), Catmull-Rom, Lanczos-3. */
typedef enum { FB_KERNEL_LINEAR, FB_KERNEL_CUBIC, FB_KERNEL_LANCZOS3 } fb_prep_kernel;

typedef struct {
    int size;                     /* output is size×size×3 */
    fb_resize_policy policy;
    fb_prep_kernel kernel;
    uint8_t background[3];        /* alpha is flattened onto it; pad fills with it */
    double max_pixels;            /* refuse images whose header declares more */
} fb_prep_opts;

/* Defaults: 224, squash, linear kernel, white, 100 megapixels. */
void fb_prep_opts_default(fb_prep_opts *o);

/* Option parsers; 0 ok, -1 when the text is not valid. */
int fb_prep_parse_policy(const char *s, fb_resize_policy *out);
int fb_prep_parse_kernel(const char *s, fb_prep_kernel *out);
int fb_prep_parse_colour(const char *s, uint8_t rgb[3]);   /* "white", "black", "gray", "R,G,B", "#rrggbb" */
const char *fb_prep_policy_name(fb_resize_policy p);
const char *fb_prep_kernel_name(fb_prep_kernel kernel);

/* ---- formats ---- */
typedef enum {
    FB_FMT_UNKNOWN = 0, FB_FMT_EMPTY,
    /* accepted */
    FB_FMT_JPEG, FB_FMT_PNG, FB_FMT_WEBP, FB_FMT_TIFF, FB_FMT_GIF, FB_FMT_HEIF,
    /* recognised but refused */
    FB_FMT_JPEG2000, FB_FMT_BMP, FB_FMT_SVG, FB_FMT_PDF, FB_FMT_PNM, FB_FMT_GZIP,
    FB_FMT_JXL, FB_FMT_PSD, FB_FMT_ICO, FB_FMT_EXR, FB_FMT_FITS, FB_FMT_VIPS,
} fb_image_format;

/* Identifies a file's format from its first bytes (n of them), never from
 * its name. */
fb_image_format fb_prep_sniff(const unsigned char *head, size_t n);
const char *fb_prep_format_name(fb_image_format f);
int fb_prep_format_accepted(fb_image_format f);
/* "JPEG, PNG, WebP, TIFF, GIF, HEIF/AVIF" */
const char *fb_prep_accepted_list(void);

/* ---- one image, in this process ---- */
/* Initialises libvips for fb-prep's use: only the accepted loaders are
 * left unblocked, no operation cache, one vips thread, no vips modules
 * loaded until a HEIF/AVIF file needs its module; and malloc tuned to
 * reuse large buffers rather than map them anew per image.  0 ok. */
int fb_prep_vips_init(const char *argv0);

/* Decodes path into out (size*size*3 bytes).  0 ok; -1 with a one-line
 * reason in err (no path in it). */
int fb_prep_image(const char *path, const fb_prep_opts *o, uint8_t *out,
                  char *err, size_t errlen);

/* ---- geometry and resampling (no libvips) ---- */
/* For a w×h source: the source box {x0, y0, x1, y1} to resample and where
 * it lands in the size×size output {x, y, width, height}. */
void fb_prep_geometry(int w, int h, int size, fb_resize_policy policy,
                      double box[4], int place[4]);
/* Resamples box of the w×h RGB source (row stride in bytes) to ow×oh RGB
 * at dst, antialiased.  0 ok, -1 no memory. */
int fb_prep_resample(const uint8_t *src, int w, int h, size_t stride,
                     const double box[4], uint8_t *dst, int ow, int oh, size_t dst_stride,
                     fb_prep_kernel kernel);
/* Turns a size×size RGB square by EXIF orientation (1..8) in place. */
void fb_prep_orient(uint8_t *img, int size, int orientation);

/* ---- many images, in decoder processes ---- */
/* Called in input order for each path: pixels on success, else NULL and a
 * reason.  Return 0 to go on, non-zero to stop the run. */
typedef int (*fb_prep_sink)(void *ctx, size_t index, const uint8_t *pixels,
                            const char *reason);

/* Decodes paths[0..n) with `jobs` decoder processes, giving each file at
 * most timeout seconds.  Calls sink in input order.  Returns 0 when every
 * file was handed to the sink, 1 when the sink stopped the run, -1 on a
 * system error (message in err). */
int fb_prep_run(const fb_prep_opts *o, int jobs, double timeout,
                const char *const *paths, size_t n,
                fb_prep_sink sink, void *ctx, char *err, size_t errlen);

#endif
