/* NumPy .npy files and record TSVs to and from fb streams (see fb/export.h).
 *
 * The .npy format (numpy.lib.format): "\x93NUMPY", major, minor version
 * bytes, a little-endian header length (u16 in version 1, u32 in 2 and 3),
 * then an ASCII Python dict literal {'descr': ..., 'fortran_order': ...,
 * 'shape': (...), } padded with spaces and a newline so the data starts at a
 * multiple of 64, then the array's elements in C order. */
#include "fb/export.h"
#include "fb/core.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAX_HEADER (1 << 20)

/* ------------------------------------------------------------ the header */

size_t fb_npy_header(char *buf, size_t cap, fb_dtype dtype, uint64_t records, int rank,
                     const uint32_t *dims)
{
    char dict[256], shape[160], num[24];
    size_t used = 0;
    for (int i = 0; i < rank; i++)
        used += (size_t)snprintf(shape + used, sizeof shape - used, ", %" PRIu32, dims[i]);
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%" PRIu64 "%s), }",
                      dtype == FB_U8 ? "|u1" : "<f4", records, shape);
    int nl = snprintf(num, sizeof num, "%" PRIu64, records);
    /* the same length whatever the count: room for 20 digits */
    size_t longest = (size_t)dl - (size_t)nl + 20;
    size_t total = (10 + longest + 1 + 63) / 64 * 64;
    if (total > cap || total - 10 > 65535) return 0;
    memcpy(buf, NPY_MAGIC "\x01\x00", 8);
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    memcpy(buf + 10, dict, (size_t)dl);
    memset(buf + 10 + dl, ' ', total - 10 - (size_t)dl - 1);
    buf[total - 1] = '\n';
    return total;
}

/* The value text after 'key': in the dict, or NULL. */
static const char *dict_value(const char *dict, const char *key)
{
    char quoted[32];
    snprintf(quoted, sizeof quoted, "'%s'", key);
    const char *p = strstr(dict, quoted);
    if (!p) {
        snprintf(quoted, sizeof quoted, "\"%s\"", key);
        if (!(p = strstr(dict, quoted))) return NULL;
    }
    p += strlen(quoted);
    while (isspace((unsigned char)*p)) p++;
    if (*p++ != ':') return NULL;
    while (isspace((unsigned char)*p)) p++;
    return p;
}

static int parse_dict(const char *dict, const char *name, fb_npy_info *info, char *err, size_t errlen)
{
    const char *descr = dict_value(dict, "descr"), *fortran = dict_value(dict, "fortran_order"),
               *shape = dict_value(dict, "shape");
    if (!descr || !fortran || !shape || (*descr != '\'' && *descr != '"')) {
        snprintf(err, errlen, "%s: not a .npy header NumPy writes (descr, fortran_order, shape)", name);
        return -1;
    }
    char type[16] = "";
    size_t tl = strcspn(descr + 1, "'\"");
    snprintf(type, sizeof type, "%.*s", (int)(tl < sizeof type - 1 ? tl : sizeof type - 1), descr + 1);
    if (strcmp(type, "<f4") == 0) info->dtype = FB_F32, info->elem_bytes = 4;
    else if (strcmp(type, "<f8") == 0) info->dtype = FB_F32, info->elem_bytes = 8;
    else if (strcmp(type, "|u1") == 0 || strcmp(type, "u1") == 0 || strcmp(type, "<u1") == 0)
        info->dtype = FB_U8, info->elem_bytes = 1;
    else {
        snprintf(err, errlen, "%s: element type '%s'; fb reads float32 ('<f4', or '<f8' converted) "
                 "or uint8 ('|u1'): save with x.astype(np.float32)", name, type);
        return -1;
    }
    if (strncmp(fortran, "False", 5) != 0) {
        snprintf(err, errlen, "%s: Fortran-ordered array; save np.ascontiguousarray(x)", name);
        return -1;
    }
    if (*shape != '(') goto bad_shape;
    uint64_t axes[FB_MAX_RANK + 2];
    int n = 0;
    const char *p = shape + 1;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p) || n == FB_MAX_RANK + 1) goto bad_shape;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno) goto bad_shape;
        axes[n++] = v;
        p = end;
        while (isspace((unsigned char)*p)) p++;
        if (*p == ',') p++;
        else if (*p != ')') goto bad_shape;
    }
    if (n < 2) {
        snprintf(err, errlen, "%s: shape has %d axis%s; fb wants [records, values...] "
                 "(one value per record: save x.reshape(-1, 1))", name, n, n == 1 ? "" : "es");
        return -1;
    }
    info->records = axes[0];
    info->rank = n - 1;
    for (int i = 1; i < n; i++) {
        if (axes[i] == 0 || axes[i] > UINT32_MAX) goto bad_shape;
        info->dims[i - 1] = (uint32_t)axes[i];
    }
    return 0;
