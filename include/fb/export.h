/* Features and models that leave fb, and features that come back:
 *
 *   NumPy:  a stream's tensors as one .npy array [records, ...dims] (NumPy's
 *           own format, version 1.0, little-endian '<f4' or '|u1', C order)
 *           with a TSV of the records beside it; and back to a stream.
 *   TSV:    one record per line, values as text, for spreadsheets.
 *   ONNX:   the whole classifier from uint8 pixels to probabilities as one
 *           ONNX graph (IR version 8, opset 13): the caffe preprocessing,
 *           ResNet50 with fb's weights, optionally a trained head.
 *
 * The record TSV (written beside the .npy) has a header line and the
 * columns  index  id  label  class : index 0.. in array order, the record's
 * id, its label number (empty when unlabelled) and class name (empty when
 * unlabelled).  A TAB, newline, carriage return or backslash inside an id or
 * a name is written as \t, \n, \r, \\ (see fb-export(1)).
 */
#ifndef FB_EXPORT_H
#define FB_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fb/head.h"
#include "fb/backbone.h"
#include "fb/stream.h"

/* ---- TSV fields ---- */
/* Writes s with \t \n \r \\ escaped.  0 ok, -1 write error. */
int  fb_tsv_put(FILE *f, const char *s);
/* s with the same escapes, as a new string (malloc'd; NULL when out of
 * memory): for text that is padded or built before it is printed. */
char *fb_tsv_escape(const char *s);
/* Splits a line (no trailing newline) at TABs in place and unescapes each
 * field; fields[] points into line.  Returns the number of fields (at most
 * max; the rest of the line stays in the last), -1 on a bad escape. */
int  fb_tsv_split(char *line, char **fields, int max);

/* ---- NumPy .npy ---- */
typedef struct {
    fb_dtype dtype;               /* of the file's elements as fb reads them */
    int elem_bytes;               /* 1 (u1), 4 (f4) or 8 (f8, read as float32) */
    int rank;                     /* axes after the records axis: 1..FB_MAX_RANK */
    uint64_t records;
    uint32_t dims[FB_MAX_RANK];
    size_t data_offset;           /* where the array data starts */
} fb_npy_info;

/* The .npy header (magic, version 1.0, dict, padding) for an array of
 * `records` tensors of dtype and dims; its length depends only on dtype and
 * dims (records padded to 20 digits), so a writer can put a placeholder first
 * and rewrite it when the count is known.  Returns the length (a multiple of
 * 64), 0 when cap is too small. */
size_t fb_npy_header(char *buf, size_t cap, fb_dtype dtype, uint64_t records, int rank,
                     const uint32_t *dims);
/* Reads and checks a .npy header (versions 1-3; '<f4', '<f8', '|u1'; C
 * order; at least 2 axes).  0 ok; -1 with a message naming `name`. */
int  fb_npy_read_header(FILE *f, const char *name, fb_npy_info *info, char *err, size_t errlen);

/* A whole stream to npy_path (tensors) and tsv_path (records), both written
 * atomically; *records gets the count.  0 ok; -1 with a message in err. */
int  fb_export_npy(fb_reader *r, const char *npy_path, const char *tsv_path, uint64_t *records,
                   char *err, size_t errlen);
/* A whole stream as one TSV: header line "index id label class v0 v1 ...",
 * then one line per record, floats as %.9g (they read back exactly). */
int  fb_export_tsv(fb_reader *r, FILE *out, uint64_t *records, char *err, size_t errlen);
/* .npy (+ record TSV, may be NULL: ids "NAME:index", no labels) -> stream on
 * out with the given provenance.  Classes: the distinct names of the TSV's
 * class column, in the order of their label numbers (of first appearance
 * without a label column).  0 ok; -1 with a message in err. */
int  fb_import_npy(const char *npy_path, const char *tsv_path, const char *provenance, FILE *out,
                   int compress, uint64_t *records, char *err, size_t errlen);

/* ---- ONNX ---- */
typedef enum { FB_ONNX_FEATURES, FB_ONNX_LOGITS, FB_ONNX_PROBS } fb_onnx_layer;

/* One ONNX model: input "pixels" uint8 [N,224,224,3] RGB.  Without a head
 * the output is `layer` ("features" [N,2048], "logits" or "probs" [N,1000]);
 * with one, "probs" float32 [N,classes] in the head's class order.
 * metadata_props: fb.classes (JSON array), the weights' identity, the head's
 * architecture, provenance and training notes.  Writes path atomically.
 * 0 ok; -1 with a message in err. */
int  fb_export_onnx(const fb_resnet *net, const fb_head *head, fb_onnx_layer layer,
                    const char *path, char *err, size_t errlen);

#endif
