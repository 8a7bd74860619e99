/* The head area's one door (lib/head/): the classification head, a small MLP
 * over backbone features.  In this order: the model; choosing a class (argmax,
 * classes by name); head.bin; the feature set it learns from (and class
 * weights); training; applying a head; metrics and fb-eval's score; folds and
 * cross-validation.
 * Where it lives: model.c (init, copy, forward/backward), file.c (head.bin),
 * reject.c (rejecting outsiders),
 * classes.c, featset.c, train.c, evaluate.c, cv.c, metrics.c; the layers
 * (layers.c) and the minibatch work (model.h) are private to lib/head.
 * Nothing here prints, exits or reads the environment: errors come back as
 * -1 (or NULL) with a message in err.
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
 *   version 2 adds, after the stats:
 *     u32 norm (FB_NORM_* steps), f32 threshold,
 *     with FB_NORM_STD: f32 norm_mean[in_dim], f32 norm_inv_std[in_dim]
 *   version 3 adds, after that, the rejection model (see fb_reject):
 *     u32 k (0: none, and nothing follows),
 *     u64 n, f32 rate, f32 cut, f32 loo[n] (ascending), f32 points[n, in_dim]
 *   version 4 (only a fine-tuned head: others are still written as version
 *   3) adds, after that, its stage 5 (fb_stage5's layout):
 *     u32 side, cin, width, f32 params[nparams]
 *   Version 1 files load as norm none, threshold 0: what they did; version 1
 *   and 2 files load without a rejection model (reject.n == 0); versions 1-3
 *   without a stage 5 (stage5.params NULL: the head reads features).
 */
#ifndef FB_HEAD_H
#define FB_HEAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "fb/backbone.h"
#include "fb/core.h"
#include "fb/stream.h"

/* ==================================================== rejecting outsiders */

/* "None of these": a record unlike every training photo (lib/head/reject.c,
 * why this method in lib/head/reject.h).  The distance from a record to its
 * k-th nearest training photo, features square-rooted and scaled to unit
 * length, distance = 1 - cosine similarity; cut at the (1 - rate) quantile
 * of the training photos' held-out distances.  fb-train holds out a whole
 * proxy subject at a time (k-means clusters of about FB_REJECT_SUBJECT_SIZE
 * photos within each class, with same-photo groups), so that the cut is that
 * of photos of dogs, people, things never seen in training; fb-audit holds
 * out one photo and its same-photo group.
 *   points  n x d   the stored training photos, normalised
 *   loo     n       their held-out distances, ascending (for confidences) */

/* Training photos kept: beyond this a seeded sample (memory and head.bin
 * size stay bounded: 4096 x 2048 floats = 32 MB). */
#define FB_REJECT_MAX_POINTS 4096
#define FB_REJECT_DEFAULT_K 5
/* The share of in-class photos fb-train's cut rejects by default. */
#define FB_REJECT_DEFAULT_RATE 0.01
/* The class name a head answers for a rejected record, so no class may
 * have it. */
#define FB_REJECT_CLASS "unknown"
#define FB_REJECT_MAX_K 64
/* fb-train's proxy subjects: k-means clusters of about this many training
 * photos within a class are held out together when calibrating the cut
 * (measured: 5, 10, 20 on the shared sets, lib/head/reject.h). */
#define FB_REJECT_SUBJECT_SIZE 5

typedef struct {
    int k, d;
    size_t n;                /* 0: no rejection model */
    float *points;           /* n x d */
    float *loo;              /* n, ascending */
    float cut;               /* distance above which a record is unknown */
    float rate;              /* the share of held-out photos the cut rejects */
} fb_reject;

/* Square root then unit length, in place, on one d-vector.  An all-zero
 * vector stays zero (its distance to everything is 1). */
void fb_reject_normalise(float *x, int d);

/* Fits on n raw feature vectors (n x d).  group[i] (may be NULL) is the
 * record's same-photo group, 0 for none.  Needs n > k.  seed picks the
 * sample when n > FB_REJECT_MAX_POINTS.  0 ok; -1 with a message in err. */
int  fb_reject_fit(fb_reject *r, const float *x, size_t n, int d, const uint32_t *group, int k,
                   double rate, uint64_t seed, char *err, size_t errlen);

