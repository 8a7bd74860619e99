/* The fb weights file: load + verify, locate, and convert from the tfjs
 * layers-model export of Keras ResNet50.  Layout in include/fb/backbone.h. */
#include "fb/backbone.h"
#include "fb/core.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define ALIGN 64

static size_t align_up(size_t n) { return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* zlib's crc32 takes uInt lengths: feed it in chunks. */
uint32_t fb_weights_crc(const void *payload, size_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    const unsigned char *p = payload;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)crc;
}

/* ------------------------------------------------------------------ load */

/* Parses the tensor table and labels of a verified payload. */
static int parse_payload(fb_weights *w, const char *path, const unsigned char *payload,
                         size_t psize, int ntensors, int nlabels, char *err, size_t errlen)
{
    size_t table = align_up((size_t)ntensors * FB_WEIGHTS_ENTRY_SIZE);
    if (table > psize) return fail(err, errlen, "%s: tensor table larger than the file", path);
    w->tensors = calloc((size_t)ntensors, sizeof *w->tensors);
    w->labels = calloc((size_t)nlabels + 1, sizeof *w->labels);
    if (!w->tensors || !w->labels) return fail(err, errlen, "%s: out of memory", path);
    size_t off = table;
    for (int i = 0; i < ntensors; i++) {
        const unsigned char *e = payload + (size_t)i * FB_WEIGHTS_ENTRY_SIZE;
        fb_conv_params *t = &w->tensors[i];
        memcpy(t->name, e, FB_WEIGHTS_NAME_MAX);
        t->name[FB_WEIGHTS_NAME_MAX - 1] = 0;
        const unsigned char *d = e + FB_WEIGHTS_NAME_MAX;
        t->kh = (int)get_u32(d); t->kw = (int)get_u32(d + 4);
        t->cin = (int)get_u32(d + 8); t->cout = (int)get_u32(d + 12);
        t->stride = (int)get_u32(d + 16); t->pad = (int)get_u32(d + 20);
        if (t->kh < 1 || t->kh > 15 || t->kw < 1 || t->kw > 15 || t->cin < 1 ||
            t->cin > 65536 || t->cout < 1 || t->cout > 65536 || t->stride < 1 ||
            t->stride > 8 || t->pad < 0 || t->pad > 8)
            return fail(err, errlen, "%s: tensor %d (%s) has an impossible shape", path, i, t->name);
        size_t nw = (size_t)t->kh * t->kw * t->cin * t->cout;
        size_t need = align_up(nw * sizeof(float)) + align_up((size_t)t->cout * sizeof(float));
        if (off + need > psize)
            return fail(err, errlen, "%s: tensor %s runs past the end of the file", path, t->name);
        t->w = (const float *)(payload + off);
        off += align_up(nw * sizeof(float));
        t->b = (const float *)(payload + off);
        off += align_up((size_t)t->cout * sizeof(float));
    }
    for (int i = 0; i < nlabels; i++) {
        const char *s = (const char *)payload + off;
        size_t left = psize - off;
        size_t len = strnlen(s, left);
        if (len == left) return fail(err, errlen, "%s: class labels are cut short", path);
        w->labels[i] = s;
        off += len + 1;
    }
    if (off != psize) return fail(err, errlen, "%s: %zu unexpected bytes after the labels", path, psize - off);
    return 0;
}

/* Checks the 64-byte header h (got bytes of it read) of a file of `size`
 * bytes; 0 ok with the payload size in *psize. */
static int check_header(const unsigned char *h, size_t got, uint64_t size, const char *path,
                        uint64_t *psize_out, char *err, size_t errlen)
{
    if (got < 8 || memcmp(h, FB_WEIGHTS_MAGIC, 8) != 0)
        return fail(err, errlen, "%s: not an fb weights file (bad magic); %s", path, FB_WEIGHTS_HINT);
    if (got < FB_WEIGHTS_HEADER_SIZE)
        return fail(err, errlen, "%s: truncated header; %s", path, FB_WEIGHTS_HINT);
    uint32_t version = get_u32(h + 8), hsize = get_u32(h + 12);
    uint64_t psize = get_u64(h + 16);
    uint32_t ntensors = get_u32(h + 28), nlabels = get_u32(h + 32);
    if (version != FB_WEIGHTS_VERSION)
        return fail(err, errlen, "%s: weights file version %u, this fb reads version %d; %s",
                    path, version, FB_WEIGHTS_VERSION, FB_WEIGHTS_HINT);
    if (hsize != FB_WEIGHTS_HEADER_SIZE || ntensors == 0 || ntensors > 4096 || nlabels > 100000)
        return fail(err, errlen, "%s: damaged header; %s", path, FB_WEIGHTS_HINT);
    /* hsize + psize could wrap: compare without forming the sum */
    if (size < hsize || psize != size - hsize)
        return fail(err, errlen, "%s: size is %llu bytes, the header says %u + %llu (truncated or damaged); %s",
                    path, (unsigned long long)size, hsize, (unsigned long long)psize, FB_WEIGHTS_HINT);
    *psize_out = psize;
    return 0;
}

