/* libFuzzer target: the perceptual hash on a file's bytes (fb_phash_buffer:
 * the format sniffer, libvips' allowed loaders, thumbnail, DCT), with libvips
 * set up as fb-audit and fb-split set it up.  Images whose header claims more
 * than MAX_PIXELS are skipped, as fb-prep's pixel limit refuses them: the
 * target looks for crashes, not for libvips' memory use. */
#include "fb/photo.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <vips/vips.h>

#define MAX_PIXELS (1u << 22)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    char err[512];
    if (fb_photo_vips_start((*argv)[0], err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_phash: %s\n", err);
        exit(1);
    }
    vips_concurrency_set(1);
    return 0;
}

/* Width x height x pages from the header alone; 0 when it cannot be read. */
static uint64_t header_pixels(const uint8_t *data, size_t size)
{
    VipsImage *im = vips_image_new_from_buffer(data, size, "", NULL);
    if (!im) { vips_error_clear(); return 0; }
    uint64_t px = (uint64_t)vips_image_get_width(im) * (uint64_t)vips_image_get_height(im);
    g_object_unref(im);
    return px;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size || !fb_prep_format_accepted(fb_prep_sniff(data, size))) return 0;
    uint64_t px = header_pixels(data, size);
    if (px == 0 || px > MAX_PIXELS) return 0;
    fb_phash h;
    char err[512] = "";
    if (fb_phash_buffer(data, size, &h, err, sizeof err) != 0 && !err[0]) abort();
    vips_error_clear();
    return 0;
}
