/* The stream format: round trips, corruption, truncation, concatenation. */
#include <string.h>
#include <stdlib.h>

#include "check.h"
#include "fb/core.h"
#include "fb/stream.h"

/* Writes n records of the given type into a memory buffer; returns it. */
static char *make_stream(fb_dtype t, int n, const char *const *classes, int nclasses,
                         const char *prov, int compress, size_t *len, uint64_t seed)
{
    char *mem = NULL;
    FILE *f = open_memstream(&mem, len);
    uint32_t dims[3] = {5, 3, 2};
    fb_header h;
    fb_header_init(&h, t, 3, dims);
    h.provenance = strdup(prov);
    for (int i = 0; i < nclasses; i++) fb_header_add_class(&h, classes[i]);
    char err[256];
    fb_writer *w = fb_writer_open(f, &h, compress, err, sizeof err);
    fb_rng rng;
    fb_rng_seed(&rng, seed);
    size_t count = fb_header_count(&h);
    unsigned char data[30 * 4];
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < count; k++) {
            if (t == FB_U8) data[k] = (unsigned char)(compress ? k % 3 : fb_rng_below(&rng, 256));
            else ((float *)data)[k] = compress ? (float)(k % 3) : (float)fb_rng_normal(&rng);
        }
        char id[32];
        snprintf(id, sizeof id, "photos/img%d.jpg", i);
        fb_writer_put(w, id, nclasses ? i % nclasses : FB_NO_LABEL, data);
    }
    fb_writer_close(w);
    fclose(f);
    fb_header_free(&h);
    return mem;
}

/* Reads a whole in-memory stream; returns records read or -1, error in err. */
static int read_all(const char *mem, size_t len, char *err, size_t errlen, fb_header *out,
                    int *labels, float *first_values)
{
    FILE *f = fmemopen((void *)mem, len, "rb");
    fb_reader *r = fb_reader_open(f, "mem", err, errlen);
    if (!r) { fclose(f); return -1; }
    fb_record rec;
    int n = 0, rc;
    while ((rc = fb_reader_next(r, &rec)) == 1) {
        if (labels) labels[n] = rec.label;
        if (first_values && n == 0)
            first_values[0] = fb_reader_header(r)->dtype == FB_U8
                                  ? ((const unsigned char *)rec.data)[0]
                                  : ((const float *)rec.data)[0];
        n++;
    }
    if (rc < 0) snprintf(err, errlen, "%s", fb_reader_error(r));
    if (out) fb_header_copy(out, fb_reader_header(r));
    fb_reader_close(r);
    fclose(f);
    return rc < 0 ? -1 : n;
}

static void test_round_trip(fb_dtype t, int compress)
{
    const char *classes[] = {"lucy", "other"};
    size_t len;
    char *mem = make_stream(t, 7, classes, 2, "prep=fb-prep\nresize=squash\n", compress, &len, 9);
    /* Read back and compare every value with a second generation. */
    FILE *f = fmemopen(mem, len, "rb");
    char err[256];
    fb_reader *r = fb_reader_open(f, "mem", err, sizeof err);
    CHECK(r != NULL, "%s%s stream opens", fb_dtype_name(t), compress ? " compressed" : "");
    const fb_header *h = fb_reader_header(r);
    CHECK(h->dtype == t && h->rank == 3 && h->dims[0] == 5 && h->dims[2] == 2, "header shape");
    CHECK(h->nclasses == 2 && strcmp(h->classes[1], "other") == 0, "class table");
    char *resize = fb_prov_get(h->provenance, "resize");
    CHECK(resize && strcmp(resize, "squash") == 0, "provenance key read back");
    free(resize);
    fb_rng rng;
    fb_rng_seed(&rng, 9);
    fb_record rec;
    int n = 0, values_ok = 1;
    while (fb_reader_next(r, &rec) == 1) {
        for (size_t k = 0; k < 30; k++) {
            double want = t == FB_U8 ? (double)(compress ? k % 3 : fb_rng_below(&rng, 256))
                                     : (double)(compress ? (float)(k % 3) : (float)fb_rng_normal(&rng));
            double got = t == FB_U8 ? ((const unsigned char *)rec.data)[k]
                                    : ((const float *)rec.data)[k];
            values_ok &= got == want;
        }
        char id[32];
        snprintf(id, sizeof id, "photos/img%d.jpg", n);
        values_ok &= strcmp(rec.id, id) == 0 && rec.label == n % 2;
        n++;
    }
    CHECK(n == 7, "7 records read back (got %d)", n);
    CHECK(values_ok, "every value, id and label identical after the round trip");
    fb_reader_close(r);
    fclose(f);
    free(mem);
}