/* The same, with the held-out distances of whole proxy subjects: within
 * each class of label[i] (NULL: one class), seeded spherical k-means
 * clusters of about subject_size points (at least 2 per class) are left
 * out together, with every point's same-photo group.  subject_size 0 is
 * fb_reject_fit.  0 ok; -1 with a message in err. */
int  fb_reject_fit_subjects(fb_reject *r, const float *x, size_t n, int d, const uint32_t *group,
                            const int *label, int subject_size, int k, double rate, uint64_t seed,
                            char *err, size_t errlen);

void fb_reject_free(fb_reject *r);
/* A deep copy (an empty src gives an empty dst).  0 ok, -1 no memory. */
int  fb_reject_copy(fb_reject *dst, const fb_reject *src);

/* Distance of one raw feature vector (d floats) to its k-th nearest stored
 * photo.  `scratch` holds d + n floats. */
double fb_reject_distance(const fb_reject *r, const float *x, float *scratch);
/* The same for n raw vectors x [n, d]: dist [n].  0 ok, -1 no memory. */
int  fb_reject_distances(const fb_reject *r, const float *x, size_t n, double *dist);

/* Held-out distance of each of the n raw vectors x [n, d] against the
 * others (itself and its same-photo group left out, as in the fit), in input
 * order: what fb-audit lists.  r must be fitted on exactly these vectors
 * with n <= FB_REJECT_MAX_POINTS (all of them stored).  0 ok, -1 no memory. */
int  fb_reject_held_out(const fb_reject *r, const uint32_t *group, double *dist);

/* Share of the training photos' held-out distances below `dist`: 0.99 means
 * farther than 99% of in-class photos were.  This is the confidence that a
 * record beyond the cut is unknown. */
double fb_reject_rank(const fb_reject *r, double dist);

/* The cut that would reject `rate` of the held-out training distances
 * (rate in [0, 1]): what --reject-rate changes at predict time. */
float fb_reject_cut_for_rate(const fb_reject *r, double rate);

/* ================================================================ the model */

#define FB_HEAD_MAGIC "fbhead\0\0"
#define FB_HEAD_VERSION 4
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
    /* The input's normalisation, fitted on the training stream and applied
     * by fb_head_predict_all before the first layer (FB_NORM_* steps; 0 none). */
    int norm;
    float *norm_mean, *norm_inv_std;  /* [in_dim] with FB_NORM_STD, else NULL */
    /* Two classes: class 1 when ln(p1/p0) > threshold.  0 is the argmax. */
    float threshold;
    /* Records unlike every training photo (reject.n == 0: none stored; the
     * head answers one of its classes for everything, as before version 3). */
    fb_reject reject;
    /* A fine-tuned head (fb-train --fine-tune) carries its own stage 5 of
     * ResNet50 and reads stage-4 maps: the features its first layer sees are
     * that stage's pooled output.  stage5.params NULL: a head on features. */
    fb_stage5 stage5;
} fb_head;

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

/* Pointers into a head's buffers for one block (l = nhidden is the output
 * layer, which has no BatchNorm: gamma, beta, run_* are NULL). */
typedef struct {
    int in, out;
    float *w, *b, *gamma, *beta;
    float *run_mean, *run_var;
} fb_head_block;

/* Offsets of block l's tensors; the same function works on a gradient buffer
 * laid out like params (pass it as `base`). */
fb_head_block fb_head_block_at(const fb_head *h, int l, float *base);

/* ====================================================== choosing a class */

/* The class h answers for its probabilities: fb_argmax, except a two-class
 * head with a threshold answers class 1 when ln(p1/p0) > h->threshold. */
int  fb_head_decide(const fb_head *h, const float *probs);

/* Index of the largest of v[0..n); ties go to the LOWEST index.  (A
 * comparison with NaN is false, so a NaN after the first value never takes
 * the lead.)  The one argmax of fb: predictions, accuracy and the confusion
 * matrix all use it. */
int  fb_argmax(const float *v, int n);
/* Index of `name` among names[0..n) (exact, case-sensitive), or -1. */
int  fb_class_index(char *const *names, int n, const char *name);
/* Class table `from` onto `to` by name: map[i] = fb_class_index(to, nto,
 * from[i]), -1 where `to` has no such class.  map [nfrom]. */
