/* The stream limits (man/fb-stream.5, LIMITS): each one refused just over,
 * accepted at it, lowered and raised; FB_LIMITS's syntax; writers keep to
 * the same limits as readers. */
#include <string.h>
#include <stdlib.h>

#include "check.h"
#include "fb/stream.h"

/* What a test stream holds. */
typedef struct {
    int rank;
    uint32_t dims[FB_MAX_RANK];
    int nclasses;
    size_t name_len;      /* of every class name (at least 8) */
    size_t id_len;        /* of the one record's id; 0: no record */
    size_t prov_len;
} shape;

/* The stream of s in memory (*len bytes), written with the process limits
 * raised to the top of their ranges so that any shape can be written. */
static char *make(const shape *s, size_t *len)
{
    fb_stream_limits wide = { 1u << 29, 1u << 30, 65535, 65535, 1u << 30 }, before = *fb_stream_limits_current();
    fb_stream_set_limits(&wide);
    fb_header h;
    fb_header_init(&h, FB_U8, s->rank, s->dims);
    char *name = malloc(s->name_len + 1);
    for (int c = 0; c < s->nclasses; c++) {
        memset(name, 'n', s->name_len);
        int k = snprintf(name, s->name_len + 1, "%d", c);
        name[k] = '-';
        name[s->name_len] = 0;
        fb_header_add_class(&h, name);
    }
    free(name);
    h.provenance = malloc(s->prov_len + 1);
    memset(h.provenance, 'p', s->prov_len);
    h.provenance[s->prov_len] = 0;
    char *mem = NULL, err[512];
    FILE *f = open_memstream(&mem, len);
    fb_writer *w = fb_writer_open(f, &h, 9, err, sizeof err);
    int ok = w != NULL;
    if (ok && s->id_len) {
        char *id = malloc(s->id_len + 1);
        memset(id, 'i', s->id_len);
        id[s->id_len] = 0;
        unsigned char *data = calloc(fb_header_count(&h), 1);
        ok = fb_writer_put(w, id, s->nclasses ? 0 : FB_NO_LABEL, data) == 0;
        free(data);
        free(id);
    }
    ok = w && fb_writer_close(w) == 0 && ok;
    fclose(f);
    fb_header_free(&h);
    fb_stream_set_limits(&before);
    if (!ok) {
        printf("# could not write the test stream\n");
        exit(1);
    }
    return mem;
}

/* Reads the whole stream with lim: 0 when accepted, -1 with the message in err. */
static int read_with(const char *mem, size_t len, const fb_stream_limits *lim, char *err, size_t errlen)
{
    FILE *f = fmemopen((void *)mem, len, "rb");
    err[0] = 0;
    fb_reader *r = fb_reader_open_limited(f, "big.fbt", lim, err, errlen);
    int rc = -1;
    if (r) {
        fb_record rec;
        while ((rc = fb_reader_next(r, &rec)) == 1) {}
        if (rc < 0) snprintf(err, errlen, "%s", fb_reader_error(r));
        fb_reader_close(r);
    }
    fclose(f);
    return rc < 0 ? -1 : 0;
}

/* The stream s against the limit `key` set to `at` (accepted) and to at - 1
 * (refused with a message naming the value, the limit and how to raise it). */
static void check_limit(const shape *s, const char *key, uint64_t at, const char *what)
{
    size_t len;
    char *mem = make(s, &len), err[512], spec[64], want[160];
    fb_stream_limits lim = fb_stream_limits_default();
    snprintf(spec, sizeof spec, "%s=%llu", key, (unsigned long long)at);
    CHECK(fb_stream_limits_parse(spec, &lim, err, sizeof err) == 0, "%s parses", spec);
    CHECK(read_with(mem, len, &lim, err, sizeof err) == 0, "%s: accepted at the limit (%s)", what, spec);
    snprintf(spec, sizeof spec, "%s=%llu", key, (unsigned long long)at - 1);
    fb_stream_limits_parse(spec, &lim, err, sizeof err);
    snprintf(want, sizeof want, "over the limit of %llu (raise it with FB_LIMITS=%s=N; see fb-stream(5))",
             (unsigned long long)at - 1, key);
    int rc = read_with(mem, len, &lim, err, sizeof err);
    CHECK(rc < 0 && strncmp(err, "big.fbt: ", 9) == 0 && strstr(err, want),
          "%s: refused one over the limit (%s): %s", what, spec, err);
    free(mem);
}

