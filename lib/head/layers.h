/* Layers of the classification head, each a forward/backward pair in the
 * style of karpathy/llm.c: plain functions over float arrays, shapes in the
 * comment, row-major, B = batch, K = inputs, N = outputs, C = channels or
 * classes.  Backward functions OVERWRITE their gradient outputs (one
 * minibatch = one gradient; nothing accumulates across calls).
 *
 * The dense layers use OpenBLAS SGEMM.  Work can be split over the
 * persistent thread pool of fb/core.h (fb_par_init); every split is over output rows or
 * columns, never over a reduction, so results depend neither on timing nor
 * on the thread count, and a seeded run is byte-for-byte reproducible.
 */
#ifndef FB_LAYERS_H
#define FB_LAYERS_H

#include <stddef.h>
#include "fb/core.h"

/* ---- dense: out = inp . w + bias ----
 * inp [B,K], w [K,N], bias [N], out [B,N] */
void fb_dense_forward(float *out, const float *inp, const float *w, const float *bias,
                      int B, int K, int N);
/* dout [B,N] -> dinp [B,K] (skipped when NULL), dw [K,N], dbias [N] */
void fb_dense_backward(float *dinp, float *dw, float *dbias, const float *dout,
                       const float *inp, const float *w, int B, int K, int N);

/* The same backward, but the weight gradient is never stored whole: each
 * block of rows [row0, row0+nrows) of dw is handed to apply(ctx, row0, nrows,
 * g) (g [nrows,N]) while it is still in cache, e.g. for an optimizer step on
 * those rows of w.  Row k of w is read for dinp before apply may change it;
 * dinp may be NULL.  Saves writing and re-reading a gradient the size of w. */
typedef void (*fb_rows_fn)(void *ctx, size_t row0, size_t nrows, const float *g);
void fb_dense_backward_apply(float *dinp, float *dbias, const float *dout, const float *inp,
                             const float *w, int B, int K, int N, fb_rows_fn apply, void *ctx);

/* ---- ReLU ---- inp, out [n] */
void fb_relu_forward(float *out, const float *inp, size_t n);
/* uses the forward output: gradient passes where out > 0 */
void fb_relu_backward(float *dinp, const float *dout, const float *out, size_t n);

/* ---- dropout (inverted: kept units scaled by 1/(1-rate)) ----
 * mask [n] holds 0 or 1/(1-rate); drawn once per minibatch from rng, so a test
 * can fix it. */
void fb_dropout_mask(float *mask, size_t n, float rate, fb_rng *rng);
void fb_dropout_forward(float *out, const float *inp, const float *mask, size_t n);
void fb_dropout_backward(float *dinp, const float *dout, const float *mask, size_t n);

/* ---- BatchNorm over the batch axis ----
 * inp, out [B,C]; gamma, beta [C]; training mode saves the batch mean [C] and
 * rstd = 1/sqrt(var + eps) [C] (biased variance) for backward. */
void fb_batchnorm_forward_train(float *out, float *mean, float *rstd, const float *inp,
                                const float *gamma, const float *beta, int B, int C, float eps);
/* running = momentum * running + (1 - momentum) * batch (unbiased variance) */
void fb_batchnorm_update_running(float *run_mean, float *run_var, const float *mean,
                                 const float *rstd, int B, int C, float momentum, float eps);
/* inference mode: normalises with the running statistics */
void fb_batchnorm_forward_infer(float *out, const float *inp, const float *gamma,
                                const float *beta, const float *run_mean,
                                const float *run_var, int B, int C, float eps);
/* inference-mode backward (a fixed affine map per channel):
 * dout [B,C] -> dinp [B,C], dgamma [C], dbeta [C] */
void fb_batchnorm_backward_infer(float *dinp, float *dgamma, float *dbeta, const float *dout,
                                 const float *inp, const float *gamma, const float *run_mean,
                                 const float *run_var, int B, int C, float eps);
/* dout [B,C] -> dinp [B,C], dgamma [C], dbeta [C]; inp, mean, rstd from forward */
void fb_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *rstd,
                           const float *gamma, int B, int C);

/* ---- softmax + cross-entropy ----
 * logits [B,C] -> probs [B,C], losses [B] (-log p[label]); labels [B] in 0..C-1.
 * Returns the mean loss (double accumulation). */
double fb_softmax_xent_forward(float *probs, float *losses, const float *logits,
                               const int *labels, int B, int C);
/* Gradient of L = sum_i weight_i * loss_i / B (weights NULL: all 1):
 * dlogits [B,C] = weight_i * (probs - onehot(label)) / B */
void fb_softmax_xent_backward(float *dlogits, const float *probs, const int *labels,
                              const float *weights, int B, int C);
/* Softmax only (inference): logits [B,C] -> probs [B,C] */
void fb_softmax(float *probs, const float *logits, int B, int C);

/* ---- optimizer steps over one tensor of n parameters ----
 * Element-wise, so any split of a tensor over threads gives the same bits.
 * g = grads + weight_decay * params (L2; callers pass 0 for biases and
 * BatchNorm parameters). */
/* Adam: m, v [n] moments; lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t) */
void fb_adam_update(float *restrict params, const float *restrict grads, float *restrict m,
                    float *restrict v, size_t n, float lr_t, float beta1, float beta2,
                    float eps, float weight_decay);
/* SGD with momentum: vel = momentum * vel + g; params -= lr * vel */
void fb_sgd_update(float *restrict params, const float *restrict grads, float *restrict vel,
                   size_t n, float lr, float momentum, float weight_decay);

#endif