bad_shape:
    snprintf(err, errlen, "%s: cannot read the shape (at most %d axes after the records, none 0): %.60s",
             name, FB_MAX_RANK, shape);
    return -1;
}

int fb_npy_read_header(FILE *f, const char *name, fb_npy_info *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, NPY_MAGIC, 6) != 0) {
        snprintf(err, errlen, "%s: not a NumPy .npy file (no \\x93NUMPY magic)", name);
        return -1;
    }
    size_t len, at = 10;
    if (pre[6] == 1) len = pre[8] | (size_t)pre[9] << 8;
    else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) goto truncated;
        len = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        at = 12;
    } else {
        snprintf(err, errlen, "%s: .npy format version %d.%d; fb reads 1.0 to 3.0", name, pre[6], pre[7]);
        return -1;
    }
    if (len > NPY_MAX_HEADER) {
        snprintf(err, errlen, "%s: .npy header of %zu bytes is implausibly long", name, len);
        return -1;
    }
    char *dict = malloc(len + 1);
    if (!dict) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    if (fread(dict, 1, len, f) != len) {
        free(dict);
        goto truncated;
    }
    dict[len] = 0;
    int rc = parse_dict(dict, name, info, err, errlen);
    free(dict);
    info->data_offset = at + len;
    return rc;
truncated:
    snprintf(err, errlen, "%s: truncated .npy header", name);
    return -1;
}

/* ------------------------------------------------------------ stream -> npy */

/* Elements as little-endian bytes (floats byte-swapped on a big-endian host). */
static int write_le(FILE *f, const void *data, size_t count, fb_dtype t)
{
    size_t bytes = count * fb_dtype_size(t);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    if (t == FB_F32) {
        const unsigned char *p = data;
        for (size_t i = 0; i < count; i++)
            for (int k = 3; k >= 0; k--)
                if (putc(p[4 * i + k], f) == EOF) return -1;
        return 0;
    }
#endif
    return fwrite(data, 1, bytes, f) == bytes ? 0 : -1;
}

/* One record TSV line: index, id, label, class (label and class empty when
 * the record has none). */
static int put_record_fields(FILE *f, uint64_t index, const fb_header *h, const fb_record *rec)
{
    int bad = fprintf(f, "%" PRIu64 "\t", index) < 0 || fb_tsv_put(f, rec->id) != 0;
    if (rec->label == FB_NO_LABEL) bad |= fputs("\t\t", f) < 0;
    else
        bad |= fprintf(f, "\t%d\t", (int)rec->label) < 0 || fb_tsv_put(f, h->classes[rec->label]) != 0;
    return bad ? -1 : 0;
}

