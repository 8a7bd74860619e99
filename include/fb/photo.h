/* lib/photo: one photo file in, pixels or a hash out.  The lowest of the
 * photo areas: it uses neither fb/dataset.h nor fb/audit.h.
 *
 *   - THE loader allowlist: which formats fb opens (by their first bytes,
 *     never by name) and which libvips loaders may ever run;
 *   - libvips set-up, for the decoder processes of the tools that hash
 *     (fb-split, fb-audit) and of fb-prep;
 *   - decoder processes: any per-file job run in child processes that are
 *     killed and replaced when a file hangs or crashes them;
 *   - fb-prep's pipeline: sniff, decode, orient, colour-convert and resize
 *     one photo into size×size×3 uint8 RGB (HWC), and a pool of decoder
 *     processes that does this for many files in input order;
 *   - the perceptual hash (pHash) of an image.
 *
 * Decoding runs in child processes because a decoder library can abort,
 * corrupt its heap or spin forever on a hostile file; a child that dies or
 * overruns its time is killed, the file is reported, and a new child
 * takes over.  See man/fb-prep.1.
 *
 * Nothing here prints, exits or reads the environment: errors come back as
 * -1/NULL with a message in err, and what the environment says
 * ($VIPSHOME, $FB_PREP_SIMD) the tool passes in.  (Only fb-prep's decoder
 * processes set VIPSHOME, around vips_init, which has no other way to be
 * told to skip its modules; see lib/photo/allowlist.h.)
 */
#ifndef FB_PHOTO_H
#define FB_PHOTO_H

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
    const char *vipshome;         /* the caller's $VIPSHOME (libvips' install
                                     prefix, where its modules are), NULL when
                                     unset: then found beside libvips itself */
    int augment;                  /* random variants per photo besides the
                                     original (fb-prep --augment), 0 none */
    int tta_flip;                 /* 1: the photo's horizontal flip after it
                                     (fb-prep --tta) */
    uint64_t seed;                /* draws the variants with each photo's id */
    /* Re-encoding (fb-prep --reencode): when reencode_quality is 1..100,
     * each photo, decoded to sRGB, is first resized so its shorter side is
     * reencode_side pixels (0: size), saved as a JPEG of that quality and
     * decoded again: every photo then carries one pixel size and one JPEG
     * quality, whatever camera or site it came from, and classes that
     * differed in those (fb-audit's shortcut) no longer do.  0: off. */
    int reencode_quality, reencode_side;
} fb_prep_opts;

/* "Q" or "Q:SIDE" (Q 1..100, SIDE 8..4096) -> quality and side (0 when not
 * given).  0 ok, -1 when the text is not valid. */
int fb_prep_parse_reencode(const char *s, int *quality, int *side);

/* Images whose header declares more pixels are refused by every tool that
 * decodes (fb-prep's default --max-pixels; fb-audit and fb-split hash under
 * the same limit). */
#define FB_PHOTO_MAX_PIXELS 100e6

/* Defaults: 224, squash, linear kernel, white, FB_PHOTO_MAX_PIXELS, no VIPSHOME,
 * no variants, no re-encoding. */
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
/* The allowlist: 1 for the accepted formats (JPEG .. HEIF above), 0 for
 * every other, recognised or not.  Only the libvips loaders of these
 * formats are ever unblocked: libvips 8.14 has loaders that crash or hang
 * on hostile files (JPEG 2000, SVGZ). */
int fb_prep_format_accepted(fb_image_format f);
/* "JPEG, PNG, WebP, TIFF, GIF, HEIF/AVIF" */
const char *fb_prep_accepted_list(void);

/* Short format name ("jpeg", "png", "webp", "tiff", "gif", "heif") when the
 * file's first bytes are an accepted format (fb_prep_sniff), else NULL: the
 * first bytes alone decide, as for fb-prep, whose loader for that format
 * then opens it. */
const char *fb_photo_format(const char *path);

/* ---- libvips set-up ---- */
/* For fb-split's and fb-audit's decoder processes (and fb-audit's contact
 * sheet, drawn after its decoders are done): starts libvips, blocks every loader but the allowed ones,
 * turns the operation cache off and keeps libvips warnings (which name no
 * file) off stderr.  0 ok, -1 with a message in err. */
int  fb_photo_vips_start(const char *argv0, char *err, size_t errlen);
void fb_photo_vips_stop(void);
/* (fb-prep's decoder processes set libvips up their own way, inside
 * lib/photo: see allowlist.h.) */

