/* What fb-train prints while it trains: the per-epoch lines (Keras' style)
 * and --history rows, the folds of --folds, the solver's choice of C and
 * its convergence; and the --history file itself, replaced together with
 * head.bin.  Printing and files only; the work is in lib/head. */
#ifndef FB_CMD_TRAIN_LOG_H
#define FB_CMD_TRAIN_LOG_H

#include <stdio.h>
#include "fb/core.h"
#include "fb/head.h"

/* ctx of fb_train_log_epoch: lines on stderr when verbose, TSV rows to
 * history when not NULL. */
typedef struct { int verbose; FILE *history; } fb_train_log;
void fb_train_log_epoch(void *ctx, const fb_epoch *e);
/* --history FILE: hist opened on path (atomically) with its header row, and
 * p->history pointed at it; dies naming the file. */
void fb_train_log_open_history(fb_train_log *p, fb_atomic *hist, const char *path);
/* After the epochs, when verbose: whether patience stopped them and which
 * epoch's weights the head kept. */
void fb_train_log_stop(const fb_train_log *p, const fb_train_result *res, int patience, size_t nv);
/* head.bin and its --history (history NULL: none, hist unused) are one
 * result: h saved to out and hist committed, both replaced or neither;
 * dies naming what failed (hist aborted). */
void fb_train_log_save(const fb_head *h, const char *out, const char *history, fb_atomic *hist);
void fb_train_log_fold(void *ctx, int f, int k, const fb_fold *r);
/* The strength and how it was chosen, the fit's convergence, the threshold. */
void fb_train_log_solve(const fb_head *h, const fb_solve_result *r, const fb_solve_opts *opts,
                        const char *class_weight, size_t n);

#endif