void fb_class_map(char *const *from, int nfrom, char *const *to, int nto, int *map);

/* ================================================================ head.bin */

/* Written atomically.  0 ok; -1 with a message naming the file. */
int  fb_head_save(const fb_head *h, const char *path, char *err, size_t errlen);
int  fb_head_load(fb_head *h, const char *path, char *err, size_t errlen);
/* Same, on memory (for tests and the loader itself). */
int  fb_head_serialize(const fb_head *h, unsigned char **buf, size_t *len);
int  fb_head_deserialize(fb_head *h, const unsigned char *buf, size_t len, char *err, size_t errlen);

/* =========================================================== normalisation */

/* Steps, applied in this order (see lib/head/norm.h for why each):
 *   sqrt  signed square root;  l2  each record to unit length;
 *   std   per feature, minus the training mean, over its deviation. */
enum { FB_NORM_SQRT = 1, FB_NORM_L2 = 2, FB_NORM_STD = 4 };
/* "none" or steps joined by commas ("l2", "sqrt,l2,std").  0 ok; -1 with a message. */
int  fb_norm_parse(const char *spec, int *steps, char *err, size_t errlen);
/* The spelling fb_norm_parse reads. */
void fb_norm_string(int steps, char *buf, size_t n);
/* Sets h's normalisation to `steps`, fitting what they need on x [n, in_dim]
 * (raw features).  0 ok; -1 with a message. */
int  fb_head_fit_norm(fb_head *h, int steps, const float *x, size_t n, char *err, size_t errlen);
/* h's normalisation applied in place to x [n, in_dim]. */
void fb_head_normalise(const fb_head *h, float *x, size_t n);

/* ========================================================= the feature set */

/* A whole feature stream in memory. */
typedef struct {
    size_t n, cap;
    int dim;
    float *x;                /* [n, dim] */
    int *y;                  /* [n]: class index into `classes`, or -1 unlabelled */
    char **ids;              /* [n] */
    uint32_t *group;         /* [n]: same-photo group from fb-split, 0 alone */
    int nclasses;
    char **classes;
    char *provenance;
} fb_featset;

/* Reads a whole float32 rank-1 feature stream.  0 ok; -1 with a message
 * (naming `name`) in err. */
int  fb_featset_read(fb_featset *ds, FILE *f, const char *name, char *err, size_t errlen);
typedef struct fb_reader fb_reader;   /* fb/stream.h */
/* The same from a reader already open (the caller may have looked at its
 * header first): reads the rest of it; r stays open. */
int  fb_featset_read_from(fb_featset *ds, fb_reader *r, const char *name, char *err, size_t errlen);
void fb_featset_free(fb_featset *ds);
/* Records of class c, for each of ds's classes: count [ds->nclasses]. */
void fb_featset_class_counts(const fb_featset *ds, size_t *count);
/* Can a head with nhidden hidden layers learn from ds?  Every record
 * labelled, at least two classes present, and (with BatchNorm) at least two
 * records.  0 yes; -1 with a message naming `name` in err. */
int  fb_featset_check_trainable(const fb_featset *ds, const char *name, int nhidden,
                                char *err, size_t errlen);
/* Relabels ds onto the class table classes[0..nclasses) by name (e.g. a
 * validation stream onto the training stream's classes): afterwards ds's
 * classes are a copy of that table, and records of a class it lacks are
 * unlabelled (-1).  *unknown counts those, *unlabelled the records that had
 * no label before.  0 ok, -1 no memory (ds unchanged). */
int  fb_featset_relabel(fb_featset *ds, char *const *classes, int nclasses, size_t *unknown,
                        size_t *unlabelled);
/* Class weights per class of ds from "balanced" (n / (k * n_c) over the k
 * classes present, as scikit-learn; 0 for an absent class) or
 * "name=w,name=w" (unlisted classes weigh 1; w in [0, 1e6]).  A malloc'd
 * [ds->nclasses]; NULL with a message in err (a bad spec or no memory). */
float *fb_class_weights(const char *spec, const fb_featset *ds, char *err, size_t errlen);

