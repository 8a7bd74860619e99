/* fb-train: trains a classification head on a feature stream.
 * See man/fb-train.1.  Options, reading the training stream, and the path
 * it takes: cmd/common/train_run.c (--folds, the solved head, epochs) or
 * cmd/common/finetune_run.c (--fine-tune); the work is lib/head's. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/finetune_run.h"
#include "common/train_run.h"
#include "common/head_input.h"
#include "common/input.h"
#include "fb/core.h"
#include "fb/head.h"
#include "fb/stream.h"

static const char usage[] =
    "usage: fb-train [options] -o head.bin [STREAM...] < train.fbt\n"
    "  trains on the feature streams named (read as one; - or none: standard input)\n"
    "  -o, --output FILE        write the head here (atomically)\n"
    "  -v, --val FILE           validation stream: per-epoch val_loss/val_accuracy;\n"
    "                           the epoch with the lowest val_loss is kept\n"
    "      --head SPEC          linear | hidden widths, e.g. 64 or 512,256,128,64 (default linear)\n"
    "      --norm SPEC          input normalisation: none | steps of sqrt,l2,std (default l2)\n"
    "      --C VALUE            linear head: this L2 strength (scikit-learn's C) instead of\n"
    "                           choosing it by cross-validation\n"
    "      --cv-folds K         folds for choosing C (default 5)\n"
    "      --threshold RULE     two classes, linear head: none (default) | val | cv\n"
    "      --dropout RATE       after each hidden layer (default 0.5)\n"
    "      --optimizer NAME     lbfgs: the linear head solved (default for linear);\n"
    "                           adam (default for hidden layers) | sgd (with momentum)\n"
    "      --lr RATE            learning rate (default 0.001 adam, 0.01 sgd)\n"
    "      --momentum M         sgd momentum (default 0.9)\n"
    "      --batch N            minibatch size (default 32)\n"
    "      --epochs N           (default 15)\n"
    "      --weight-decay L2    L2 penalty on dense weights (default 0)\n"
    "      --patience N         stop after N epochs without a lower val_loss (default: never)\n"
    "      --class-weight W     balanced (default) | none | name=weight,... (unlisted weigh 1)\n"
    "  -s, --seed N             seed for initialisation, shuffling, dropout (default 1)\n"
    "  -j, --threads N          threads (default 2, or 1 on a single CPU)\n"
    "      --history FILE       per-epoch TSV for fb-plot\n"
    "      --folds K            stratified K-fold cross-validation on the training stream\n"
    "      --reject-rate R      share of in-class photos of unseen subjects the \"unknown\"\n"
    "                           test rejects (default 0.01; the cut fb-predict uses)\n"
    "      --reject-subject N   calibrate that cut holding out clusters of about N similar\n"
    "                           training photos of a class at a time, standing in for\n"
    "                           subjects never seen (default 5; 0: one photo at a time)\n"
    "      --no-reject          store no rejection model (fb-predict never says unknown)\n"
    "      --force              accept a validation stream with different preprocessing\n"
    "      --fine-tune          train ResNet50's stage 5 with the linear head, on stage-4\n"
    "                           maps (fb-feat --layer stage4): the solved head first, then\n"
    "                           epochs of adam (--lr for the head, default 0.001; --epochs 5,\n"
    "                           --batch 16, --patience 2 by default here)\n"
    "      --stage-lr RATE      --fine-tune: stage 5's learning rate (default 0.0001)\n"
    "      --max-memory MB      --fine-tune: stage-4 maps held in memory (default 2048);\n"
    "                           beyond it they are read from the file each epoch\n"
    "      --weights FILE       --fine-tune: the ResNet50 weights (default as fb-feat)\n"
    "  -q, --quiet              no per-epoch lines\n"
    "      --help, --version\n";

static void parse_args(int argc, char **argv, fb_train_run_opts *o)
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
        { "norm", required_argument, NULL, 'N' }, { "C", required_argument, NULL, 'C' },
        { "cv-folds", required_argument, NULL, 'K' }, { "threshold", required_argument, NULL, 'T' },
        { "reject-rate", required_argument, NULL, 'R' }, { "no-reject", no_argument, NULL, 'n' },
        { "reject-subject", required_argument, NULL, 'U' },
        { "fine-tune", no_argument, NULL, 'F' }, { "stage-lr", required_argument, NULL, 'S' },
        { "max-memory", required_argument, NULL, 'M' }, { "weights", required_argument, NULL, 'W' },
        { NULL, 0, NULL, 0 }
    };
    memset(o, 0, sizeof *o);
    fb_train_opts_default(&o->t);
    fb_solve_opts_default(&o->solve);
    o->arch = "linear";
    o->class_weight = "balanced";
    o->norm = FB_NORM_L2;
    int optimizer = -1;   /* -1: the head's default */
    o->dropout = 0.5;
    o->reject_rate = FB_REJECT_DEFAULT_RATE;
    o->reject_subject = FB_REJECT_SUBJECT_SIZE;
    fb_finetune_opts_default(&o->tune);   /* its own defaults: given options overwrite them */
    o->max_memory = (size_t)2048 << 20;
    /* two threads when there are two CPUs: same bits as one, and the pool
     * sleeps rather than spin when its partner is descheduled */
    o->threads = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
    int lr_set = 0, reject_set = 0, c;
    while ((c = getopt_long(argc, argv, "o:v:s:j:q", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'v': o->val = optarg; break;
        case 'H': o->arch = optarg; break;
        case 'D': o->dropout = fb_opt_double("--dropout", optarg, 0, 0.95); break;
        case 'O':
            if (strcmp(optarg, "lbfgs") == 0) optimizer = 2;
            else if (strcmp(optarg, "adam") == 0) optimizer = o->t.opt = FB_OPT_ADAM;
            else if (strcmp(optarg, "sgd") == 0) optimizer = o->t.opt = FB_OPT_SGD;
            else fb_die(FB_EXIT_USAGE, "--optimizer wants lbfgs, adam or sgd, not '%s'", optarg);
            break;
        case 'N': {
            char e[256];
            if (fb_norm_parse(optarg, &o->norm, e, sizeof e) != 0) fb_die(FB_EXIT_USAGE, "--norm: %s", e);
            break;
        }
        case 'C': o->solve.C = fb_opt_double("--C", optarg, 1e-12, 1e12); break;
        case 'K': o->solve.folds = (int)fb_opt_long("--cv-folds", optarg, 2, 100); break;
        case 'T':
            if (strcmp(optarg, "none") == 0) o->solve.threshold = FB_THRESHOLD_NONE;
            else if (strcmp(optarg, "val") == 0) o->solve.threshold = FB_THRESHOLD_VAL;
            else if (strcmp(optarg, "cv") == 0) o->solve.threshold = FB_THRESHOLD_CV;
            else fb_die(FB_EXIT_USAGE, "--threshold wants none, val or cv, not '%s'", optarg);
            break;
        case 'l': o->t.lr = o->tune.head_lr = fb_opt_double("--lr", optarg, 1e-9, 10); lr_set = 1; break;
        case 'm': o->t.momentum = fb_opt_double("--momentum", optarg, 0, 0.999); break;
        case 'b': o->t.batch = o->tune.batch = (int)fb_opt_long("--batch", optarg, 1, 65536); break;
        case 'e': o->t.epochs = o->tune.epochs = (int)fb_opt_long("--epochs", optarg, 1, 100000); break;
        case 'w': o->t.weight_decay = fb_opt_double("--weight-decay", optarg, 0, 10); break;
        case 'p': o->t.patience = o->tune.patience = (int)fb_opt_long("--patience", optarg, 0, 100000); break;
        case 'F': o->fine_tune = 1; break;
        case 'S': o->tune.stage_lr = fb_opt_double("--stage-lr", optarg, 1e-9, 10); break;
        case 'M': o->max_memory = (size_t)fb_opt_long("--max-memory", optarg, 1, 1L << 24) << 20; break;
        case 'W': o->weights = optarg; break;
        case 'c': o->class_weight = optarg; break;
        case 's': o->t.seed = fb_opt_seed("--seed", optarg); break;
        case 'j': o->threads = (int)fb_opt_long("--threads", optarg, 1, 8); break;
        case 'y': o->history = optarg; break;
        case 'k': o->folds = (int)fb_opt_long("--folds", optarg, 2, 1000); break;
        case 'R': o->reject_rate = fb_opt_double("--reject-rate", optarg, 0, 1); reject_set = 1; break;
        case 'n': o->no_reject = 1; break;
        case 'U':
            o->reject_subject = (int)fb_opt_long("--reject-subject", optarg, 0, 100000);
            reject_set = 1;
            break;
        case 'f': o->force = 1; break;
        case 'q': o->quiet = 1; break;
        default: fputs(usage, stderr); exit(FB_EXIT_USAGE);
        }
    }
    if (!o->out && !o->folds) fb_die(FB_EXIT_USAGE, "no output: give -o head.bin (or --folds K)");
    if (o->no_reject && reject_set)
        fb_die(FB_EXIT_USAGE, "--no-reject stores no unknown test; --reject-rate and --reject-subject "
               "calibrate it");
    if (o->t.opt == FB_OPT_SGD && !lr_set) o->t.lr = 0.01;
    if (o->fine_tune && (o->folds || strcmp(o->arch, "linear") != 0 || optimizer >= 0))
        fb_die(FB_EXIT_USAGE, "--fine-tune trains stage 5 with the linear head by adam; it goes without "
               "--folds, --head and --optimizer");
    if (o->fine_tune && !o->out) fb_die(FB_EXIT_USAGE, "--fine-tune: give -o head.bin");
    char err[512];
    if (fb_head_parse_arch(o->arch, &o->nhidden, o->hidden, err, sizeof err) != 0)
        fb_die(FB_EXIT_USAGE, "--head: %s", err);
    if (o->t.batch < 2 && o->nhidden > 0)
        fb_die(FB_EXIT_USAGE, "--batch must be at least 2 for a head with BatchNorm");
    if (optimizer == 2 && o->nhidden > 0)
        fb_die(FB_EXIT_USAGE, "--optimizer lbfgs solves the linear head only; hidden layers train with adam or sgd");
    o->solved = o->nhidden == 0 && (optimizer < 0 || optimizer == 2);
    if (!o->solved && (o->solve.C > 0 || o->solve.threshold != FB_THRESHOLD_NONE))
        fb_die(FB_EXIT_USAGE, "--C and --threshold belong to the solved linear head (--optimizer lbfgs)");
    if (o->solve.threshold == FB_THRESHOLD_VAL && !o->val)
        fb_die(FB_EXIT_USAGE, "--threshold val needs a validation stream (-v FILE)");
    if (strcmp(o->class_weight, "none") == 0) o->class_weight = NULL;
    o->solve.seed = o->t.seed;
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_catch_signals();
    fb_handle_help_version(argc, argv, usage);
    fb_tune_blas(argv);   /* may re-execute with OpenBLAS's AVX-512 kernels */
    fb_train_run_opts o;
    parse_args(argc, argv, &o);
    if (o.fine_tune) {
        fb_finetune_run(&o, argc - optind, argv + optind);
        return 0;
    }
    char err[1024];
    fb_featset train, val = { 0 };
    fb_input in;
    fb_input_open(&in, argc - optind, argv + optind,
                  "fb-train -o head.bin train.fbt, or fb-feat < images.fbt | fb-train -o head.bin");
    fb_head_input_read_features(&train, in.f, in.name);
    fb_input_close(&in);
    fb_train_run_check(&train, in.name, o.nhidden);
    if (o.folds && fb_folds_check(&train, o.folds, err, sizeof err) != 0)
        fb_die(FB_EXIT_USAGE, "--folds: %s", err);
    size_t *vrows = NULL, nv = o.val ? fb_head_input_read_val(&val, &train, o.val, o.force, &vrows) : 0;
    float *cw = NULL;
    if (o.class_weight && !(cw = fb_class_weights(o.class_weight, &train, err, sizeof err)))
        fb_die(FB_EXIT_USAGE, "--class-weight: %s", err);
    o.t.class_weight = cw;

    o.solve.class_weight = cw;
    if (o.out && !o.no_reject) fb_train_run_reject(&o.reject, &train, &val, vrows, nv, &o);

    /* The head carries its input normalisation: fitted on the training
     * stream, applied here to both streams, and by fb-predict/fb-eval later. */
    fb_head h;
    if (fb_head_init_normalised(&h, &train, o.val ? &val : NULL, o.nhidden, o.hidden, (float)o.dropout,
                                o.t.seed, o.norm, err, sizeof err) != 0)
        fb_die(FB_EXIT_FAILURE, "%s", err);

    fb_par_init(o.threads);
    if (o.folds) fb_train_run_folds(&train, &o);
    if (o.out && o.solved) fb_train_run_solve(&h, &train, &val, vrows, nv, &o);
    else if (o.out) fb_train_run_epochs(&h, &train, &val, vrows, nv, &o);
    if (h.reject.n && !o.quiet)   /* after the training lines, as it is saved */
        fprintf(stderr, "unknown test: %d-th nearest of %zu training photos%s, rate %g, cut %.4f "
                "(held out %s)\n", h.reject.k, h.reject.n, h.reject.n < train.n + nv ? " (a sample)" : "",
                (double)h.reject.rate, (double)h.reject.cut,
                o.reject_subject ? "by clusters of similar photos" : "one photo at a time");
    fb_par_shutdown();
    fb_head_free(&h);
    free(cw);
    free(vrows);
    fb_featset_free(&train);
    fb_featset_free(&val);
    return 0;
}
