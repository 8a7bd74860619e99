/* fb's classification head (include/fb/head.h) as ONNX nodes: the
 * inference-mode computation of fb_head_forward, one function per
 * component, in the order the head applies them:
 *
 *     per hidden block l:  Dense -> ReLU -> BatchNorm (running statistics)
 *                          (dropout is the identity at inference)
 *     output:              Dense -> Softmax
 *
 * A new head component (a feature normalisation before the first block, a
 * decision threshold after the softmax) is one more function here, called
 * from onnx_add_head in its place.  This is the only file of lib/export
 * that reads fb_head. */
#include "onnx_parts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fb/stream.h"

/* Dense: out [N,out] = in [N,in] . W [in,out] + b, W row-major as the head
 * stores it (Gemm's B without transposing). */
static void head_dense(onnx_graph *g, const char *prefix, const fb_head_block *blk,
                       const char *in, const char *out)
{
    char w[64], b[64];
    snprintf(w, sizeof w, "%s.W", prefix);
    snprintf(b, sizeof b, "%s.b", prefix);
    onnx_init_floats(g, w, (int64_t[]){blk->in, blk->out}, 2, blk->w);
    onnx_init_floats(g, b, (int64_t[]){blk->out}, 1, blk->b);
    onnx_node(g, "Gemm", (const char *[]){in, w, b, NULL}, out, NULL);
}

static void head_relu(onnx_graph *g, const char *in, const char *out)
{
    onnx_node(g, "Relu", (const char *[]){in, NULL}, out, NULL);
}

/* BatchNorm in inference mode: gamma * (x - mean) / sqrt(var + eps) + beta
 * over [N,C], as fb_batchnorm_forward_infer. */
static void head_batchnorm(onnx_graph *g, const char *prefix, const fb_head_block *blk, float eps,
                           const char *in, const char *out)
{
    const char *what[4] = {"gamma", "beta", "mean", "var"};
    const float *data[4] = {blk->gamma, blk->beta, blk->run_mean, blk->run_var};
    char names[4][64];
    for (int i = 0; i < 4; i++) {
        snprintf(names[i], sizeof names[i], "%s.bn_%s", prefix, what[i]);
        onnx_init_floats(g, names[i], (int64_t[]){blk->out}, 1, data[i]);
    }
    pb_buf a;
    pb_init(&a);
    onnx_attr_float(&a, "epsilon", eps);
    onnx_node(g, "BatchNormalization",
              (const char *[]){in, names[0], names[1], names[2], names[3], NULL}, out, &a);
    pb_free(&a);
}

static void head_softmax(onnx_graph *g, const char *in, const char *out)
{
    pb_buf a;
    pb_init(&a);
    onnx_attr_int(&a, "axis", 1);
    onnx_node(g, "Softmax", (const char *[]){in, NULL}, out, &a);
    pb_free(&a);
}

/* The head's input normalisation (fb_head_normalise), steps in its order:
 * sqrt (sign(x) * sqrt|x|), l2 (LpNormalization over the features), std
 * ((x - mean) * inv_std).  Returns the name of the normalised tensor. */
static const char *head_normalise(onnx_graph *g, const fb_head *h, const char *in)
{
    const char *x = in;
    if (h->norm & FB_NORM_SQRT) {
        onnx_node(g, "Sign", (const char *[]){x, NULL}, "head.norm.sign", NULL);
        onnx_node(g, "Abs", (const char *[]){x, NULL}, "head.norm.abs", NULL);
        onnx_node(g, "Sqrt", (const char *[]){"head.norm.abs", NULL}, "head.norm.sqrt_abs", NULL);
        onnx_node(g, "Mul", (const char *[]){"head.norm.sign", "head.norm.sqrt_abs", NULL}, "head.norm.sqrt", NULL);
        x = "head.norm.sqrt";
    }
    if (h->norm & FB_NORM_L2) {
        pb_buf a;
        pb_init(&a);
        onnx_attr_int(&a, "axis", 1);
        onnx_attr_int(&a, "p", 2);
        onnx_node(g, "LpNormalization", (const char *[]){x, NULL}, "head.norm.l2", &a);
        pb_free(&a);
        x = "head.norm.l2";
    }
    if (h->norm & FB_NORM_STD) {
        onnx_init_floats(g, "head.norm.mean", (int64_t[]){h->in_dim}, 1, h->norm_mean);
        onnx_init_floats(g, "head.norm.inv_std", (int64_t[]){h->in_dim}, 1, h->norm_inv_std);
        onnx_node(g, "Sub", (const char *[]){x, "head.norm.mean", NULL}, "head.norm.centred", NULL);
        onnx_node(g, "Mul", (const char *[]){"head.norm.centred", "head.norm.inv_std", NULL}, "head.norm.std", NULL);
        x = "head.norm.std";
    }
    return x;
}

