/* Private to lib/photo: the pieces of the per-image pipeline (prep.c) that
 * the variants (augment.c) and the perceptual hash (phash.c) reuse. */
#ifndef FB_PHOTO_PREP_H
#define FB_PHOTO_PREP_H

#include <stddef.h>
#include <stdint.h>
#include <vips/vips.h>

#include "fb/photo.h"

/* THE way fb opens a photo file, so that fb-prep, fb-audit and fb-split
 * agree on which files are usable.  First the file's bytes: a regular file
 * only, at most what an image of max_pixels can take.  malloc'd; NULL with
 * a reason in err. */
char *fb_photo_read_file(const char *path, double max_pixels, size_t *len, char *err, size_t errlen);
/* Then the image in those bytes: the format the first bytes name
 * (fb_prep_sniff), refused unless on the allowlist; page 0 loaded by that
 * format's own loader (the TIFF one from path when given, else from buf);
 * refused over o->max_pixels by its header; truncated or damaged data fails
 * (for JPEG any libjpeg warning).  JPEG and WebP are shrunk on load as far
 * as o->size, o->policy and o->reencode_* leave room for.  buf must outlive
 * the image.  NULL with a reason in err. */
VipsImage *fb_photo_open_checked(const char *path, const void *buf, size_t len,
                                 const fb_prep_opts *o, char *err, size_t errlen);
/* The 3-band uchar image's pixels (malloc'd, rows packed), computed strip
 * by strip in this thread.  NULL with the vips error set. */
uint8_t *fb_photo_pixels(VipsImage *rgb);
/* vips' error buffer as one line in err (fallback when it is empty); clears it. */
void fb_photo_take_vips_error(char *err, size_t errlen, const char *fallback);
/* Writes variant `a` of the decoded w×h RGB source (stride bytes a row,
 * EXIF orientation `orientation`) into out (size×size×3).  0 ok, -1 with
 * a reason in err. */
int fb_augment_render(const uint8_t *rgb, int w, int h, size_t stride, int orientation,
                      const fb_prep_opts *o, const fb_augment *a, uint8_t *out,
                      char *err, size_t errlen);

#endif
