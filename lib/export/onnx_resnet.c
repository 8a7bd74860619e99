/* The Keras ResNet50 as ONNX nodes: the same graph as lib/backbone/resnet.c
 * runs, from the same weights file (BatchNorm already folded into each
 * convolution's weights and bias), in ONNX's NCHW layout. */
#include "onnx_parts.h"

#include <stdlib.h>
#include <string.h>

#include "fb/backbone.h"

/* conv [+ ReLU]: the weights file's kernel [kh][kw][cin][cout] becomes
 * ONNX's [cout][cin][kh][kw]; padding symmetric, as every Keras ResNet50
 * conv pads (ZeroPadding2D(3) before conv1, 'same' on the 3x3s). */
static int conv(onnx_graph *g, const fb_conv_params *p, const char *in, const char *out, int relu)
{
    size_t n = (size_t)p->kh * p->kw * p->cin * p->cout;
    float *oihw = malloc(n * sizeof *oihw);
    if (!oihw) return -1;
    for (int y = 0; y < p->kh; y++)
        for (int x = 0; x < p->kw; x++)
            for (int i = 0; i < p->cin; i++)
                for (int o = 0; o < p->cout; o++)
                    oihw[(((size_t)o * p->cin + i) * p->kh + y) * p->kw + x] =
                        p->w[(((size_t)y * p->kw + x) * p->cin + i) * p->cout + o];
    char wname[64], bname[64], cname[64];
    snprintf(wname, sizeof wname, "%s.W", p->name);
    snprintf(bname, sizeof bname, "%s.b", p->name);
    snprintf(cname, sizeof cname, "%s.conv", p->name);
    onnx_init_floats(g, wname, (int64_t[]){p->cout, p->cin, p->kh, p->kw}, 4, oihw);
    onnx_init_floats(g, bname, (int64_t[]){p->cout}, 1, p->b);
    free(oihw);
    pb_buf a;
    pb_init(&a);
    onnx_attr_ints(&a, "kernel_shape", (int64_t[]){p->kh, p->kw}, 2);
    onnx_attr_ints(&a, "strides", (int64_t[]){p->stride, p->stride}, 2);
    onnx_attr_ints(&a, "pads", (int64_t[]){p->pad, p->pad, p->pad, p->pad}, 4);
    onnx_node(g, "Conv", (const char *[]){in, wname, bname, NULL}, relu ? cname : out, &a);
    pb_free(&a);
    if (relu) onnx_node(g, "Relu", (const char *[]){cname, NULL}, out, NULL);
    return 0;
}

/* Keras' preprocess_input(mode="caffe") inside the graph, as
 * fb_kern_preprocess computes it: uint8 RGB -> float, channels reversed to
 * BGR, ImageNet means subtracted, no scaling; then NHWC -> NCHW. */
static void preprocess(onnx_graph *g)
{
    static const float mean_bgr[3] = {103.939f, 116.779f, 123.68f};
    pb_buf a;
    pb_init(&a);
    onnx_attr_int(&a, "to", ONNX_FLOAT);
    onnx_node(g, "Cast", (const char *[]){"pixels", NULL}, "rgb", &a);
    pb_free(&a);
    onnx_init_int64s(g, "bgr_order", (int64_t[]){3}, 1, (int64_t[]){2, 1, 0});
    pb_init(&a);
    onnx_attr_int(&a, "axis", 3);
    onnx_node(g, "Gather", (const char *[]){"rgb", "bgr_order", NULL}, "bgr", &a);
    pb_free(&a);
    onnx_init_floats_packed(g, "imagenet_mean_bgr", (int64_t[]){3}, 1, mean_bgr);
    onnx_node(g, "Sub", (const char *[]){"bgr", "imagenet_mean_bgr", NULL}, "bgr_centred", NULL);
    pb_init(&a);
    onnx_attr_ints(&a, "perm", (int64_t[]){0, 3, 1, 2}, 4);
    onnx_node(g, "Transpose", (const char *[]){"bgr_centred", NULL}, "input", &a);
    pb_free(&a);
}

/* Keras: ZeroPadding2D(1) then MaxPooling2D(3, strides 2).  The zeros are
 * padded explicitly (ONNX MaxPool pads with -inf); after the ReLU the two
 * agree anyway, but this is the computation fb and Keras do. */
