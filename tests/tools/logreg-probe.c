/* logreg-probe: measures the solved linear head on feature streams (an
 * experiment tool, not a test).
 *
 *   logreg-probe --dump OUT FEATURES.fbt
 *       writes OUT.f32 (n x d float32, raw) and OUT.tsv (row, class name, id)
 *       so another implementation can read the very same features
 *   logreg-probe [options] [--raw] FEATURES TASK.tsv...
 *       (FEATURES: a .fbt stream, or with --raw the prefix of a dump)
 *       each TASK.tsv has lines "row<TAB>class<TAB>role" (class 0..k-1, role
 *       train|val|test; rows index FEATURES.fbt); for each task: normalise,
 *       choose C by cross-validation on train (or --C), fit on train, choose
 *       the two-class threshold (on val, else out of fold), and print
 *       task, balanced accuracy and accuracy on test (at t = 0 and at the
 *       chosen threshold), C, threshold, iterations, gradient norm, seconds
 *   logreg-probe --write-task OUT FEATURES.fbt TASK.tsv
 *       the task's rows as streams OUT.train.fbt, OUT.val.fbt, OUT.test.fbt
 *   logreg-probe --synthetic N D K [options]
 *       times cross-validation and the final fit on N x D synthetic features
 *
 * Options: --norm SPEC (sqrt,l2)  --C VALUE  --score logloss|balacc
 *          --weights balanced|none  --folds K (5)  --seed S (1)
 *          --grid LO:HI:STEP (log10 of C; -3:3:1)  --gtol G
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fb/head.h"
#include "fb/core.h"
#include "fb/stream.h"
#include "../../lib/head/logreg.h"
#include "../../lib/head/norm.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *fmt, const char *a)
{
    fprintf(stderr, "logreg-probe: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\n");
    exit(1);
}

typedef struct {
    int norm;
    double C;                 /* 0: cross-validate */
    fb_cv_score score;
    int balanced;
    int folds;
    uint64_t seed;
    double glo, ghi, gstep, gtol;
    int one_se;
} probe_opts;

static void cv_opts(const probe_opts *po, fb_logreg_cv_opts *o)
{
    fb_logreg_cv_opts_default(o);
    o->folds = po->folds;
    o->seed = po->seed;
    o->score = po->score;
    o->ngrid = 0;
    for (double e = po->glo; e <= po->ghi + 1e-9 && o->ngrid < FB_CV_MAX_GRID; e += po->gstep)
        o->grid[o->ngrid++] = pow(10.0, e);
    if (po->gtol > 0) o->solver.gtol = po->gtol;
    o->one_se = po->one_se;
}