/* Verifies the checksum and parses the table of the whole file in w->buf. */
static int verify_loaded(fb_weights *w, const char *path, char *err, size_t errlen)
{
    const unsigned char *h = w->buf, *payload = h + FB_WEIGHTS_HEADER_SIZE;
    size_t psize = w->size - FB_WEIGHTS_HEADER_SIZE;
    uint32_t crc = get_u32(h + 24), ntensors = get_u32(h + 28), nlabels = get_u32(h + 32);
    if (fb_weights_crc(payload, psize) != crc)
        return fail(err, errlen, "%s: checksum mismatch (file damaged); %s", path, FB_WEIGHTS_HINT);
    w->crc = crc;
    snprintf(w->checksum, sizeof w->checksum, "%08x", crc);
    memcpy(w->source, h + 36, 28);
    w->source[28] = 0;
    w->ntensors = (int)ntensors;
    w->nlabels = (int)nlabels;
    return parse_payload(w, path, payload, psize, (int)ntensors, (int)nlabels, err, errlen);
}

int fb_weights_load(fb_weights *w, const char *path, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, errlen, "%s: %s; %s", path, strerror(errno), FB_WEIGHTS_HINT);
    unsigned char h[FB_WEIGHTS_HEADER_SIZE];
    size_t got = fread(h, 1, sizeof h, f);
    int rc = -1;
    /* The size read is the one the file system gives: a pipe, a FIFO or a
     * device has none, and the header's own numbers are not trusted until
     * they match it. */
    struct stat st;
    uint64_t psize;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fail(err, errlen, "%s: not a regular file (a pipe or device cannot be a weights file); %s",
             path, FB_WEIGHTS_HINT);
        goto out;
    }
    if (check_header(h, got, (uint64_t)st.st_size, path, &psize, err, errlen)) goto out;
    w->size = (size_t)st.st_size;
    w->buf = aligned_alloc(ALIGN, align_up(w->size));
    if (!w->buf) { fail(err, errlen, "%s: out of memory", path); goto out; }
    memcpy(w->buf, h, sizeof h);
    unsigned char *payload = (unsigned char *)w->buf + FB_WEIGHTS_HEADER_SIZE;
    if (fread(payload, 1, psize, f) != psize) {
        fail(err, errlen, "%s: read error: %s", path, ferror(f) ? strerror(errno) : "file shrank");
        goto out;
    }
    rc = verify_loaded(w, path, err, errlen);
out:
    fclose(f);
    if (rc != 0) fb_weights_free(w);
    return rc;
}

int fb_weights_parse(fb_weights *w, const char *name, const void *data, size_t len, char *err,
                     size_t errlen)
{
    memset(w, 0, sizeof *w);
    uint64_t psize;
    if (check_header(data, len < FB_WEIGHTS_HEADER_SIZE ? len : FB_WEIGHTS_HEADER_SIZE, len, name,
                     &psize, err, errlen))
        return -1;
    w->size = len;
    w->buf = aligned_alloc(ALIGN, align_up(len));
    if (!w->buf) return fail(err, errlen, "%s: out of memory", name);
    memcpy(w->buf, data, len);
    int rc = verify_loaded(w, name, err, errlen);
    if (rc != 0) fb_weights_free(w);
    return rc;
}

void fb_weights_free(fb_weights *w)
{
    free(w->buf);
    free(w->tensors);
    free(w->labels);
    memset(w, 0, sizeof *w);
}

const fb_conv_params *fb_weights_find_tensor(const fb_weights *w, const char *name)
{
    for (int i = 0; i < w->ntensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0) return &w->tensors[i];
    return NULL;
}

/* ---------------------------------------------------------------- locate */