static void test_compression_shrinks(void)
{
    const char *classes[] = {"a"};
    size_t plain, packed;
    free(make_stream(FB_F32, 20, classes, 1, "", 0, &plain, 1));
    char *mem = make_stream(FB_F32, 20, classes, 1, "", 6, &packed, 1);
    CHECK(packed < plain / 2, "zlib payloads shrink repetitive data (%zu -> %zu bytes)", plain,
          packed);
    free(mem);
}

static void test_corruption(void)
{
    const char *classes[] = {"a", "b"};
    size_t len;
    char *mem = make_stream(FB_F32, 4, classes, 2, "k=v\n", 0, &len, 3);
    char err[512];
    int caught = 0, tried = 0;
    /* Flip one bit in every byte position after the header: each flip must be
     * reported, never read as data. */
    for (size_t pos = 0; pos < len; pos += 7) {
        mem[pos] ^= 0x10;
        err[0] = 0;
        int n = read_all(mem, len, err, sizeof err, NULL, NULL, NULL);
        tried++;
        caught += n < 0;
        mem[pos] ^= 0x10;
    }
    CHECK(caught == tried, "a flipped bit anywhere is detected (%d of %d positions)", caught,
          tried);
    mem[len / 2] ^= 1;
    read_all(mem, len, err, sizeof err, NULL, NULL, NULL);
    CHECK(strstr(err, "CRC") || strstr(err, "corrupt"), "message names corruption: %s", err);
    free(mem);
}

static void test_truncation(void)
{
    const char *classes[] = {"a"};
    size_t len;
    char *mem = make_stream(FB_U8, 5, classes, 1, "", 0, &len, 4);
    char err[512];
    int caught = 0;
    for (size_t cut = 0; cut < len; cut++) caught += read_all(mem, cut, err, sizeof err, NULL, NULL, NULL) < 0;
    CHECK(caught == (int)len, "every truncation is an error (%d of %zu lengths)", caught, len);
    read_all(mem, len - 13, err, sizeof err, NULL, NULL, NULL);
    CHECK(strstr(err, "truncated") != NULL, "message says truncated: %s", err);
    read_all(mem, 0, err, sizeof err, NULL, NULL, NULL);
    CHECK(strstr(err, "empty") != NULL, "empty input named: %s", err);
    CHECK(read_all(mem, len, err, sizeof err, NULL, NULL, NULL) == 5, "whole stream reads");
    free(mem);
}

/* a then b in one new buffer: what `cat a b` makes. */
static char *concat(const char *a, size_t la, const char *b, size_t lb)
{
    char *cat = malloc(la + lb);
    memcpy(cat, a, la);
    memcpy(cat + la, b, lb);
    return cat;
}

static void test_concatenation(void)
{
    const char *ab[] = {"cat", "dog"}, *ba[] = {"dog", "bird"};
    size_t la, lb;
    char *a = make_stream(FB_F32, 3, ab, 2, "p=1\n", 0, &la, 1);
    char *b = make_stream(FB_F32, 4, ba, 2, "p=1\n", 6, &lb, 2);
    char *cat = concat(a, la, b, lb);
    fb_header h;
    int labels[16];
    char err[512];
    int n = read_all(cat, la + lb, err, sizeof err, &h, labels, NULL);
    CHECK(n == 7, "concatenation reads both segments (%d records)", n);
    CHECK(h.nclasses == 3 && strcmp(h.classes[2], "bird") == 0, "class tables merged by name");
    /* b's record 0 is "dog" (its index 0) -> merged index 1; record 1 "bird" -> 2. */
    CHECK(labels[3] == 1 && labels[4] == 2 && labels[0] == 0, "labels remapped to merged table");
    fb_header_free(&h);
    free(cat);
    free(b);

    /* Different provenance, then a different element type: refused, naming
     * what differs. */
    struct { fb_dtype t; const char *prov, *want1, *want2, *what; } refusals[] = {
        { FB_F32, "p=2\n", "p is '1'", "'2'", "different provenance" },
        { FB_U8, "p=1\n", "uint8", "float32", "different element type" },
    };
    for (int i = 0; i < 2; i++) {
        b = make_stream(refusals[i].t, 2, ab, 2, refusals[i].prov, 0, &lb, 2);
        cat = concat(a, la, b, lb);
        n = read_all(cat, la + lb, err, sizeof err, NULL, NULL, NULL);
        CHECK(n < 0 && strstr(err, refusals[i].want1) && strstr(err, refusals[i].want2),
              "%s refused: %s", refusals[i].what, err);
        free(cat);
        free(b);
    }
    free(a);
}

