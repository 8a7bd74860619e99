/* The Keras ImageNet ResNet50 (keras 2.2.4 applications.ResNet50) forward
 * pass on the CPU: uint8 RGB 224x224x3 -> 2048 features -> 1000 logits. */
#ifndef FB_RESNET_H
#define FB_RESNET_H

#include <stddef.h>
#include <stdint.h>

#include "fb/weights.h"

#define FB_RESNET_SIDE 224
#define FB_RESNET_PIXELS (FB_RESNET_SIDE * FB_RESNET_SIDE)
#define FB_RESNET_INPUT (FB_RESNET_PIXELS * 3)   /* uint8 per image */
#define FB_RESNET_FEATURES 2048
#define FB_RESNET_CLASSES 1000
#define FB_RESNET_NBLOCKS 16
/* Multiply-adds x 2 per image, counted over every conv and fc1000. */
#define FB_RESNET_GFLOP 7.72

/* One bottleneck block: 1x1 (stride s in stages 3-5) -> 3x3 -> 1x1, plus
 * either the identity or a strided 1x1 projection as the shortcut. */
typedef struct {
    const fb_conv_params *a, *b, *c;
    const fb_conv_params *shortcut;   /* NULL: identity */
} fb_resnet_block;

typedef struct {
    const fb_weights *weights;
    const fb_conv_params *conv1, *fc;
    fb_resnet_block blocks[FB_RESNET_NBLOCKS];
} fb_resnet;

/* Binds the network to a loaded weights file, checking every layer's name
 * and shape.  0 ok; -1 with a message in err. */
int fb_resnet_init(fb_resnet *net, const fb_weights *w, char *err, size_t errlen);

/* Runs batches of images on a fixed number of threads, started once with
 * the runner.  Images are spread one per thread when a batch has at least
 * as many images as threads, else all threads share each image (each
 * layer's output rows split in 14-row tiles, or for stage 5 its output
 * channels in 32-column panels), so batch 1 uses every core.  On CPUs with
 * AVX-512 the runner packs every conv's weights for lib/backbone/kern_gemm.c when it
 * is made (107 MB; stages 2-4's 3x3 convs for Winograd, lib/backbone/kern_winograd.c).
 * FB_PROFILE in the environment: a table of time per layer on stderr when
 * the runner is freed (see fb-feat(1)). */
typedef struct fb_resnet_runner fb_resnet_runner;

/* NULL when out of memory.  nthreads >= 1. */
fb_resnet_runner *fb_resnet_runner_new(const fb_resnet *net, int nthreads);
void fb_resnet_runner_free(fb_resnet_runner *r);

/* images: n x 224x224x3 uint8 RGB; features: n x 2048 (may be NULL);
 * logits: n x 1000 (may be NULL; fc1000 is skipped then). */
/* Returns the number of threads that ran (fewer than asked only when the
 * system refused to create threads; the results are the same). */
int  fb_resnet_run(fb_resnet_runner *r, const uint8_t *images, int n,
                   float *features, float *logits);

/* probs = softmax(logits) over the 1000 ImageNet classes, as Keras computes
 * it (max subtracted first). */
void fb_resnet_probs(const float *logits, float *probs);

#endif