int fb_export_npy(fb_reader *r, const char *npy_path, const char *tsv_path, uint64_t *records,
                  char *err, size_t errlen)
{
    const fb_header *h = fb_reader_header(r);
    fb_dtype dtype = h->dtype;
    int rank = h->rank;
    uint32_t dims[FB_MAX_RANK];
    memcpy(dims, h->dims, sizeof dims);
    size_t count = fb_header_count(h);
    char head[4096];
    size_t head_len = fb_npy_header(head, sizeof head, dtype, 0, rank, dims);
    fb_atomic npy = {0}, tsv = {0};
    const char *failed_path = npy_path;
    uint64_t n = 0;
    *records = 0;
    if (fb_atomic_open(&npy, npy_path) != 0) goto io;
    failed_path = tsv_path;
    if (fb_atomic_open(&tsv, tsv_path) != 0) goto io;
    failed_path = npy_path;
    if (fwrite(head, 1, head_len, npy.f) != head_len) goto io;   /* placeholder: count 0 */
    failed_path = tsv_path;
    if (fputs("index\tid\tlabel\tclass\n", tsv.f) < 0) goto io;
    fb_record rec;
    int rc;
    while ((rc = fb_reader_next(r, &rec)) == 1) {
        failed_path = npy_path;
        if (write_le(npy.f, rec.data, count, dtype) != 0) goto io;
        failed_path = tsv_path;
        if (put_record_fields(tsv.f, n, fb_reader_header(r), &rec) != 0 || putc('\n', tsv.f) == EOF)
            goto io;
        n++;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s", fb_reader_error(r));
        goto fail;
    }
    head_len = fb_npy_header(head, sizeof head, dtype, n, rank, dims);
    failed_path = npy_path;
    if (fseek(npy.f, 0, SEEK_SET) != 0 || fwrite(head, 1, head_len, npy.f) != head_len ||
        fflush(npy.f) != 0)
        goto io;
    /* the array and its records are one output: both complete and synced
     * before either is renamed, and a failed rename puts the old pair back */
    fb_atomic pair[2] = { npy, tsv };
    if (fb_atomic_commit_set(pair, 2, err, errlen) != 0) return -1;
    *records = n;
    return 0;
io:
    snprintf(err, errlen, "%s: %s", failed_path, strerror(errno));
fail:
    if (npy.tmp) fb_atomic_abort(&npy);
    if (tsv.tmp) fb_atomic_abort(&tsv);
    return -1;
}

int fb_export_tsv(fb_reader *r, FILE *out, uint64_t *records, char *err, size_t errlen)
{
    const fb_header *h = fb_reader_header(r);
    size_t count = fb_header_count(h);
    uint64_t n = 0;
    *records = 0;
    if (fputs("index\tid\tlabel\tclass", out) < 0) goto io;
    for (size_t k = 0; k < count; k++)
        if (fprintf(out, "\tv%zu", k) < 0) goto io;
    if (putc('\n', out) == EOF) goto io;
    fb_record rec;
    int rc;
    while ((rc = fb_reader_next(r, &rec)) == 1) {
        if (put_record_fields(out, n, fb_reader_header(r), &rec) != 0) goto io;
        for (size_t k = 0; k < count; k++) {
            int bad = h->dtype == FB_U8
                          ? fprintf(out, "\t%u", ((const unsigned char *)rec.data)[k]) < 0
                          : fprintf(out, "\t%.9g", (double)((const float *)rec.data)[k]) < 0;
            if (bad) goto io;
        }
        if (putc('\n', out) == EOF) goto io;
        n++;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s", fb_reader_error(r));
        return -1;
    }
    if (fflush(out) != 0) goto io;
    *records = n;
    return 0;
io:
    snprintf(err, errlen, "write failed: %s", strerror(errno));
    return -1;
}

/* ------------------------------------------------------------ npy -> stream */

typedef struct {
    char *id;
    long label;                   /* -1: none given */
    char *cls;                    /* NULL: none given */
    int class_index;              /* into the stream's classes, or FB_NO_LABEL */
} tsv_row;

typedef struct {
    tsv_row *rows;
    size_t n;
} record_table;

static void table_free(record_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->rows[i].id);
        free(t->rows[i].cls);
    }
    free(t->rows);
    memset(t, 0, sizeof *t);
}

static int column_of(char **names, int n, const char *want)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], want) == 0) return i;
    return -1;
}

/* One data row of the record TSV into t (fields already split). */
static int add_row(record_table *t, size_t *cap, char **fields, int c_index, int c_id,
                   int c_label, int c_class, const char *path, unsigned long lineno, char *err,
                   size_t errlen)
{
    if (c_index >= 0) {
        char *end;
        unsigned long long ix = strtoull(fields[c_index], &end, 10);
        if (*fields[c_index] == 0 || *end || ix != t->n) {
            snprintf(err, errlen, "%s:%lu: index '%s', expected %zu (rows in array order)", path,
                     lineno, fields[c_index], t->n);
            return -1;
        }
    }
    tsv_row row = {NULL, -1, NULL, FB_NO_LABEL};
    if (c_label >= 0 && *fields[c_label]) {
        char *end;
        long v = strtol(fields[c_label], &end, 10);
        if (*end || v < 0 || v > 1000000) {
            snprintf(err, errlen, "%s:%lu: label '%s' is not a class number", path, lineno,
                     fields[c_label]);
            return -1;
        }
        row.label = v;
    }
    if (t->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        tsv_row *rows = realloc(t->rows, nc * sizeof *rows);
        if (!rows) goto oom;
        t->rows = rows;
        *cap = nc;
    }
    row.id = strdup(fields[c_id]);
    if (c_class >= 0 && *fields[c_class]) row.cls = strdup(fields[c_class]);
    t->rows[t->n++] = row;   /* owned by t from here, even half made */
    if (!row.id || (c_class >= 0 && *fields[c_class] && !row.cls)) goto oom;
    return 0;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
    return -1;
}