/* ---- variants of a photo: augmentation and test-time augmentation ----
 * A variant is the photo drawn again through a random transform, each
 * parameter uniform in its range (the aspect log-uniform):
 *   random resized crop: a box of FB_AUG_SCALE_MIN..1 of the area the resize
 *     policy takes, its aspect that area's times FB_AUG_ASPECT_MIN..MAX,
 *     anywhere inside it, resampled to the output like the original;
 *   horizontal flip with probability 1/2;
 *   rotation by -FB_AUG_ROTATE..FB_AUG_ROTATE degrees about the centre,
 *     corners filled by repeating the edge (Keras' fill_mode "nearest");
 *   brightness, contrast and saturation each scaled by 1 ± FB_AUG_JITTER
 *     (torchvision's ColorJitter, in that order).
 * The parameters come from the seed, the photo's id (its path) and the
 * variant's number only, so a run gives the same bytes whatever the number
 * of decoder processes.  --tta's variant is the plain horizontal flip. */
#define FB_AUG_SCALE_MIN 0.5
#define FB_AUG_ASPECT_MIN 0.75
#define FB_AUG_ASPECT_MAX (4.0 / 3.0)
#define FB_AUG_ROTATE 10.0
#define FB_AUG_JITTER 0.2

typedef struct {
    double box[4];           /* source box {x0, y0, x1, y1} to resample */
    int flip;                /* mirror left-right */
    double angle;            /* degrees, counter-clockwise */
    double brightness, contrast, saturation;   /* factors, 1 = unchanged */
} fb_augment;

/* Images fb_prep_image writes per photo: 1 + augment + tta_flip. */
int fb_prep_outputs(const fb_prep_opts *o);
/* Variant number variant (1..) of the photo `id`: its random transform of
 * the policy's source box `box` (fb_prep_geometry's). */
void fb_augment_draw(const char *id, uint64_t seed, int variant, const double box[4],
                     fb_augment *a);
/* The transform --tta adds: the whole box, mirrored. */
void fb_augment_flip(const double box[4], fb_augment *a);
/* The same-photo group a photo's variants share: its own when it has one,
 * else 2^31 + its path's FNV-1a digest mod 2^31 (fb-split numbers its
 * groups from 1 up, so the two never meet in practice).  Never 0. */
uint32_t fb_augment_group(const char *path, uint32_t group);
/* Describes o's variants for the stream's provenance ("augment" key);
 * "" when there are none. */
void fb_augment_describe(const fb_prep_opts *o, char *buf, size_t len);
/* Variant number variant's id suffix: "#aug3", or "#flip" for --tta's. */
void fb_augment_suffix(const fb_prep_opts *o, int variant, char *buf, size_t len);

/* ---- one image, in this process ---- */

/* Decodes path into out (size*size*3 bytes), then its variants after it
 * (fb_prep_outputs(o) images in all: the original, the augment random
 * variants drawn with path as the id, the flip).  0 ok; -1 with a one-line
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
/* The fastest resampling variant this CPU has is used unless capped:
 * 0 scalar, 1 SSE2, 2 AVX2 (the unit tests check they all agree; fb-prep
 * passes $FB_PREP_SIMD).  -1 (the default) = no cap.  Set before
 * fb_prep_run: the decoder processes inherit it. */
void fb_prep_simd_cap(int level);
/* "0", "sse2", "avx2" -> 0, 1, 2; anything else -1 (no cap). */
int  fb_prep_simd_parse(const char *s);
/* Turns a size×size RGB square by EXIF orientation (1..8) in place. */
void fb_prep_orient(uint8_t *img, int size, int orientation);

/* ---- any per-file job, in decoder processes ----
 * A job is a function run in a child process for one path: it writes
 * result_size bytes (plain data: no pointers, they would mean nothing in
 * the parent) or gives a one-line reason.  `jobs` processes run it; a file
 * that takes over `timeout` seconds has its process killed ("gave up after
 * T s (--timeout): the decoder hung"), one whose process dies is named
 * ("the decoder crashed on this file (signal N, ...)"), a new process takes
 * over and the run goes on.  The calling process must not have started
 * libvips (fork keeps none of its threads): `start` does that in each
 * child.  fb-prep's pixels, fb-audit's inspection and fb-split's pHash all
 * run this way. */
