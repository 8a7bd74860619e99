/* The classification head: a small MLP over backbone features, its file
 * format (head.bin), and the training loop.
 *
 * Architecture: nhidden hidden blocks, each
 *     Dense(width) -> ReLU -> BatchNorm -> Dropout(rate)
 * then Dense(nclasses) -> softmax.  nhidden = 0 is the linear softmax
 * (multinomial logistic regression) baseline.
 *
 * Dropout comes after BatchNorm, not before it as in the Keras recipe
 * (Dense(activation='relu'), Dropout, BatchNormalization).  With dropout in
 * front, BatchNorm learns its statistics on noisy inputs it never sees at
 * inference, and the four blocks of the deep head compound the mismatch into
 * a shift of the logits ("variance shift", Li et al., CVPR 2019): on
 * dogfacenet one-dog-vs-rest with balanced class weights the deep head ranked
 * perfectly (AUC 1.000) yet called 17 of 147 other dogs "mine" (accuracy
 * 0.889; 0.732 with another seed).  Inference is the same computation in
 * either order (dropout is the identity), so heads trained before the change
 * load and predict as they did.
 *
 * All trainable parameters live in one buffer, `params`, block after block:
 *     hidden l:  W [in,out]  b [out]  gamma [out]  beta [out]
 *     output:    W [in,C]    b [C]
 * BatchNorm running statistics live in `stats`: per hidden block
 *     running_mean [out]  running_var [out]
 *
 * head.bin byte layout (little-endian), see man/fb-train.1:
 *   0  magic "fbhead\0\0"        8 bytes
 *   8  u32 version (FB_HEAD_VERSION)
 *  12  u32 header size (32)
 *  16  u64 payload size
 *  24  u32 CRC-32 (zlib) of the payload
 *  28  u32 zero
 *  payload:
 *     u32 in_dim, nclasses, nhidden, hidden[nhidden]
 *     f32 dropout, bn_eps, bn_momentum
 *     u64 nparams, nstats
 *     nclasses strings, then provenance, then training notes;
 *         each string: u32 length, bytes (no NUL)
 *     f32 params[nparams], f32 stats[nstats]
 */
#ifndef FB_HEAD_H
#define FB_HEAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "fb/rng.h"

#define FB_HEAD_MAGIC "fbhead\0\0"
#define FB_HEAD_VERSION 1
#define FB_HEAD_HEADER_SIZE 32
#define FB_HEAD_MAX_HIDDEN 8
#define FB_HEAD_MAX_WIDTH 65536

typedef struct {
    int in_dim, nclasses, nhidden;
    int hidden[FB_HEAD_MAX_HIDDEN];
    float dropout, bn_eps, bn_momentum;
    char **classes;          /* nclasses names; index = output unit */
    char *provenance;        /* the training stream's provenance text */
    char *training;          /* "key=value\n" notes on how it was trained */
    float *params;
    size_t nparams;
    float *stats;
    size_t nstats;
} fb_head;

/* Pointers into a head's buffers for one block (l = nhidden is the output
 * layer, which has no BatchNorm: gamma, beta, run_* are NULL). */
typedef struct {
    int in, out;
    float *w, *b, *gamma, *beta;
    float *run_mean, *run_var;
} fb_head_block;

/* "linear" (or "0") -> no hidden layers; "64" or "512,256,128,64" -> widths.
 * 0 ok, -1 with a message in err. */
int  fb_head_parse_arch(const char *spec, int *nhidden, int *hidden, char *err, size_t errlen);
/* The spelling parse_arch reads: "linear" or "512,256". */
void fb_head_arch_string(const fb_head *h, char *buf, size_t n);

/* Allocates a head (params zero, running var 1); classes and provenance copied.
 * 0 ok, -1 no memory. */
int  fb_head_init(fb_head *h, int in_dim, int nclasses, const char *const *classes,
                  int nhidden, const int *hidden, float dropout, const char *provenance);
void fb_head_free(fb_head *h);
int  fb_head_copy(fb_head *dst, const fb_head *src);
/* Glorot-uniform weights (Keras' default), zero biases, gamma 1, beta 0. */
void fb_head_init_weights(fb_head *h, fb_rng *rng);
/* Offsets of block l's tensors; the same function works on a gradient buffer
 * laid out like params (pass it as `base`). */
fb_head_block fb_head_block_at(const fb_head *h, int l, float *base);
/* Index of a class name, or -1. */
int  fb_head_class_index(const fb_head *h, const char *name);

/* head.bin, written atomically.  0 ok; -1 with a message naming the file. */
int  fb_head_save(const fb_head *h, const char *path, char *err, size_t errlen);
int  fb_head_load(fb_head *h, const char *path, char *err, size_t errlen);
/* Same, on memory (for tests and the loader itself). */
int  fb_head_serialize(const fb_head *h, unsigned char **buf, size_t *len);
int  fb_head_deserialize(fb_head *h, const unsigned char *buf, size_t len, char *err, size_t errlen);