/* One task: rows by role, normalise on train, CV, fit, threshold, test. */
static void run_task(const fb_featset *fs, const char *path, const probe_opts *po)
{
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open %s", path);
    size_t cap = fs->n, nt[3] = { 0, 0, 0 };
    size_t *rows[3];
    int *cls[3];
    for (int r = 0; r < 3; r++) { rows[r] = malloc(cap * sizeof(size_t)); cls[r] = malloc(cap * sizeof(int)); }
    char line[256], role[32];
    size_t row;
    int c, k = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%zu\t%d\t%31s", &row, &c, role) != 3 || row >= fs->n) die("bad line in %s", path);
        int r = !strcmp(role, "train") ? 0 : !strcmp(role, "val") ? 1 : 2;
        if (nt[r] == cap) die("too many lines in %s", path);
        rows[r][nt[r]] = row;
        cls[r][nt[r]++] = c;
        if (c + 1 > k) k = c + 1;
    }
    fclose(f);
    const int d = fs->dim;
    float *x[3];
    for (int r = 0; r < 3; r++) {
        x[r] = malloc((nt[r] ? nt[r] : 1) * d * sizeof(float));
        for (size_t i = 0; i < nt[r]; i++) memcpy(x[r] + i * d, fs->x + rows[r][i] * d, d * sizeof(float));
    }
    char err[256];
    fb_norm nm;
    if (fb_norm_fit(&nm, po->norm, x[0], nt[0], d, err, sizeof err)) die("%s", err);
    for (int r = 0; r < 3; r++) fb_norm_apply(&nm, x[r], nt[r]);

    double *sw = malloc(nt[0] * sizeof *sw);
    if (po->balanced) fb_balanced_weights(cls[0], nt[0], k, sw);
    else for (size_t i = 0; i < nt[0]; i++) sw[i] = 1;
    fb_logreg_data D = { x[0], cls[0], sw, nt[0], d, k };
    fb_logreg_cv_opts co;
    cv_opts(po, &co);
    fb_logreg_cv_result cr = { 0 };
    float *oof = malloc(nt[0] * k * sizeof(float));
    double *wb = calloc(fb_logreg_nparams(d, k), sizeof *wb);
    double C = po->C;
    int have_oof = 0;
    if (C <= 0) {
        if (fb_logreg_cv(&D, NULL, &co, &cr, oof, wb, err, sizeof err)) die("%s", err);
        C = cr.C;
        have_oof = 1;
    }
    fb_logreg_opts so;
    fb_logreg_opts_default(&so);
    so.C = C;
    if (po->gtol > 0) so.gtol = po->gtol;
    fb_logreg_result fr;
    double t0 = now();
    if (fb_logreg_fit(&D, &so, wb, &fr, err, sizeof err)) die("%s", err);
    double tfit = now() - t0;

    /* threshold: on val when there is one, else out of fold */
    double thr = 0;
    if (k == 2) {
        const float *src = NULL;
        const int *ys = NULL;
        size_t ns = 0;
        float *pv = NULL;
        if (nt[1]) {
            pv = malloc(nt[1] * 2 * sizeof(float));
            fb_logreg_predict(wb, d, k, x[1], nt[1], pv);
            src = pv; ys = cls[1]; ns = nt[1];
        } else if (have_oof) {
            src = oof; ys = cls[0]; ns = nt[0];
        }
        if (src) {
            double *lo = malloc(ns * sizeof *lo);
            for (size_t i = 0; i < ns; i++) lo[i] = log(src[i * 2 + 1]) - log(src[i * 2]);
            thr = fb_choose_threshold(lo, ys, ns);
            free(lo);
        }
        free(pv);
    }
    /* test */
    float *pt = malloc((nt[2] ? nt[2] : 1) * k * sizeof(float));
    fb_logreg_predict(wb, d, k, x[2], nt[2], pt);
    int *p0 = malloc((nt[2] ? nt[2] : 1) * sizeof(int)), *p1 = malloc((nt[2] ? nt[2] : 1) * sizeof(int));
    size_t ok0 = 0, ok1 = 0;
    for (size_t i = 0; i < nt[2]; i++) {
        int b = 0;
        for (int cc = 1; cc < k; cc++) if (pt[i * k + cc] > pt[i * k + b]) b = cc;
        p0[i] = p1[i] = b;
        if (k == 2) p1[i] = log(pt[i * 2 + 1]) - log(pt[i * 2]) > thr;
        ok0 += p0[i] == cls[2][i];
        ok1 += p1[i] == cls[2][i];
    }
    double b0 = fb_balanced_accuracy_labels(cls[2], p0, nt[2], k);
    double b1 = fb_balanced_accuracy_labels(cls[2], p1, nt[2], k);
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    printf("%s\tbalacc %.4f acc %.4f\tthr-balacc %.4f thr-acc %.4f\tC %.4g thr %.3f\tcv-best %d folds %d cv %.2fs\tfit %d its loss %.9g |g| %.2g %s %.2fs\n",
           name, b0, (double)ok0 / nt[2], b1, (double)ok1 / nt[2], C, thr, cr.best, cr.folds,
           cr.seconds, fr.iterations, fr.loss, fr.grad_norm, fr.converged ? "converged" : "stopped", tfit);
    fflush(stdout);
    for (int r = 0; r < 3; r++) { free(rows[r]); free(cls[r]); free(x[r]); }
    fb_norm_free(&nm);
    free(sw); free(oof); free(wb); free(pt); free(p0); free(p1);
}

/* PREFIX.f32 + PREFIX.tsv as --dump writes them (labels not needed: the
 * tasks carry them). */