const char *onnx_head_input(const fb_head *h, const char *weights_crc32, char *err, size_t errlen)
{
    char *crc = fb_prov_get(h->provenance, "weights_crc32");
    char *kind = fb_prov_get(h->provenance, "feat_output");
    const char *input = NULL;
    if (crc && strcmp(crc, weights_crc32) != 0)
        snprintf(err, errlen, "the head was trained on features of weights %s, these weights are %s",
                 crc, weights_crc32);
    else if (h->in_dim == FB_RESNET_FEATURES && (!kind || strcmp(kind, "features") == 0))
        input = "features";
    else if (h->in_dim == FB_RESNET_CLASSES && kind &&
             (strcmp(kind, "logits") == 0 || strcmp(kind, "probs") == 0))
        input = strcmp(kind, "logits") == 0 ? ONNX_IMAGENET_LOGITS : ONNX_IMAGENET_PROBS;
    else
        snprintf(err, errlen, "the head reads %d values per record (feat_output=%s); the backbone "
                 "gives 2048 features or 1000 logits/probs", h->in_dim, kind ? kind : "unknown");
    free(crc);
    free(kind);
    return input;
}

int onnx_add_head(onnx_graph *g, onnx_meta *meta, const fb_head *h, const char *input,
                  char *err, size_t errlen)
{
    char x[64], dense[32], relu[64];   /* x: the current tensor [N, width] */
    snprintf(x, sizeof x, "%s", head_normalise(g, h, input));
    for (int l = 0; l < h->nhidden; l++) {
        fb_head_block blk = fb_head_block_at(h, l, h->params);
        snprintf(dense, sizeof dense, "head.dense%d", l + 1);   /* also its tensors' prefix */
        snprintf(relu, sizeof relu, "%s.relu", dense);
        head_dense(g, dense, &blk, x, dense);
        head_relu(g, dense, relu);
        snprintf(x, sizeof x, "%s.bn", dense);
        head_batchnorm(g, dense, &blk, h->bn_eps, relu, x);
    }
    fb_head_block out = fb_head_block_at(h, h->nhidden, h->params);
    head_dense(g, "head.output", &out, x, "head.logits");
    head_softmax(g, "head.logits", "probs");
    onnx_output(g, "probs", ONNX_FLOAT, (int64_t[]){ONNX_BATCH, h->nclasses}, 2);

    char arch[256];
    fb_head_arch_string(h, arch, sizeof arch);
    onnx_meta_classes(meta, (const char *const *)h->classes, h->nclasses);
    onnx_meta_add(meta, "fb.head_architecture", arch);
    onnx_meta_add(meta, "fb.head_provenance", h->provenance);
    onnx_meta_add(meta, "fb.head_training", h->training);
    if (h->nclasses == 2 && h->threshold != 0) {
        /* the model outputs probabilities; the head's decision rule is data */
        char t[64];
        snprintf(t, sizeof t, "%.9g", (double)h->threshold);
        onnx_meta_add(meta, "fb.head_threshold_log_odds", t);
    }
    (void)err;      /* nothing here can fail but memory, which the writer */
    (void)errlen;   /* reports; a component that checks its input will use them */
    return 0;
}
