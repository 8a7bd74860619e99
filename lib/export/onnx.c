/* ONNX model builder (see onnx.h). */
#include "onnx.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void onnx_graph_init(onnx_graph *g)
{
    memset(g, 0, sizeof *g);
    pb_init(&g->nodes);
    pb_init(&g->inits);
    pb_init(&g->inputs);
    pb_init(&g->outputs);
}

void onnx_graph_free(onnx_graph *g)
{
    pb_free(&g->nodes);
    pb_free(&g->inits);
    pb_free(&g->inputs);
    pb_free(&g->outputs);
}

/* ------------------------------------------------------------ attributes */

enum { ATTR_FLOAT = 1, ATTR_INT = 2, ATTR_INTS = 7 };

void onnx_attr_int(pb_buf *attrs, const char *name, int64_t v)
{
    pb_buf a;
    pb_init(&a);
    pb_string(&a, 1, name);
    pb_int(&a, 3, v);
    pb_int(&a, 20, ATTR_INT);
    pb_message(attrs, 5, &a);
    pb_free(&a);
}

void onnx_attr_float(pb_buf *attrs, const char *name, float v)
{
    pb_buf a;
    pb_init(&a);
    pb_string(&a, 1, name);
    pb_float(&a, 2, v);
    pb_int(&a, 20, ATTR_FLOAT);
    pb_message(attrs, 5, &a);
    pb_free(&a);
}

void onnx_attr_ints(pb_buf *attrs, const char *name, const int64_t *v, int n)
{
    pb_buf a;
    pb_init(&a);
    pb_string(&a, 1, name);
    /* repeated int64 ints = 8 is not declared packed in onnx.proto (proto2):
     * one key per value, as protobuf itself writes it */
    for (int i = 0; i < n; i++) pb_int(&a, 8, v[i]);
    pb_int(&a, 20, ATTR_INTS);
    pb_message(attrs, 5, &a);
    pb_free(&a);
}

/* ------------------------------------------------------------ nodes */

void onnx_node(onnx_graph *g, const char *op, const char *const *inputs, const char *output,
               const pb_buf *attrs)
{
    pb_buf n;
    pb_init(&n);
    for (int i = 0; inputs[i]; i++) pb_string(&n, 1, inputs[i]);
    pb_string(&n, 2, output);
    pb_string(&n, 3, output);   /* node name = its output's: unique in fb's graphs */
    pb_string(&n, 4, op);
    if (attrs) {
        pb_raw(&n, attrs->data, attrs->len);
        if (attrs->failed) n.failed = 1;
    }
    pb_message(&g->nodes, 1, &n);
    pb_free(&n);
    g->nnodes++;
}

/* ------------------------------------------------------------ initializers */

static void tensor_head(pb_buf *t, const char *name, int type, const int64_t *dims, int rank)
{
    for (int i = 0; i < rank; i++) pb_int(t, 1, dims[i]);
    pb_int(t, 2, type);
    pb_string(t, 8, name);
}

static size_t count_of(const int64_t *dims, int rank)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)dims[i];
    return n;
}

void onnx_init_floats(onnx_graph *g, const char *name, const int64_t *dims, int rank,
                      const float *data)
{
    size_t n = count_of(dims, rank);
    pb_buf t;
    pb_init(&t);
    tensor_head(&t, name, ONNX_FLOAT, dims, rank);
    pb_key(&t, 9, PB_LEN);
    pb_varint(&t, 4 * (uint64_t)n);
    pb_floats_le(&t, data, n);
    pb_message(&g->inits, 5, &t);
    pb_free(&t);
}

void onnx_init_floats_packed(onnx_graph *g, const char *name, const int64_t *dims, int rank,
                             const float *data)
{
    pb_buf t;
    pb_init(&t);
    tensor_head(&t, name, ONNX_FLOAT, dims, rank);
    pb_packed_floats(&t, 4, data, count_of(dims, rank));
    pb_message(&g->inits, 5, &t);
    pb_free(&t);
}

void onnx_init_int64s(onnx_graph *g, const char *name, const int64_t *dims, int rank,
                      const int64_t *data)
{
    size_t n = count_of(dims, rank);
    pb_buf t;
    pb_init(&t);
    tensor_head(&t, name, ONNX_INT64, dims, rank);
    pb_key(&t, 9, PB_LEN);
    pb_varint(&t, 8 * (uint64_t)n);
    for (size_t i = 0; i < n; i++) {
        unsigned char le[8];
        uint64_t u = (uint64_t)data[i];
        for (int k = 0; k < 8; k++) le[k] = (unsigned char)(u >> (8 * k));
        pb_raw(&t, le, 8);
    }
    pb_message(&g->inits, 5, &t);
    pb_free(&t);
}

/* ------------------------------------------------------------ inputs, outputs */