static void read_raw(fb_featset *fs, const char *prefix)
{
    char path[4096];
    memset(fs, 0, sizeof *fs);
    snprintf(path, sizeof path, "%s.tsv", prefix);
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open %s", path);
    int ch;
    while ((ch = fgetc(f)) != EOF) fs->n += ch == '\n';
    fclose(f);
    snprintf(path, sizeof path, "%s.f32", prefix);
    f = fopen(path, "rb");
    if (!f || !fs->n) die("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    fs->dim = (int)(bytes / 4 / (long)fs->n);
    fs->x = malloc(bytes);
    if (fread(fs->x, 1, bytes, f) != (size_t)bytes) die("short read on %s", path);
    fclose(f);
}

/* FEATURES' rows of one task as streams OUT.train.fbt, OUT.val.fbt (when the
 * task has val rows) and OUT.test.fbt, classes named class0, class1, ... */
static void write_task(const fb_featset *fs, const char *task, const char *out)
{
    FILE *f = fopen(task, "r");
    if (!f) die("cannot open %s", task);
    static const char *roles[3] = { "train", "val", "test" };
    fb_writer *w[3] = { NULL, NULL, NULL };
    uint32_t dims[1] = { (uint32_t)fs->dim };
    char line[256], role[32], path[4096], err[256];
    size_t row;
    int c, k = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%zu\t%d\t%31s", &row, &c, role) == 3 && c + 1 > k) k = c + 1;
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%zu\t%d\t%31s", &row, &c, role) != 3 || row >= fs->n) die("bad line in %s", task);
        int r = !strcmp(role, "train") ? 0 : !strcmp(role, "val") ? 1 : 2;
        if (!w[r]) {
            fb_header h;
            fb_header_init(&h, FB_F32, 1, dims);
            h.provenance = strdup(fs->provenance ? fs->provenance : "");
            for (int j = 0; j < k; j++) {
                char name[32];
                snprintf(name, sizeof name, "class%d", j);
                fb_header_add_class(&h, name);
            }
            snprintf(path, sizeof path, "%s.%s.fbt", out, roles[r]);
            FILE *o = fopen(path, "wb");
            if (!o || !(w[r] = fb_writer_open(o, &h, 0, err, sizeof err))) die("cannot write %s", path);
            fb_header_free(&h);
        }
        if (fb_writer_put(w[r], fs->ids[row], c, fs->x + row * fs->dim)) die("%s", fb_writer_error(w[r]));
    }
    fclose(f);
    for (int r = 0; r < 3; r++)
        if (w[r] && fb_writer_close(w[r])) die("%s", "cannot finish a stream");
}

static void dump(const fb_featset *fs, const char *out)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.f32", out);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(fs->x, sizeof(float) * fs->dim, fs->n, f) != fs->n || fclose(f)) die("cannot write %s", path);
    snprintf(path, sizeof path, "%s.tsv", out);
    f = fopen(path, "w");
    if (!f) die("cannot write %s", path);
    for (size_t i = 0; i < fs->n; i++)
        fprintf(f, "%zu\t%s\t%s\n", i, fs->y[i] >= 0 ? fs->classes[fs->y[i]] : "", fs->ids[i]);
    if (fclose(f)) die("cannot write %s", path);
}

/* Nonnegative, heavy-tailed features like pooled ReLU activations; labels
 * from a random linear model plus noise. */
