/* What fb-train prints while it trains (train_log.h). */
#include "common/train_log.h"
#include "common/common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fb_train_log_epoch(void *ctx, const fb_epoch *e)
{
    const fb_train_log *p = ctx;
    if (p->verbose) {
        fprintf(stderr, "epoch %d/%d - loss %.4f - accuracy %.4f", e->epoch, e->epochs, e->loss, e->acc);
        if (e->has_val) fprintf(stderr, " - val_loss %.4f - val_accuracy %.4f", e->val_loss, e->val_acc);
        fprintf(stderr, " - %.2fs\n", e->seconds);
    }
    if (p->history) {
        fprintf(p->history, "%d\t%.6f\t%.6f\t", e->epoch, e->loss, e->acc);
        if (e->has_val) fprintf(p->history, "%.6f\t%.6f", e->val_loss, e->val_acc);
        else fprintf(p->history, "nan\tnan");
        fprintf(p->history, "\t%.3f\n", e->seconds);
    }
}

void fb_train_log_open_history(fb_train_log *p, fb_atomic *hist, const char *path)
{
    if (fb_atomic_open(hist, path) != 0) fb_die(FB_EXIT_FAILURE, "%s: %s", path, strerror(errno));
    p->history = hist->f;
    fprintf(p->history, "epoch\tloss\taccuracy\tval_loss\tval_accuracy\tseconds\n");
}

void fb_train_log_stop(const fb_train_log *p, const fb_train_result *res, int patience, size_t nv)
{
    if (p->verbose && res->stopped_early)
        fprintf(stderr, "stopping early: val_loss has not improved for %d %s\n", patience,
                fb_plural(patience, "epoch", "epochs"));
    if (p->verbose && nv && res->best_epoch > 0 && res->best_epoch != res->epochs_run)
        fprintf(stderr, "restored the weights of epoch %d (val_loss %.4f)\n", res->best_epoch, res->best_val_loss);
}

void fb_train_log_save(const fb_head *h, const char *out, const char *history, fb_atomic *hist)
{
    char err[1024];
    if (!history) {
        if (fb_head_save(h, out, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
        return;
    }
    unsigned char *buf;
    size_t len;
    fb_atomic set[2] = { { 0 }, *hist };
    if (fb_head_serialize(h, &buf, &len) != 0) {
        fb_atomic_abort(hist);
        fb_die(FB_EXIT_FAILURE, "out of memory");
    }
    if (fb_atomic_open(&set[0], out) != 0) {
        int e = errno;
        fb_atomic_abort(hist);
        fb_die(FB_EXIT_FAILURE, "%s: %s", out, strerror(e));
    }
    /* a failed write shows again at the flush inside the commit */
    if (fwrite(buf, 1, len, set[0].f) != len) {
        int e = errno;
        fb_atomic_abort(&set[0]);
        fb_atomic_abort(hist);
        fb_die(FB_EXIT_FAILURE, "%s: %s", out, strerror(e));
    }
    free(buf);
    if (fb_atomic_commit_set(set, 2, err, sizeof err) != 0)
        fb_die(FB_EXIT_FAILURE, "%s (neither %s nor %s was replaced)", err, out, history);
    *hist = (fb_atomic){ 0 };
}

void fb_train_log_fold(void *ctx, int f, int k, const fb_fold *r)
{
    (void)ctx;
    fprintf(stderr, "fold %d/%d: train %zu, test %zu, loss %.4f, accuracy %.4f (%.1fs)\n",
            f + 1, k, r->ntrain, r->ntest, r->loss, r->acc, r->seconds);
}

/* What the solved head's training says: the strength and how it was
 * chosen, the fit's convergence, the threshold. */
void fb_train_log_solve(const fb_head *h, const fb_solve_result *r, const fb_solve_opts *opts,
                        const char *class_weight, size_t n)
{
    char normstr[64];
    fb_norm_string(h->norm, normstr, sizeof normstr);
    if (r->ngrid) {
        fprintf(stderr, "choosing C by %d-fold cross-validation%s (out-of-fold weighted log loss ± s.e.):\n",
                r->folds, r->folds_used < r->folds ? " (folds used: enough held-out records)" : "");
        for (int g = 0; g < r->ngrid; g++)
            fprintf(stderr, "  C %-8g log loss %.4f ± %.4f  balanced accuracy %.4f%s\n", r->grid[g],
                    r->logloss[g], r->se[g], r->balacc[g],
                    g == r->best ? (g == r->best_score ? "  <- chosen (best)" : "  <- chosen (within 1 s.e. of the best)")
                                 : g == r->best_score ? "  (best)" : "");
        fprintf(stderr, "cross-validation %.2fs\n", r->cv_seconds);
    } else if (!(opts->C > 0)) {
        fprintf(stderr, "too few records of a class to cross-validate: C = %g\n", r->C);
    }
    fprintf(stderr, "logistic regression (L-BFGS): C %g, norm %s, class weights %s, %zu %s: "
            "%d %s, loss %.6f, gradient norm %.2g%s, %.2fs\n", r->C, normstr,
            class_weight ? class_weight : "none", n, fb_plural(n, "record", "records"), r->iterations,
            fb_plural(r->iterations, "iteration", "iterations"), r->loss, r->grad_norm,
            r->converged ? "" : " (stopped at the precision of float evaluations)", r->seconds);
    if (h->nclasses == 2 && opts->threshold != FB_THRESHOLD_NONE)
        fprintf(stderr, "threshold: ln(p(%s)/p(%s)) > %.4f, chosen on %zu %s records\n", h->classes[1],
                h->classes[0], (double)h->threshold, r->threshold_records,
                opts->threshold == FB_THRESHOLD_VAL ? "validation" : "out-of-fold");
}

