/* fb-train: trains a classification head on a feature stream.
 * See man/fb-train.1. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "fb/head.h"
#include "fb/core.h"
#include "fb/resnet.h"
#include "fb/stream.h"
#include "fb/util.h"

static const char usage[] =
    "usage: fb-train [options] -o head.bin < train.fbt\n"
    "  -o, --output FILE        write the head here (atomically)\n"
    "  -v, --val FILE           validation stream: per-epoch val_loss/val_accuracy;\n"
    "                           the epoch with the lowest val_loss is kept\n"
    "      --head SPEC          linear | hidden widths, e.g. 64 or 512,256,128,64 (default linear)\n"
    "      --dropout RATE       after each hidden layer (default 0.5)\n"
    "      --optimizer NAME     adam (default) | sgd (with momentum)\n"
    "      --lr RATE            learning rate (default 0.001 adam, 0.01 sgd)\n"
    "      --momentum M         sgd momentum (default 0.9)\n"
    "      --batch N            minibatch size (default 32)\n"
    "      --epochs N           (default 15)\n"
    "      --weight-decay L2    L2 penalty on dense weights (default 0)\n"
    "      --patience N         stop after N epochs without a lower val_loss (default: never)\n"
    "      --class-weight W     balanced | name=weight,... (unlisted classes weigh 1)\n"
    "  -s, --seed N             seed for initialisation, shuffling, dropout (default 1)\n"
    "  -j, --threads N          threads (default 2, or 1 on a single CPU)\n"
    "      --history FILE       per-epoch TSV for fb-plot\n"
    "      --folds K            stratified K-fold cross-validation on the training stream\n"
    "      --force              accept a validation stream with different preprocessing\n"
    "  -q, --quiet              no per-epoch lines\n"
    "      --help, --version\n";

typedef struct {
    const char *out, *val, *arch, *history, *class_weight;
    double dropout;
    int folds, threads, quiet, force;
    fb_train_opts t;
} options;

static double parse_num(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= lo && v <= hi))
        fb_die(FB_EXIT_USAGE, "%s wants a number in [%g, %g], not '%s'", opt, lo, hi, s);
    return v;
}

static void parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' }, { "val", required_argument, NULL, 'v' },
        { "head", required_argument, NULL, 'H' }, { "dropout", required_argument, NULL, 'D' },
        { "optimizer", required_argument, NULL, 'O' }, { "lr", required_argument, NULL, 'l' },
        { "momentum", required_argument, NULL, 'm' }, { "batch", required_argument, NULL, 'b' },
        { "epochs", required_argument, NULL, 'e' }, { "weight-decay", required_argument, NULL, 'w' },
        { "patience", required_argument, NULL, 'p' }, { "class-weight", required_argument, NULL, 'c' },
        { "seed", required_argument, NULL, 's' }, { "threads", required_argument, NULL, 'j' },
        { "history", required_argument, NULL, 'y' }, { "folds", required_argument, NULL, 'k' },
        { "force", no_argument, NULL, 'f' }, { "quiet", no_argument, NULL, 'q' },
        { NULL, 0, NULL, 0 }
    };
    memset(o, 0, sizeof *o);
    fb_train_opts_default(&o->t);
    o->arch = "linear";
    o->dropout = 0.5;
    /* Two threads when there are two CPUs.  (It was one: the old pool spun
     * without bound for a descheduled partner, 71 s against 7.8 s for 3
     * epochs of bench-train at load 6.  The pool now sleeps after ~50 us and
     * lets whichever thread runs take the work: 15 epochs at load ~3.7 with
     * another job holding one core, 16.0 s CPU / 18.5 s wall on 2 threads,
     * 15.7 s CPU / 25.2 s wall on 1.)  Same bits either way. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = ncpu >= 2 ? 2 : 1;
    int lr_set = 0, c;
    while ((c = getopt_long(argc, argv, "o:v:s:j:q", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'v': o->val = optarg; break;
        case 'H': o->arch = optarg; break;
        case 'D': o->dropout = parse_num("--dropout", optarg, 0, 0.95); break;
        case 'O':
            if (strcmp(optarg, "adam") == 0) o->t.opt = FB_OPT_ADAM;
            else if (strcmp(optarg, "sgd") == 0) o->t.opt = FB_OPT_SGD;
            else fb_die(FB_EXIT_USAGE, "--optimizer wants adam or sgd, not '%s'", optarg);
            break;
        case 'l': o->t.lr = parse_num("--lr", optarg, 1e-9, 10); lr_set = 1; break;
        case 'm': o->t.momentum = parse_num("--momentum", optarg, 0, 0.999); break;
        case 'b': o->t.batch = (int)parse_num("--batch", optarg, 1, 65536); break;
        case 'e': o->t.epochs = (int)parse_num("--epochs", optarg, 1, 100000); break;
        case 'w': o->t.weight_decay = parse_num("--weight-decay", optarg, 0, 10); break;
        case 'p': o->t.patience = (int)parse_num("--patience", optarg, 0, 100000); break;
        case 'c': o->class_weight = optarg; break;
        case 's': o->t.seed = (uint64_t)parse_num("--seed", optarg, 0, 9007199254740992.0); break;
        case 'j': o->threads = (int)parse_num("--threads", optarg, 1, 8); break;
        case 'y': o->history = optarg; break;
        case 'k': o->folds = (int)parse_num("--folds", optarg, 2, 100); break;
        case 'f': o->force = 1; break;
        case 'q': o->quiet = 1; break;
        default: fputs(usage, stderr); exit(FB_EXIT_USAGE);
        }
    }
    if (optind < argc)
        fb_die(FB_EXIT_USAGE, "unexpected argument '%s': the training stream comes on stdin", argv[optind]);
    if (!o->out && !o->folds) fb_die(FB_EXIT_USAGE, "no output: give -o head.bin (or --folds K)");
    if (o->t.opt == FB_OPT_SGD && !lr_set) o->t.lr = 0.01;
    if (o->t.batch < 2 && strcmp(o->arch, "linear") != 0)
        fb_die(FB_EXIT_USAGE, "--batch must be at least 2 for a head with BatchNorm");
    o->t.verbose = !o->quiet;
}

/* Class weights per head class from "balanced" or "name=w,name=w". */
static float *class_weights(const char *spec, const fb_featset *ds)
{
    float *w = fb_xmalloc((size_t)ds->nclasses * sizeof(float));
    for (int c = 0; c < ds->nclasses; c++) w[c] = 1;
    if (strcmp(spec, "balanced") == 0) {
        /* n / (k * n_c), as scikit-learn: every class carries equal total weight */
        size_t *count = fb_xcalloc((size_t)ds->nclasses, sizeof(size_t));
        int present = 0;
        for (size_t i = 0; i < ds->n; i++) count[ds->y[i]]++;
        for (int c = 0; c < ds->nclasses; c++) present += count[c] > 0;
        for (int c = 0; c < ds->nclasses; c++)
            w[c] = count[c] ? (float)((double)ds->n / ((double)present * count[c])) : 0;
        free(count);
        return w;
    }
    char *copy = fb_xstrdup(spec), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strrchr(item, '=');
        if (!eq) fb_die(FB_EXIT_USAGE, "--class-weight wants 'balanced' or name=weight,..., not '%s'", item);
        *eq = 0;
        int c = -1;
        for (int i = 0; i < ds->nclasses; i++) if (strcmp(ds->classes[i], item) == 0) c = i;
        if (c < 0) fb_die(FB_EXIT_USAGE, "--class-weight: no class '%s' in the training stream", item);
        w[c] = (float)parse_num("--class-weight", eq + 1, 0, 1e6);
    }
    free(copy);
    return w;
}

