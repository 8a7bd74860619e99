/* head.bin: the head serialised, loaded, checked (layout in include/fb/head.h). */
#include "fb/head.h"
#include "fb/core.h"
#include "fb/stream.h"
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------------ head.bin */

typedef struct { unsigned char *p; size_t len, cap; int oom; } outbuf;

static void put(outbuf *o, const void *src, size_t n)
{
    if (o->oom) return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n) cap *= 2;
        unsigned char *p = realloc(o->p, cap);
        if (!p) { o->oom = 1; return; }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, src, n);
    o->len += n;
}

/* x86-64 and aarch64 are little-endian, as the format; a big-endian port
 * would swap here. */
static void put_u32(outbuf *o, uint32_t v) { put(o, &v, 4); }
static void put_u64(outbuf *o, uint64_t v) { put(o, &v, 8); }
static void put_f32(outbuf *o, float v) { put(o, &v, 4); }
static void put_str(outbuf *o, const char *s)
{
    uint32_t n = (uint32_t)strlen(s ? s : "");
    put_u32(o, n);
    put(o, s ? s : "", n);
}

int fb_head_serialize(const fb_head *h, unsigned char **buf, size_t *len)
{
    outbuf o = { 0 };
    unsigned char zero[FB_HEAD_HEADER_SIZE] = { 0 };
    put(&o, zero, sizeof zero);
    put_u32(&o, (uint32_t)h->in_dim);
    put_u32(&o, (uint32_t)h->nclasses);
    put_u32(&o, (uint32_t)h->nhidden);
    for (int l = 0; l < h->nhidden; l++) put_u32(&o, (uint32_t)h->hidden[l]);
    put_f32(&o, h->dropout);
    put_f32(&o, h->bn_eps);
    put_f32(&o, h->bn_momentum);
    put_u64(&o, h->nparams);
    put_u64(&o, h->nstats);
    for (int i = 0; i < h->nclasses; i++) put_str(&o, h->classes[i]);
    put_str(&o, h->provenance);
    put_str(&o, h->training);
    put(&o, h->params, h->nparams * sizeof(float));
    put(&o, h->stats, h->nstats * sizeof(float));
    /* version 2: normalisation and threshold */
    put_u32(&o, (uint32_t)h->norm);
    put_f32(&o, h->threshold);
    if (h->norm & FB_NORM_STD) {
        put(&o, h->norm_mean, (size_t)h->in_dim * sizeof(float));
        put(&o, h->norm_inv_std, (size_t)h->in_dim * sizeof(float));
    }
    /* version 3: the rejection model, k 0 when there is none */
    const fb_reject *r = &h->reject;
    put_u32(&o, r->n ? (uint32_t)r->k : 0);
    if (r->n) {
        put_u64(&o, r->n);
        put_f32(&o, r->rate);
        put_f32(&o, r->cut);
        put(&o, r->loo, r->n * sizeof(float));
        put(&o, r->points, r->n * (size_t)r->d * sizeof(float));
    }
    /* version 4: a fine-tuned head's stage 5; a head without one stays a
     * version 3 file, readable by the fb that wrote those */
    const fb_stage5 *s5 = &h->stage5;
    if (s5->params) {
        put_u32(&o, (uint32_t)s5->side);
        put_u32(&o, (uint32_t)s5->cin);
        put_u32(&o, (uint32_t)s5->width);
        put(&o, s5->params, s5->nparams * sizeof(float));
    }
    if (o.oom) { free(o.p); return -1; }

    uint64_t payload = o.len - FB_HEAD_HEADER_SIZE;
    uint32_t crc = (uint32_t)crc32(0L, o.p + FB_HEAD_HEADER_SIZE, (uInt)payload);
    uint32_t version = s5->params ? 4 : 3, hsize = FB_HEAD_HEADER_SIZE;
    memcpy(o.p, FB_HEAD_MAGIC, 8);
    memcpy(o.p + 8, &version, 4);
    memcpy(o.p + 12, &hsize, 4);
    memcpy(o.p + 16, &payload, 8);
    memcpy(o.p + 24, &crc, 4);
    *buf = o.p;
    *len = o.len;
    return 0;
}

typedef struct { const unsigned char *p; size_t len, pos; int bad; } inbuf;

static void get(inbuf *in, void *dst, size_t n)
{
    if (in->bad || n > in->len - in->pos) { in->bad = 1; memset(dst, 0, n); return; }
    memcpy(dst, in->p + in->pos, n);
    in->pos += n;
}
static uint32_t get_u32(inbuf *in) { uint32_t v; get(in, &v, 4); return v; }
static uint64_t get_u64(inbuf *in) { uint64_t v; get(in, &v, 8); return v; }
static float get_f32(inbuf *in) { float v; get(in, &v, 4); return v; }
static char *get_str(inbuf *in)
{
    uint32_t n = get_u32(in);
    if (in->bad || n > in->len - in->pos) { in->bad = 1; return NULL; }
    char *s = malloc((size_t)n + 1);
    if (!s) { in->bad = 1; return NULL; }
    memcpy(s, in->p + in->pos, n);
    s[n] = 0;
    in->pos += n;
    return s;
}