/* Reads the record TSV: a header line naming the columns (id required;
 * index, label, class optional; others ignored), then one row per record. */
static int read_table(const char *path, record_table *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL, *header = NULL, *fields[64], *names[64];
    size_t cap = 0, rows_cap = 0;
    ssize_t len;
    int ncol = 0, c_index = -1, c_id = -1, c_label = -1, c_class = -1, rc = -1;
    unsigned long lineno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!header) {
            if (!(header = strdup(line))) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto done;
            }
            ncol = fb_tsv_split(header, names, 64);
            c_index = column_of(names, ncol, "index");
            c_id = column_of(names, ncol, "id");
            c_label = column_of(names, ncol, "label");
            c_class = column_of(names, ncol, "class");
            if (c_id < 0) {
                snprintf(err, errlen, "%s: the header line has no 'id' column (want: index, id, label, class)", path);
                goto done;
            }
            continue;
        }
        if (len == 0) continue;
        int nf = fb_tsv_split(line, fields, 64);
        if (nf < 0 || nf < ncol) {
            snprintf(err, errlen, "%s:%lu: %s", path, lineno,
                     nf < 0 ? "a backslash that is not \\t, \\n, \\r or \\\\" : "fewer columns than the header");
            goto done;
        }
        if (add_row(t, &rows_cap, fields, c_index, c_id, c_label, c_class, path, lineno, err, errlen))
            goto done;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (!header) {
        snprintf(err, errlen, "%s: empty (want a header line: index, id, label, class)", path);
        goto done;
    }
    rc = 0;
done:
    free(line);
    free(header);
    fclose(f);
    if (rc) table_free(t);
    return rc;
}

/* The stream's class table from the rows: the distinct names (a row with
 * only a label number is named by it), ordered by label number, then by
 * first appearance; sets every row's class_index.  One name with two label
 * numbers is an error. */
typedef struct {
    const char *name;
    long label;
    size_t first;
} class_entry;