static void test_writer_new_class_starts_segment(void)
{
    char *mem = NULL;
    size_t len;
    FILE *f = open_memstream(&mem, &len);
    uint32_t dims[1] = {2};
    fb_header h;
    fb_header_init(&h, FB_F32, 1, dims);
    fb_header_add_class(&h, "a");
    char err[256];
    fb_writer *w = fb_writer_open(f, &h, 0, err, sizeof err);
    float v[2] = {1, 2};
    fb_writer_put(w, "x", 0, v);
    int b = fb_writer_add_class(w, "b");
    fb_writer_put(w, "y", b, v);
    CHECK(fb_writer_close(w) == 0, "writer closes");
    fclose(f);
    fb_header got;
    int labels[4];
    int n = read_all(mem, len, err, sizeof err, &got, labels, NULL);
    CHECK(n == 2 && got.nclasses == 2 && labels[1] == 1,
          "a class added mid-stream reads back (n=%d classes=%d)", n, got.nclasses);
    fb_header_free(&got);
    fb_header_free(&h);
    free(mem);
}

static void test_provenance_edit(void)
{
    char *p = NULL;
    fb_prov_set(&p, "a", "1");
    fb_prov_set(&p, "b", "2");
    fb_prov_set(&p, "a", "3");
    CHECK(strcmp(p, "b=2\na=3\n") == 0 || strcmp(p, "a=3\nb=2\n") == 0,
          "provenance set replaces a key: '%s'", p);
    char *v = fb_prov_get(p, "b");
    CHECK(v && strcmp(v, "2") == 0, "provenance get");
    free(v);
    CHECK(fb_prov_get(p, "") == NULL && fb_prov_get(p, "c") == NULL, "absent key is NULL");
    CHECK(fb_prov_set(&p, "x", "two\nlines") != 0, "newline in a value refused");
    free(p);
}

/* Groups ride with records; a record without one is written exactly as before. */
static void test_groups(void)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    uint32_t dims[1] = {3};
    fb_header h;
    fb_header_init(&h, FB_F32, 1, dims);
    fb_header_add_class(&h, "lucy");
    char err[256];
    fb_writer *w = fb_writer_open(f, &h, 0, err, sizeof err);
    const float v[3] = {1, 2, 3};
    const uint32_t groups[4] = {7, FB_NO_GROUP, 7, 0xfffffffeu};
    for (int i = 0; i < 4; i++) fb_writer_put_grouped(w, i % 2 ? "b.jpg" : "a.jpg", 0, groups[i], v);
    fb_writer_close(w);
    fclose(f);
    FILE *in = fmemopen(mem, len, "rb");
    fb_reader *r = fb_reader_open(in, "mem", err, sizeof err);
    fb_record rec;
    int n = 0, same = 1;
    while (r && fb_reader_next(r, &rec) == 1) {
        same &= rec.group == groups[n] && rec.label == 0 && ((const float *)rec.data)[2] == 3;
        n++;
    }
    CHECK(n == 4 && same, "groups 7, none, 7, 0xfffffffe read back with their records");
    fb_reader_close(r);
    fclose(in);
    free(mem);

    /* The ungrouped record costs nothing: 4 bytes fewer than a grouped one. */
    size_t l1 = 0, l2 = 0;
    char *m1 = NULL, *m2 = NULL;
    FILE *f1 = open_memstream(&m1, &l1), *f2 = open_memstream(&m2, &l2);
    fb_writer *w1 = fb_writer_open(f1, &h, 0, err, sizeof err);
    fb_writer *w2 = fb_writer_open(f2, &h, 0, err, sizeof err);
    fb_writer_put(w1, "a.jpg", 0, v);
    fb_writer_put_grouped(w2, "a.jpg", 0, 1, v);
    fb_writer_close(w1);
    fb_writer_close(w2);
    fclose(f1);
    fclose(f2);
    CHECK(l2 == l1 + 4, "a group adds 4 bytes to a record (%zu vs %zu)", l2, l1);
    free(m1);
    free(m2);
    fb_header_free(&h);
}

/* A large class table reads back with every name at its index (the table
 * was read in quadratic time before: 30 000 names took 6 s, a million hours). */