static void maxpool(onnx_graph *g, const char *in, const char *out)
{
    onnx_init_int64s(g, "pool1.pads", (int64_t[]){8}, 1, (int64_t[]){0, 0, 1, 1, 0, 0, 1, 1});
    onnx_node(g, "Pad", (const char *[]){in, "pool1.pads", NULL}, "pool1.padded", NULL);
    pb_buf a;
    pb_init(&a);
    onnx_attr_ints(&a, "kernel_shape", (int64_t[]){3, 3}, 2);
    onnx_attr_ints(&a, "strides", (int64_t[]){2, 2}, 2);
    onnx_node(g, "MaxPool", (const char *[]){"pool1.padded", NULL}, out, &a);
    pb_free(&a);
}

/* Bottleneck block: relu(c(b(a(x))) + shortcut(x)); names from the c conv's
 * layer ("res2a_branch2c" -> block "res2a"). */
static int block(onnx_graph *g, const fb_resnet_block *b, const char *in, char *out, size_t outlen)
{
    char block[40], ta[64], tb[64], tc[64], ts[64];
    snprintf(block, sizeof block, "%.*s", (int)strcspn(b->c->name, "_"), b->c->name);
    snprintf(ta, sizeof ta, "%s", b->a->name);
    snprintf(tb, sizeof tb, "%s", b->b->name);
    snprintf(tc, sizeof tc, "%s", b->c->name);
    if (conv(g, b->a, in, ta, 1) || conv(g, b->b, ta, tb, 1) || conv(g, b->c, tb, tc, 0)) return -1;
    const char *shortcut = in;
    if (b->shortcut) {
        snprintf(ts, sizeof ts, "%s", b->shortcut->name);
        if (conv(g, b->shortcut, in, ts, 0)) return -1;
        shortcut = ts;
    }
    char sum[64];
    snprintf(sum, sizeof sum, "%s.add", block);
    onnx_node(g, "Add", (const char *[]){tc, shortcut, NULL}, sum, NULL);
    snprintf(out, outlen, "%s", block);
    onnx_node(g, "Relu", (const char *[]){sum, NULL}, out, NULL);
    return 0;
}

int onnx_add_resnet(onnx_graph *g, onnx_meta *meta, const fb_resnet *net,
                    const char *const *fc_names, int name_classes, char *err, size_t errlen)
{
    onnx_input(g, "pixels", ONNX_UINT8,
               (int64_t[]){ONNX_BATCH, FB_RESNET_SIDE, FB_RESNET_SIDE, 3}, 4);
    preprocess(g);
    if (conv(g, net->conv1, "input", "conv1", 1)) goto oom;            /* [N,64,112,112] */
    maxpool(g, "conv1", "pool1");                                      /* [N,64,56,56] */
    char x[64] = "pool1";
    for (int i = 0; i < FB_RESNET_NBLOCKS; i++) {
        char next[64];
        if (block(g, &net->blocks[i], x, next, sizeof next)) goto oom;
        memcpy(x, next, sizeof x);                                     /* ... [N,2048,7,7] */
    }
    onnx_node(g, "GlobalAveragePool", (const char *[]){x, NULL}, "avg_pool", NULL); /* [N,2048,1,1] */
    pb_buf a;
    pb_init(&a);
    onnx_attr_int(&a, "axis", 1);
    onnx_node(g, "Flatten", (const char *[]){"avg_pool", NULL}, "features", &a); /* [N,2048] */
    pb_free(&a);
    if (fc_names) {
        const fb_conv_params *fc = net->fc;   /* [1][1][2048][1000]: Gemm's B as it is */
        onnx_init_floats(g, "fc1000.W", (int64_t[]){fc->cin, fc->cout}, 2, fc->w);
        onnx_init_floats(g, "fc1000.b", (int64_t[]){fc->cout}, 1, fc->b);
        onnx_node(g, "Gemm", (const char *[]){"features", "fc1000.W", "fc1000.b", NULL}, fc_names[0], NULL);
        pb_init(&a);
        onnx_attr_int(&a, "axis", 1);
        onnx_node(g, "Softmax", (const char *[]){fc_names[0], NULL}, fc_names[1], &a);
        pb_free(&a);
    }
    const fb_weights *w = net->weights;
    onnx_meta_add(meta, "fb.backbone", "keras-resnet50-imagenet");
    onnx_meta_add(meta, "fb.weights_source", w->source);
    onnx_meta_add(meta, "fb.weights_crc32", w->checksum);
    onnx_meta_add(meta, "fb.input",
                  "pixels: uint8 [N,224,224,3] RGB (HWC), as fb-prep writes; the graph does the "
                  "caffe preprocessing (BGR, ImageNet means subtracted)");
    if (fc_names && name_classes) onnx_meta_classes(meta, w->labels, w->nlabels);
    return 0;
oom:
    snprintf(err, errlen, "out of memory building the ONNX backbone");
    return -1;
}
