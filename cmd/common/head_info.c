/* fb-info on a head (head_info.h). */
#include "common/head_info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fb_head_info_is_head(const unsigned char *buf, size_t len)
{
    return len >= 8 && memcmp(buf, FB_HEAD_MAGIC, 8) == 0;
}

/* Calls fn(key, value, ctx) for each "key=value" line of text. */
static void each_note(const char *text, void (*fn)(const char *key, const char *value, void *ctx), void *ctx)
{
    for (const char *line = text; line && *line;) {
        size_t n = strcspn(line, "\n");
        char *copy = strndup(line, n);
        if (copy) {
            char *eq = strchr(copy, '=');
            if (eq) *eq = 0;
            fn(copy, eq ? eq + 1 : "", ctx);
            free(copy);
        }
        line += n + (line[n] == '\n');
    }
}

static void print_note(const char *key, const char *value, void *ctx)
{
    (void)ctx;
    printf("  %s=%s\n", key, value);
}

static void json_note(const char *key, const char *value, void *ctx)
{
    json_object_set_new((json_t *)ctx, key, json_string(value));
}

/* The value of key in the training notes, or NULL (malloc'd). */
static char *training_note(const fb_head *h, const char *key)
{
    return h->training ? fb_prov_get(h->training, key) : NULL;
}

/* "L2 strength C=10 (cross-validation)" or "weight decay 0, dropout 0.3". */
static void regularisation_text(const fb_head *h, char *buf, size_t n)
{
    char *C = training_note(h, "C"), *from = training_note(h, "C_from");
    char *wd = training_note(h, "weight_decay");
    if (C)
        snprintf(buf, n, "L2, C=%s%s%s%s", C, from ? " (" : "", from ? from : "", from ? ")" : "");
    else if (wd && h->nhidden)
        snprintf(buf, n, "weight decay %s, dropout %g", wd, h->dropout);
    else if (wd)
        snprintf(buf, n, "weight decay %s", wd);
    else if (h->nhidden)
        snprintf(buf, n, "dropout %g (weight decay not recorded)", h->dropout);
    else
        snprintf(buf, n, "not recorded");
    free(C);
    free(from);
    free(wd);
}

static void print_layers(const fb_head *h)
{
    for (int l = 0; l < h->nhidden; l++) {
        fb_head_block b = fb_head_block_at(h, l, h->params);
        printf("  dense %d -> %d, ReLU, BatchNorm, dropout %g\n", b.in, b.out, h->dropout);
    }
    fb_head_block b = fb_head_block_at(h, h->nhidden, h->params);
    printf("  dense %d -> %d, softmax\n", b.in, b.out);
}

void fb_head_info_print(const fb_head *h, const fb_head_file *file)
{
    char arch[160], norm[64], reg[200];
    fb_head_arch_string(h, arch, sizeof arch);
    fb_norm_string(h->norm, norm, sizeof norm);
    regularisation_text(h, reg, sizeof reg);
    printf("head:           %s (head.bin version %u, %zu bytes)\n", file->name, file->version, file->bytes);
    printf("classes:        %d\n", h->nclasses);
    for (int c = 0; c < h->nclasses; c++) printf("  %d %s\n", c, h->classes[c]);
    printf("input:          %d features\n", h->in_dim);
    if (h->nhidden) printf("architecture:   %s (%d hidden layer%s, %zu parameters)\n", arch, h->nhidden,
                           h->nhidden == 1 ? "" : "s", h->nparams);
    else printf("architecture:   linear (no hidden layer, %zu parameters)\n", h->nparams);
    print_layers(h);
    printf("normalisation:  %s\n", norm);
    printf("regularisation: %s\n", reg);
    if (h->nclasses == 2)
        printf("decision:       '%s' when ln(p(%s)/p(%s)) > %g%s\n", h->classes[1], h->classes[1],
               h->classes[0], h->threshold, h->threshold == 0 ? " (the more probable class)" : "");
    else
        printf("decision:       the most probable class\n");
    if (h->reject.n)
        printf("unknown test:   k=%d nearest of %zu stored training photos, cut %.4f (rejects %g%% "
               "of them)\n", h->reject.k, h->reject.n, h->reject.cut, 100 * h->reject.rate);
    else
        printf("unknown test:   none stored (fb-predict never answers '%s')\n", FB_REJECT_CLASS);
    printf("training:\n");
    each_note(h->training, print_note, NULL);
    printf("provenance:\n");
    each_note(h->provenance, print_note, NULL);
}

static json_t *layers_json(const fb_head *h)
{
    json_t *layers = json_array();
    for (int l = 0; l <= h->nhidden; l++) {
        fb_head_block b = fb_head_block_at(h, l, h->params);
        if (l < h->nhidden)
            json_array_append_new(layers, json_pack("{s:s, s:i, s:i, s:s, s:b, s:f}", "type", "dense",
                                                    "in", b.in, "out", b.out, "activation", "relu",
                                                    "batchnorm", 1, "dropout", (double)h->dropout));
        else
            json_array_append_new(layers, json_pack("{s:s, s:i, s:i, s:s}", "type", "dense", "in", b.in,
                                                    "out", b.out, "activation", "softmax"));
    }
    return layers;
}

/* The regularisation as numbers where the notes have them. */
static json_t *regularisation_json(const fb_head *h)
{
    json_t *o = json_object();
    char *C = training_note(h, "C"), *from = training_note(h, "C_from");
    char *wd = training_note(h, "weight_decay");
    if (C) json_object_set_new(o, "C", json_real(strtod(C, NULL)));
    if (from) json_object_set_new(o, "C_from", json_string(from));
    if (wd) json_object_set_new(o, "weight_decay", json_real(strtod(wd, NULL)));
    if (h->nhidden) json_object_set_new(o, "dropout", json_real(h->dropout));
    free(C);
    free(from);
    free(wd);
    return o;
}

json_t *fb_head_info_json(const fb_head *h, const fb_head_file *file)
{
    char arch[160], norm[64];
    fb_head_arch_string(h, arch, sizeof arch);
    fb_norm_string(h->norm, norm, sizeof norm);
    json_t *classes = json_array(), *hidden = json_array();
    for (int c = 0; c < h->nclasses; c++) json_array_append_new(classes, json_string(h->classes[c]));
    for (int l = 0; l < h->nhidden; l++) json_array_append_new(hidden, json_integer(h->hidden[l]));
    json_t *reject = json_null();
    if (h->reject.n)
        reject = json_pack("{s:i, s:I, s:f, s:f}", "k", h->reject.k, "points", (json_int_t)h->reject.n,
                           "rate", (double)h->reject.rate, "cut", (double)h->reject.cut);
    json_t *training = json_object(), *provenance = json_object();
    each_note(h->training, json_note, training);
    each_note(h->provenance, json_note, provenance);
    return json_pack("{s:s, s:s, s:i, s:I, s:o, s:i, s:{s:s, s:o, s:I, s:o}, s:s, s:o, s:f, s:o, s:o, s:o}",
                     "file", file->name, "kind", "head", "version", (int)file->version,
                     "bytes", (json_int_t)file->bytes, "classes", classes, "input_dim", h->in_dim,
                     "architecture", "spec", arch, "hidden", hidden, "parameters", (json_int_t)h->nparams,
                     "layers", layers_json(h),
                     "normalisation", norm, "regularisation", regularisation_json(h),
                     "threshold", (double)h->threshold, "unknown", reject, "training", training,
                     "provenance", provenance);
}
