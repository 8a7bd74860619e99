/* The parts of fb's exported model, each adding its nodes to an onnx_graph:
 * the backbone (onnx_resnet.c, the only file here that reads fb_resnet and
 * fb_weights) and the head (onnx_head.c, the only one that reads fb_head). */
#ifndef FB_EXPORT_ONNX_PARTS_H
#define FB_EXPORT_ONNX_PARTS_H

#include "fb/head.h"
#include "fb/backbone.h"
#include "onnx.h"

/* Graph input "pixels", uint8 [N,224,224,3] RGB, through the caffe
 * preprocessing and ResNet50 to "features" float32 [N,2048]; with fc_names
 * (NULL: not) also fc1000's logits [N,1000] and their softmax, named
 * fc_names[0] and [1].  Adds the weights' identity to meta, and with
 * name_classes the 1000 ImageNet class names (fb.classes).  0 ok; -1 with a
 * message in err. */
int onnx_add_resnet(onnx_graph *g, onnx_meta *meta, const fb_resnet *net,
                    const char *const *fc_names, int name_classes, char *err, size_t errlen);

/* What the ImageNet layer's tensors are called when a head follows them
 * (the head's own output is "probs"). */
#define ONNX_IMAGENET_LOGITS "imagenet_logits"
#define ONNX_IMAGENET_PROBS "imagenet_probs"


/* The backbone tensor a head reads ("features", ONNX_IMAGENET_LOGITS or
 * ONNX_IMAGENET_PROBS), by its
 * input size and training provenance; NULL with a message in err when the
 * head fits none, or was trained on other weights than weights_crc32. */
const char *onnx_head_input(const fb_head *h, const char *weights_crc32, char *err,
                            size_t errlen);

/* The head from `input` [N,in_dim] to "probs" float32 [N,classes], the
 * class names (a JSON array, head order) and the head's provenance and
 * training notes in meta.  0 ok; -1 with a message in err. */
int onnx_add_head(onnx_graph *g, onnx_meta *meta, const fb_head *h, const char *input,
                  char *err, size_t errlen);

#endif