static int by_label(const void *a, const void *b)
{
    const class_entry *x = a, *y = b;
    long lx = x->label < 0 ? LONG_MAX : x->label, ly = y->label < 0 ? LONG_MAX : y->label;
    if (lx != ly) return lx < ly ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int assign_classes(record_table *t, fb_header *h, const char *path, char *err, size_t errlen)
{
    class_entry *cls = NULL;
    size_t n = 0;
    int rc = -1;
    char num[24];
    for (size_t i = 0; i < t->n; i++) {
        tsv_row *r = &t->rows[i];
        if (!r->cls && r->label >= 0) {
            snprintf(num, sizeof num, "%ld", r->label);
            if (!(r->cls = strdup(num))) goto oom;
        }
        if (!r->cls) continue;
        size_t k = 0;
        while (k < n && strcmp(cls[k].name, r->cls) != 0) k++;
        if (k < n) {
            if (r->label >= 0 && cls[k].label >= 0 && r->label != cls[k].label) {
                snprintf(err, errlen, "%s: class '%s' has label %ld on row %zu and %ld on row %zu",
                         path, r->cls, cls[k].label, cls[k].first, r->label, i);
                goto done;
            }
            if (cls[k].label < 0) cls[k].label = r->label;
            continue;
        }
        class_entry *grown = realloc(cls, (n + 1) * sizeof *cls);
        if (!grown) goto oom;
        cls = grown;
        cls[n++] = (class_entry){r->cls, r->label, i};
    }
    if (n) qsort(cls, n, sizeof *cls, by_label);
    for (size_t k = 0; k < n; k++)
        if (fb_header_add_class(h, cls[k].name) < 0) goto oom;
    for (size_t i = 0; i < t->n; i++)
        t->rows[i].class_index = t->rows[i].cls ? fb_header_class_index(h, t->rows[i].cls) : FB_NO_LABEL;
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
done:
    free(cls);
    return rc;
}

/* Record i's elements from f into out (fb's dtype, host order). */
static int read_record(FILE *f, const fb_npy_info *info, size_t count, unsigned char *raw, void *out,
                       uint64_t i, const char *name, char *err, size_t errlen)
{
    size_t bytes = count * (size_t)info->elem_bytes;
    if (fread(raw, 1, bytes, f) != bytes) {
        snprintf(err, errlen, "%s: the data ends at record %" PRIu64 " of %" PRIu64 " the shape promises",
                 name, i, info->records);
        return -1;
    }
    if (info->dtype == FB_U8) {
        memcpy(out, raw, bytes);
        return 0;
    }
    float *o = out;
    for (size_t k = 0; k < count; k++) {
        const unsigned char *p = raw + k * (size_t)info->elem_bytes;
        if (info->elem_bytes == 4) {
            uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            memcpy(&o[k], &u, 4);
        } else {
            uint64_t u = 0;
            for (int b = 7; b >= 0; b--) u = u << 8 | p[b];
            double d;
            memcpy(&d, &u, 8);
            o[k] = (float)d;
        }
        if (!isfinite(o[k])) {
            snprintf(err, errlen, "%s: record %" PRIu64 " value %zu is not a finite float32", name, i, k);
            return -1;
        }
    }
    return 0;
}

int fb_import_npy(const char *npy_path, const char *tsv_path, const char *provenance, FILE *out,
                  int compress, uint64_t *records, char *err, size_t errlen)
{
    *records = 0;
    FILE *f = fopen(npy_path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", npy_path, strerror(errno));
        return -1;
    }
    record_table t = {0};
    fb_header h = {0};
    fb_writer *w = NULL;
    unsigned char *raw = NULL;
    void *data = NULL;
    int rc = -1;
    fb_npy_info info;
    if (fb_npy_read_header(f, npy_path, &info, err, errlen)) goto done;
    if (tsv_path) {
        if (read_table(tsv_path, &t, err, errlen)) goto done;
        if (t.n != info.records) {
            snprintf(err, errlen, "%s has %zu records, %s has %" PRIu64, tsv_path, t.n, npy_path,
                     info.records);
            goto done;
        }
    }
    fb_header_init(&h, info.dtype, info.rank, info.dims);
    if (!(h.provenance = strdup(provenance ? provenance : ""))) goto oom;
    if (tsv_path && assign_classes(&t, &h, tsv_path, err, errlen)) goto done;
    size_t count = fb_header_count(&h);
    if (!(raw = malloc(count * (size_t)info.elem_bytes)) || !(data = malloc(count * fb_dtype_size(info.dtype))))
        goto oom;
    if (!(w = fb_writer_open(out, &h, compress, err, errlen))) goto done;
    for (uint64_t i = 0; i < info.records; i++) {
        if (read_record(f, &info, count, raw, data, i, npy_path, err, errlen)) goto done;
        char id[64];
        if (!tsv_path) snprintf(id, sizeof id, "%" PRIu64, i);
        if (fb_writer_put(w, tsv_path ? t.rows[i].id : id, tsv_path ? t.rows[i].class_index : FB_NO_LABEL,
                          data) != 0) {
            snprintf(err, errlen, "%s", fb_writer_error(w));
            goto done;
        }
    }
    if (getc(f) != EOF) {
        snprintf(err, errlen, "%s: more data than its shape (%" PRIu64 " records) holds", npy_path,
                 info.records);
        goto done;
    }
    rc = fb_writer_close(w);
    if (rc) snprintf(err, errlen, "%s", fb_writer_error(w));
    w = NULL;
    if (rc == 0) *records = info.records;
    goto done;
oom:
    snprintf(err, errlen, "%s: out of memory", npy_path);
done:
    /* on an error the stream is left without its end mark, so whatever
     * reads it sees a truncated stream, never a short valid one */
    free(raw);
    free(data);
    fb_header_free(&h);
    table_free(&t);
    fclose(f);
    return rc;
}