/* fb-train's fit: the raw features of every training record and of the
 * validation rows vrows[0..nv) of val (may be NULL; relabelled onto train's
 * classes), with their same-photo groups and classes, at k =
 * FB_REJECT_DEFAULT_K, holding out proxy subjects of subject_size photos
 * (fb_reject_fit_subjects; 0: one photo at a time).  0 fitted; 1 too few
 * records (no model: r left empty); -1 with a message in err. */
int  fb_reject_fit_sets(fb_reject *r, const fb_featset *train, const fb_featset *val,
                        const size_t *vrows, size_t nv, double rate, int subject_size,
                        uint64_t seed, char *err, size_t errlen);

/* ================================================================ training */

typedef enum { FB_OPT_ADAM, FB_OPT_SGD } fb_optimizer;

/* What one epoch did; handed to fb_train_opts.on_epoch as it ends. */
typedef struct {
    int epoch, epochs;                /* 1-based; of o->epochs */
    double loss, acc;                 /* training, over the epoch's minibatches */
    int has_val;
    double val_loss, val_acc;         /* when has_val */
    double seconds;
} fb_epoch;

typedef struct {
    fb_optimizer opt;
    double lr, momentum, beta1, beta2, adam_eps, weight_decay;
    int batch, epochs, patience;
    uint64_t seed;
    const float *class_weight;        /* [nclasses] or NULL */
    /* called after every epoch (progress lines, a history file), or NULL */
    void (*on_epoch)(void *ctx, const fb_epoch *e);
    void *ctx;
} fb_train_opts;

void fb_train_opts_default(fb_train_opts *o);

typedef struct {
    int epochs_run, best_epoch;       /* 1-based; best_epoch 0 when no validation */
    int stopped_early;                /* patience ran out */
    double best_val_loss, train_loss, train_acc, val_loss, val_acc;
    double seconds;
} fb_train_result;

/* A head for ds: ds's dimension, classes and provenance, weights drawn
 * (fb_head_init_weights) from a generator seeded with seed.  0 ok, -1 no
 * memory. */
int  fb_head_init_for(fb_head *h, const fb_featset *ds, int nhidden, const int *hidden,
                      float dropout, uint64_t seed);
/* fb_head_init_for on train, then the input normalisation the head carries
 * (steps norm, FB_NORM_*) fitted on train's raw features and applied in
 * place to train->x and, when val is not NULL, to val->x (fb-predict and
 * fb-eval apply it to theirs later).  0 ok; -1 with a message (h freed). */
int  fb_head_init_normalised(fb_head *h, fb_featset *train, fb_featset *val, int nhidden,
                             const int *hidden, float dropout, uint64_t seed, int norm,
                             char *err, size_t errlen);
/* Trains h (already initialised and weights set) on rows idx[0..n) of train;
 * validation on rows vidx[0..nv) of val (val may be NULL).  Labels must be
 * head class indices.  With validation, h ends holding the weights of the
 * epoch with the lowest validation loss.  0 ok; -1 with a message in err:
 * no memory, or the head diverged (an epoch whose training or validation
 * loss or any weight is not a finite number: training stops there, naming
 * the epoch, rather than ending with a head of NaNs). */
int  fb_train(fb_head *h, const fb_featset *train, const size_t *idx, size_t n,
              const fb_featset *val, const size_t *vidx, size_t nv,
              const fb_train_opts *o, fb_train_result *res, char *err, size_t errlen);
/* Sets h->training to the "key=value" notes of how it was trained (head,
 * dropout, optimizer, ..., val_loss; see man/fb-train.1); class_weight is the
 * spec as given, or NULL.  0 ok, -1 no memory. */
int  fb_head_note_training(fb_head *h, const fb_train_opts *o, const char *class_weight,
                           const fb_train_result *res, size_t n, size_t nv);

/* ================================================ the solved linear head */

#define FB_SOLVE_MAX_GRID 32
typedef enum { FB_THRESHOLD_NONE, FB_THRESHOLD_VAL, FB_THRESHOLD_CV } fb_threshold_rule;

typedef struct {
    double C;                /* > 0: this strength (scikit-learn's C); 0: chosen by CV */
    int folds;               /* for choosing C (default 5) */
    uint64_t seed;           /* folds' seed */
    const float *class_weight;  /* [nclasses] or NULL (all 1) */
    fb_threshold_rule threshold;
} fb_solve_opts;

void fb_solve_opts_default(fb_solve_opts *o);