static char *exe_relative_weights(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = 0;
    size_t len = strlen(exe) + sizeof "/../share/fb/resnet50.fbw";
    char *p = malloc(len);
    if (p) snprintf(p, len, "%s/../share/fb/resnet50.fbw", exe);
    return p;
}

char *fb_weights_locate(const char *explicit_path, const char *env, char *err, size_t errlen)
{
    if (explicit_path) {
        if (access(explicit_path, R_OK) == 0) return strdup(explicit_path);
        fail(err, errlen, "%s: %s; %s", explicit_path, strerror(errno), FB_WEIGHTS_HINT);
        return NULL;
    }
    if (env && *env) {
        if (access(env, R_OK) == 0) return strdup(env);
        fail(err, errlen, "%s (from FB_WEIGHTS): %s; %s", env, strerror(errno), FB_WEIGHTS_HINT);
        return NULL;
    }
    char *beside = exe_relative_weights();
    if (beside && access(beside, R_OK) == 0) return beside;
#ifdef FB_DATADIR
    const char *installed = FB_DATADIR "/resnet50.fbw";
#else
    const char *installed = "/usr/local/share/fb/resnet50.fbw";
#endif
    if (access(installed, R_OK) == 0) { free(beside); return strdup(installed); }
    fail(err, errlen, "no ResNet50 weights file: looked at -w, $FB_WEIGHTS, %s and %s; %s",
         beside ? beside : "../share/fb/resnet50.fbw beside the executable", installed,
         FB_WEIGHTS_HINT);
    free(beside);
    return NULL;
}

/* --------------------------------------------------------------- convert */

/* The tfjs weights: every shard concatenated, plus the manifest. */
typedef struct {
    float *data;
    size_t nfloats;
    json_t *manifest;             /* array of {name, shape, dtype} (borrowed) */
} tfjs_weights;

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    return strndup(path, (size_t)(slash - path));
}

static int read_shards(tfjs_weights *tw, json_t *model, const char *dir, char *err, size_t errlen)
{
    json_t *groups = json_object_get(model, "weightsManifest");
    if (!json_is_array(groups) || json_array_size(groups) != 1)
        return fail(err, errlen, "model.json: expected one weightsManifest group");
    json_t *group = json_array_get(groups, 0);
    json_t *paths = json_object_get(group, "paths");
    tw->manifest = json_object_get(group, "weights");
    if (!json_is_array(paths) || !json_is_array(tw->manifest))
        return fail(err, errlen, "model.json: weightsManifest lacks paths or weights");
    size_t total = 0;
    size_t i;
    json_t *v;
    json_array_foreach(tw->manifest, i, v) {
        const char *dtype = json_string_value(json_object_get(v, "dtype"));
        if (!dtype || strcmp(dtype, "float32") != 0)
            return fail(err, errlen, "model.json: weight %zu is not float32 (quantized models are not supported)", i);
        size_t n = 1, k;
        json_t *d;
        json_array_foreach(json_object_get(v, "shape"), k, d) n *= (size_t)json_integer_value(d);
        total += n;
    }
    tw->nfloats = total;
    tw->data = malloc(total * sizeof(float));
    if (!tw->data) return fail(err, errlen, "out of memory for %zu weights", total);
    size_t off = 0;
    json_array_foreach(paths, i, v) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, json_string_value(v));
        FILE *f = fopen(path, "rb");
        if (!f) return fail(err, errlen, "%s: %s", path, strerror(errno));
        size_t cap = total * sizeof(float) - off;
        size_t got = fread((char *)tw->data + off, 1, cap, f);
        int extra = fgetc(f) != EOF;
        fclose(f);
        if (extra) return fail(err, errlen, "%s: shards hold more bytes than the manifest lists", path);
        off += got;
    }
    if (off != total * sizeof(float))
        return fail(err, errlen, "%s: shards hold %zu bytes, the manifest lists %zu", dir, off, total * sizeof(float));
    return 0;
}

/* The floats of weight `name` (e.g. "res2a_branch2a/kernel") and its element count. */
static const float *tfjs_find(const tfjs_weights *tw, const char *name, size_t *count)
{
    size_t off = 0, i, k;
    json_t *v, *d;
    json_array_foreach(tw->manifest, i, v) {
        size_t n = 1;
        json_array_foreach(json_object_get(v, "shape"), k, d) n *= (size_t)json_integer_value(d);
        if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0) {
            *count = n;
            return tw->data + off;
        }
        off += n;
    }
    return NULL;
}

