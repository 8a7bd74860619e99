/* The fb tensor stream: reader and writer.  Byte layout in man/fb-stream.5.
 *
 *   segment := header record* end
 *   header  := magic[8] u16 version u8 dtype u8 rank u32 dims[rank]
 *              u32 nclasses (u16 len, bytes)* u32 provlen bytes u32 crc
 *   record  := 'R' u8 flags u16 idlen i32 label u32 paylen [u32 group] id payload u32 crc
 *              (group present when flags bit 1 is set)
 *   end     := 'E' u64 nrecords u32 crc
 *
 * All integers little-endian; every CRC is zlib's CRC-32 of the bytes before
 * it in the same unit.  Reading and writing are strictly sequential. */
#include "fb/stream.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const unsigned char MAGIC[8] = {0x89, 'F', 'B', 'T', '\r', '\n', 0x1a, '\n'};
enum { TAG_RECORD = 'R', TAG_END = 'E', FLAG_ZLIB = 1, FLAG_GROUP = 2 };

/* ---------- limits ----------
 * A damaged length field must not make a reader allocate gigabytes, and a
 * stream far beyond anything fb writes is more likely damaged than meant; but
 * a real data set may need more (a million-class table, a long id), so each
 * limit is an option (FB_LIMITS, read by the tools) with a default and a
 * range.  The upper ends are what the format and memory allow: record payloads
 * have a u32 length (2^29 float32 elements = 2 GiB), names and ids a u16 one. */
typedef struct {
    const char *key;
    size_t offset;              /* of the field in fb_stream_limits */
    uint64_t def, lo, hi;
} limit_spec;

static const limit_spec LIMITS[] = {
    { "record",     offsetof(fb_stream_limits, record),     1u << 28, 1, 1u << 29 },
    { "classes",    offsetof(fb_stream_limits, classes),    1000000,  1, 1u << 30 },
    { "name",       offsetof(fb_stream_limits, name),       65535,    1, 65535 },
    { "id",         offsetof(fb_stream_limits, id),         65535,    1, 65535 },
    { "provenance", offsetof(fb_stream_limits, provenance), 1u << 20, 1, 1u << 30 },
};
enum { NLIMITS = sizeof LIMITS / sizeof LIMITS[0] };

static uint64_t *limit_field(fb_stream_limits *lim, const limit_spec *k)
{
    return (uint64_t *)((char *)lim + k->offset);
}

fb_stream_limits fb_stream_limits_default(void)
{
    fb_stream_limits lim;
    for (int i = 0; i < NLIMITS; i++) *limit_field(&lim, &LIMITS[i]) = LIMITS[i].def;
    return lim;
}

static fb_stream_limits process_limits;
static int process_limits_set;

const fb_stream_limits *fb_stream_limits_current(void)
{
    if (!process_limits_set) {
        process_limits = fb_stream_limits_default();
        process_limits_set = 1;
    }
    return &process_limits;
}

void fb_stream_set_limits(const fb_stream_limits *lim)
{
    process_limits = *lim;
    process_limits_set = 1;
}

/* "5M" -> 5 * 2^20 into *v; 0 ok, -1 not a whole number or beyond u64. */
static int parse_count(const char *s, size_t len, uint64_t *v)
{
    uint64_t n = 0, scale = 1;
    size_t i = 0;
    if (len == 0) return -1;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (n > (UINT64_MAX - 9) / 10) return -1;
        n = n * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == 0) return -1;
    if (i + 1 == len) {
        char c = s[i];
        scale = c == 'K' || c == 'k' ? 1u << 10 : c == 'M' || c == 'm' ? 1u << 20
              : c == 'G' || c == 'g' ? 1u << 30 : 0;
        if (!scale) return -1;
        i++;
    }
    if (i != len || n > UINT64_MAX / scale) return -1;
    *v = n * scale;
    return 0;
}

int fb_stream_limits_parse(const char *spec, fb_stream_limits *lim, char *err, size_t errlen)
{
    fb_stream_limits out = *lim;
    const char *p = spec ? spec : "";
    while (*p) {
        size_t len = strcspn(p, ","), klen = strcspn(p, "=,");
        const limit_spec *k = NULL;
        for (int i = 0; i < NLIMITS && !k; i++)
            if (strlen(LIMITS[i].key) == klen && strncmp(p, LIMITS[i].key, klen) == 0) k = &LIMITS[i];
        if (!k) {
            snprintf(err, errlen, "'%.*s' is not a limit: the keys are record, classes, name, id "
                     "and provenance, as in classes=5M,id=1024", (int)(len < 64 ? len : 64), p);
            return -1;
        }
        uint64_t v;
        if (klen >= len || parse_count(p + klen + 1, len - klen - 1, &v) || v < k->lo || v > k->hi) {
            snprintf(err, errlen, "%.*s: %s is a whole number from %llu to %llu (K, M and G "
                     "multiply by 2^10, 2^20, 2^30; default %llu)", (int)(len < 64 ? len : 64), p,
                     k->key, (unsigned long long)k->lo, (unsigned long long)k->hi,
                     (unsigned long long)k->def);
            return -1;
        }
        *limit_field(&out, k) = v;
        p += len;
        if (*p == ',') p++;
    }
    *lim = out;
    return 0;
}