static void read_stream(fb_featset *ds, const char *path)
{
    FILE *f = fb_open_input(path);
    const char *name = path && strcmp(path, "-") != 0 ? path : "stdin";
    if (!f) fb_die(FB_EXIT_FAILURE, "%s: %s", name, strerror(errno));
    char err[512];
    if (fb_featset_read(ds, f, name, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    if (f != stdin) fclose(f);
}

/* Rows of the validation stream mapped onto the head's classes by name. */
static size_t map_validation(fb_featset *val, const fb_featset *train, const char *path, size_t *rows)
{
    size_t n = 0, unknown = 0, unlabelled = 0;
    for (size_t i = 0; i < val->n; i++) {
        if (val->y[i] < 0) { unlabelled++; continue; }
        const char *name = val->classes[val->y[i]];
        int c = -1;
        for (int j = 0; j < train->nclasses; j++) if (strcmp(train->classes[j], name) == 0) c = j;
        if (c < 0) { unknown++; continue; }
        val->y[i] = c;
        rows[n++] = i;
    }
    if (unknown) fb_warn("%s: %zu records of classes the training stream does not have; not used", path, unknown);
    if (unlabelled) fb_warn("%s: %zu unlabelled records; not used", path, unlabelled);
    return n;
}

static void check_training_stream(const fb_featset *ds, int nhidden, int batch)
{
    if (ds->n == 0) fb_die(FB_EXIT_FAILURE, "stdin: no records to train on");
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] < 0)
            fb_die(FB_EXIT_FAILURE, "stdin: record '%s' has no label; training needs a class for every record",
                   ds->ids[i]);
    int present = 0;
    for (int c = 0; c < ds->nclasses; c++) {
        int any = 0;
        for (size_t i = 0; i < ds->n && !any; i++) any = ds->y[i] == c;
        present += any;
    }
    if (ds->nclasses < 2 || present < 2)
        fb_die(FB_EXIT_FAILURE, "stdin: records of %d class%s; a classifier needs at least two",
               present, present == 1 ? "" : "es");
    if (nhidden > 0 && ds->n < 2)
        fb_die(FB_EXIT_FAILURE, "stdin: one record; BatchNorm needs a batch of at least two");
    (void)batch;
}