/* Version 2's tail: normalisation steps, threshold, statistics. */
static int read_v2_tail(fb_head *h, inbuf *in, char *err, size_t errlen)
{
    uint32_t norm = get_u32(in);
    float threshold = get_f32(in);
    if (in->bad || norm & ~(uint32_t)(FB_NORM_SQRT | FB_NORM_L2 | FB_NORM_STD) || !isfinite(threshold)) {
        snprintf(err, errlen, "head file damaged: bad normalisation or threshold");
        return -1;
    }
    h->norm = (int)norm;
    h->threshold = threshold;
    size_t bytes = (size_t)h->in_dim * sizeof(float);
    if (norm & FB_NORM_STD) {
        h->norm_mean = malloc(bytes);
        h->norm_inv_std = malloc(bytes);
        if (!h->norm_mean || !h->norm_inv_std) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        get(in, h->norm_mean, bytes);
        get(in, h->norm_inv_std, bytes);
    }
    return 0;
}

static int all_finite(const float *v, size_t n)
{
    return fb_first_nonfinite(v, n) == n;
}

/* Version 3's tail: the rejection model.  Sizes are checked against the
 * bytes present before anything is allocated. */
static int read_v3_tail(fb_head *h, inbuf *in, char *err, size_t errlen)
{
    uint32_t k = get_u32(in);
    if (in->bad) goto damaged;
    if (k == 0) return 0;
    uint64_t n = get_u64(in);
    float rate = get_f32(in), cut = get_f32(in);
    size_t d = (size_t)h->in_dim;
    if (in->bad || k > FB_REJECT_MAX_K || n <= k || n > FB_REJECT_MAX_POINTS ||
        !(rate >= 0 && rate <= 1) || isnan(cut) ||
        (n * (d + 1)) * sizeof(float) > in->len - in->pos)
        goto damaged;
    fb_reject *r = &h->reject;
    r->points = malloc(n * d * sizeof(float));
    r->loo = malloc(n * sizeof(float));
    if (!r->points || !r->loo) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->k = (int)k;
    r->d = (int)d;
    r->n = n;
    r->rate = rate;
    r->cut = cut;
    get(in, r->loo, n * sizeof(float));
    get(in, r->points, n * d * sizeof(float));
    if (in->bad || !all_finite(r->loo, n) || !all_finite(r->points, n * d)) goto damaged;
    for (size_t i = 1; i < n; i++)
        if (r->loo[i] < r->loo[i - 1]) goto damaged;
    return 0;
damaged:
    snprintf(err, errlen, "head file damaged: bad rejection model");
    return -1;
}

/* Version 4's tail: the fine-tuned stage 5.  Its shape is checked against
 * the head's input and the bytes present before anything is allocated. */
