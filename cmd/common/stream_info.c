/* fb-info on a stream (stream_info.h). */
#include "common/stream_info.h"
#include "common/common.h"
#include "fb/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void fb_stream_tally_add(fb_stream_tally *t, const fb_header *h, const fb_record *rec)
{
    if (h->nclasses > t->nclasses) {
        t->per_class = fb_xrealloc(t->per_class, h->nclasses * sizeof *t->per_class);
        memset(t->per_class + t->nclasses, 0, (h->nclasses - t->nclasses) * sizeof *t->per_class);
        t->nclasses = h->nclasses;
    }
    if (rec->label == FB_NO_LABEL) t->unlabelled++;
    else t->per_class[rec->label]++;
    size_t n = fb_header_count(h);
    for (size_t i = 0; i < n; i++) {
        double v = h->dtype == FB_U8 ? ((const unsigned char *)rec->data)[i]
                                     : ((const float *)rec->data)[i];
        if (t->values == 0 || v < t->min) t->min = v;
        if (t->values == 0 || v > t->max) t->max = v;
        t->sum += v;
        t->values++;
    }
}

void fb_stream_info_print(const char *name, const fb_header *h, const fb_stream_tally *t, unsigned long records)
{
    printf("stream:     %s\n", name);
    printf("records:    %lu\n", records);
    printf("tensor:     %s ", fb_dtype_name(h->dtype));
    for (int i = 0; i < h->rank; i++) printf(i ? "x%u" : "%u", h->dims[i]);
    printf("\n");
    if (t->values)
        printf("values:     min %g, max %g, mean %g\n", t->min, t->max, t->sum / t->values);
    printf("classes:    %d\n", h->nclasses);
    for (int i = 0; i < h->nclasses; i++) {
        char *name = fb_xescape(h->classes[i]);   /* a newline in a name stays on its line */
        printf("  %-24s %lu\n", name, i < t->nclasses ? t->per_class[i] : 0);
        free(name);
    }
    if (t->unlabelled) printf("  %-24s %lu\n", "(no label)", t->unlabelled);
    printf("provenance:\n");
    for (const char *line = h->provenance; line && *line;) {
        size_t n = strcspn(line, "\n");
        printf("  %.*s\n", (int)n, line);
        line += n + (line[n] == '\n');
    }
}

json_t *fb_stream_info_json(const char *name, const fb_header *h, const fb_stream_tally *t, unsigned long records)
{
    json_t *dims = json_array(), *classes = json_array(), *prov = json_object();
    for (int i = 0; i < h->rank; i++) json_array_append_new(dims, json_integer(h->dims[i]));
    for (int i = 0; i < h->nclasses; i++)
        json_array_append_new(classes, json_pack("{s:s, s:I}", "name", h->classes[i],
                                                 "records", (json_int_t)(i < t->nclasses ? t->per_class[i] : 0)));
    for (const char *line = h->provenance; line && *line;) {
        size_t n = strcspn(line, "\n");
        const char *eq = memchr(line, '=', n);
        char *key = strndup(line, eq ? (size_t)(eq - line) : n);
        char *value = eq ? strndup(eq + 1, n - (size_t)(eq - line) - 1) : fb_xstrdup("");
        if (!key || !value) fb_die(FB_EXIT_FAILURE, "out of memory");
        json_object_set_new(prov, key, json_string(value));
        free(key);
        free(value);
        line += n + (line[n] == '\n');
    }
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:o, s:o, s:I, s:o}", "file", name, "kind", "stream",
                          "records", (json_int_t)records, "dtype", fb_dtype_name(h->dtype), "dims", dims,
                          "classes", classes, "unlabelled", (json_int_t)t->unlabelled, "provenance", prov);
    if (t->values)
        json_object_set_new(o, "values", json_pack("{s:f, s:f, s:f}", "min", t->min, "max", t->max,
                                                  "mean", t->sum / t->values));
    return o;
}

void fb_stream_tally_free(fb_stream_tally *t)
{
    free(t->per_class);
    t->per_class = NULL;
}

void fb_stream_info_record(const fb_reader *r, const fb_header *h, const fb_record *rec)
{
    /* id and class escaped (\t \n \r \\): one record a line, one value a column */
    printf("%llu\t", (unsigned long long)fb_reader_count(r) - 1);
    fb_tsv_put(stdout, rec->id);
    putchar('\t');
    fb_tsv_put(stdout, rec->label == FB_NO_LABEL ? "-" : h->classes[rec->label]);
    printf("\t%08lx\t", crc32(0L, rec->data, (uInt)rec->nbytes));
    if (rec->group == FB_NO_GROUP) printf("-\n");
    else printf("%u\n", (unsigned)rec->group);
}