/* One layer of the converted network, found by walking the layer graph. */
typedef struct {
    char name[FB_WEIGHTS_NAME_MAX];
    char bn[FB_WEIGHTS_NAME_MAX]; /* folded BatchNormalization, "" for none */
    double epsilon;
    int kh, kw, cin, cout, stride, pad;
    float *w, *b;                 /* folded, malloc'd */
} conv_layer;

static const char *inbound_name(json_t *layer, size_t which)
{
    json_t *nodes = json_object_get(layer, "inbound_nodes");
    json_t *first = json_array_get(nodes, 0);
    return json_string_value(json_array_get(json_array_get(first, which), 0));
}

static json_t *layer_by_name(json_t *layers, const char *name)
{
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l)
        if (name && strcmp(json_string_value(json_object_get(l, "name")), name) == 0) return l;
    return NULL;
}

/* The single layer whose input is `name` and whose class is `cls`, or NULL. */
static json_t *consumer(json_t *layers, const char *name, const char *cls)
{
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l) {
        const char *c = json_string_value(json_object_get(l, "class_name"));
        const char *in = inbound_name(l, 0);
        if (c && in && strcmp(c, cls) == 0 && strcmp(in, name) == 0) return l;
    }
    return NULL;
}

static int int_pair_equal(json_t *arr, int *out)
{
    int a = (int)json_integer_value(json_array_get(arr, 0));
    int b = (int)json_integer_value(json_array_get(arr, 1));
    *out = a;
    return a == b;
}

/* Fills c from a Conv2D/Dense layer: shape, stride, padding (from "same" or
 * the ZeroPadding2D before it) and the weights with BatchNorm folded in. */