/* The end of every "over the limit" message, reader's and writer's alike. */
#define RAISE_FMT " over the limit of %llu (raise it with FB_LIMITS=%s=N; see fb-stream(5))"

/* ---------- headers ---------- */

size_t fb_dtype_size(fb_dtype t) { return t == FB_U8 ? 1 : t == FB_F32 ? 4 : 0; }

const char *fb_dtype_name(fb_dtype t)
{
    return t == FB_U8 ? "uint8" : t == FB_F32 ? "float32" : "unknown";
}

void fb_header_init(fb_header *h, fb_dtype dtype, int rank, const uint32_t *dims)
{
    memset(h, 0, sizeof *h);
    h->dtype = dtype;
    h->rank = rank;
    for (int i = 0; i < rank && i < FB_MAX_RANK; i++) h->dims[i] = dims[i];
}

void fb_header_free(fb_header *h)
{
    for (int i = 0; i < h->nclasses; i++) free(h->classes[i]);
    free(h->classes);
    free(h->provenance);
    free(h->class_slots);
    h->classes = NULL;
    h->provenance = NULL;
    h->class_slots = NULL;
    h->nclasses = h->class_cap = 0;
    h->nslots = 0;
}

size_t fb_header_count(const fb_header *h)
{
    size_t n = 1;
    for (int i = 0; i < h->rank; i++) n *= h->dims[i];
    return n;
}

/* FNV-1a: class names are short; any decent spread will do. */
static uint32_t name_hash(const char *s)
{
    uint32_t x = 2166136261u;
    while (*s) x = (x ^ (unsigned char)*s++) * 16777619u;
    return x;
}

/* The slot holding `name`, or the empty slot where it would go. */
static uint32_t *class_slot(const fb_header *h, const char *name)
{
    uint32_t mask = h->nslots - 1, i = name_hash(name) & mask;
    while (h->class_slots[i] && strcmp(h->classes[h->class_slots[i] - 1], name) != 0)
        i = (i + 1) & mask;
    return &h->class_slots[i];
}

/* Keeps the index at most half full; rebuilds it when it grows. */
static int index_reserve(fb_header *h, int nclasses)
{
    if (h->nslots >= 2u * (uint32_t)nclasses && h->class_slots) return 0;
    uint32_t n = 16;
    while (n < 2u * (uint32_t)nclasses) n *= 2;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (!slots) return -1;
    free(h->class_slots);
    h->class_slots = slots;
    h->nslots = n;
    for (int i = 0; i < h->nclasses; i++) *class_slot(h, h->classes[i]) = (uint32_t)i + 1;
    return 0;
}

int fb_header_class_index(const fb_header *h, const char *name)
{
    if (!h->class_slots) return -1;
    uint32_t s = *class_slot(h, name);
    return s ? (int)s - 1 : -1;
}

int fb_header_add_class(fb_header *h, const char *name)
{
    int i = fb_header_class_index(h, name);
    if (i >= 0) return i;
    if (index_reserve(h, h->nclasses + 1)) return -1;
    if (h->nclasses == h->class_cap) {
        int cap = h->class_cap ? 2 * h->class_cap : 8;
        char **c = realloc(h->classes, (size_t)cap * sizeof *c);
        if (!c) return -1;
        h->classes = c;
        h->class_cap = cap;
    }
    if (!(h->classes[h->nclasses] = strdup(name))) return -1;
    *class_slot(h, name) = (uint32_t)h->nclasses + 1;
    return h->nclasses++;
}

int fb_header_copy(fb_header *dst, const fb_header *src)
{
    fb_header_init(dst, src->dtype, src->rank, src->dims);
    for (int i = 0; i < src->nclasses; i++)
        if (fb_header_add_class(dst, src->classes[i]) < 0) goto fail;
    if (!(dst->provenance = strdup(src->provenance ? src->provenance : ""))) goto fail;
    return 0;
fail:
    fb_header_free(dst);
    return -1;
}

/* ---------- provenance ---------- */

/* Start of the line "key=..." in prov, or NULL. */
static const char *prov_find(const char *prov, const char *key)
{
    size_t klen = strlen(key);
    for (const char *line = prov; line && *line;) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') return line;
        line = strchr(line, '\n');
        if (line) line++;
    }
    return NULL;
}

char *fb_prov_get(const char *prov, const char *key)
{
    const char *line = prov_find(prov, key);
    if (!line) return NULL;
    line += strlen(key) + 1;
    size_t n = strcspn(line, "\n");
    return strndup(line, n);
}

