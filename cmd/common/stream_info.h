/* fb-info on a stream: the summary (record count per class, value range,
 * header, provenance) as text or JSON, and -r's one line a record.
 * Printing only: the records come from fb_reader. */
#ifndef FB_CMD_STREAM_INFO_H
#define FB_CMD_STREAM_INFO_H

#include <jansson.h>

#include "fb/stream.h"

/* What the summary counts as the records go by. */
typedef struct {
    unsigned long *per_class;   /* indexed by label; grows with the class table */
    int nclasses;
    unsigned long unlabelled;
    double min, max, sum;
    unsigned long long values;
} fb_stream_tally;

void fb_stream_tally_add(fb_stream_tally *t, const fb_header *h, const fb_record *rec);
void fb_stream_tally_free(fb_stream_tally *t);

/* The summary of the stream called name (h its header at the end), as text
 * on stdout, or as one JSON object (a new reference). */
void fb_stream_info_print(const char *name, const fb_header *h, const fb_stream_tally *t, unsigned long records);
json_t *fb_stream_info_json(const char *name, const fb_header *h, const fb_stream_tally *t,
                            unsigned long records);

/* -r: index, id, class (- none), CRC-32 of the tensor, group (- none);
 * id and class escaped as TSV (fb_tsv_put). */
void fb_stream_info_record(const fb_reader *r, const fb_header *h, const fb_record *rec);

#endif