static int convert_layer(conv_layer *c, json_t *layers, json_t *layer, const tfjs_weights *tw,
                         char *err, size_t errlen)
{
    json_t *cfg = json_object_get(layer, "config");
    const char *name = json_string_value(json_object_get(layer, "name"));
    const char *cls = json_string_value(json_object_get(layer, "class_name"));
    snprintf(c->name, sizeof c->name, "%s", name);
    char key[128];
    size_t nk = 0, nb = 0;
    snprintf(key, sizeof key, "%s/kernel", name);
    const float *kernel = tfjs_find(tw, key, &nk);
    snprintf(key, sizeof key, "%s/bias", name);
    const float *bias = tfjs_find(tw, key, &nb);
    if (!kernel) return fail(err, errlen, "model.json: no weights for layer %s", name);
    c->stride = 1;
    c->pad = 0;
    c->kh = c->kw = 1;
    c->cout = (int)json_integer_value(json_object_get(cfg, strcmp(cls, "Dense") == 0 ? "units" : "filters"));
    if (strcmp(cls, "Conv2D") == 0) {
        int sh;
        if (!int_pair_equal(json_object_get(cfg, "kernel_size"), &c->kh) ||
            !int_pair_equal(json_object_get(cfg, "strides"), &sh))
            return fail(err, errlen, "model.json: %s: only square kernels and strides are supported", name);
        c->kw = c->kh;
        c->stride = sh;
        json_t *dil = json_object_get(cfg, "dilation_rate");
        if (dil && json_integer_value(json_array_get(dil, 0)) != 1)
            return fail(err, errlen, "model.json: %s: dilated convolutions are not supported", name);
        const char *padding = json_string_value(json_object_get(cfg, "padding"));
        if (padding && strcmp(padding, "same") == 0) {
            if (c->stride != 1 || c->kh % 2 == 0)
                return fail(err, errlen, "model.json: %s: \"same\" padding only with stride 1 and odd kernels", name);
            c->pad = c->kh / 2;
        }
        json_t *src = layer_by_name(layers, inbound_name(layer, 0));
        const char *src_cls = src ? json_string_value(json_object_get(src, "class_name")) : "";
        if (src && strcmp(src_cls, "ZeroPadding2D") == 0) {
            json_t *p = json_object_get(json_object_get(src, "config"), "padding");
            int top = (int)json_integer_value(json_array_get(json_array_get(p, 0), 0));
            int bottom = (int)json_integer_value(json_array_get(json_array_get(p, 0), 1));
            int left = (int)json_integer_value(json_array_get(json_array_get(p, 1), 0));
            int right = (int)json_integer_value(json_array_get(json_array_get(p, 1), 1));
            if (top != bottom || top != left || top != right)
                return fail(err, errlen, "model.json: %s: only symmetric zero padding is supported", name);
            c->pad += top;
        }
    }
    size_t kk = (size_t)c->kh * c->kw;
    if (c->cout <= 0 || nk % (kk * (size_t)c->cout) != 0)
        return fail(err, errlen, "model.json: %s: kernel size does not match its config", name);
    c->cin = (int)(nk / (kk * (size_t)c->cout));
    if (bias && nb != (size_t)c->cout)
        return fail(err, errlen, "model.json: %s: bias has %zu values for %d filters", name, nb, c->cout);

    /* BatchNorm after the convolution: y = gamma*(x-mean)/sqrt(var+eps)+beta,
     * folded in double so the float weights are the closest to the exact ones. */
    json_t *bn = consumer(layers, name, "BatchNormalization");
    double *scale = malloc((size_t)c->cout * sizeof *scale);
    double *shift = malloc((size_t)c->cout * sizeof *shift);
    c->w = malloc(nk * sizeof(float));
    c->b = malloc((size_t)c->cout * sizeof(float));
    if (!scale || !shift || !c->w || !c->b) {
        free(scale); free(shift);
        return fail(err, errlen, "out of memory");
    }
    for (int o = 0; o < c->cout; o++) { scale[o] = 1; shift[o] = 0; }
    c->bn[0] = 0;
    if (bn) {
        const char *bname = json_string_value(json_object_get(bn, "name"));
        json_t *bcfg = json_object_get(bn, "config");
        json_t *eps = json_object_get(bcfg, "epsilon");
        if (!json_is_number(eps)) {
            free(scale); free(shift);
            return fail(err, errlen, "model.json: %s: no epsilon", bname);
        }
        c->epsilon = json_number_value(eps);
        snprintf(c->bn, sizeof c->bn, "%s", bname);
        const char *parts[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
        const float *p[4];
        for (int k = 0; k < 4; k++) {
            size_t n = 0;
            snprintf(key, sizeof key, "%s/%s", bname, parts[k]);
            p[k] = tfjs_find(tw, key, &n);
            if (!p[k] || n != (size_t)c->cout) {
                free(scale); free(shift);
                return fail(err, errlen, "model.json: %s: missing or mis-sized %s", bname, parts[k]);
            }
        }
        for (int o = 0; o < c->cout; o++) {
            scale[o] = (double)p[0][o] / sqrt((double)p[3][o] + c->epsilon);
            shift[o] = (double)p[1][o] - (double)p[2][o] * scale[o];
        }
    }
    for (size_t i = 0; i < nk; i++) c->w[i] = (float)((double)kernel[i] * scale[i % (size_t)c->cout]);
    for (int o = 0; o < c->cout; o++)
        c->b[o] = (float)((bias ? (double)bias[o] : 0.0) * scale[o] + shift[o]);
    free(scale);
    free(shift);
    return 0;
}

static int write_weights(const char *out, conv_layer *convs, int n, char **labels, int nlabels,
                         char *err, size_t errlen)
{
    /* Build the payload in memory, checksum it, then write header + payload. */
    size_t psize = align_up((size_t)n * FB_WEIGHTS_ENTRY_SIZE);
    for (int i = 0; i < n; i++)
        psize += align_up((size_t)convs[i].kh * convs[i].kw * convs[i].cin * convs[i].cout * sizeof(float)) +
                 align_up((size_t)convs[i].cout * sizeof(float));
    for (int i = 0; i < nlabels; i++) psize += strlen(labels[i]) + 1;
    unsigned char *payload = calloc(1, psize);
    if (!payload) return fail(err, errlen, "out of memory");
    size_t off = align_up((size_t)n * FB_WEIGHTS_ENTRY_SIZE);
    for (int i = 0; i < n; i++) {
        conv_layer *c = &convs[i];
        unsigned char *e = payload + (size_t)i * FB_WEIGHTS_ENTRY_SIZE;
        memcpy(e, c->name, strlen(c->name));
        int v[6] = {c->kh, c->kw, c->cin, c->cout, c->stride, c->pad};
        for (int k = 0; k < 6; k++) put_u32(e + FB_WEIGHTS_NAME_MAX + 4 * k, (uint32_t)v[k]);
        size_t nw = (size_t)c->kh * c->kw * c->cin * c->cout;
        memcpy(payload + off, c->w, nw * sizeof(float));
        off += align_up(nw * sizeof(float));
        memcpy(payload + off, c->b, (size_t)c->cout * sizeof(float));
        off += align_up((size_t)c->cout * sizeof(float));
    }
    for (int i = 0; i < nlabels; i++) {
        size_t len = strlen(labels[i]) + 1;
        memcpy(payload + off, labels[i], len);
        off += len;
    }
    unsigned char h[FB_WEIGHTS_HEADER_SIZE] = {0};
    memcpy(h, FB_WEIGHTS_MAGIC, 8);
    put_u32(h + 8, FB_WEIGHTS_VERSION);
    put_u32(h + 12, FB_WEIGHTS_HEADER_SIZE);
    put_u64(h + 16, psize);
    put_u32(h + 24, fb_weights_crc(payload, psize));
    put_u32(h + 28, (uint32_t)n);
    put_u32(h + 32, (uint32_t)nlabels);
    memcpy(h + 36, FB_WEIGHTS_SOURCE, strlen(FB_WEIGHTS_SOURCE));

    fb_atomic a;
    if (fb_atomic_open(&a, out) != 0) {
        free(payload);
        return fail(err, errlen, "%s: %s", out, strerror(errno));
    }
    int ok = fwrite(h, 1, sizeof h, a.f) == sizeof h && fwrite(payload, 1, psize, a.f) == psize;
    free(payload);
    if (!ok) {
        int e = errno;
        fb_atomic_abort(&a);
        return fail(err, errlen, "%s: write failed: %s", out, strerror(e));
    }
    if (fb_atomic_commit(&a) != 0) return fail(err, errlen, "%s: %s", out, strerror(errno));
    return 0;
}

static char **read_labels(const char *path, int *n, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) { fail(err, errlen, "%s:%d: %s", path, je.line, je.text); return NULL; }
    if (!json_is_object(root) || json_object_size(root) == 0) {
        json_decref(root);
        fail(err, errlen, "%s: expected an object {\"0\": \"tench\", ...}", path);
        return NULL;
    }
    int count = (int)json_object_size(root);
    char **labels = calloc((size_t)count, sizeof *labels);
    for (int i = 0; labels && i < count; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        const char *s = json_string_value(json_object_get(root, key));
        if (!s) {
            fail(err, errlen, "%s: no label for class %d", path, i);
            for (int k = 0; k < i; k++) free(labels[k]);
            free(labels);
            json_decref(root);
            return NULL;
        }
        labels[i] = strdup(s);
    }
    json_decref(root);
    *n = count;
    return labels;
}

