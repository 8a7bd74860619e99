/* lib/export: the protobuf wire-format writer and the ONNX messages against
 * hand-computed bytes, the .npy header, TSV escapes, and a stream -> .npy
 * + TSV -> stream round trip with ids and class names that need escaping. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "export/onnx.h"
#include "export/pb.h"
#include "fb/export.h"
#include "fb/stream.h"

/* buf holds exactly the n bytes want; prints both on a mismatch. */
static int same_bytes(const unsigned char *got, size_t got_len, const unsigned char *want, size_t n)
{
    if (got_len == n && memcmp(got, want, n) == 0) return 1;
    printf("#   got ");
    for (size_t i = 0; i < got_len; i++) printf("%02x ", got[i]);
    printf("\n#   want ");
    for (size_t i = 0; i < n; i++) printf("%02x ", want[i]);
    printf("\n");
    return 0;
}
#define CHECK_BYTES(b, ...) do {                                                     \
    static const unsigned char want_[] = {__VA_ARGS__};                               \
    CHECK(same_bytes((b)->data, (b)->len, want_, sizeof want_), "%s", #b " bytes");   \
} while (0)

static void test_varints(void)
{
    const struct { uint64_t v; unsigned char bytes[10]; size_t n; } cases[] = {
        {0, {0x00}, 1}, {1, {0x01}, 1}, {127, {0x7f}, 1}, {128, {0x80, 0x01}, 2},
        {300, {0xac, 0x02}, 2}, {16384, {0x80, 0x80, 0x01}, 3},
        {UINT64_MAX, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pb_buf b;
        pb_init(&b);
        pb_varint(&b, cases[i].v);
        CHECK(same_bytes(b.data, b.len, cases[i].bytes, cases[i].n), "varint %llu",
              (unsigned long long)cases[i].v);
        CHECK(pb_varint_size(cases[i].v) == cases[i].n, "varint size of %llu", (unsigned long long)cases[i].v);
        pb_free(&b);
    }
}

static void test_fields(void)
{
    pb_buf b;
    /* the protobuf encoding guide's examples */
    pb_init(&b);
    pb_int(&b, 1, 150);
    CHECK_BYTES(&b, 0x08, 0x96, 0x01);
    pb_free(&b);
    pb_init(&b);
    pb_string(&b, 2, "testing");
    CHECK_BYTES(&b, 0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g');
    pb_free(&b);
    /* negative int64: ten bytes of two's complement */
    pb_init(&b);
    pb_int(&b, 1, -1);
    CHECK_BYTES(&b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
    pb_free(&b);
    /* field 20 needs a two-byte key: (20 << 3) | 0 = 160 */
    pb_init(&b);
    pb_int(&b, 20, 7);
    CHECK_BYTES(&b, 0xa0, 0x01, 0x07);
    pb_free(&b);
    /* fixed32 float 1.0 = 0x3f800000 little-endian */
    pb_init(&b);
    pb_float(&b, 2, 1.0f);
    CHECK_BYTES(&b, 0x15, 0x00, 0x00, 0x80, 0x3f);
    pb_free(&b);
    /* packed floats: one key, byte length 8, then 1.0 and -2.0 */
    pb_init(&b);
    pb_packed_floats(&b, 4, (const float[]){1.0f, -2.0f}, 2);
    CHECK_BYTES(&b, 0x22, 0x08, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0);
    pb_free(&b);
    /* nested message: field 3 holding {1: 150} */
    pb_buf inner;
    pb_init(&inner);
    pb_int(&inner, 1, 150);
    pb_init(&b);
    pb_message(&b, 3, &inner);
    CHECK_BYTES(&b, 0x1a, 0x03, 0x08, 0x96, 0x01);
    pb_free(&b);
    pb_free(&inner);
    /* a 300-byte bytes field: its length is a two-byte varint */
    unsigned char blob[300];
    memset(blob, 0xab, sizeof blob);
    pb_init(&b);
    pb_bytes(&b, 9, blob, sizeof blob);
    CHECK(b.len == 303 && b.data[0] == 0x4a && b.data[1] == 0xac && b.data[2] == 0x02 &&
          b.data[3] == 0xab && b.data[302] == 0xab, "bytes field of 300: key 4a, length ac 02");
    pb_free(&b);
}

static void test_onnx_messages(void)
{
    /* AttributeProto {name "pads", ints 1, ints 1, type INTS (7)} as NodeProto field 5 */
    pb_buf attrs;
    pb_init(&attrs);
    onnx_attr_ints(&attrs, "pads", (const int64_t[]){1, 1}, 2);
    CHECK_BYTES(&attrs, 0x2a, 0x0d, 0x0a, 0x04, 'p', 'a', 'd', 's', 0x40, 0x01, 0x40, 0x01, 0xa0, 0x01, 0x07);
    pb_free(&attrs);
    pb_init(&attrs);
    onnx_attr_float(&attrs, "epsilon", 0.5f);   /* 0.5 = 0x3f000000 */
    CHECK_BYTES(&attrs, 0x2a, 0x11, 0x0a, 0x07, 'e', 'p', 's', 'i', 'l', 'o', 'n', 0x15, 0x00, 0x00, 0x00,
                0x3f, 0xa0, 0x01, 0x01);
    pb_free(&attrs);

    /* a whole model: y = Relu(x), x float [N,3], one metadata pair */
    onnx_graph g;
    onnx_graph_init(&g);
    onnx_input(&g, "x", ONNX_FLOAT, (const int64_t[]){ONNX_BATCH, 3}, 2);
    onnx_node(&g, "Relu", (const char *[]){"x", NULL}, "y", NULL);
    onnx_output(&g, "y", ONNX_FLOAT, (const int64_t[]){ONNX_BATCH, 3}, 2);
    CHECK_BYTES(&g.nodes, 0x0a, 0x0f, 0x0a, 0x01, 'x', 0x12, 0x01, 'y', 0x1a, 0x01, 'y', 0x22, 0x04,
                'R', 'e', 'l', 'u');
    /* ValueInfoProto {name, type {tensor_type {elem_type 1, shape {dim {param "N"}, dim {value 3}}}}} */
    CHECK_BYTES(&g.inputs, 0x5a, 0x14, 0x0a, 0x01, 'x', 0x12, 0x0f, 0x0a, 0x0d, 0x08, 0x01, 0x12, 0x09,
                0x0a, 0x03, 0x12, 0x01, 'N', 0x0a, 0x02, 0x08, 0x03);
    onnx_meta meta;
    onnx_meta_init(&meta);
    onnx_meta_add(&meta, "k", "v");
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    char err[128];
    int rc = onnx_model_write(f, &g, "g", "d", "t", &meta, err, sizeof err);
    fclose(f);
    CHECK(rc == 0, "model written");
    static const unsigned char model[] = {
        0x08, 0x08,                                     /* ir_version 8 */
        0x12, 0x02, 'f', 'b',                           /* producer_name */
        0x1a, 0x01, 't',                                /* producer_version */
        0x32, 0x01, 'd',                                /* doc_string */
        0x42, 0x04, 0x0a, 0x00, 0x10, 0x0d,             /* opset_import {domain "", version 13} */
        0x72, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v',   /* metadata_props {k, v} */
        0x3a, 0x40,                                     /* graph, 64 bytes: */
        0x12, 0x01, 'g',                                /*   name */
        0x0a, 0x0f, 0x0a, 0x01, 'x', 0x12, 0x01, 'y', 0x1a, 0x01, 'y', 0x22, 0x04, 'R', 'e', 'l', 'u',
        0x5a, 0x14, 0x0a, 0x01, 'x', 0x12, 0x0f, 0x0a, 0x0d, 0x08, 0x01, 0x12, 0x09,
        0x0a, 0x03, 0x12, 0x01, 'N', 0x0a, 0x02, 0x08, 0x03,
        0x62, 0x14, 0x0a, 0x01, 'y', 0x12, 0x0f, 0x0a, 0x0d, 0x08, 0x01, 0x12, 0x09,
        0x0a, 0x03, 0x12, 0x01, 'N', 0x0a, 0x02, 0x08, 0x03,
    };
    CHECK(same_bytes((unsigned char *)mem, len, model, sizeof model), "the whole tiny model, byte for byte");
    free(mem);

    /* initializers: dims unpacked, data_type, name, raw_data little-endian */
    onnx_graph_free(&g);
    onnx_graph_init(&g);
    onnx_init_floats(&g, "w", (const int64_t[]){2}, 1, (const float[]){1.0f, -2.0f});
    CHECK_BYTES(&g.inits, 0x2a, 0x11, 0x08, 0x02, 0x10, 0x01, 0x42, 0x01, 'w', 0x4a, 0x08, 0x00, 0x00,
                0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0);
    onnx_graph_free(&g);
    onnx_graph_init(&g);
    onnx_init_int64s(&g, "i", (const int64_t[]){1}, 1, (const int64_t[]){-1});
    CHECK_BYTES(&g.inits, 0x2a, 0x11, 0x08, 0x01, 0x10, 0x07, 0x42, 0x01, 'i', 0x4a, 0x08, 0xff, 0xff,
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    onnx_graph_free(&g);
    onnx_meta_free(&meta);
}

static void test_npy_header(void)
{
    char buf[256];
    size_t n = fb_npy_header(buf, sizeof buf, FB_F32, 105, 1, (const uint32_t[]){2048});
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (105, 2048), }";
    CHECK(n > 0 && n % 64 == 0, "header length %zu is a multiple of 64", n);
    CHECK(memcmp(buf, "\x93NUMPY\x01\x00", 8) == 0, "magic and version 1.0");
    CHECK((size_t)((unsigned char)buf[8] | (unsigned char)buf[9] << 8) == n - 10, "header_len field");
    CHECK(memcmp(buf + 10, dict, strlen(dict)) == 0, "the dict NumPy reads");
    CHECK(buf[n - 1] == '\n' && buf[n - 2] == ' ', "padded with spaces, ends with a newline");
    CHECK(fb_npy_header(buf, sizeof buf, FB_F32, 0, 1, (const uint32_t[]){2048}) == n &&
          fb_npy_header(buf, sizeof buf, FB_F32, UINT64_MAX, 1, (const uint32_t[]){2048}) == n,
          "same length for 0 and 2^64-1 records (a placeholder can be rewritten)");
    n = fb_npy_header(buf, sizeof buf, FB_U8, 2, 3, (const uint32_t[]){224, 224, 3});
    FILE *f = fmemopen(buf, n, "rb");
    fb_npy_info info;
    char err[256];
    CHECK(fb_npy_read_header(f, "mem", &info, err, sizeof err) == 0 && info.dtype == FB_U8 &&
          info.elem_bytes == 1 && info.records == 2 && info.rank == 3 && info.dims[0] == 224 &&
          info.dims[2] == 3 && info.data_offset == n, "our own u8 header reads back");
    fclose(f);

    /* headers as other writers make them */
    struct { const char *dict; int ok; const char *why; } cases[] = {
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }", 1, "float64 accepted"},
        {"{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (4,5,6)}", 1, "double quotes, no spaces"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (4, 3), }", 0, "Fortran order refused"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 0, "one axis refused"},
        {"{'descr': '<i8', 'fortran_order': False, 'shape': (4, 3), }", 0, "int64 refused"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (4, 3), }", 0, "big-endian refused"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4, 0), }", 0, "zero-length axis refused"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char file[256];
        size_t dl = strlen(cases[i].dict);
        memcpy(file, "\x93NUMPY\x01\x00", 8);
        file[8] = (char)(dl + 1);
        file[9] = 0;
        memcpy(file + 10, cases[i].dict, dl);
        file[10 + dl] = '\n';
        f = fmemopen(file, 11 + dl, "rb");
        int rc = fb_npy_read_header(f, "x.npy", &info, err, sizeof err);
        fclose(f);
        CHECK((rc == 0) == cases[i].ok, "%s%s%s", cases[i].why, rc ? ": " : "", rc ? err : "");
    }
    CHECK(strstr(err, "x.npy") != NULL, "messages name the file");
}

static void test_tsv(void)
{
    char line[128];
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    fb_tsv_put(f, "a\tb\nc\\d\re");
    fputc('\t', f);
    fb_tsv_put(f, "plain");
    fclose(f);
    CHECK(strcmp(mem, "a\\tb\\nc\\\\d\\re\tplain") == 0, "escapes: %s", mem);
    snprintf(line, sizeof line, "%s", mem);
    char *fields[4];
    int n = fb_tsv_split(line, fields, 4);
    CHECK(n == 2 && strcmp(fields[0], "a\tb\nc\\d\re") == 0 && strcmp(fields[1], "plain") == 0,
          "split and unescape give the fields back");
    free(mem);
    snprintf(line, sizeof line, "bad\\x");
    CHECK(fb_tsv_split(line, fields, 4) == -1, "an unknown escape is an error");
    snprintf(line, sizeof line, "a\tb\tc");
    CHECK(fb_tsv_split(line, fields, 2) == 2 && strcmp(fields[1], "b\tc") == 0,
          "at most max fields, the rest stays in the last");
}

/* stream -> .npy + TSV -> stream keeps ids, classes by name, and every byte. */
static void test_round_trip(void)
{
    static const char *ids[] = {"tab\there", "new\nline", "back\\slash", "plain.jpg", "none"};
    static const char *classes[] = {"x y", "tab\tclass", "unused"};
    char dir[] = "/tmp/fb-test-export.XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char npy[128], tsv[128];
    snprintf(npy, sizeof npy, "%s/f.npy", dir);
    snprintf(tsv, sizeof tsv, "%s/f.tsv", dir);
    char *stream = NULL;
    size_t slen = 0;
    FILE *f = open_memstream(&stream, &slen);
    fb_header h;
    fb_header_init(&h, FB_F32, 2, (const uint32_t[]){2, 3});
    h.provenance = strdup("");
    for (int i = 0; i < 3; i++) fb_header_add_class(&h, classes[i]);
    char err[256];
    fb_writer *w = fb_writer_open(f, &h, 0, err, sizeof err);
    float data[5][6];
    int labels[5] = {1, 0, 1, 0, FB_NO_LABEL};
    for (int i = 0; i < 5; i++) {
        for (int k = 0; k < 6; k++) data[i][k] = (float)(i * 10 + k) / 7.0f - 3.0f;
        fb_writer_put(w, ids[i], labels[i], data[i]);
    }
    fb_writer_close(w);
    fclose(f);
    fb_header_free(&h);

    f = fmemopen(stream, slen, "rb");
    fb_reader *r = fb_reader_open(f, "mem", err, sizeof err);
    uint64_t n = 0;
    int rc = fb_export_npy(r, npy, tsv, &n, err, sizeof err);
    CHECK(rc == 0 && n == 5, "exported 5 records%s%s", rc ? ": " : "", rc ? err : "");
    fb_reader_close(r);
    fclose(f);

    char *back = NULL;
    size_t blen = 0;
    f = open_memstream(&back, &blen);
    rc = fb_import_npy(npy, tsv, "k=v\n", f, 0, &n, err, sizeof err);
    fclose(f);
    CHECK(rc == 0 && n == 5, "imported 5 records%s%s", rc ? ": " : "", rc ? err : "");
    f = fmemopen(back, blen, "rb");
    r = fb_reader_open(f, "back", err, sizeof err);
    fb_record rec;
    int same = 1, count = 0;
    while (r && fb_reader_next(r, &rec) == 1) {
        const fb_header *bh = fb_reader_header(r);
        const char *cls = rec.label == FB_NO_LABEL ? NULL : bh->classes[rec.label];
        const char *want = labels[count] == FB_NO_LABEL ? NULL : classes[labels[count]];
        if (strcmp(rec.id, ids[count]) != 0 || (cls == NULL) != (want == NULL) ||
            (cls && strcmp(cls, want) != 0) || rec.nbytes != sizeof data[0] ||
            memcmp(rec.data, data[count], sizeof data[0]) != 0)
            same = 0;
        count++;
    }
    CHECK(r && count == 5 && same, "ids with TAB, newline, backslash, class names and values come back");
    if (r) {
        const fb_header *bh = fb_reader_header(r);
        CHECK(bh->rank == 2 && bh->dims[0] == 2 && bh->dims[1] == 3, "shape [2,3] back");
        CHECK(bh->nclasses == 2 && strcmp(bh->classes[0], "x y") == 0 &&
              strcmp(bh->classes[1], "tab\tclass") == 0, "classes in label order (unused one dropped)");
        CHECK(strcmp(bh->provenance, "k=v\n") == 0, "provenance as given");
        fb_reader_close(r);
    }
    fclose(f);
    free(back);
    free(stream);
    unlink(npy);
    unlink(tsv);
    rmdir(dir);
}

int main(void)
{
    test_varints();
    test_fields();
    test_onnx_messages();
    test_npy_header();
    test_tsv();
    test_round_trip();
    return check_done();
}
