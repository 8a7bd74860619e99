/* fb-prep's stream header: the class table of its inputs and the
 * provenance of its pixels.  Problems end the program (fb_die). */
#ifndef FB_PHOTO_STREAM_H
#define FB_PHOTO_STREAM_H

#include <stddef.h>

#include "fb/photo.h"
#include "fb/stream.h"

/* Initialises h for size x size x 3 uint8 records: classes are the distinct
 * non-NULL labels[0..n) in name order (so the table does not depend on input
 * order); provenance says how the pixels were made (man/fb-stream.5). */
void fb_prep_stream_header(fb_header *h, const fb_prep_opts *o, char *const *labels, size_t n);

#endif
