/* fb-train's ways of training a head on features once its options are read
 * (fb-train(1)): --folds, the solved linear head, epochs of adam/sgd; each
 * with its lines on stderr and head.bin (and --history) written.  The work
 * is lib/head's; problems end the program through fb_die.  --fine-tune is
 * finetune_run.h. */
#ifndef FB_CMD_TRAIN_RUN_H
#define FB_CMD_TRAIN_RUN_H

#include <stddef.h>
#include "fb/head.h"

/* What fb-train was told. */
typedef struct {
    const char *out, *val, *arch, *history, *class_weight;   /* class_weight NULL: none */
    double dropout, reject_rate;
    int no_reject, reject_subject;
    int folds, threads, quiet, force;
    int nhidden, hidden[FB_HEAD_MAX_HIDDEN];
    int solved;              /* the linear head by L-BFGS (else epochs of adam/sgd) */
    int norm;                /* FB_NORM_* steps */
    fb_train_opts t;
    fb_solve_opts solve;
    fb_reject reject;        /* fitted before training, handed to the head saved */
    /* --fine-tune: its own defaults, overwritten by the options given */
    int fine_tune;
    fb_finetune_opts tune;
    size_t max_memory;       /* bytes of stage-4 maps held in memory */
    const char *weights;
} fb_train_run_opts;

/* The training stream called name, checked: trainable by a head with
 * nhidden hidden layers (fb_featset_check_trainable) and no class named as
 * the unknown test answers; or dies saying what to change. */
void fb_train_run_check(const fb_featset *train, const char *name, int nhidden);
/* The unknown test fitted into *r (fb_reject_fit_sets: raw features of
 * train and the validation rows vrows of val, o's rate and subject size);
 * dies when that fails, warns when there are too few records for it. */
void fb_train_run_reject(fb_reject *r, const fb_featset *train, const fb_featset *val,
                         const size_t *vrows, size_t nv, const fb_train_run_opts *o);
/* --folds K on ds (normalised): each fold's line, the mean and sd. */
void fb_train_run_folds(const fb_featset *ds, const fb_train_run_opts *o);
/* h (made for train, normalised) solved on train, saved to o->out. */
void fb_train_run_solve(fb_head *h, const fb_featset *train, const fb_featset *val,
                        const size_t *vrows, size_t nv, fb_train_run_opts *o);
/* h trained by epochs on train (validation rows vrows of val), saved with
 * its --history. */
void fb_train_run_epochs(fb_head *h, const fb_featset *train, const fb_featset *val,
                         const size_t *vrows, size_t nv, fb_train_run_opts *o);

#endif
