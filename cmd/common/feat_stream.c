/* fb-feat's output stream (feat_stream.h). */
#include "common/feat_stream.h"
#include "common/common.h"

#include <stdlib.h>

fb_writer *fb_feat_stream_open(FILE *out, const char *out_name, const fb_header *in, fb_layer layer,
                               fb_precision precision, const fb_weights *w)
{
    uint32_t dims[3];
    fb_header h;
    fb_header_init(&h, FB_F32, fb_layer_shape(layer, dims), dims);
    for (int i = 0; i < in->nclasses; i++)
        if (fb_header_add_class(&h, in->classes[i]) < 0) fb_die(FB_EXIT_FAILURE, "out of memory");
    /* Everything upstream said stays; these keys describe this stage. */
    free(h.provenance);
    h.provenance = fb_xstrdup(in->provenance ? in->provenance : "");
    if (fb_prov_set(&h.provenance, "backbone", "keras-resnet50-imagenet") ||
        fb_prov_set(&h.provenance, "weights_crc32", w->checksum) ||
        fb_prov_set(&h.provenance, "feat_output", fb_layer_name(layer)))
        fb_die(FB_EXIT_FAILURE, "out of memory");
    /* Only bf16 says so: an fp32 stream stays byte for byte what earlier
     * versions wrote, so it still concatenates with them. */
    if (precision != FB_PRECISION_FP32 &&
        fb_prov_set(&h.provenance, "precision", fb_precision_name(precision)))
        fb_die(FB_EXIT_FAILURE, "out of memory");
    char err[512];
    fb_writer *wr = fb_writer_open(out, &h, 0, err, sizeof err);
    if (!wr) fb_die(FB_EXIT_FAILURE, "%s: %s", out_name, err);
    fb_header_free(&h);
    return wr;
}

void fb_feat_stream_sync_classes(fb_writer *wr, const fb_header *in, const char *out_name)
{
    while (fb_writer_header(wr)->nclasses < in->nclasses)
        if (fb_writer_add_class(wr, in->classes[fb_writer_header(wr)->nclasses]) < 0)
            fb_die(FB_EXIT_FAILURE, "%s: %s", out_name, fb_writer_error(wr));
}