/* ---- forward / backward over a minibatch ---- */
typedef struct {
    int cap;                 /* batch capacity */
    /* per hidden block l, each [cap, width_l]: dense out, relu out, dropout
     * mask, dropout out (the block's training output), batchnorm out (its
     * inference output); and BatchNorm mean, rstd [width_l] */
    float *z[FB_HEAD_MAX_HIDDEN], *a[FB_HEAD_MAX_HIDDEN], *mask[FB_HEAD_MAX_HIDDEN],
          *d[FB_HEAD_MAX_HIDDEN], *y[FB_HEAD_MAX_HIDDEN];
    float *mean[FB_HEAD_MAX_HIDDEN], *rstd[FB_HEAD_MAX_HIDDEN];
    float *logits, *probs, *losses;   /* [cap,C], [cap,C], [cap] */
    float *grads;                     /* like params */
    float *g1, *g2;                   /* scratch gradients [cap, max width] */
    const float *x;                   /* the input of the last forward */
} fb_head_work;

int  fb_head_work_init(fb_head_work *w, const fb_head *h, int cap);
void fb_head_work_free(fb_head_work *w);
/* x [B,in_dim] -> w->logits, w->probs.  training: dropout masks drawn from rng
 * (unless fixed_masks), BatchNorm on batch statistics (running statistics
 * updated when update_running); else inference mode. */
void fb_head_forward(fb_head *h, fb_head_work *w, const float *x, int B, int training,
                     int fixed_masks, int update_running, fb_rng *rng);
/* Mean cross-entropy of the last forward against labels (fills w->losses). */
double fb_head_loss(const fb_head *h, fb_head_work *w, const int *labels, int B);
/* Gradient of sum_i weight_i * loss_i / B into w->grads (after forward and
 * fb_head_loss).  weights NULL: all 1. */
void fb_head_backward(fb_head *h, fb_head_work *w, const int *labels, const float *weights, int B);
/* The same, but each dense layer's weight gradient goes block by block to
 * apply(ctx, layer, row0, nrows, g) instead of w->grads (see
 * fb_dense_backward_apply); biases and BatchNorm gradients still go to
 * w->grads.  Lower layers never read a higher layer's weights after its
 * apply calls, so apply may update them in place. */
typedef void (*fb_head_apply_fn)(void *ctx, int layer, size_t row0, size_t nrows, const float *g);
void fb_head_backward_apply(fb_head *h, fb_head_work *w, const int *labels, const float *weights,
                            int B, fb_head_apply_fn apply, void *ctx);
/* Inference on n records of x, in chunks of w->cap: probs [n, C]. */
void fb_head_predict(fb_head *h, fb_head_work *w, const float *x, size_t n, float *probs);

/* ---- in-memory data set ---- */
typedef struct {
    size_t n, cap;
    int dim;
    float *x;                /* [n, dim] */
    int *y;                  /* [n]: class index into `classes`, or -1 unlabelled */
    char **ids;              /* [n] */
    int nclasses;
    char **classes;
    char *provenance;
} fb_featset;

/* Reads a whole float32 rank-1 feature stream.  0 ok; -1 with a message
 * (naming `name`) in err. */
int  fb_featset_read(fb_featset *ds, FILE *f, const char *name, char *err, size_t errlen);
void fb_featset_free(fb_featset *ds);

/* ---- training ---- */
typedef enum { FB_OPT_ADAM, FB_OPT_SGD } fb_optimizer;

typedef struct {
    fb_optimizer opt;
    double lr, momentum, beta1, beta2, adam_eps, weight_decay;
    int batch, epochs, patience;
    uint64_t seed;
    const float *class_weight;        /* [nclasses] or NULL */
    int verbose;                      /* per-epoch lines on stderr */
    FILE *history;                    /* TSV, or NULL */
    const char *fold_label;           /* prefix for per-epoch lines, or NULL */
} fb_train_opts;

void fb_train_opts_default(fb_train_opts *o);

typedef struct {
    int epochs_run, best_epoch;       /* 1-based; best_epoch 0 when no validation */
    double best_val_loss, train_loss, train_acc, val_loss, val_acc;
    double seconds;
} fb_train_result;

/* Trains h (already initialised and weights set) on rows idx[0..n) of train;
 * validation on rows vidx[0..nv) of val (val may be NULL).  Labels must be
 * head class indices.  With validation, h ends holding the weights of the
 * epoch with the lowest validation loss.  0 ok, -1 no memory. */
int  fb_train(fb_head *h, const fb_featset *train, const size_t *idx, size_t n,
              const fb_featset *val, const size_t *vidx, size_t nv,
              const fb_train_opts *o, fb_train_result *res);

/* Mean loss and accuracy of h on rows idx[0..n) of ds (inference mode). */
void fb_head_evaluate(fb_head *h, const fb_featset *ds, const size_t *idx, size_t n,
                      double *loss, double *acc);

/* Stratified k-fold split: fold[i] in 0..k-1 for every row, each class spread
 * evenly over folds, seeded. */
void fb_stratified_folds(const int *y, size_t n, int nclasses, int k, uint64_t seed, int *fold);

/* Provenance keys that must agree between a head's training data and a stream
 * it is applied to (see man/fb-eval.1).  Writes a message describing every
 * difference into msg and returns how many there are. */
int  fb_prov_compare(const char *trained, const char *stream, char *msg, size_t msglen);

#endif