typedef struct {
    double C;                /* the strength used */
    /* cross-validation, when C was chosen (ngrid 0 otherwise) */
    int ngrid, best, best_score, folds, folds_used;
    double grid[FB_SOLVE_MAX_GRID], logloss[FB_SOLVE_MAX_GRID], se[FB_SOLVE_MAX_GRID],
           balacc[FB_SOLVE_MAX_GRID];
    double cv_seconds;
    /* the fit on every training record */
    int iterations, evaluations, converged;
    double loss, grad_norm, seconds;
    double threshold;        /* the threshold stored (0 when none was chosen) */
    size_t threshold_records;   /* records it was chosen on */
} fb_solve_result;

/* Fits the linear head h (nhidden 0, made by fb_head_init_for) to rows of ds
 * by L2-regularised multinomial logistic regression solved to convergence
 * (lib/head/logreg.h): C chosen by stratified cross-validation over
 * 10^-3..10^3 (out-of-fold weighted log loss, the strongest C within one
 * standard error of the best) unless o->C is set.  group [ds->n] (ds->group,
 * or NULL) keeps records of one same-photo group in one fold.  ds must already be
 * normalised as h's normalisation says.  For two classes, o->threshold
 * chooses h->threshold on the validation rows (val, vrows, nv) or out of
 * fold.  0 ok; -1 with a message. */
int  fb_head_solve(fb_head *h, const fb_featset *ds, const uint32_t *group, const fb_featset *val,
                   const size_t *vrows, size_t nv, const fb_solve_opts *o, fb_solve_result *r,
                   char *err, size_t errlen);
/* The training notes of a solved head (fb_head_note_training's counterpart). */
int  fb_head_note_solve(fb_head *h, const fb_solve_opts *o, const char *class_weight,
                        const fb_solve_result *r, size_t n, size_t nv);

/* =================================================== fine-tuning stage 5 */

/* fb-train --fine-tune (lib/head/finetune.c): ResNet50's stage 5
 * (fb_stage5, lib/backbone/stage5.c) trained together with a linear head
 * on stage-4 maps (`fb-feat --layer stage4`, 14x14x1024 float32, 784 KiB
 * per record).  The head keeps its normalisation (l2 and/or std; not sqrt,
 * whose slope is infinite at the zeros a ReLU makes) fixed; the stage's
 * BatchNorm stays folded (inference mode).  Adam, the stage at a lower
 * rate than the head. */

/* 0 when h describes stage-4 maps; -1 with a message naming `name` and
 * saying what to run (a feature stream: fb-feat --layer stage4). */
int  fb_stage4_check(const fb_header *h, const char *name, char *err, size_t errlen);

/* A stage-4 stream kept for passes: in memory, or re-read from its file. */
typedef struct fb_maps fb_maps;
/* Reads the stage-4 stream f (called `name`) into *ds: every record's id,
 * label and group, and as its features the pooled output of s5 on its map
 * (what a head on top of s5 reads), computed as the records arrive.  With
 * keep, the maps are kept for fb_finetune: in memory while they fit in
 * max_bytes, else read again from f each pass (f must then be a file that
 * can seek, and stay open).  Without keep, memory is one batch of maps.
 * 0 ok; -1 with a message in err. */
int  fb_maps_read(fb_featset *ds, FILE *f, const char *name, const fb_stage5 *s5, size_t max_bytes,
                  fb_maps **keep, char *err, size_t errlen);
void fb_maps_free(fb_maps *m);
size_t fb_maps_count(const fb_maps *m);
int  fb_maps_streamed(const fb_maps *m);   /* 1: read from the file each pass */
/* out [n][4f] = the pooled output of s5 on every map, in stream order. */
int  fb_maps_features(fb_maps *m, const fb_stage5 *s5, float *out, char *err, size_t errlen);

/* What the frozen phase of fb_finetune_head did; handed to
 * fb_finetune_opts.on_frozen before the first epoch. */
typedef struct {
    const fb_head *h;             /* the solved head, its stage 5 still ImageNet's */
    const fb_solve_result *r;
    int has_val;
    double val_loss, val_acc;     /* when has_val: on the validation rows */
} fb_frozen;

