/* fb_export_onnx: backbone [+ head] as one ONNX model file (see fb/export.h). */
#include "fb/export.h"
#include "fb/core.h"
#include "onnx_parts.h"

#include <errno.h>
#include <string.h>

static const char *const layer_names[] = {"features", "logits", "probs"};

/* The graph: pixels -> backbone -> (head | chosen layer). */
static int build(onnx_graph *g, onnx_meta *meta, const fb_resnet *net, const fb_head *head,
                 fb_onnx_layer layer, char *err, size_t errlen)
{
    if (!head) {
        static const char *const fc_names[] = {"logits", "probs"};
        if (onnx_add_resnet(g, meta, net, layer != FB_ONNX_FEATURES ? fc_names : NULL, 1, err, errlen))
            return -1;
        int64_t width = layer == FB_ONNX_FEATURES ? FB_RESNET_FEATURES : FB_RESNET_CLASSES;
        onnx_output(g, layer_names[layer], ONNX_FLOAT, (int64_t[]){ONNX_BATCH, width}, 2);
        onnx_meta_add(meta, "fb.output", layer_names[layer]);
        return 0;
    }
    const char *input = onnx_head_input(head, net->weights->checksum, err, errlen);
    if (!input) return -1;
    static const char *const imagenet[] = {ONNX_IMAGENET_LOGITS, ONNX_IMAGENET_PROBS};
    if (onnx_add_resnet(g, meta, net, strcmp(input, "features") != 0 ? imagenet : NULL, 0, err, errlen))
        return -1;
    if (onnx_add_head(g, meta, head, input, err, errlen)) return -1;
    onnx_meta_add(meta, "fb.output", "probs: the head's class probabilities, fb.classes order");
    return 0;
}

int fb_export_onnx(const fb_resnet *net, const fb_head *head, fb_onnx_layer layer,
                   const char *path, char *err, size_t errlen)
{
    onnx_graph g;
    onnx_meta meta;
    onnx_graph_init(&g);
    onnx_meta_init(&meta);
    int rc = -1;
    if (build(&g, &meta, net, head, layer, err, errlen)) goto done;
    const char *doc = head ? "fb: photos to class probabilities (Keras ResNet50 + fb head)"
                           : "fb: Keras ImageNet ResNet50 (fb-feat)";
    fb_atomic a;
    if (fb_atomic_open(&a, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto done;
    }
    char werr[256];
    if (onnx_model_write(a.f, &g, head ? "fb_classifier" : "fb_resnet50", doc, FB_VERSION, &meta,
                         werr, sizeof werr) != 0) {
        fb_atomic_abort(&a);
        snprintf(err, errlen, "%s: %s", path, werr);
        goto done;
    }
    if (fb_atomic_commit(&a) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    onnx_graph_free(&g);
    onnx_meta_free(&meta);
    return rc;
}