int fb_weights_convert(const char *model_json, const char *labels_json, const char *out,
                       char *err, size_t errlen)
{
    json_error_t je;
    json_t *model = json_load_file(model_json, 0, &je);
    if (!model) return fail(err, errlen, "%s:%d: %s", model_json, je.line, je.text);
    tfjs_weights tw = {0};
    conv_layer *convs = NULL;
    int nconv = 0, nlabels = 0, rc = -1;
    char **labels = NULL;
    char *dir = dir_of(model_json);
    json_t *layers = json_object_get(json_object_get(json_object_get(
        json_object_get(model, "modelTopology"), "model_config"), "config"), "layers");
    if (!json_is_array(layers)) { fail(err, errlen, "%s: no modelTopology.model_config.config.layers", model_json); goto out; }
    if (read_shards(&tw, model, dir, err, errlen) != 0) goto out;
    if (!(labels = read_labels(labels_json, &nlabels, err, errlen))) goto out;

    /* Layers are stored in topological order; keep that order. */
    convs = calloc(json_array_size(layers), sizeof *convs);
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l) {
        const char *cls = json_string_value(json_object_get(l, "class_name"));
        if (!cls || (strcmp(cls, "Conv2D") != 0 && strcmp(cls, "Dense") != 0)) continue;
        if (convert_layer(&convs[nconv++], layers, l, &tw, err, errlen) != 0) goto out;
        conv_layer *c = &convs[nconv - 1];
        if (strcmp(cls, "Dense") == 0 && c->cout != nlabels) {
            fail(err, errlen, "%s: %s has %d outputs but %s has %d labels", model_json, c->name, c->cout, labels_json, nlabels);
            goto out;
        }
    }
    rc = write_weights(out, convs, nconv, labels, nlabels, err, errlen);
out:
    for (int k = 0; convs && k < nconv; k++) { free(convs[k].w); free(convs[k].b); }
    free(convs);
    for (int k = 0; labels && k < nlabels; k++) free(labels[k]);
    free(labels);
    free(tw.data);
    free(dir);
    json_decref(model);
    return rc;
}