static void value_info(pb_buf *dst, int field, const char *name, int elem_type,
                       const int64_t *dims, int rank)
{
    pb_buf shape, tensor, type, vi;
    pb_init(&shape);
    pb_init(&tensor);
    pb_init(&type);
    pb_init(&vi);
    for (int i = 0; i < rank; i++) {
        pb_buf d;
        pb_init(&d);
        if (dims[i] == ONNX_BATCH) pb_string(&d, 2, "N");
        else pb_int(&d, 1, dims[i]);
        pb_message(&shape, 1, &d);
        pb_free(&d);
    }
    pb_int(&tensor, 1, elem_type);
    pb_message(&tensor, 2, &shape);
    pb_message(&type, 1, &tensor);
    pb_string(&vi, 1, name);
    pb_message(&vi, 2, &type);
    pb_message(dst, field, &vi);
    pb_free(&shape);
    pb_free(&tensor);
    pb_free(&type);
    pb_free(&vi);
}

void onnx_input(onnx_graph *g, const char *name, int elem_type, const int64_t *dims, int rank)
{
    value_info(&g->inputs, 11, name, elem_type, dims, rank);
}

void onnx_output(onnx_graph *g, const char *name, int elem_type, const int64_t *dims, int rank)
{
    value_info(&g->outputs, 12, name, elem_type, dims, rank);
}

/* ------------------------------------------------------------ metadata */

void onnx_meta_init(onnx_meta *m)
{
    memset(m, 0, sizeof *m);
}

void onnx_meta_free(onnx_meta *m)
{
    for (int i = 0; i < 2 * m->n; i++) free(m->kv[i]);
    free(m->kv);
    memset(m, 0, sizeof *m);
}

void onnx_meta_add(onnx_meta *m, const char *key, const char *value)
{
    char **kv = realloc(m->kv, (size_t)(m->n + 1) * 2 * sizeof *kv);
    if (!kv) {
        m->failed = 1;
        return;
    }
    m->kv = kv;
    kv[2 * m->n] = strdup(key);
    kv[2 * m->n + 1] = strdup(value ? value : "");
    if (!kv[2 * m->n] || !kv[2 * m->n + 1]) m->failed = 1;
    m->n++;
}

void onnx_meta_classes(onnx_meta *m, const char *const *names, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(names[i])) != 0) m->failed = 1;
    char *text = a ? json_dumps(a, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    if (!text) m->failed = 1;
    else onnx_meta_add(m, "fb.classes", text);
    free(text);
    json_decref(a);
}

/* ------------------------------------------------------------ the model */

int onnx_model_write(FILE *f, const onnx_graph *g, const char *graph_name, const char *doc,
                     const char *producer_version, const onnx_meta *meta, char *err,
                     size_t errlen)
{
    pb_buf model, opset, graph_head;
    pb_init(&model);
    pb_init(&opset);
    pb_init(&graph_head);
    pb_int(&model, 1, ONNX_IR_VERSION);
    pb_string(&model, 2, "fb");
    pb_string(&model, 3, producer_version);
    pb_string(&model, 6, doc);
    pb_string(&opset, 1, "");
    pb_int(&opset, 2, ONNX_OPSET);
    pb_message(&model, 8, &opset);
    int meta_failed = 0;
    for (int i = 0; meta && i < meta->n; i++) {
        pb_buf e;
        pb_init(&e);
        if (!meta->kv[2 * i] || !meta->kv[2 * i + 1]) meta_failed = 1;
        else {
            pb_string(&e, 1, meta->kv[2 * i]);
            pb_string(&e, 2, meta->kv[2 * i + 1]);
        }
        pb_message(&model, 14, &e);
        pb_free(&e);
    }
    /* The graph (field 7) holds every weight: rather than copy ~100 MB into
     * the model's buffer, write its key and length, then its parts as they
     * are (a message is the concatenation of its fields, in any order). */
    pb_string(&graph_head, 2, graph_name);
    const pb_buf *parts[] = {&graph_head, &g->nodes, &g->inits, &g->inputs, &g->outputs};
    uint64_t graph_len = 0;
    int failed = model.failed || opset.failed || meta_failed || (meta && meta->failed);
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        graph_len += parts[i]->len;
        failed |= parts[i]->failed;
    }
    pb_key(&model, 7, PB_LEN);
    pb_varint(&model, graph_len);
    failed |= model.failed;
    int rc = -1;
    if (failed) {
        snprintf(err, errlen, "cannot build the ONNX model: out of memory, or a class name that is not UTF-8");
        goto done;
    }
    if (fwrite(model.data, 1, model.len, f) != model.len) goto io;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        if (parts[i]->len && fwrite(parts[i]->data, 1, parts[i]->len, f) != parts[i]->len) goto io;
    rc = 0;
    goto done;
io:
    snprintf(err, errlen, "write failed: %s", strerror(errno));
done:
    pb_free(&model);
    pb_free(&opset);
    pb_free(&graph_head);
    return rc;
}