typedef struct {
    double head_lr, stage_lr;     /* Adam's rates (1e-3, 1e-4) */
    int batch, epochs, patience;  /* 16, 5, 2 (0: never stop early) */
    uint64_t seed;
    const float *class_weight;    /* [nclasses] or NULL; both phases */
    /* fb_finetune_head only: the head's normalisation (FB_NORM_*, default
     * l2; not sqrt) and how the frozen phase solves it (its class_weight
     * is the one above) */
    int norm;
    fb_solve_opts solve;
    /* called after every epoch, and after the frozen phase; or NULL */
    void (*on_epoch)(void *ctx, const fb_epoch *e);
    void (*on_frozen)(void *ctx, const fb_frozen *f);
    void *ctx;
} fb_finetune_opts;

void fb_finetune_opts_default(fb_finetune_opts *o);

/* The head's loss on raw pooled features feat [n][in_dim] with labels y:
 * the class-weighted mean cross-entropy after h's normalisation.  With
 * dfeat (not NULL): dfeat [n][in_dim] = its gradient by feat, and gparams
 * [nparams] += by the head's parameters.  *correct (may be NULL) +=
 * records fb_head_decide answers right.  NaN when out of memory. */
double fb_finetune_head_loss(const fb_head *h, const float *feat, const int *y, const float *cw, int n,
                             float *dfeat, float *gparams, size_t *correct);

/* Trains h->stage5 and h's linear layer together on the maps of rows
 * rows[0..n) of train, labelled by tlab->y (head classes); validation on
 * vrows[0..nv) of val labelled by vlab->y (val may be NULL when nv is 0).
 * With validation, h ends with the epoch of the lowest validation loss.
 * 0 ok; -1 with a message in err. */
int  fb_finetune(fb_head *h, fb_maps *train, const fb_featset *tlab, const size_t *rows, size_t n,
                 fb_maps *val, const fb_featset *vlab, const size_t *vrows, size_t nv,
                 const fb_finetune_opts *o, fb_train_result *res, char *err, size_t errlen);

/* fb-train --fine-tune's sequence (fb-train(1), FINE-TUNING) on the maps
 * of fb_maps_read (train with every record, val with the rows vrows[0..nv)
 * relabelled onto train's classes; vm and val may be NULL when nv is 0):
 * the frozen phase -- a linear head for train, normalised by o->norm
 * (fb_head_init_normalised), solved by fb_head_solve on the features of
 * ImageNet's stage 5 s5 (fastai's frozen epoch, solved to convergence) --
 * then s5, taken over by h, trained with the head by fb_finetune.  Last,
 * train->x and (with nv) val->x become the raw pooled features of the tuned
 * stage: what the unknown test (fb_reject_fit_sets) measures.  *sr is the
 * frozen phase's solve, *res the epochs'.  0 ok; -1 with a message in err
 * (h and s5 freed). */
int  fb_finetune_head(fb_head *h, fb_stage5 *s5, fb_maps *tm, fb_featset *train, fb_maps *vm,
                      fb_featset *val, const size_t *vrows, size_t nv, const fb_finetune_opts *o,
                      fb_solve_result *sr, fb_train_result *res, char *err, size_t errlen);

/* The training notes of a fine-tuned head; C is the strength of the solved
 * head it started from. */
int  fb_head_note_finetune(fb_head *h, const fb_finetune_opts *o, const char *class_weight, double C,
                           const fb_train_result *res, size_t n, size_t nv);

/* ==================================================== applying a head */

/* Mean loss and accuracy of h on rows idx[0..n) of ds (inference mode;
 * labels are head class indices; ds already normalised, as in training).
 * NaN when n is 0 or out of memory. */
void fb_head_evaluate(fb_head *h, const fb_featset *ds, const size_t *idx, size_t n,
                      double *loss, double *acc);
/* Class probabilities of every record of ds (raw features: h's
 * normalisation is applied here): *probs = malloc'd [ds->n, h->nclasses].
 * ds->dim must be h->in_dim.  0 ok; -1 with a message. */
int  fb_head_predict_all(fb_head *h, const fb_featset *ds, float **probs, char *err, size_t errlen);