static void new_head(fb_head *h, const fb_featset *ds, const options *o, int nhidden, const int *hidden)
{
    if (fb_head_init(h, ds->dim, ds->nclasses, (const char *const *)ds->classes, nhidden, hidden,
                     (float)o->dropout, ds->provenance) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    fb_rng rng;
    fb_rng_seed(&rng, o->t.seed ^ 0x5eedf00dULL);
    fb_head_init_weights(h, &rng);
}

static void cross_validate(const fb_featset *ds, const options *o, int nhidden, const int *hidden)
{
    int k = o->folds;
    int *fold = fb_xmalloc(ds->n * sizeof(int));
    size_t *train_rows = fb_xmalloc(ds->n * sizeof(size_t)), *test_rows = fb_xmalloc(ds->n * sizeof(size_t));
    fb_stratified_folds(ds->y, ds->n, ds->nclasses, k, o->t.seed, fold);
    double acc[100], sum = 0;
    for (int f = 0; f < k; f++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < ds->n; i++) {
            if (fold[i] == f) test_rows[nte++] = i;
            else train_rows[ntr++] = i;
        }
        fb_head h;
        new_head(&h, ds, o, nhidden, hidden);
        fb_train_opts t = o->t;
        char label[32];
        snprintf(label, sizeof label, "fold %d/%d", f + 1, k);
        t.fold_label = label;
        t.history = NULL;
        t.verbose = 0;   /* one line per fold; the epochs of k runs would drown it */
        fb_train_result res;
        /* no validation inside a fold: the held-out fold is the test */
        if (fb_train(&h, ds, train_rows, ntr, NULL, NULL, 0, &t, &res) != 0)
            fb_die(FB_EXIT_FAILURE, "out of memory");
        double loss;
        fb_head_evaluate(&h, ds, test_rows, nte, &loss, &acc[f]);
        sum += acc[f];
        fprintf(stderr, "fold %d/%d: train %zu, test %zu, loss %.4f, accuracy %.4f (%.1fs)\n",
                f + 1, k, ntr, nte, loss, acc[f], res.seconds);
        fb_head_free(&h);
    }
    double mean = sum / k, ss = 0;
    for (int f = 0; f < k; f++) ss += (acc[f] - mean) * (acc[f] - mean);
    double sd = k > 1 ? sqrt(ss / (k - 1)) : 0;
    fprintf(stderr, "%d-fold cross-validation: accuracy %.4f ± %.4f (mean ± sd)\n", k, mean, sd);
    printf("folds\t%d\naccuracy_mean\t%.6f\naccuracy_sd\t%.6f\n", k, mean, sd);
    free(fold);
    free(train_rows);
    free(test_rows);
}