/* Lowered limits: each one at a small value. */
static void test_lowered(void)
{
    shape s = { 1, {10}, 5, 12, 30, 40 };
    check_limit(&s, "record", 10, "records of 10 elements");
    check_limit(&s, "classes", 5, "5 classes");
    check_limit(&s, "name", 12, "12-byte class names");
    check_limit(&s, "id", 30, "a 30-byte id");
    check_limit(&s, "provenance", 40, "40 bytes of provenance");
    shape r3 = { 3, {4, 5, 3}, 0, 8, 8, 0 };
    check_limit(&r3, "record", 60, "records of 4x5x3");
}

/* Raised limits: streams just over a default are refused by default and
 * read with the limit raised to them. */
static void test_raised(void)
{
    fb_stream_limits def = fb_stream_limits_default();
    CHECK(def.record == 1u << 28 && def.classes == 1000000 && def.name == 65535 && def.id == 65535 &&
          def.provenance == 1u << 20, "the defaults are what readers accepted before limits were options");
    shape big_record = { 2, {1u << 14, (1u << 14) + 1}, 0, 8, 0, 0 };     /* header only */
    check_limit(&big_record, "record", (1ull << 28) + (1u << 14), "records of 2^28 + 2^14 elements");
    char err[512];
    size_t len;
    char *mem = make(&big_record, &len);
    CHECK(read_with(mem, len, &def, err, sizeof err) < 0 &&
          strstr(err, "uint8 16384x16385 (268451840 elements), over the limit of 268435456 (raise it with "
                 "FB_LIMITS=record=N"), "the default refuses it: %s", err);
    free(mem);
    shape many = { 1, {1}, 1000001, 8, 4, 0 };
    check_limit(&many, "classes", 1000001, "1,000,001 classes");
    mem = make(&many, &len);
    CHECK(read_with(mem, len, &def, err, sizeof err) < 0 &&
          strcmp(err, "big.fbt: 1000001 classes, over the limit of 1000000 (raise it with FB_LIMITS=classes=N; "
                 "see fb-stream(5))") == 0, "the default refuses 1,000,001 classes: %s", err);
    free(mem);
    shape prov = { 1, {1}, 0, 8, 4, (1u << 20) + 1 };
    check_limit(&prov, "provenance", (1u << 20) + 1, "1 MiB + 1 of provenance");
    /* names and ids: the default is the format's own maximum (u16 lengths) */
    shape longest = { 1, {1}, 2, 65535, 65535, 0 };
    mem = make(&longest, &len);
    CHECK(read_with(mem, len, &def, err, sizeof err) == 0, "65535-byte names and ids read by default: %s", err);
    free(mem);
    check_limit(&longest, "name", 65535, "65535-byte class names");
    check_limit(&longest, "id", 65535, "a 65535-byte id");
}

/* Segments each within the limit may not be together. */
static void test_merged_classes(void)
{
    shape a = { 1, {1}, 3, 8, 4, 0 };
    size_t la, lb;
    char *ma = make(&a, &la);
    a.name_len = 9;                    /* three other names */
    char *mb = make(&a, &lb);
    char *both = malloc(la + lb), err[512];
    memcpy(both, ma, la);
    memcpy(both + la, mb, lb);
    fb_stream_limits lim = fb_stream_limits_default();
    lim.classes = 6;
    CHECK(read_with(both, la + lb, &lim, err, sizeof err) == 0, "3 + 3 classes within a limit of 6");
    lim.classes = 5;
    CHECK(read_with(both, la + lb, &lim, err, sizeof err) < 0 &&
          strstr(err, "6 classes in segments 1 to 2 together, over the limit of 5"),
          "3 + 3 classes over a limit of 5: %s", err);
    free(ma);
    free(mb);
    free(both);
}