int fb_prov_set(char **prov, const char *key, const char *value)
{
    if (strchr(key, '=') || strchr(key, '\n') || strchr(value, '\n')) return -1;
    const char *old = *prov ? *prov : "";
    const char *line = prov_find(old, key);
    size_t keep_before = line ? (size_t)(line - old) : strlen(old);
    const char *after = line ? line + strcspn(line, "\n") : "";
    if (*after == '\n') after++;
    int need_nl = keep_before > 0 && old[keep_before - 1] != '\n';
    size_t n = keep_before + need_nl + strlen(key) + 1 + strlen(value) + 1 + strlen(after) + 1;
    char *s = malloc(n);
    if (!s) return -1;
    snprintf(s, n, "%.*s%s%s=%s\n%s", (int)keep_before, old, need_nl ? "\n" : "", key, value,
             after);
    free(*prov);
    *prov = s;
    return 0;
}

/* The keys that decide what a feature vector means (see man/fb-eval.1):
 * the backbone, its weights and output (fb-feat), and how a photo became the
 * backbone's input (fb-prep).  Other keys (tool versions, source lists,
 * splits) may differ between the training and the test stream. */
static int key_matters(const char *key)
{
    static const char *const keys[] = {
        "backbone", "weights_crc32", "feat_output",                       /* fb-feat */
        "resize", "size", "kernel", "background", "colour", "layout",     /* fb-prep */
        "reencode",   /* fb-prep --reencode: JPEG artefacts the head learnt, or did not */
        NULL
    };
    for (int i = 0; keys[i]; i++)
        if (strcmp(key, keys[i]) == 0) return 1;
    return 0;
}

/* Next "key=value" line of prov after *pos; key and value copied (truncated). */
static int next_kv(const char *prov, size_t *pos, char *key, size_t kn, char *val, size_t vn)
{
    while (prov[*pos]) {
        const char *line = prov + *pos, *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        *pos += len + (nl ? 1 : 0);
        const char *eq = memchr(line, '=', len);
        if (!eq) continue;
        size_t klen = (size_t)(eq - line), vlen = len - klen - 1;
        snprintf(key, kn, "%.*s", (int)klen, line);
        snprintf(val, vn, "%.*s", (int)vlen, eq + 1);
        return 1;
    }
    return 0;
}

static int prov_value(const char *prov, const char *key, char *val, size_t vn)
{
    size_t pos = 0;
    char k[256];
    while (next_kv(prov, &pos, k, sizeof k, val, vn))
        if (strcmp(k, key) == 0) return 1;
    return 0;
}

int fb_prov_compare(const char *trained, const char *stream, char *msg, size_t msglen)
{
    int ndiff = 0;
    size_t used = 0, pos = 0;
    char key[256], a[512], b[512];
    if (msglen) msg[0] = 0;
    trained = trained ? trained : "";
    stream = stream ? stream : "";
    /* keys the head knows: must be present in the stream with the same value */
    while (next_kv(trained, &pos, key, sizeof key, a, sizeof a)) {
        if (!key_matters(key)) continue;
        int have = prov_value(stream, key, b, sizeof b);
        if (have && strcmp(a, b) == 0) continue;
        ndiff++;
        if (used < msglen)
            used += snprintf(msg + used, msglen - used, "%s%s: trained on '%s', stream has %s%s%s",
                             ndiff > 1 ? "; " : "", key, a, have ? "'" : "", have ? b : "none",
                             have ? "'" : "");
    }
    /* keys only the stream has */
    pos = 0;
    while (next_kv(stream, &pos, key, sizeof key, b, sizeof b)) {
        if (!key_matters(key) || prov_value(trained, key, a, sizeof a)) continue;
        ndiff++;
        if (used < msglen)
            used += snprintf(msg + used, msglen - used, "%s%s: trained on none, stream has '%s'",
                             ndiff > 1 ? "; " : "", key, b);
    }
    return ndiff;
}

/* ---------- little-endian byte buffers ---------- */

typedef struct {
    unsigned char *p;
    size_t len, cap;
} buf;