static void synthetic(size_t n, int d, int k, const probe_opts *po)
{
    fb_rng r;
    fb_rng_seed(&r, 1);
    float *x = malloc(n * d * sizeof(float)), *w = malloc((size_t)d * k * sizeof(float));
    int *y = malloc(n * sizeof(int));
    double *sw = malloc(n * sizeof *sw);
    for (size_t j = 0; j < (size_t)d * k; j++) w[j] = (float)fb_rng_normal(&r);
    for (size_t i = 0; i < n; i++) {
        double z[64];
        for (int j = 0; j < d; j++) {
            double v = fb_rng_normal(&r);
            x[i * d + j] = (float)(v > 0 ? v * v : 0);
        }
        for (int c = 0; c < k; c++) {
            z[c] = 0.3 * fb_rng_normal(&r);
            for (int j = 0; j < d; j++) z[c] += x[i * d + j] * w[j * k + c] / sqrt(d);
        }
        int b = 0;
        for (int c = 1; c < k; c++) if (z[c] > z[b]) b = c;
        y[i] = b;
    }
    char err[256];
    fb_norm nm;
    fb_norm_fit(&nm, po->norm, x, n, d, err, sizeof err);
    fb_norm_apply(&nm, x, n);
    fb_balanced_weights(y, n, k, sw);
    fb_logreg_data D = { x, y, sw, n, d, k };
    fb_logreg_cv_opts co;
    cv_opts(po, &co);
    fb_logreg_cv_result cr = { 0 };
    double C = po->C;
    if (C <= 0) {
        if (fb_logreg_cv(&D, NULL, &co, &cr, NULL, NULL, err, sizeof err)) die("%s", err);
        C = cr.C;
    }
    double *wb = calloc(fb_logreg_nparams(d, k), sizeof *wb);
    fb_logreg_opts so;
    fb_logreg_opts_default(&so);
    so.C = C;
    if (po->gtol > 0) so.gtol = po->gtol;
    fb_logreg_result fr;
    double t0 = now();
    fb_logreg_fit(&D, &so, wb, &fr, err, sizeof err);
    double tfit = now() - t0;
    printf("synthetic %zu x %d k=%d: cv %.2fs (%d of %d folds x %d C, %d fits %d evals, C %.4g, cv balacc %.4f)  fit %.2fs %d its %d evals loss %.6g |g| %.2g %s\n",
           n, d, k, cr.seconds, cr.folds_used, cr.folds, cr.ngrid, cr.fits, cr.evaluations, C, cr.balacc[cr.best], tfit, fr.iterations,
           fr.evaluations, fr.loss, fr.grad_norm, fr.converged ? "converged" : "stopped");
    free(x); free(w); free(y); free(sw); free(wb);
    fb_norm_free(&nm);
}

int main(int argc, char **argv)
{
    probe_opts po = { FB_NORM_L2, 0, FB_CV_LOGLOSS, 1, 5, 1, -3, 3, 1, 0, 1 };
    const char *dump_to = NULL, *task_out = NULL;
    size_t syn_n = 0;
    int syn_d = 0, syn_k = 0, i = 1, raw = 0;
    char err[256];
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        const char *a = argv[i];
        if (i + 1 >= argc && strcmp(a, "--raw")) die("%s needs a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--dump")) dump_to = v;
        else if (!strcmp(a, "--write-task")) task_out = v;
        else if (!strcmp(a, "--raw")) { raw = 1; i--; }
        else if (!strcmp(a, "--norm")) { if (fb_norm_parse(v, &po.norm, err, sizeof err)) die("%s", err); }
        else if (!strcmp(a, "--C")) po.C = atof(v);
        else if (!strcmp(a, "--score")) po.score = !strcmp(v, "balacc") ? FB_CV_BALACC : FB_CV_LOGLOSS;
        else if (!strcmp(a, "--weights")) po.balanced = !strcmp(v, "balanced");
        else if (!strcmp(a, "--folds")) po.folds = atoi(v);
        else if (!strcmp(a, "--seed")) po.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--gtol")) po.gtol = atof(v);
        else if (!strcmp(a, "--one-se")) po.one_se = atoi(v);
        else if (!strcmp(a, "--grid")) { if (sscanf(v, "%lf:%lf:%lf", &po.glo, &po.ghi, &po.gstep) != 3) die("bad --grid %s", v); }
        else if (!strcmp(a, "--synthetic")) {
            if (i + 2 >= argc) die("%s needs N D K", a);
            syn_n = strtoull(v, NULL, 10); syn_d = atoi(argv[++i]); syn_k = atoi(argv[++i]);
        }
        else die("unknown option %s", a);
    }
    if (syn_n) { synthetic(syn_n, syn_d, syn_k, &po); return 0; }
    if (i >= argc) die("%s", "usage: logreg-probe [options] FEATURES.fbt TASK.tsv... (see the source)");
    fb_featset fs;
    if (raw) read_raw(&fs, argv[i]);
    else {
        FILE *f = fopen(argv[i], "rb");
        if (!f) die("cannot open %s", argv[i]);
        if (fb_featset_read(&fs, f, argv[i], err, sizeof err)) die("%s", err);
        fclose(f);
    }
    if (dump_to) { dump(&fs, dump_to); return 0; }
    if (task_out) {
        if (i + 1 >= argc) die("%s", "--write-task OUT needs FEATURES.fbt TASK.tsv");
        write_task(&fs, argv[i + 1], task_out);
        return 0;
    }
    for (i++; i < argc; i++) run_task(&fs, argv[i], &po);
    if (!raw) fb_featset_free(&fs);
    return 0;
}
