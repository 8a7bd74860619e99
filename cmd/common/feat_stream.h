/* fb-feat's output stream: the header its records get (the layer's shape,
 * float32; the input's classes and provenance, plus where the numbers came
 * from: backbone, weights_crc32, feat_output, and precision when not fp32)
 * and the classes kept in step with the input's.  Problems end the program
 * through fb_die, naming the output. */
#ifndef FB_CMD_FEAT_STREAM_H
#define FB_CMD_FEAT_STREAM_H

#include <stdio.h>

#include "common/layer.h"
#include "fb/backbone.h"
#include "fb/stream.h"

/* A writer on out (called out_name) for records of layer, made from the
 * input stream's header `in` with weights w. */
fb_writer *fb_feat_stream_open(FILE *out, const char *out_name, const fb_header *in, fb_layer layer,
                               fb_precision precision, const fb_weights *w);
/* Classes a later input segment brought are added to the output in the
 * same order, so label indices stay the same. */
void fb_feat_stream_sync_classes(fb_writer *wr, const fb_header *in, const char *out_name);

#endif
