/* fb tensor stream: the one binary format every fb tool reads and writes.
 *
 * A stream is one or more segments; each segment is a header, records, and an
 * end mark.  `cat a.fbt b.fbt` is therefore a valid stream: the reader checks
 * that the second segment is compatible (same element type, shape and
 * provenance) and merges class tables by name.  The byte layout is specified
 * in man/fb-stream.5; everything here reads and writes strictly sequentially
 * with memory bounded by one record and the limits below.
 */
#ifndef FB_STREAM_H
#define FB_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FB_STREAM_VERSION 1
#define FB_MAX_RANK 4
#define FB_NO_LABEL (-1)
/* Records of one photo (its near-duplicates, later its augmented copies) share a
 * non-zero group number, so that splits and folds keep them together. */
#define FB_NO_GROUP 0u

typedef enum { FB_U8 = 1, FB_F32 = 2 } fb_dtype;

/* What every record of a segment shares. */
typedef struct {
    fb_dtype dtype;
    int rank;                     /* 1..FB_MAX_RANK */
    uint32_t dims[FB_MAX_RANK];   /* e.g. 224,224,3 (HWC) or 2048 */
    int nclasses;
    char **classes;               /* nclasses names, index = label */
    char *provenance;             /* "key=value\n" lines, may be "" */
    /* Private to lib/stream: capacity of `classes` and a hash index of the
     * names (open addressing, index + 1 per slot), so that a table of a
     * million names reads in linear time.  Change classes only through
     * fb_header_add_class. */
    int class_cap;
    uint32_t *class_slots, nslots;
} fb_header;

/* One record.  The reader owns id and data; they stay valid until the next
 * fb_reader_next() call. */
typedef struct {
    const char *id;               /* source id, usually the file path */
    int32_t label;                /* index into the header's classes, or FB_NO_LABEL */
    uint32_t group;               /* same-photo group, or FB_NO_GROUP */
    const void *data;             /* dims product elements of dtype */
    size_t nbytes;
} fb_record;

/* ---- headers ---- */
void   fb_header_init(fb_header *h, fb_dtype dtype, int rank, const uint32_t *dims);
void   fb_header_free(fb_header *h);
int    fb_header_copy(fb_header *dst, const fb_header *src);   /* 0 ok, -1 no memory */
size_t fb_header_count(const fb_header *h);                    /* elements per record */
size_t fb_dtype_size(fb_dtype t);
const char *fb_dtype_name(fb_dtype t);
/* Index of class `name`, or -1. */
int    fb_header_class_index(const fb_header *h, const char *name);
/* Index of class `name`, appended when absent; -1 on no memory. */
int    fb_header_add_class(fb_header *h, const char *name);

/* ---- provenance: "key=value\n" text ---- */
/* Value of key (malloc'd) or NULL when absent. */
char  *fb_prov_get(const char *prov, const char *key);
/* Set (replace or append) key=value in *prov (malloc'd, may start NULL). 0 ok. */
int    fb_prov_set(char **prov, const char *key, const char *value);
/* Provenance keys that must agree between a head's training data and a stream
 * it is applied to (see man/fb-eval.1).  Writes a message describing every
 * difference into msg and returns how many there are. */
int    fb_prov_compare(const char *trained, const char *stream, char *msg, size_t msglen);

/* Index of the first of v[0..n) that is NaN or infinite, n when all are
 * finite: the one check every float that enters or leaves a tool passes. */
size_t fb_first_nonfinite(const float *v, size_t n);

/* ---- limits ----
 * What a reader accepts and a writer writes (man/fb-stream.5, LIMITS).  A
 * stream over a limit is refused with a message that names the limit; the
 * defaults are far above what fb's tools write.  Tools set them from
 * FB_LIMITS (cmd/common/input.c); lib never reads the environment. */
typedef struct {
    uint64_t record;       /* elements per record            default 2^28 */
    uint64_t classes;      /* names in a class table          default 1,000,000 */
    uint64_t name;         /* bytes of a class name           default 65,535 */
    uint64_t id;           /* bytes of a record id            default 65,535 */
    uint64_t provenance;   /* bytes of provenance text        default 1 MiB */
} fb_stream_limits;

/* The defaults: what every reader accepted before limits were options. */
fb_stream_limits fb_stream_limits_default(void);
/* The limits of fb_reader_open and of every writer in this process: the
 * defaults until fb_stream_set_limits, which a program calls once, before
 * it opens a stream (not thread-safe against readers being opened). */
const fb_stream_limits *fb_stream_limits_current(void);
void   fb_stream_set_limits(const fb_stream_limits *lim);
/* Parses "key=N,key=N" (keys record, classes, name, id, provenance; N a
 * whole number, optionally with K, M or G = 2^10, 2^20, 2^30) into *lim,
 * changing only the keys named.  0 ok; -1 with a message naming the key and
 * its allowed range in err.  "" changes nothing. */
int    fb_stream_limits_parse(const char *spec, fb_stream_limits *lim, char *err, size_t errlen);

/* ---- reading ---- */
typedef struct fb_reader fb_reader;

/* Opens a stream on f (not closed by fb_reader_close).  `name` is used in
 * messages ("-" or "stdin" for standard input).  Returns NULL and writes a
 * message into err when the stream cannot be read at all. */
fb_reader *fb_reader_open(FILE *f, const char *name, char *err, size_t errlen);
/* The same with this reader's own limits (copied) instead of the process's. */
fb_reader *fb_reader_open_limited(FILE *f, const char *name, const fb_stream_limits *lim,
                                  char *err, size_t errlen);
/* The merged header: classes grow as later segments add names; existing
 * indices never change. */
const fb_header *fb_reader_header(const fb_reader *r);
/* 1: a record was read; 0: clean end of stream; -1: error (fb_reader_error). */
int    fb_reader_next(fb_reader *r, fb_record *rec);
const char *fb_reader_error(const fb_reader *r);
uint64_t fb_reader_count(const fb_reader *r);  /* records read so far */
void   fb_reader_close(fb_reader *r);

/* ---- writing ---- */
typedef struct fb_writer fb_writer;

/* Writes a segment header for h (copied) to f.  compress: 0 none, 1..9 zlib
 * level for record payloads.  NULL with a message in err on failure. */
fb_writer *fb_writer_open(FILE *f, const fb_header *h, int compress, char *err, size_t errlen);
/* Add a class after records were written (e.g. passing through a concatenated
 * stream whose later segment brought a new name): the writer ends the current
 * segment and starts a new one with the longer table.  Returns the index. */
int    fb_writer_add_class(fb_writer *w, const char *name);
const fb_header *fb_writer_header(const fb_writer *w);
/* data holds fb_header_count() elements of the header's dtype.  0 ok, -1 error. */
int    fb_writer_put(fb_writer *w, const char *id, int32_t label, const void *data);
/* The same with the record's same-photo group (FB_NO_GROUP: none; such a
 * record is written byte for byte as fb_writer_put writes it). */
int    fb_writer_put_grouped(fb_writer *w, const char *id, int32_t label, uint32_t group,
                             const void *data);
/* Writes the end mark and flushes; 0 ok (w is freed), -1 error (e.g. EPIPE,
 * disk full): w's buffers are freed but the struct is kept so that
 * fb_writer_error(w) can be read; free(w) when going on. */
int    fb_writer_close(fb_writer *w);
const char *fb_writer_error(const fb_writer *w);

#endif