static void test_large_class_table(void)
{
    enum { N = 200000 };
    uint32_t dims[1] = {1};
    fb_header h;
    fb_header_init(&h, FB_F32, 1, dims);
    char name[32];
    int added_in_order = 1;
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "class-%d", i);
        added_in_order &= fb_header_add_class(&h, name) == i;
    }
    CHECK(added_in_order && fb_header_add_class(&h, "class-123") == 123,
          "%d names added in order; adding one again returns its index", N);
    char *mem = NULL, err[256];
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    fb_writer *w = fb_writer_open(f, &h, 0, err, sizeof err);
    const float v = 1;
    fb_writer_put(w, "x", N - 1, &v);
    fb_writer_close(w);
    fclose(f);
    fb_header got;
    int labels[1];
    int n = read_all(mem, len, err, sizeof err, &got, labels, NULL);
    int all_found = got.nclasses == N;
    for (int i = 0; all_found && i < N; i += 997) {
        snprintf(name, sizeof name, "class-%d", i);
        all_found = fb_header_class_index(&got, name) == i && strcmp(got.classes[i], name) == 0;
    }
    CHECK(n == 1 && labels[0] == N - 1 && all_found && fb_header_class_index(&got, "nope") < 0,
          "a %d-name table reads back, each name at its index", N);
    fb_header_free(&got);
    fb_header_free(&h);
    free(mem);
}

/* Non-finite values are refused where they enter, naming the record. */
static void test_non_finite(void)
{
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    const char *want[3] = {"NaN", "infinite", "infinite"};
    for (int k = 0; k < 3; k++) {
        char *mem = NULL, err[256];
        size_t len = 0;
        FILE *f = open_memstream(&mem, &len);
        uint32_t dims[1] = {4};
        fb_header h;
        fb_header_init(&h, FB_F32, 1, dims);
        fb_writer *w = fb_writer_open(f, &h, 0, err, sizeof err);
        float v[4] = {1, 2, 3, 4};
        fb_writer_put(w, "good.jpg", FB_NO_LABEL, v);
        v[2] = bad[k];
        fb_writer_put(w, "bad.jpg", FB_NO_LABEL, v);
        fb_writer_close(w);
        fclose(f);
        int n = read_all(mem, len, err, sizeof err, NULL, NULL, NULL);
        CHECK(n < 0 && strstr(err, "record 2 (bad.jpg): value 2 is") && strstr(err, want[k]),
              "a %s value is refused, naming record and index: %s", want[k], err);
        fb_header_free(&h);
        free(mem);
    }
}

/* fb-prep --reencode changes the pixels every feature is made from: a head
 * trained on re-encoded photos is told when a stream was made without it, and
 * the reverse, as for the other keys fb-prep writes. */
static void test_prov_compare_reencode(void)
{
    const char *plain = "prep=fb-prep 0.1.0\nresize=squash\nsize=224x224\n";
    const char *reenc = "prep=fb-prep 0.1.0\nresize=squash\nsize=224x224\nreencode=75:224\n";
    const char *other = "prep=fb-prep 0.1.0\nresize=squash\nsize=224x224\nreencode=90:224\n";
    char msg[512];
    int n = fb_prov_compare(reenc, plain, msg, sizeof msg);
    CHECK(n == 1 && strstr(msg, "reencode: trained on '75:224', stream has none"),
          "a head trained on re-encoded photos, a plain stream: %d difference: %s", n, msg);
    n = fb_prov_compare(plain, reenc, msg, sizeof msg);
    CHECK(n == 1 && strstr(msg, "reencode: trained on none, stream has '75:224'"),
          "a plain head, a re-encoded stream: %d difference: %s", n, msg);
    n = fb_prov_compare(reenc, other, msg, sizeof msg);
    CHECK(n == 1 && strstr(msg, "reencode: trained on '75:224', stream has '90:224'"),
          "another quality: %d difference: %s", n, msg);
    CHECK(fb_prov_compare(reenc, reenc, msg, sizeof msg) == 0, "the same re-encoding: no difference");
}

int main(void)
{
    test_prov_compare_reencode();
    test_non_finite();
    test_large_class_table();
    test_groups();
    test_round_trip(FB_U8, 0);
    test_round_trip(FB_F32, 0);
    test_round_trip(FB_U8, 6);
    test_round_trip(FB_F32, 6);
    test_compression_shrinks();
    test_corruption();
    test_truncation();
    test_concatenation();
    test_writer_new_class_starts_segment();
    test_provenance_edit();
    return check_done();
}