static int buf_put(buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

static int buf_u8(buf *b, unsigned v) { unsigned char c = v; return buf_put(b, &c, 1); }

static int buf_uint(buf *b, uint64_t v, int bytes)
{
    unsigned char c[8];
    for (int i = 0; i < bytes; i++) c[i] = (unsigned char)(v >> (8 * i));
    return buf_put(b, c, bytes);
}

static uint64_t get_uint(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int buf_crc(buf *b, size_t from)
{
    return buf_uint(b, crc32(0L, b->p + from, (uInt)(b->len - from)), 4);
}

/* ---------- reading ---------- */

struct fb_reader {
    FILE *f;
    char *name;
    fb_header merged;        /* what the caller sees */
    fb_header seg;           /* the current segment's own header */
    int *label_map;          /* segment label -> merged label */
    int segment;             /* 1-based */
    uint64_t seg_records, total_records;
    int at_end;
    buf raw;                 /* bytes of the unit being read, for the CRC */
    unsigned char *data;     /* decoded payload */
    size_t data_cap;
    char *id;
    fb_stream_limits lim;
    char err[512];
};

static int rerr(fb_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rerr(fb_reader *r, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(r->err, sizeof r->err, "%s: ", r->name);
    va_start(ap, fmt);
    vsnprintf(r->err + n, sizeof r->err - n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads n bytes, appending them to r->raw.  0 ok, 1 clean EOF before any
 * byte, -1 error or EOF in the middle. */
static int rd(fb_reader *r, size_t n, const char *what)
{
    /* The buffer grows with the bytes that actually arrive (at most
     * doubling), never to a length field's promise: a damaged header or
     * record length costs what the file holds, not what it claims. */
    size_t got = 0;
    while (got < n) {
        if (r->raw.len == r->raw.cap) {
            size_t cap = r->raw.cap ? 2 * r->raw.cap : 256;
            unsigned char *p = realloc(r->raw.p, cap);
            if (!p) return rerr(r, "out of memory reading %s", what);
            r->raw.p = p;
            r->raw.cap = cap;
        }
        size_t room = r->raw.cap - r->raw.len, want = n - got < room ? n - got : room;
        size_t k = fread(r->raw.p + r->raw.len, 1, want, r->f);
        r->raw.len += k;
        got += k;
        if (k < want) break;
    }
    if (got == n) return 0;
    if (ferror(r->f)) return rerr(r, "read error in %s: %s", what, strerror(errno));
    if (got == 0 && n > 0 && r->raw.len == 0) return 1;
    return rerr(r, "truncated stream: it ends inside %s (segment %d, after %llu records)",
                what, r->segment, (unsigned long long)r->seg_records);
}

static const unsigned char *last(fb_reader *r, size_t n) { return r->raw.p + r->raw.len - n; }

static int check_crc(fb_reader *r, const char *what)
{
    size_t body = r->raw.len;
    if (rd(r, 4, what)) return -1;
    uint32_t want = (uint32_t)get_uint(last(r, 4), 4);
    if (crc32(0L, r->raw.p, (uInt)body) != want)
        return rerr(r, "corrupt stream: CRC mismatch in %s (segment %d, record %llu)", what,
                    r->segment, (unsigned long long)r->seg_records + 1);
    return 0;
}

/* Describes the first provenance key whose value differs between a and b. */
static void prov_diff(const char *a, const char *b, int seg_b, char *out, size_t n)
{
    for (int pass = 0; pass < 2; pass++) {
        const char *x = pass ? b : a, *y = pass ? a : b;
        for (const char *line = x; *line; line += strcspn(line, "\n"), line += !!*line) {
            char key[128];
            size_t klen = strcspn(line, "=\n");
            snprintf(key, sizeof key, "%.*s", (int)(klen < sizeof key ? klen : sizeof key - 1),
                     line);
            char *vx = fb_prov_get(x, key), *vy = fb_prov_get(y, key);
            int same = vx && vy && strcmp(vx, vy) == 0;
            if (!same)
                snprintf(out, n, "%.100s is '%.100s' in segment %d but %s%.100s%s in segment %d",
                         key, vx ? vx : "", pass ? seg_b : 1, vy ? "'" : "absent", vy ? vy : "",
                         vy ? "'" : "", pass ? 1 : seg_b);
            free(vx);
            free(vy);
            if (!same) return;
        }
    }
    snprintf(out, n, "provenance differs");
}

static void shape_str(const fb_header *h, char *out, size_t n)
{
    int k = snprintf(out, n, "%s ", fb_dtype_name(h->dtype));
    for (int i = 0; i < h->rank && k < (int)n; i++)
        k += snprintf(out + k, n - k, i ? "x%u" : "%u", h->dims[i]);
}

/* Reads a segment header (magic already consumed into raw) into r->seg. */
static int read_header_body(fb_reader *r)
{
    fb_header *h = &r->seg;
    fb_header_free(h);
    if (rd(r, 4, "the stream header")) return -1;
    const unsigned char *p = last(r, 4);
    unsigned version = (unsigned)get_uint(p, 2), dtype = p[2], rank = p[3];
    if (version != FB_STREAM_VERSION)
        return rerr(r, "stream version %u; this fb reads version %d", version, FB_STREAM_VERSION);
    if (fb_dtype_size(dtype) == 0) return rerr(r, "corrupt stream header: element type %u", dtype);
    if (rank < 1 || rank > FB_MAX_RANK) return rerr(r, "corrupt stream header: rank %u", rank);
    if (rd(r, 4 * rank, "the stream header")) return -1;
    uint32_t dims[FB_MAX_RANK];
    uint64_t count = 1;   /* stops growing past the limit (<= 2^29 * 2^32): no overflow */
    int partial = 0;      /* count is then a lower bound */
    for (unsigned i = 0; i < rank; i++) {
        dims[i] = (uint32_t)get_uint(last(r, 4 * (rank - i)), 4);
        if (dims[i] == 0) return rerr(r, "corrupt stream header: dimension %u is 0", i + 1);
        if (count <= r->lim.record) count *= dims[i];
        else partial = 1;
    }
    fb_header_init(h, dtype, rank, dims);
    if (count > r->lim.record) {
        char shape[96];
        shape_str(h, shape, sizeof shape);
        return rerr(r, "records of %s (%s%llu elements)," RAISE_FMT, shape,
                    partial ? "more than " : "", (unsigned long long)count,
                    (unsigned long long)r->lim.record, "record");
    }
    if (rd(r, 4, "the class table")) return -1;
    uint32_t nclasses = (uint32_t)get_uint(last(r, 4), 4);
    if (nclasses > r->lim.classes)
        return rerr(r, "%u classes," RAISE_FMT, nclasses, (unsigned long long)r->lim.classes, "classes");
    for (uint32_t i = 0; i < nclasses; i++) {
        if (rd(r, 2, "the class table")) return -1;
        size_t len = (size_t)get_uint(last(r, 2), 2);
        if (len > r->lim.name)
            return rerr(r, "class %u's name is %zu bytes," RAISE_FMT, i + 1, len,
                        (unsigned long long)r->lim.name, "name");
        if (rd(r, len, "the class table")) return -1;
        char *name = strndup((const char *)last(r, len), len);
        if (!name) return rerr(r, "out of memory");
        int ok = fb_header_class_index(h, name) < 0 && fb_header_add_class(h, name) >= 0;
        free(name);
        if (!ok) return rerr(r, "corrupt stream header: class table repeats a name");
    }
    if (rd(r, 4, "the provenance")) return -1;
    uint32_t plen = (uint32_t)get_uint(last(r, 4), 4);
    if (plen > r->lim.provenance)
        return rerr(r, "provenance of %u bytes," RAISE_FMT, plen, (unsigned long long)r->lim.provenance,
                    "provenance");
    if (rd(r, plen, "the provenance")) return -1;
    if (!(h->provenance = strndup((const char *)last(r, plen), plen)))
        return rerr(r, "out of memory");
    return check_crc(r, "the stream header");
}

/* After a segment header: check it against the merged header, map labels. */
static int adopt_segment(fb_reader *r)
{
    fb_header *h = &r->seg, *m = &r->merged;
    if (r->segment == 1) {
        if (fb_header_copy(m, h)) return rerr(r, "out of memory");
    } else {
        int same_shape = h->dtype == m->dtype && h->rank == m->rank &&
                         memcmp(h->dims, m->dims, sizeof h->dims[0] * h->rank) == 0;
        char a[96], b[96], why[400];
        if (!same_shape) {
            shape_str(m, a, sizeof a);
            shape_str(h, b, sizeof b);
            return rerr(r, "cannot concatenate: segment %d holds %s records, segment 1 holds %s",
                        r->segment, b, a);
        }
        if (strcmp(h->provenance, m->provenance) != 0) {
            prov_diff(m->provenance, h->provenance, r->segment, why, sizeof why);
            return rerr(r, "cannot concatenate: segment %d was made differently: %s", r->segment,
                        why);
        }
    }
    free(r->label_map);
    r->label_map = malloc((h->nclasses + 1) * sizeof *r->label_map);
    if (!r->label_map) return rerr(r, "out of memory");
    for (int i = 0; i < h->nclasses; i++)
        if ((r->label_map[i] = fb_header_add_class(m, h->classes[i])) < 0)
            return rerr(r, "out of memory");
    /* concatenated segments, each within the limit, may not be together */
    if ((uint64_t)m->nclasses > r->lim.classes)
        return rerr(r, "%d classes in segments 1 to %d together," RAISE_FMT, m->nclasses, r->segment,
                    (unsigned long long)r->lim.classes, "classes");
    r->seg_records = 0;
    return 0;
}

/* Reads the magic (first byte may already be in raw) and a whole header. */
static int read_segment(fb_reader *r)
{
    size_t have = r->raw.len;
    int rc = rd(r, sizeof MAGIC - have, "the stream header");
    /* A short file that does not even start like a stream is "not a stream". */
    if (rc < 0 && memcmp(r->raw.p, MAGIC, r->raw.len) == 0) return -1;
    if (rc < 0 || memcmp(r->raw.p, MAGIC, sizeof MAGIC) != 0) {
        if (r->segment == 0) return rerr(r, "not an fb stream (no fb stream header)");
        return rerr(r, "corrupt stream: unexpected bytes after the end of segment %d", r->segment);
    }
    r->segment++;
    if (read_header_body(r)) return -1;
    return adopt_segment(r);
}

fb_reader *fb_reader_open(FILE *f, const char *name, char *err, size_t errlen)
{
    return fb_reader_open_limited(f, name, fb_stream_limits_current(), err, errlen);
}

fb_reader *fb_reader_open_limited(FILE *f, const char *name, const fb_stream_limits *lim,
                                  char *err, size_t errlen)
{
    fb_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(!name || strcmp(name, "-") == 0 ? "stdin" : name))) {
        snprintf(err, errlen, "out of memory");
        free(r);
        return NULL;
    }
    r->f = f;
    r->lim = *lim;
    int rc = rd(r, 1, "the stream header");
    if (rc == 1) rerr(r, "empty input: not an fb stream");
    if (rc != 0 || read_segment(r) != 0) {
        snprintf(err, errlen, "%s", r->err);
        fb_reader_close(r);
        return NULL;
    }
    return r;
}

const fb_header *fb_reader_header(const fb_reader *r) { return &r->merged; }
const char *fb_reader_error(const fb_reader *r) { return r->err; }
uint64_t fb_reader_count(const fb_reader *r) { return r->total_records; }

static int read_end(fb_reader *r)
{
    if (rd(r, 8, "the end mark")) return -1;
    uint64_t n = get_uint(last(r, 8), 8);
    if (check_crc(r, "the end mark")) return -1;
    if (n != r->seg_records)
        return rerr(r, "corrupt stream: end mark of segment %d counts %llu records, read %llu",
                    r->segment, (unsigned long long)n, (unsigned long long)r->seg_records);
    return 0;
}

static int decode_payload(fb_reader *r, int flags, const unsigned char *stored, size_t len)
{
    size_t want = fb_header_count(&r->seg) * fb_dtype_size(r->seg.dtype);
    if (want > r->data_cap) {
        unsigned char *p = realloc(r->data, want);
        if (!p) return rerr(r, "out of memory");
        r->data = p;
        r->data_cap = want;
    }
    if (flags & FLAG_ZLIB) {
        uLongf out = want;
        if (uncompress(r->data, &out, stored, len) != Z_OK || out != want)
            return rerr(r, "corrupt stream: record %llu does not decompress",
                        (unsigned long long)r->seg_records + 1);
    } else {
        if (len != want)
            return rerr(r, "corrupt stream: record %llu has %zu bytes, expected %zu",
                        (unsigned long long)r->seg_records + 1, len, want);
        memcpy(r->data, stored, len);
    }
    return 0;
}

/* A NaN or infinity in a float record would spread through every number
 * computed from it (a head whose parameters are all NaN, exit 0): refused
 * where it enters, naming the record. */
size_t fb_first_nonfinite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return i;
    return n;
}

static int check_finite(fb_reader *r)
{
    if (r->seg.dtype != FB_F32) return 0;
    const float *v = (const float *)r->data;
    size_t n = fb_header_count(&r->seg), i = fb_first_nonfinite(v, n);
    if (i < n)
        return rerr(r, "record %llu (%s): value %zu is %s, not a finite number",
                    (unsigned long long)r->total_records + 1, r->id, i,
                    isnan(v[i]) ? "NaN" : "infinite");
    return 0;
}

static int read_record(fb_reader *r, fb_record *rec)
{
    if (rd(r, 11, "a record")) return -1;
    const unsigned char *p = last(r, 11);
    int flags = p[0];
    size_t idlen = (size_t)get_uint(p + 1, 2);
    int32_t label = (int32_t)(uint32_t)get_uint(p + 3, 4);
    size_t paylen = (size_t)get_uint(p + 7, 4);
    size_t max = fb_header_count(&r->seg) * fb_dtype_size(r->seg.dtype);
    if (flags & ~(FLAG_ZLIB | FLAG_GROUP) || paylen > compressBound(max))
        return rerr(r, "corrupt stream: bad record header (segment %d, record %llu)", r->segment,
                    (unsigned long long)r->seg_records + 1);
    if (idlen > r->lim.id)
        return rerr(r, "record %llu's id is %zu bytes," RAISE_FMT, (unsigned long long)r->total_records + 1,
                    idlen, (unsigned long long)r->lim.id, "id");
    uint32_t group = FB_NO_GROUP;
    size_t fixed = 12;
    if (flags & FLAG_GROUP) {
        if (rd(r, 4, "a record")) return -1;
        group = (uint32_t)get_uint(last(r, 4), 4);
        fixed += 4;
    }
    if (rd(r, idlen + paylen, "a record")) return -1;
    if (check_crc(r, "a record")) return -1;
    const unsigned char *id = r->raw.p + fixed, *stored = id + idlen;
    if (label != FB_NO_LABEL && (label < 0 || label >= r->seg.nclasses))
        return rerr(r, "corrupt stream: record %llu has label %d but %d classes",
                    (unsigned long long)r->seg_records + 1, label, r->seg.nclasses);
    if (decode_payload(r, flags, stored, paylen)) return -1;
    free(r->id);
    if (!(r->id = strndup((const char *)id, idlen))) return rerr(r, "out of memory");
    if (check_finite(r)) return -1;
    r->seg_records++;
    r->total_records++;
    rec->id = r->id;
    rec->label = label == FB_NO_LABEL ? FB_NO_LABEL : r->label_map[label];
    rec->group = group;
    rec->data = r->data;
    rec->nbytes = fb_header_count(&r->seg) * fb_dtype_size(r->seg.dtype);
    return 1;
}

int fb_reader_next(fb_reader *r, fb_record *rec)
{
    if (r->err[0]) return -1;
    while (!r->at_end) {
        r->raw.len = 0;
        int rc = rd(r, 1, "a record");
        if (rc == 1)
            return rerr(r, "truncated stream: no end mark after %llu records of segment %d",
                        (unsigned long long)r->seg_records, r->segment);
        if (rc < 0) return -1;
        int tag = r->raw.p[0];
        if (tag == TAG_RECORD) return read_record(r, rec);
        if (tag != TAG_END)
            return rerr(r, "corrupt stream: unexpected byte 0x%02x where a record starts "
                        "(segment %d, after %llu records)", tag, r->segment,
                        (unsigned long long)r->seg_records);
        if (read_end(r)) return -1;
        /* Another segment may follow (concatenated streams). */
        r->raw.len = 0;
        rc = rd(r, 1, "the next segment");
        if (rc == 1) { r->at_end = 1; break; }
        if (rc < 0 || read_segment(r)) return -1;
    }
    return 0;
}

void fb_reader_close(fb_reader *r)
{
    if (!r) return;
    fb_header_free(&r->merged);
    fb_header_free(&r->seg);
    free(r->label_map);
    free(r->raw.p);
    free(r->data);
    free(r->id);
    free(r->name);
    free(r);
}

/* ---------- writing ---------- */

struct fb_writer {
    FILE *f;
    fb_header h;
    int compress;
    int header_written;
    uint64_t seg_records;
    buf out;
    unsigned char *zbuf;
    size_t zcap;
    char err[256];
};

static int werr(fb_writer *w, const char *what)
{
    snprintf(w->err, sizeof w->err, "%s: %s", what, errno ? strerror(errno) : "failed");
    return -1;
}

static int flush_out(fb_writer *w)
{
    errno = 0;
    if (fwrite(w->out.p, 1, w->out.len, w->f) != w->out.len) return werr(w, "write error");
    w->out.len = 0;
    return 0;
}

/* A writer writes nothing a reader with the same limits would refuse: the
 * limits are one setting for a whole pipeline. */
static int header_over_limit(fb_writer *w)
{
    const fb_header *h = &w->h;
    const fb_stream_limits *lim = fb_stream_limits_current();
    const char *prov = h->provenance ? h->provenance : "";
    unsigned long long count = fb_header_count(h);
    if (count > lim->record)
        snprintf(w->err, sizeof w->err, "records of %llu elements," RAISE_FMT, count,
                 (unsigned long long)lim->record, "record");
    else if ((uint64_t)h->nclasses > lim->classes)
        snprintf(w->err, sizeof w->err, "%d classes," RAISE_FMT, h->nclasses,
                 (unsigned long long)lim->classes, "classes");
    else if (strlen(prov) > lim->provenance)
        snprintf(w->err, sizeof w->err, "provenance of %zu bytes," RAISE_FMT, strlen(prov),
                 (unsigned long long)lim->provenance, "provenance");
    else {
        for (int i = 0; i < h->nclasses; i++)
            if (strlen(h->classes[i]) > lim->name) {
                snprintf(w->err, sizeof w->err, "class name '%.40s...' is %zu bytes," RAISE_FMT,
                         h->classes[i], strlen(h->classes[i]), (unsigned long long)lim->name, "name");
                return -1;
            }
        return 0;
    }
    return -1;
}

static int write_header(fb_writer *w)
{
    const fb_header *h = &w->h;
    buf *b = &w->out;
    const char *prov = h->provenance ? h->provenance : "";
    if (header_over_limit(w)) return -1;
    b->len = 0;
    int bad = buf_put(b, MAGIC, sizeof MAGIC) || buf_uint(b, FB_STREAM_VERSION, 2) ||
              buf_u8(b, h->dtype) || buf_u8(b, h->rank);
    for (int i = 0; i < h->rank; i++) bad = bad || buf_uint(b, h->dims[i], 4);
    bad = bad || buf_uint(b, h->nclasses, 4);
    for (int i = 0; i < h->nclasses; i++) {
        size_t len = strlen(h->classes[i]);
        bad = bad || len > 0xffff || buf_uint(b, len, 2) || buf_put(b, h->classes[i], len);
    }
    bad = bad || buf_uint(b, strlen(prov), 4) || buf_put(b, prov, strlen(prov)) || buf_crc(b, 0);
    if (bad) return werr(w, "cannot encode the stream header");
    w->header_written = 1;
    w->seg_records = 0;
    return flush_out(w);
}

static int write_end(fb_writer *w)
{
    w->out.len = 0;
    if (buf_u8(&w->out, TAG_END) || buf_uint(&w->out, w->seg_records, 8) || buf_crc(&w->out, 0))
        return werr(w, "out of memory");
    return flush_out(w);
}

fb_writer *fb_writer_open(FILE *f, const fb_header *h, int compress, char *err, size_t errlen)
{
    fb_writer *w = calloc(1, sizeof *w);
    if (!w || fb_header_copy(&w->h, h)) {
        snprintf(err, errlen, "out of memory");
        free(w);
        return NULL;
    }
    if (fb_dtype_size(h->dtype) == 0 || h->rank < 1 || h->rank > FB_MAX_RANK) {
        snprintf(err, errlen, "invalid stream header");
        fb_header_free(&w->h);
        free(w);
        return NULL;
    }
    w->f = f;
    w->compress = compress < 0 ? 0 : compress > 9 ? 9 : compress;
    return w;
}

const fb_header *fb_writer_header(const fb_writer *w) { return &w->h; }
const char *fb_writer_error(const fb_writer *w) { return w->err; }

int fb_writer_add_class(fb_writer *w, const char *name)
{
    int i = fb_header_class_index(&w->h, name);
    if (i >= 0) return i;
    /* A new name after records: close this segment, the next header has it. */
    if (w->header_written && (write_end(w) || (w->header_written = 0))) return -1;
    i = fb_header_add_class(&w->h, name);
    if (i < 0) werr(w, "out of memory");
    return i;
}

static const void *maybe_compress(fb_writer *w, const void *data, size_t n, size_t *len,
                                  int *flags)
{
    *len = n;
    *flags = 0;
    if (!w->compress) return data;
    uLongf bound = compressBound(n);
    if (bound > w->zcap) {
        unsigned char *p = realloc(w->zbuf, bound);
        if (!p) return data;
        w->zbuf = p;
        w->zcap = bound;
    }
    if (compress2(w->zbuf, &bound, data, n, w->compress) != Z_OK || bound >= n) return data;
    *len = bound;
    *flags = FLAG_ZLIB;
    return w->zbuf;
}

int fb_writer_put(fb_writer *w, const char *id, int32_t label, const void *data)
{
    return fb_writer_put_grouped(w, id, label, FB_NO_GROUP, data);
}

int fb_writer_put_grouped(fb_writer *w, const char *id, int32_t label, uint32_t group,
                          const void *data)
{
    if (!w->header_written && write_header(w)) return -1;
    size_t idlen = strlen(id), n = fb_header_count(&w->h) * fb_dtype_size(w->h.dtype);
    if (idlen > fb_stream_limits_current()->id) {
        snprintf(w->err, sizeof w->err, "record id '%.40s...' is %zu bytes," RAISE_FMT, id, idlen,
                 (unsigned long long)fb_stream_limits_current()->id, "id");
        return -1;
    }
    if (label != FB_NO_LABEL && (label < 0 || label >= w->h.nclasses)) {
        errno = 0;
        return werr(w, "record label outside the class table");
    }
    size_t len;
    int flags;
    const void *stored = maybe_compress(w, data, n, &len, &flags);
    if (group != FB_NO_GROUP) flags |= FLAG_GROUP;
    buf *b = &w->out;
    b->len = 0;
    if (buf_u8(b, TAG_RECORD) || buf_u8(b, flags) || buf_uint(b, idlen, 2) ||
        buf_uint(b, (uint32_t)label, 4) || buf_uint(b, len, 4) ||
        (group != FB_NO_GROUP && buf_uint(b, group, 4)) || buf_put(b, id, idlen) ||
        buf_put(b, stored, len) || buf_crc(b, 0))
        return werr(w, "out of memory");
    if (flush_out(w)) return -1;
    w->seg_records++;
    return 0;
}

int fb_writer_close(fb_writer *w)
{
    int rc = 0;
    if (!w->header_written && write_header(w)) rc = -1;
    if (rc == 0 && write_end(w)) rc = -1;
    errno = 0;
    if (rc == 0 && fflush(w->f) != 0) rc = werr(w, "write error");
    fb_header_free(&w->h);
    free(w->out.p);
    free(w->zbuf);
    w->out.p = NULL;
    w->zbuf = NULL;
    if (rc == 0) {
        free(w);
        return 0;
    }
    /* Keep w alive so the caller can read the error; it leaks one small
     * struct on a path that ends the program. */
    return -1;
}
