/* Builds an ONNX model (onnx.proto, IR version 8, opset 13) in memory with
 * the wire-format writer of pb.h: nodes, initializers (weights as raw_data),
 * typed inputs and outputs, metadata_props.  Only the messages and fields
 * fb's models use; the field numbers are onnx.proto's:
 *
 *   ModelProto        1 ir_version  2 producer_name  3 producer_version
 *                     6 doc_string  7 graph  8 opset_import  14 metadata_props
 *   OperatorSetIdProto 1 domain  2 version
 *   StringStringEntryProto 1 key  2 value
 *   GraphProto        1 node  2 name  5 initializer  10 doc_string
 *                     11 input  12 output
 *   NodeProto         1 input  2 output  3 name  4 op_type  5 attribute
 *   AttributeProto    1 name  2 f  3 i  8 ints  20 type (FLOAT 1, INT 2, INTS 7)
 *   TensorProto       1 dims  2 data_type  4 float_data (packed)  8 name  9 raw_data
 *   ValueInfoProto    1 name  2 type
 *   TypeProto         1 tensor_type: 1 elem_type  2 shape
 *   TensorShapeProto  1 dim: 1 dim_value | 2 dim_param
 *
 * Errors: every buffer remembers running out of memory (pb_buf.failed);
 * onnx_model_write reports it. */
#ifndef FB_EXPORT_ONNX_H
#define FB_EXPORT_ONNX_H

#include <stdint.h>
#include <stdio.h>

#include "pb.h"

#define ONNX_IR_VERSION 8
#define ONNX_OPSET 13
/* TensorProto.DataType */
enum { ONNX_FLOAT = 1, ONNX_UINT8 = 2, ONNX_INT64 = 7 };
/* A dimension that is the batch: written as dim_param "N". */
#define ONNX_BATCH (-1)

typedef struct {
    pb_buf nodes, inits, inputs, outputs;   /* GraphProto fields 1, 5, 11, 12 */
    int nnodes;
} onnx_graph;

/* Model-level key/value strings (metadata_props). */
typedef struct {
    char **kv;                    /* key, value, key, value, ... */
    int n;                        /* pairs */
    int failed;
} onnx_meta;

void onnx_graph_init(onnx_graph *g);
void onnx_graph_free(onnx_graph *g);

/* Attributes are collected in a pb_buf (each one a NodeProto field 5) and
 * handed to onnx_node. */
void onnx_attr_int(pb_buf *attrs, const char *name, int64_t v);
void onnx_attr_float(pb_buf *attrs, const char *name, float v);
void onnx_attr_ints(pb_buf *attrs, const char *name, const int64_t *v, int n);

/* One node: op over the NULL-terminated inputs, one output (also its name).
 * attrs may be NULL. */
void onnx_node(onnx_graph *g, const char *op, const char *const *inputs, const char *output,
               const pb_buf *attrs);

/* Constant tensors: float32 as raw_data (weights), float32 as packed
 * float_data (small constants, readable in a dump), int64 as raw_data. */
void onnx_init_floats(onnx_graph *g, const char *name, const int64_t *dims, int rank,
                      const float *data);
void onnx_init_floats_packed(onnx_graph *g, const char *name, const int64_t *dims, int rank,
                             const float *data);
void onnx_init_int64s(onnx_graph *g, const char *name, const int64_t *dims, int rank,
                      const int64_t *data);

/* Graph inputs and outputs; a dim of ONNX_BATCH is the symbolic "N". */
void onnx_input(onnx_graph *g, const char *name, int elem_type, const int64_t *dims, int rank);
void onnx_output(onnx_graph *g, const char *name, int elem_type, const int64_t *dims, int rank);

void onnx_meta_init(onnx_meta *m);
void onnx_meta_free(onnx_meta *m);
void onnx_meta_add(onnx_meta *m, const char *key, const char *value);   /* copies both */
/* "fb.classes": the names as a JSON array of strings, output order. */
void onnx_meta_classes(onnx_meta *m, const char *const *names, int n);

/* The whole ModelProto to f.  0 ok; -1 with a message in err. */
int onnx_model_write(FILE *f, const onnx_graph *g, const char *graph_name, const char *doc,
                     const char *producer_version, const onnx_meta *meta, char *err,
                     size_t errlen);

#endif
