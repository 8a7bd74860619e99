/* Private to lib/photo: the pieces of the per-image pipeline (prep.c) that
 * the variants (augment.c) reuse. */
#ifndef FB_PHOTO_PREP_H
#define FB_PHOTO_PREP_H

#include <stddef.h>
#include <stdint.h>
#include <vips/vips.h>

#include "fb/photo.h"

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
