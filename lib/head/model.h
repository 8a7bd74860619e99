/* Inside the head (private to lib/head and its unit tests): where each
 * block's tensors sit in the parameter buffer, and the minibatch work of a
 * forward/backward pass.  The tools see only include/fb/head.h. */
#ifndef FB_HEAD_MODEL_H
#define FB_HEAD_MODEL_H

#include "fb/head.h"

/* Parameters and running statistics a head of this shape holds (what
 * fb_head_init allocates), so that a file's counts can be checked before
 * anything is allocated.  Widths are those head.bin allows: no overflow. */
void fb_head_count_params(int in_dim, int nclasses, int nhidden, const int *hidden,
                          size_t *nparams, size_t *nstats);

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

/* 0 ok, -1 no memory. */
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

/* The training notes just written (fb_prov_set lines): when bad (a set
 * failed: no memory) they are freed and -1 returned; else they replace
 * h->training and 0 is returned.  One end for fb_head_note_training and
 * fb_head_note_solve. */
int fb_head_take_notes(fb_head *h, char *notes, int bad);
/* The notes every epoch-trained head ends with (class weights, norm, seed,
 * records, final and best losses), appended to *notes; nonzero when a set
 * failed.  Shared by fb_head_note_training and fb_head_note_finetune. */
int fb_head_note_result(char **notes, const fb_head *h, const char *class_weight, uint64_t seed,
                        const fb_train_result *res, size_t n, size_t nv);

/* Doubles the room of a feature set (x, y, ids, group) before an append:
 * the one growth rule for features read and for stage-4 maps' features.
 * 0 ok, -1 out of memory (ds unchanged where a realloc failed). */
int fb_featset_grow(fb_featset *ds);

#endif