static void training_notes(fb_head *h, const options *o, const fb_train_result *res, size_t n, size_t nv)
{
    char arch[256], buf[300];
    fb_head_arch_string(h, arch, sizeof arch);
    char *notes = NULL;
    int bad = 0;
#define NOTE(key, fmt, val) do { snprintf(buf, sizeof buf, fmt, val); bad |= fb_prov_set(&notes, key, buf); } while (0)
    NOTE("head", "%s", arch);
    NOTE("dropout", "%g", o->dropout);
    NOTE("optimizer", "%s", o->t.opt == FB_OPT_ADAM ? "adam" : "sgd");
    NOTE("lr", "%g", o->t.lr);
    NOTE("batch", "%d", o->t.batch);
    NOTE("epochs", "%d", o->t.epochs);
    NOTE("epochs_run", "%d", res->epochs_run);
    NOTE("weight_decay", "%g", o->t.weight_decay);
    NOTE("class_weight", "%s", o->class_weight ? o->class_weight : "none");
    NOTE("seed", "%llu", (unsigned long long)o->t.seed);
    NOTE("train_records", "%zu", n);
    NOTE("train_loss", "%.6f", res->train_loss);
    NOTE("train_accuracy", "%.6f", res->train_acc);
    if (nv) {
        NOTE("val_records", "%zu", nv);
        NOTE("best_epoch", "%d", res->best_epoch);
        NOTE("val_loss", "%.6f", res->best_val_loss);
    }
#undef NOTE
    if (bad) fb_die(FB_EXIT_FAILURE, "out of memory");
    free(h->training);
    h->training = notes;
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_handle_help_version(argc, argv, usage);
    fb_tune_blas(argv);   /* may re-execute with OpenBLAS's AVX-512 kernels */
    options o;
    parse_args(argc, argv, &o);
    int nhidden, hidden[FB_HEAD_MAX_HIDDEN];
    char err[1024];
    if (fb_head_parse_arch(o.arch, &nhidden, hidden, err, sizeof err) != 0)
        fb_die(FB_EXIT_USAGE, "--head: %s", err);

    fb_featset train, val = { 0 };
    read_stream(&train, "-");
    check_training_stream(&train, nhidden, o.t.batch);
    size_t *rows = fb_xmalloc(train.n * sizeof(size_t)), *vrows = NULL, nv = 0;
    for (size_t i = 0; i < train.n; i++) rows[i] = i;
    if (o.val) {
        read_stream(&val, o.val);
        if (val.dim != train.dim)
            fb_die(FB_EXIT_FAILURE, "%s: %d features per record, the training stream has %d",
                   o.val, val.dim, train.dim);
        if (fb_prov_compare(train.provenance, val.provenance, err, sizeof err) && !o.force)
            fb_die(FB_EXIT_FAILURE, "%s: made differently from the training stream (%s); "
                   "--force to use it anyway", o.val, err);
        vrows = fb_xmalloc((val.n ? val.n : 1) * sizeof(size_t));
        nv = map_validation(&val, &train, o.val, vrows);
        if (nv == 0) fb_warn("%s: no usable validation records", o.val);
    }
    float *cw = o.class_weight ? class_weights(o.class_weight, &train) : NULL;
    o.t.class_weight = cw;

    fb_par_init(o.threads);
    if (o.folds) cross_validate(&train, &o, nhidden, hidden);
    if (o.out) {
        fb_atomic hist = { 0 };
        if (o.history) {
            if (fb_atomic_open(&hist, o.history) != 0)
                fb_die(FB_EXIT_FAILURE, "%s: %s", o.history, strerror(errno));
            o.t.history = hist.f;
        }
        fb_head h;
        new_head(&h, &train, &o, nhidden, hidden);
        fb_train_result res;
        if (fb_train(&h, &train, rows, train.n, nv ? &val : NULL, vrows, nv, &o.t, &res) != 0)
            fb_die(FB_EXIT_FAILURE, "out of memory");
        if (o.history && fb_atomic_commit(&hist) != 0)
            fb_die(FB_EXIT_FAILURE, "%s: %s", o.history, strerror(errno));
        training_notes(&h, &o, &res, train.n, nv);
        if (fb_head_save(&h, o.out, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
        if (!o.quiet) {
            char arch[256];
            fb_head_arch_string(&h, arch, sizeof arch);
            fprintf(stderr, "%s: wrote %s: head %s, %d classes, %zu records, %d epochs",
                    fb_progname(), o.out, arch, h.nclasses, train.n, res.epochs_run);
            if (nv) fprintf(stderr, ", kept epoch %d (val_loss %.4f)", res.best_epoch, res.best_val_loss);
            fprintf(stderr, ", %.1fs\n", res.seconds);
        }
        fb_head_free(&h);
    }
    fb_par_shutdown();
    free(cw);
    free(rows);
    free(vrows);
    fb_featset_free(&train);
    fb_featset_free(&val);
    return 0;
}