/* Test-time augmentation.  A photo's variants (fb-prep --augment, --tta)
 * follow it in the stream: same label, same non-zero group, ids "<its
 * id>#<anything>".  Each photo and its variants become one record: its
 * probabilities (probs [ds->n, k], in place) the mean over them, its
 * features, id, label and group the photo's own.  ds and probs are
 * compacted in place, order kept; near-duplicate photos (one group,
 * different ids) stay apart.  Returns how many records were merged into
 * their photo (0: ds and probs unchanged). */
size_t fb_featset_merge_variants(fb_featset *ds, float *probs, int k);

/* ============================================================== metrics */

typedef struct {
    int k;                   /* classes */
    size_t n, correct;
    double loss_sum;         /* sum of -ln p(true class) */
    size_t *confusion;       /* [k][k]: row = true class, column = predicted */
    /* two classes only: score of class 1 and truth, for the ROC AUC */
    float *score;
    unsigned char *positive;
    size_t cap;
} fb_metrics;

int    fb_metrics_init(fb_metrics *m, int k);      /* 0 ok, -1 no memory */
void   fb_metrics_free(fb_metrics *m);
/* One record: true class and the k class probabilities.  Returns the
 * predicted class (fb_argmax), -1 on no memory. */
int    fb_metrics_add(fb_metrics *m, int truth, const float *probs);
/* The same with the prediction given (fb_head_decide's, under a threshold). */
int    fb_metrics_add_pred(fb_metrics *m, int truth, const float *probs, int pred);
double fb_metrics_accuracy(const fb_metrics *m);
double fb_metrics_mean_loss(const fb_metrics *m);
/* NaN when undefined (no predictions of / no records of class c) */
double fb_metrics_precision(const fb_metrics *m, int c);
double fb_metrics_recall(const fb_metrics *m, int c);
double fb_metrics_f1(const fb_metrics *m, int c);
/* means over classes where the value is defined */
double fb_metrics_macro_precision(const fb_metrics *m);
double fb_metrics_macro_recall(const fb_metrics *m);
double fb_metrics_macro_f1(const fb_metrics *m);
/* ROC AUC with class 1 as positive (k == 2), NaN when a class is absent. */
double fb_metrics_auc(const fb_metrics *m);
/* Mean over classes of the recall (classes with no records left out):
 * confusion [k][k], row = true class.  NaN when empty. */
double fb_balanced_accuracy(const size_t *confusion, int k);
/* The same from label arrays (values outside 0..k-1 skipped). */
double fb_balanced_accuracy_labels(const int *truth, const int *pred, size_t n, int k);
/* Accuracy of always answering the most common true class: max row sum / n. */
double fb_majority_baseline(const size_t *confusion, int k);
/* Wilson score interval of a proportion, successes of n, at normal quantile
 * z (1.959964 for 95%).  n = 0: [0, 1]. */
void   fb_wilson_interval(size_t successes, size_t n, double z, double *lo, double *hi);
/* The same from raw scores: probability that a random positive scores
 * higher than a random negative, ties counting one half.  NaN when a score
 * is NaN or a side is empty. */
double fb_roc_auc(const float *score, const unsigned char *positive, size_t n);

/* A head scored on a labelled stream (fb-eval): metrics over the records
 * whose class the head knows (matched by name), the misclassified ones, and
 * what could not be scored. */
typedef struct { size_t row; int truth, pred; float prob; } fb_mistake;
typedef struct {
    fb_metrics m;
    fb_mistake *mistakes;    /* most confident first; ties in stream order */
    size_t nmistakes;
    size_t unlabelled;       /* records without a label */
    size_t *unknown;         /* [ds->nclasses]: records of each stream class the head lacks */
    size_t unknown_total;
} fb_score;

/* Scores probs [ds->n, h->nclasses] (fb_head_predict_all) against ds's
 * labels.  0 ok; -1 no memory. */
int  fb_score_init(fb_score *s, const fb_head *h, const fb_featset *ds, const float *probs,
                   char *err, size_t errlen);
void fb_score_free(fb_score *s);

/* One class against the rest (fb-eval --positive): counts at the head's own
 * decisions (fb_head_decide), and the ROC AUC of p(positive). */
typedef struct {
    int positive;            /* head class index */
    size_t tp, fp, fn, tn;
    double precision, recall, specificity, f1, auc;   /* NaN when undefined */
} fb_binary_report;