typedef struct {
    int (*start)(void *ctx);   /* once in each new process, before its first
                                  file; non-zero: it cannot work (NULL: none) */
    int (*run)(void *ctx, const char *path, void *result, char *reason, size_t reasonlen);
                               /* 0 with the result written, -1 with a reason */
    void *ctx;                 /* for start and run, in the children */
    size_t result_size;
    int jobs;                  /* processes, 1..64 */
    double timeout;            /* seconds a file may take */
} fb_decoder_job;

/* Called in input order for each path: the result bytes, or NULL and a
 * reason.  Return 0 to go on, non-zero to stop the run. */
typedef int (*fb_decoder_sink)(void *ctx, size_t index, const void *result, const char *reason);

/* Runs job on paths[0..n) in decoder processes; sink in input order.
 * Returns 0 when every file was handed to the sink, 1 when the sink stopped
 * the run, -1 on a system error (message in err). */
int fb_decoders_run(const fb_decoder_job *job, const char *const *paths, size_t n,
                    fb_decoder_sink sink, void *ctx, char *err, size_t errlen);

/* What the tools that hash photos (fb-audit, fb-split) give their decoder
 * processes. */
typedef struct {
    int jobs;                  /* decoder processes (-j) */
    double timeout;            /* --timeout, seconds */
    double max_pixels;         /* --max-pixels: refuse images whose header declares more */
    const char *argv0;         /* for libvips' start */
} fb_decode_limits;

/* Every decoding tool's default --timeout, seconds. */
#define FB_DECODE_TIMEOUT 30.0

/* ---- many images, in decoder processes ---- */
/* Called in input order for each path: pixels on success (fb_prep_outputs
 * images one after the other: the photo, then its variants), else NULL and a
 * reason.  Return 0 to go on, non-zero to stop the run. */
typedef int (*fb_prep_sink)(void *ctx, size_t index, const uint8_t *pixels,
                            const char *reason);

/* Decodes paths[0..n) with `jobs` decoder processes (fb_decoders_run),
 * giving each file at most timeout seconds.  Calls sink in input order.  Returns 0 when every
 * file was handed to the sink, 1 when the sink stopped the run, -1 on a
 * system error (message in err). */
int fb_prep_run(const fb_prep_opts *o, int jobs, double timeout,
                const char *const *paths, size_t n,
                fb_prep_sink sink, void *ctx, char *err, size_t errlen);

/* ---- the perceptual hash ----
 * Autorotate (EXIF orientation), shrink to 128x128 grayscale (aspect
 * ignored), area-average to 32x32, 2-D DCT, keep the 8x8 lowest frequencies
 * except row and column 0, one bit per coefficient: above the median or not.
 * Re-encoding, resizing and small crops change few bits; different photos
 * differ in about half of them.  Files need fb_photo_vips_start. */

/* Hamming distance at or below which two pHashes are near-duplicates.
 * Tuned on dogfacenet (see man/fb-audit.1). */
#define FB_PHASH_DEFAULT_MAXDIST 8

/* A photo's hashes: the whole frame, and five crops (centre and corners,
 * FB_PHASH_CROP_SIDE of each side) so that a copy cropped by a few percent
 * still matches.  All from one 128x128 grayscale thumbnail. */
#define FB_PHASH_CROPS 5
#define FB_PHASH_CROP_SIDE 0.92
typedef struct {
    uint64_t full;
    uint64_t crop[FB_PHASH_CROPS];
} fb_phash;

/* Hashes of the image file.  0 ok; -1 with a message in err.  As fb-prep
 * decodes: an image whose header declares more than max_pixels is refused
 * unread, and truncated or damaged data (for JPEG, any libjpeg warning)
 * fails the file.  In this process: tools run it in decoder processes. */
int fb_phash_file(const char *path, double max_pixels, fb_phash *hash, char *err, size_t errlen);
/* The same from the file's bytes in memory (the fuzz target's way in): the
 * first bytes must be an accepted format (fb_prep_sniff); the default pixel
 * limit, FB_PHOTO_MAX_PIXELS. */
int fb_phash_buffer(const void *data, size_t len, fb_phash *hash, char *err, size_t errlen);
/* Hashes of 128x128 grayscale pixels (row-major, any scale). */
void fb_phash_from_gray128(const double *gray, fb_phash *hash);

/* pHash of 32x32 grayscale pixels (row-major, any scale). */
uint64_t fb_phash_pixels(const double pixels[32 * 32]);

/* The same photo: the whole frames, or a crop of one and the whole of the
 * other, at most maxdist bits apart.  maxdist < 0: never. */
int fb_phash_near(const fb_phash *a, const fb_phash *b, int maxdist);

int fb_hamming(uint64_t a, uint64_t b);

#endif
