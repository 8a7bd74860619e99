/* fb-train --fine-tune (finetune_run.h): the solved linear head on stage
 * 5's ImageNet features first (fastai's frozen epoch, solved to
 * convergence), then stage 5 and the head together by adam, then the
 * unknown test on the tuned features.  The sequence is lib/head's; here
 * the files and the words. */
#include "common/finetune_run.h"
#include "common/common.h"
#include "common/input.h"
#include "common/train_log.h"
#include "fb/backbone.h"
#include "fb/core.h"
#include "fb/stream.h"

#include <cblas.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static fb_maps *read_maps(fb_featset *ds, FILE *f, const char *name, const fb_stage5 *s5,
                          const fb_train_run_opts *o)
{
    char err[1024];
    fb_maps *m;
    if (fb_maps_read(ds, f, name, s5, o->max_memory, &m, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    if (!o->quiet)
        fprintf(stderr, "%s: %zu stage-4 maps (%.0f MB), %s\n", name, ds->n,
                ds->n * (double)FB_STAGE4_SIZE * sizeof(float) / 1e6,
                fb_maps_streamed(m) ? "more than --max-memory: read from the file each epoch" : "in memory");
    return m;
}

/* Stage 5 as ImageNet trained it, from the weights file; its checksum into
 * checksum (what the maps' provenance names) and its path into *wpath. */
static void load_stage5(fb_stage5 *s5, const char *weights, char **wpath, char *checksum)
{
    char err[1024];
    if (!(*wpath = fb_weights_locate(weights, getenv("FB_WEIGHTS"), err, sizeof err)))
        fb_die(FB_EXIT_FAILURE, "%s", err);
    fb_weights w;
    fb_resnet net;
    if (fb_weights_load(&w, *wpath, err, sizeof err) != 0 || fb_resnet_init(&net, &w, err, sizeof err) != 0 ||
        fb_stage5_from_resnet(s5, &net, err, sizeof err) != 0)
        fb_die(FB_EXIT_FAILURE, "%s", err);
    memcpy(checksum, w.checksum, sizeof w.checksum);   /* stage 5 is copied: the other 100 MB can go */
    fb_weights_free(&w);
}

/* The validation maps at path, checked against the training stream and
 * relabelled onto its classes; the usable rows into *vrows. */
static fb_maps *read_val(fb_featset *val, FILE **vf, const fb_featset *train, const fb_stage5 *s5,
                         const fb_train_run_opts *o, size_t **vrows, size_t *nv)
{
    char err[1024];
    if (!(*vf = fopen(o->val, "rb"))) fb_die(FB_EXIT_FAILURE, "%s: %s", o->val, strerror(errno));
    fb_maps *vm = read_maps(val, *vf, o->val, s5, o);
    if (fb_prov_compare(train->provenance, val->provenance, err, sizeof err) && !o->force)
        fb_die(FB_EXIT_FAILURE, "%s: made differently from the training stream (%s); --force to use it "
               "anyway", o->val, err);
    size_t unknown, unlabelled;
    if (fb_featset_relabel(val, train->classes, train->nclasses, &unknown, &unlabelled) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    if (unknown + unlabelled) fb_warn("%s: %zu records without a training class; not used", o->val,
                                      unknown + unlabelled);
    *vrows = fb_xmalloc((val->n ? val->n : 1) * sizeof **vrows);
    *nv = 0;
    for (size_t i = 0; i < val->n; i++)
        if (val->y[i] >= 0) (*vrows)[(*nv)++] = i;
    return vm;
}

typedef struct {
    fb_train_log log;
    const fb_train_run_opts *o;
    size_t n;   /* training records */
} progress;

static void on_epoch(void *ctx, const fb_epoch *e) { fb_train_log_epoch(&((progress *)ctx)->log, e); }

static void on_frozen(void *ctx, const fb_frozen *f)
{
    const progress *p = ctx;
    if (!p->log.verbose) return;
    fb_train_log_solve(f->h, f->r, &p->o->solve, p->o->class_weight, p->n);
    if (f->has_val) fprintf(stderr, "frozen stage 5, validation: loss %.4f, accuracy %.4f\n", f->val_loss, f->val_acc);
}

void fb_finetune_run(const fb_train_run_opts *o, int nfiles, char **files)
{
    char err[1024], checksum[sizeof ((fb_weights *)0)->checksum], *wpath;
    fb_stage5 s5;
    load_stage5(&s5, o->weights, &wpath, checksum);
    if (o->norm & FB_NORM_SQRT)
        fb_die(FB_EXIT_USAGE, "--fine-tune: --norm sqrt cannot be fine-tuned through (its slope is infinite at "
               "zero); use l2, std or none");
    openblas_set_num_threads(o->threads);
    fb_featset train, val = { 0 };
    /* one stream: maps past --max-memory are read again from it each epoch */
    if (nfiles > 1) fb_die(FB_EXIT_USAGE, "--fine-tune reads one stream of stage-4 maps, not %d", nfiles);
    fb_input in;
    fb_input_open(&in, nfiles, files, "fb-train --fine-tune -o head.bin train4.fbt");
    fb_maps *tm = read_maps(&train, in.f, in.name, &s5, o), *vm = NULL;
    char *crc = fb_prov_get(train.provenance, "weights_crc32");
    if (crc && strcmp(crc, checksum) != 0)
        fb_die(FB_EXIT_FAILURE, "%s: the maps were made with weights %s, %s is %s", in.name, crc, wpath,
               checksum);
    free(crc);
    fb_train_run_check(&train, in.name, 0);
    size_t nv = 0, *vrows = NULL;
    FILE *vf = NULL;
    if (o->val) vm = read_val(&val, &vf, &train, &s5, o, &vrows, &nv);
    float *cw = NULL;
    if (o->class_weight && !(cw = fb_class_weights(o->class_weight, &train, err, sizeof err)))
        fb_die(FB_EXIT_USAGE, "--class-weight: %s", err);

    fb_atomic hist = { 0 };
    progress p = { { !o->quiet, NULL }, o, train.n };
    if (o->history) fb_train_log_open_history(&p.log, &hist, o->history);
    fb_finetune_opts tune = o->tune;
    tune.norm = o->norm;
    tune.solve = o->solve;
    tune.seed = o->t.seed;
    tune.class_weight = cw;
    tune.on_epoch = on_epoch;
    tune.on_frozen = on_frozen;
    tune.ctx = &p;
    fb_par_init(o->threads);
    fb_head h;
    fb_solve_result sr;
    fb_train_result res;
    if (fb_finetune_head(&h, &s5, tm, &train, vm, &val, vrows, nv, &tune, &sr, &res, err, sizeof err) != 0) {
        fb_atomic_abort(&hist);
        fb_die(FB_EXIT_FAILURE, "%s", err);
    }
    fb_train_log_stop(&p.log, &res, tune.patience, nv);
    if (!o->no_reject) fb_train_run_reject(&h.reject, &train, &val, vrows, nv, o);
    if (fb_head_note_finetune(&h, &tune, o->class_weight, sr.C, &res, train.n, nv) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    fb_train_log_save(&h, o->out, o->history, &hist);
    if (p.log.verbose) {
        fprintf(stderr, "%s: wrote %s: stage 5 fine-tuned with a linear head, %d classes, %zu records, %d %s",
                fb_progname(), o->out, h.nclasses, train.n, res.epochs_run,
                fb_plural(res.epochs_run, "epoch", "epochs"));
        if (nv) fprintf(stderr, ", kept epoch %d (val_loss %.4f)", res.best_epoch, res.best_val_loss);
        fprintf(stderr, ", %.1fs\n", res.seconds);
    }
    fb_par_shutdown();
    fb_maps_free(tm);
    fb_maps_free(vm);
    if (vf) fclose(vf);
    fb_input_close(&in);
    fb_head_free(&h);
    fb_featset_free(&train);
    fb_featset_free(&val);
    free(vrows);
    free(cw);
    free(wpath);
}
