/* fb-prep's stream header (photo_stream.h). */
#include "common/photo_stream.h"
#include "common/common.h"
#include "common/input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_classes(fb_header *h, char *const *labels, size_t n)
{
    char **names = fb_xmalloc((n + 1) * sizeof *names);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (labels[i]) names[k++] = labels[i];
    qsort(names, k, sizeof *names, cmp_str);
    for (size_t i = 0; i < k; i++)
        if ((i == 0 || strcmp(names[i], names[i - 1]) != 0) && fb_header_add_class(h, names[i]) < 0)
            fb_die(FB_EXIT_FAILURE, "out of memory");
    free(names);
}

static void set_provenance(fb_header *h, const fb_prep_opts *o)
{
    char size[32], bg[32];
    snprintf(size, sizeof size, "%d", o->size);
    snprintf(bg, sizeof bg, "%u,%u,%u", o->background[0], o->background[1], o->background[2]);
    if (fb_prov_set(&h->provenance, "prep", "fb-prep " FB_VERSION) ||
        fb_prov_set(&h->provenance, "resize", fb_prep_policy_name(o->policy)) ||
        fb_prov_set(&h->provenance, "size", size) ||
        fb_prov_set(&h->provenance, "kernel", fb_prep_kernel_name(o->kernel)) ||
        fb_prov_set(&h->provenance, "background", bg) ||
        fb_prov_set(&h->provenance, "colour", "sRGB") ||
        fb_prov_set(&h->provenance, "layout", "HWC RGB uint8"))
        fb_die(FB_EXIT_FAILURE, "out of memory");
    if (o->reencode_quality > 0) {   /* fb-prep --reencode: "Q:SIDE" */
        char reencode[32];
        snprintf(reencode, sizeof reencode, "%d:%d", o->reencode_quality,
                 o->reencode_side > 0 ? o->reencode_side : o->size);
        if (fb_prov_set(&h->provenance, "reencode", reencode)) fb_die(FB_EXIT_FAILURE, "out of memory");
    }
}

void fb_prep_stream_header(fb_header *h, const fb_prep_opts *o, char *const *labels, size_t n)
{
    fb_input_limits();   /* the writer writes nothing FB_LIMITS's readers refuse */
    uint32_t dims[3] = { (uint32_t)o->size, (uint32_t)o->size, 3 };
    fb_header_init(h, FB_U8, 3, dims);
    add_classes(h, labels, n);
    set_provenance(h, o);
}