/* fb_reader_open takes the process's limits. */
static void test_process_limits(void)
{
    shape s = { 1, {1}, 4, 8, 4, 0 };
    size_t len;
    char *mem = make(&s, &len), err[512];
    fb_stream_limits lim = fb_stream_limits_default();
    lim.classes = 3;
    fb_stream_set_limits(&lim);
    FILE *f = fmemopen(mem, len, "rb");
    fb_reader *r = fb_reader_open(f, "x.fbt", err, sizeof err);
    CHECK(!r && strstr(err, "x.fbt: 4 classes, over the limit of 3"), "fb_reader_open keeps to the process's limits: %s",
          err);
    fb_reader_close(r);
    fclose(f);
    /* and so does a writer: it writes nothing a reader with them refuses */
    uint32_t dims[1] = {1};
    fb_header h;
    fb_header_init(&h, FB_U8, 1, dims);
    for (int c = 0; c < 4; c++) fb_header_add_class(&h, c == 0 ? "a" : c == 1 ? "b" : c == 2 ? "c" : "d");
    char *out = NULL;
    size_t olen = 0;
    FILE *o = open_memstream(&out, &olen);
    fb_writer *w = fb_writer_open(o, &h, 0, err, sizeof err);
    unsigned char v = 0;
    int rc = fb_writer_put(w, "x", 0, &v);
    CHECK(rc < 0 && strstr(fb_writer_error(w), "4 classes, over the limit of 3 (raise it with FB_LIMITS=classes=N"),
          "a writer refuses 4 classes under a limit of 3: %s", fb_writer_error(w));
    /* A failed close keeps w (one small struct) so its error can be read:
     * the tools die right after; a test that goes on frees it. */
    if (fb_writer_close(w) != 0) free(w);
    fclose(o);
    free(out);
    lim.classes = 4;
    lim.id = 3;
    fb_stream_set_limits(&lim);
    out = NULL;
    o = open_memstream(&out, &olen);
    w = fb_writer_open(o, &h, 0, err, sizeof err);
    CHECK(fb_writer_put(w, "abc", 0, &v) == 0, "a writer writes a 3-byte id under a limit of 3");
    rc = fb_writer_put(w, "abcd", 0, &v);
    CHECK(rc < 0 && strstr(fb_writer_error(w), "is 4 bytes, over the limit of 3 (raise it with FB_LIMITS=id=N"),
          "and refuses a 4-byte one: %s", fb_writer_error(w));
    if (fb_writer_close(w) != 0) free(w);
    fclose(o);
    free(out);
    fb_header_free(&h);
    lim = fb_stream_limits_default();
    fb_stream_set_limits(&lim);
    free(mem);
}

/* FB_LIMITS's syntax. */
static void test_parse(void)
{
    fb_stream_limits lim = fb_stream_limits_default();
    char err[512];
    CHECK(fb_stream_limits_parse("classes=5M,record=512M,id=1024", &lim, err, sizeof err) == 0 &&
          lim.classes == 5u << 20 && lim.record == 512u << 20 && lim.id == 1024 && lim.name == 65535 &&
          lim.provenance == 1u << 20, "classes=5M,record=512M,id=1024: the three set, the rest default");
    CHECK(fb_stream_limits_parse("provenance=2k,name=100", &lim, err, sizeof err) == 0 &&
          lim.provenance == 2048 && lim.name == 100 && lim.classes == 5u << 20, "k is 1024; earlier keys stay");
    CHECK(fb_stream_limits_parse("classes=1G", &lim, err, sizeof err) == 0 && lim.classes == 1u << 30,
          "classes=1G, the top of its range");
    CHECK(fb_stream_limits_parse("", &lim, err, sizeof err) == 0 && lim.classes == 1u << 30, "\"\" changes nothing");
    static const struct { const char *spec, *want; } bad[] = {
        { "classes=0", "classes=0: classes is a whole number from 1 to 1073741824" },
        { "classes=1025M", "classes is a whole number from 1 to 1073741824" },
        { "record=513M", "record=513M: record is a whole number from 1 to 536870912" },
        { "name=65536", "name is a whole number from 1 to 65535" },
        { "id=64K", "id=64K: id is a whole number from 1 to 65535" },
        { "id=", "id is a whole number" },
        { "id", "id is a whole number" },
        { "id=-1", "id is a whole number" },
        { "id=1.5", "id is a whole number" },
        { "id=10x", "id is a whole number" },
        { "id=10KB", "id is a whole number" },
        { "provenance=99999999999999999999999", "provenance is a whole number" },
        { "record=18446744073709551615G", "record is a whole number" },
        { "size=3", "'size=3' is not a limit: the keys are record, classes, name, id and provenance" },
        { "classes=5,,id=3", "'' is not a limit" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fb_stream_limits before = lim;
        int rc = fb_stream_limits_parse(bad[i].spec, &lim, err, sizeof err);
        CHECK(rc < 0 && strstr(err, bad[i].want) && memcmp(&before, &lim, sizeof lim) == 0,
              "'%s' refused, limits unchanged: %s", bad[i].spec, err);
    }
}

int main(void)
{
    test_parse();
    test_lowered();
    test_raised();
    test_merged_classes();
    test_process_limits();
    return check_done();
}