static int read_v4_tail(fb_head *h, inbuf *in, char *err, size_t errlen)
{
    uint32_t side = get_u32(in), cin = get_u32(in), width = get_u32(in);
    if (in->bad || side < 2 || side > 64 || side % 2 || cin < 1 || cin > 8192 || width < 1 || width > 4096 ||
        4 * width != (uint32_t)h->in_dim)
        goto damaged;
    size_t nparams = fb_stage5_nparams((int)cin, (int)width);
    if (nparams * sizeof(float) > in->len - in->pos) goto damaged;
    if (fb_stage5_init(&h->stage5, (int)side, (int)cin, (int)width) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    get(in, h->stage5.params, nparams * sizeof(float));
    if (in->bad || !all_finite(h->stage5.params, nparams)) goto damaged;
    return 0;
damaged:
    snprintf(err, errlen, "head file damaged: bad stage 5");
    return -1;
}

int fb_head_deserialize(fb_head *h, const unsigned char *buf, size_t len, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    if (len < FB_HEAD_HEADER_SIZE || memcmp(buf, FB_HEAD_MAGIC, 8) != 0) {
        snprintf(err, errlen, "not an fb head file (no 'fbhead' magic; was it written by fb-train?)");
        return -1;
    }
    uint32_t version, hsize, crc;
    uint64_t payload;
    memcpy(&version, buf + 8, 4);
    memcpy(&hsize, buf + 12, 4);
    memcpy(&payload, buf + 16, 8);
    memcpy(&crc, buf + 24, 4);
    if (version < 1 || version > FB_HEAD_VERSION) {
        snprintf(err, errlen, "head file version %u, this fb reads versions 1 to %d (retrain with this fb-train)",
                 version, FB_HEAD_VERSION);
        return -1;
    }
    if (hsize != FB_HEAD_HEADER_SIZE || payload != len - FB_HEAD_HEADER_SIZE) {
        snprintf(err, errlen, "head file truncated or damaged: %zu payload bytes, header says %llu",
                 len - FB_HEAD_HEADER_SIZE, (unsigned long long)payload);
        return -1;
    }
    if ((uint32_t)crc32(0L, buf + FB_HEAD_HEADER_SIZE, (uInt)payload) != crc) {
        snprintf(err, errlen, "head file damaged: checksum mismatch");
        return -1;
    }
    inbuf in = { .p = buf + FB_HEAD_HEADER_SIZE, .len = payload };
    uint32_t in_dim = get_u32(&in), nclasses = get_u32(&in), nhidden = get_u32(&in);
    int hidden[FB_HEAD_MAX_HIDDEN];
    if (in.bad || in_dim < 1 || in_dim > (1u << 24) || nclasses < 2 || nclasses > (1u << 20) ||
        nhidden > FB_HEAD_MAX_HIDDEN) {
        snprintf(err, errlen, "head file damaged: impossible shape");
        return -1;
    }
    for (uint32_t l = 0; l < nhidden; l++) {
        uint32_t w = get_u32(&in);
        if (w < 1 || w > FB_HEAD_MAX_WIDTH) in.bad = 1;
        hidden[l] = (int)w;
    }
    float dropout = get_f32(&in), eps = get_f32(&in), momentum = get_f32(&in);
    uint64_t nparams = get_u64(&in), nstats = get_u64(&in);
    if (in.bad) {
        snprintf(err, errlen, "head file damaged: impossible shape");
        return -1;
    }
    /* Nothing is allocated from the header's numbers before the bytes they
     * describe are known to be there: a damaged header costs its own size. */
    size_t want_params, want_stats;
    fb_head_count_params((int)in_dim, (int)nclasses, (int)nhidden, hidden, &want_params, &want_stats);
    if (want_params != nparams || want_stats != nstats ||
        nparams + nstats > (in.len - in.pos) / sizeof(float) ||
        nclasses > (in.len - in.pos) / 4) {
        snprintf(err, errlen, "head file damaged: parameter count does not match the architecture");
        return -1;
    }
    /* class names are read into a temporary list first: init copies them */
    char **names = calloc(nclasses, sizeof *names);
    if (!names) { snprintf(err, errlen, "out of memory"); return -1; }
    for (uint32_t i = 0; i < nclasses && !in.bad; i++) names[i] = get_str(&in);
    char *prov = get_str(&in), *training = get_str(&in);
    int rc = -1;
    if (in.bad) {
        snprintf(err, errlen, "head file damaged: bad class table or provenance");
    } else if (fb_head_init(h, (int)in_dim, (int)nclasses, (const char *const *)names,
                            (int)nhidden, hidden, dropout, prov) != 0) {
        snprintf(err, errlen, "out of memory");
    } else if (h->nparams != nparams || h->nstats != nstats ||
               (nparams + nstats) * sizeof(float) > in.len - in.pos ||
               (version == 1 && (nparams + nstats) * sizeof(float) != in.len - in.pos)) {
        snprintf(err, errlen, "head file damaged: parameter count does not match the architecture");
        fb_head_free(h);
    } else {
        h->bn_eps = eps;
        h->bn_momentum = momentum;
        free(h->training);
        h->training = training;
        training = NULL;
        get(&in, h->params, nparams * sizeof(float));
        get(&in, h->stats, nstats * sizeof(float));
        /* A head of NaNs (an fb-train before divergence was caught) would
         * print nan for every photo. */
        if (!all_finite(h->params, nparams) || !all_finite(h->stats, nstats)) {
            snprintf(err, errlen, "head file damaged: a parameter is not a finite number");
            rc = -1;
        } else {
            rc = version >= 2 ? read_v2_tail(h, &in, err, errlen) : 0;
        }
        if (rc == 0 && version >= 3) rc = read_v3_tail(h, &in, err, errlen);
        if (rc == 0 && version >= 4) rc = read_v4_tail(h, &in, err, errlen);
        if (rc == 0 && (in.bad || in.pos != in.len)) {
            snprintf(err, errlen, "head file damaged: %s after the parameters",
                     in.bad ? "too few bytes" : "unexpected bytes");
            rc = -1;
        }
        if (rc) fb_head_free(h);
    }
    for (uint32_t i = 0; i < nclasses; i++) free(names[i]);
    free(names);
    free(prov);
    free(training);
    return rc;
}

int fb_head_save(const fb_head *h, const char *path, char *err, size_t errlen)
{
    unsigned char *buf;
    size_t len;
    if (fb_head_serialize(h, &buf, &len) != 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    int rc = fb_write_file_atomic(path, buf, len, err, errlen);
    free(buf);
    return rc;
}

int fb_head_load(fb_head *h, const char *path, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            unsigned char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s: out of memory", path);
                return -1;
            }
            buf = p;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int rd_err = ferror(f);
    fclose(f);
    if (rd_err) {
        free(buf);
        snprintf(err, errlen, "%s: read error", path);
        return -1;
    }
    char msg[256];
    int rc = fb_head_deserialize(h, buf, len, msg, sizeof msg);
    if (rc != 0) snprintf(err, errlen, "%s: %s", path, msg);
    free(buf);
    return rc;
}
