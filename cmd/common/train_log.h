/* What fb-train prints while it trains: the per-epoch lines (Keras' style)
 * and --history rows, the folds of --folds, the solver's choice of C and
 * its convergence.  Printing only; the work is in lib/head. */
#ifndef FB_CMD_TRAIN_LOG_H
#define FB_CMD_TRAIN_LOG_H

#include <stdio.h>
#include "fb/head.h"

/* ctx of fb_train_log_epoch: lines on stderr when verbose, TSV rows to
 * history when not NULL. */
typedef struct { int verbose; FILE *history; } fb_train_log;
void fb_train_log_epoch(void *ctx, const fb_epoch *e);
void fb_train_log_fold(void *ctx, int f, int k, const fb_fold *r);
/* The strength and how it was chosen, the fit's convergence, the threshold. */
void fb_train_log_solve(const fb_head *h, const fb_solve_result *r, const fb_solve_opts *opts,
                        const char *class_weight, size_t n);

#endif
