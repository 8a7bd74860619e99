/* fb-train's ways of training a head on features (train_run.h). */
#include "common/train_run.h"
#include "common/common.h"
#include "common/train_log.h"
#include "fb/core.h"

#include <stdio.h>
#include <stdlib.h>

void fb_train_run_check(const fb_featset *train, const char *name, int nhidden)
{
    char err[1024];
    if (fb_featset_check_trainable(train, name, nhidden, err, sizeof err) != 0)
        fb_die(FB_EXIT_FAILURE, "%s", err);
    if (fb_class_index(train->classes, train->nclasses, FB_REJECT_CLASS) >= 0)
        fb_die(FB_EXIT_USAGE, "%s: a class is named '%s'; that name is reserved for the answer "
               "fb-predict gives a record unlike every class: rename the folder (e.g. 'other')",
               name, FB_REJECT_CLASS);
}

void fb_train_run_reject(fb_reject *r, const fb_featset *train, const fb_featset *val,
                         const size_t *vrows, size_t nv, const fb_train_run_opts *o)
{
    char err[1024];
    int rc = fb_reject_fit_sets(r, train, nv ? val : NULL, vrows, nv, o->reject_rate, o->reject_subject,
                                o->t.seed, err, sizeof err);
    if (rc < 0) fb_die(FB_EXIT_FAILURE, "%s (--no-reject to train without the unknown test)", err);
    if (rc > 0)   /* a head can still be trained; it cannot say unknown */
        fb_warn("%zu training records: the unknown test needs more than %d; this head will "
                "answer one of its classes for every record", train->n + nv, FB_REJECT_DEFAULT_K);
}

void fb_train_run_folds(const fb_featset *ds, const fb_train_run_opts *o)
{
    char err[512];
    double mean, sd;
    fb_fold *folds = fb_xcalloc((size_t)o->folds, sizeof *folds);
    int rc = o->solved
        ? fb_cross_validate_solve(ds, ds->group, o->folds, &o->solve, folds, fb_train_log_fold, NULL, &mean, &sd,
                                  err, sizeof err)
        : fb_cross_validate(ds, o->folds, o->nhidden, o->hidden, (float)o->dropout, &o->t, folds,
                            fb_train_log_fold, NULL, &mean, &sd, err, sizeof err);
    if (rc != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    fprintf(stderr, "%d-fold cross-validation: accuracy %.4f ± %.4f (mean ± sd)\n", o->folds, mean, sd);
    printf("folds\t%d\naccuracy_mean\t%.6f\naccuracy_sd\t%.6f\n", o->folds, mean, sd);
    free(folds);
}

void fb_train_run_solve(fb_head *h, const fb_featset *train, const fb_featset *val,
                        const size_t *vrows, size_t nv, fb_train_run_opts *o)
{
    char err[1024];
    fb_solve_result r;
    if (fb_head_solve(h, train, train->group, val, vrows, nv, &o->solve, &r, err, sizeof err) != 0)
        fb_die(FB_EXIT_FAILURE, "%s", err);
    if (!o->quiet) fb_train_log_solve(h, &r, &o->solve, o->class_weight, train->n);
    if (!o->quiet && nv) {
        double loss, acc;
        fb_head_evaluate(h, val, vrows, nv, &loss, &acc);
        fprintf(stderr, "validation: %zu %s, loss %.4f, accuracy %.4f\n", nv,
                fb_plural(nv, "record", "records"), loss, acc);
    }
    if (fb_head_note_solve(h, &o->solve, o->class_weight, &r, train->n, nv) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    h->reject = o->reject;
    if (fb_head_save(h, o->out, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    if (!o->quiet)
        fprintf(stderr, "%s: wrote %s: linear head solved, %d classes, %zu %s, %.1fs\n",
                fb_progname(), o->out, h->nclasses, train->n, fb_plural(train->n, "record", "records"),
                r.cv_seconds + r.seconds);
}

void fb_train_run_epochs(fb_head *hnorm, const fb_featset *train, const fb_featset *val,
                         const size_t *vrows, size_t nv, fb_train_run_opts *o)
{
    char err[1024];
    fb_atomic hist = { 0 };
    fb_train_log p = { !o->quiet, NULL };
    if (o->history) fb_train_log_open_history(&p, &hist, o->history);
    o->t.on_epoch = fb_train_log_epoch;
    o->t.ctx = &p;
    size_t *rows = fb_xmalloc((train->n ? train->n : 1) * sizeof(size_t));
    for (size_t i = 0; i < train->n; i++) rows[i] = i;
    fb_head h = *hnorm;   /* made with its normalisation; trained in place */
    fb_train_result res;
    if (fb_train(&h, train, rows, train->n, nv ? val : NULL, vrows, nv, &o->t, &res, err, sizeof err) != 0) {
        fb_atomic_abort(&hist);
        fb_die(FB_EXIT_FAILURE, "%s", err);
    }
    fb_train_log_stop(&p, &res, o->t.patience, nv);
    if (fb_head_note_training(&h, &o->t, o->class_weight, &res, train->n, nv) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    h.reject = o->reject;
    fb_train_log_save(&h, o->out, o->history, &hist);
    if (p.verbose) {
        char arch[256];
        fb_head_arch_string(&h, arch, sizeof arch);
        fprintf(stderr, "%s: wrote %s: head %s, %d classes, %zu %s, %d %s", fb_progname(), o->out,
                arch, h.nclasses, train->n, fb_plural(train->n, "record", "records"), res.epochs_run,
                fb_plural(res.epochs_run, "epoch", "epochs"));
        if (nv) fprintf(stderr, ", kept epoch %d (val_loss %.4f)", res.best_epoch, res.best_val_loss);
        fprintf(stderr, ", %.1fs\n", res.seconds);
    }
    *hnorm = h;
    free(rows);
}