/* Over the records of ds whose class h knows.  0 ok; -1 no memory. */
int  fb_score_positive(const fb_head *h, const fb_featset *ds, const float *probs, int positive,
                       fb_binary_report *b);

/* The unknown test measured (fb-eval): records of the stream ds whose class
 * the head has are in-class, the others (a label the head lacks) and every
 * record of extra (may be NULL: --unknown) are outsiders.  dist/dx are the
 * records' distances (fb_reject_distances), probs/px the head's
 * probabilities; a record is rejected when its distance is beyond cut. */
typedef struct {
    double cut, rate;
    size_t in_n, in_rejected, in_accepted_right;
    size_t out_n, out_rejected;
    size_t *out_as;          /* [h->nclasses]: outsiders accepted as each class */
    double *in_d, *out_d;    /* the distances, ascending */
} fb_unknown_score;
/* 0 ok, -1 no memory. */
int  fb_unknown_score_run(fb_unknown_score *u, const fb_head *h, double cut, double rate,
                          const fb_featset *ds, const double *dist, const float *probs,
                          const fb_featset *extra, const double *dx, const float *px);
void fb_unknown_score_free(fb_unknown_score *u);
/* The trade-off as the cut moves: *m rows of (cut, share of in-class records
 * beyond it, share of outsiders beyond it), one per distance seen and 0,
 * ascending.  Malloc'd [*m x 3]; NULL when out of memory. */
double *fb_unknown_curve(const fb_unknown_score *u, size_t *m);

/* ================================================= folds, cross-validation */

/* Stratified k-fold split: fold[i] in 0..k-1 for every row, each class's
 * rows shuffled (seeded) and dealt round-robin, continuing where the last
 * class stopped, so every class spreads evenly and fold sizes differ by at
 * most one; fold[i] = -1 for a row without a class in 0..nclasses-1.
 * 0 ok, -1 no memory. */
int  fb_stratified_folds(const int *y, size_t n, int nclasses, int k, uint64_t seed, int *fold);

/* The folds every cross-validation of fb-train uses (the solver's choice of
 * C, and --folds): fb_stratified_folds, except that when group is not NULL
 * every same-photo group (records sharing a non-zero group number; 0 is a
 * record alone, as in fb streams) is whole in one fold (groups dealt
 * greedily, largest first, to the fold whose class counts stay closest to
 * even).  Records whose label is outside 0..k-1 get fold -1.  0 ok, -1 no
 * memory. */
int fb_group_folds(const int *y, const uint32_t *group, size_t n, int k, int folds,
                   uint64_t seed, int *fold);

/* Can ds be cut into k stratified folds?  Every class present needs at least
 * k records, or a fold would have none of it to test on.  0 yes; -1 with a
 * message naming the smallest class. */
int  fb_folds_check(const fb_featset *ds, int k, char *err, size_t errlen);

/* One fold of a cross-validation: trained on the other folds, scored on it. */
typedef struct {
    size_t ntrain, ntest;
    double loss, acc, seconds;
} fb_fold;

/* Stratified k-fold cross-validation of a head (nhidden, hidden, dropout)
 * trained with o (no validation, no early stopping inside a fold; o's
 * on_epoch is not called) on ds.  folds [k] get each fold's result, and
 * on_fold (may be NULL) is called as each ends; *mean and *sd are the
 * accuracy's mean and sample standard deviation.  k must be 2..(records of
 * ds's smallest present class).  0 ok; -1 with a message. */
int  fb_cross_validate(const fb_featset *ds, int k, int nhidden, const int *hidden, float dropout,
                       const fb_train_opts *o, fb_fold *folds,
                       void (*on_fold)(void *ctx, int f, int k, const fb_fold *r), void *ctx,
                       double *mean, double *sd, char *err, size_t errlen);

/* The same for the solved linear head (fb_head_solve with o, its C chosen
 * inside each fold when o->C is 0), folds kept whole by group (may be NULL):
 * records sharing a group id never straddle two folds. */
int  fb_cross_validate_solve(const fb_featset *ds, const uint32_t *group, int k, const fb_solve_opts *o,
                             fb_fold *folds, void (*on_fold)(void *ctx, int f, int k, const fb_fold *r),
                             void *ctx, double *mean, double *sd, char *err, size_t errlen);

#endif
