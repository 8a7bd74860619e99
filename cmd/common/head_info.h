/* fb-info on a head (head.bin): what it is, as text or JSON.  Printing only:
 * every fact comes from the loaded fb_head. */
#ifndef FB_HEAD_INFO_H
#define FB_HEAD_INFO_H

#include <stddef.h>
#include <jansson.h>

#include "fb/head.h"
#include "fb/stream.h"

/* What fb-info knows of a head besides the head itself. */
typedef struct {
    const char *name;        /* the file as given ("stdin" for -) */
    unsigned version;        /* head.bin format version (FB_HEAD_VERSION..1) */
    size_t bytes;            /* file size */
} fb_head_file;

/* 1 when buf (len bytes, at least the first 8 of a file) starts with the
 * head.bin magic. */
int fb_head_info_is_head(const unsigned char *buf, size_t len);

/* The text description: classes, architecture, normalisation,
 * regularisation, decision rule, unknown test, training notes, provenance. */
void fb_head_info_print(const fb_head *h, const fb_head_file *file);
/* The same as one JSON object (a new reference). */
json_t *fb_head_info_json(const fb_head *h, const fb_head_file *file);

#endif
