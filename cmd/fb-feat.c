/* fb-feat: uint8 RGB 224x224x3 images -> Keras ImageNet ResNet50 features
 * (or logits, or probabilities, or a text top-K), one record per image.
 * Reads a batch, runs it on all threads, writes it, repeats: memory is
 * bounded by one batch whatever the number of images. */
#include "common/common.h"
#include "common/feat_print.h"
#include "common/feat_stream.h"
#include "common/input.h"
#include "common/layer.h"
#include "fb/backbone.h"
#include "fb/stream.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: fb-feat [-w WEIGHTS] [--layer features|logits|probs|stage4] [--top K]\n"
    "               [--precision fp32|bf16] [-j THREADS] [-b BATCH]\n"
    "               [-o features.fbt] [STREAM...] < images.fbt > features.fbt\n"
    "\n"
    "Runs the Keras ImageNet ResNet50 on streams of uint8 224x224x3 RGB images\n"
    "(from fb-prep; the STREAMs named are read as one, - or none is standard\n"
    "input) and writes one float32 record per image.\n"
    "\n"
    "  -w, --weights FILE   weights file (default: $FB_WEIGHTS, then\n"
    "                       ../share/fb/resnet50.fbw beside the program, then\n"
    "                       " FB_DATADIR "/resnet50.fbw)\n"
    "  -o, --output FILE    write to FILE (atomically), not standard output\n"
    "  -l, --layer LAYER    features: 2048 pooled features (default)\n"
    "                       logits:   1000 ImageNet class scores before softmax\n"
    "                       probs:    1000 ImageNet class probabilities\n"
    "                       stage4:   stage 4's 14x14x1024 map (800 KB per image),\n"
    "                                 for fb-train --fine-tune\n"
    "                       (--output LAYER is the old spelling, kept for one release)\n"
    "  -t, --top K          print the K most likely ImageNet classes per image as\n"
    "                       text lines: ID<TAB>RANK<TAB>CLASS<TAB>PROBABILITY\n"
    "  -p, --precision P    fp32: float arithmetic (default)\n"
    "                       bf16: the convolutions' inputs rounded to bfloat16,\n"
    "                       float sums; 1.4-2x faster, needs AVX512_BF16\n"
    "  -j, --threads N      threads (default: the number of CPUs)\n"
    "  -b, --batch N        images read per batch (default 8)\n"
    "  -h, --help           this help;  --version  the version\n"
    "\n"
    "Example: fb-prep photo.jpg | fb-feat --top 5\n"
    "See fb-feat(1).\n";

typedef struct {
    const char *weights;
    const char *out;              /* -o FILE, or NULL: standard output */
    fb_layer layer;
    int top;                      /* 0: binary output */
    int threads, batch;
    fb_precision precision;
} options;

/* -o FILE is the output file, as in fb-prep, fb-train and fb-plot.
 * --output LAYER, the layer's old spelling, stays for one release; any other
 * --output word is the file, and -o LAYER is told where the layer went. */
enum { OPT_OUTPUT_LONG = 256 };
static void output_option(options *o, int c, const char *arg)
{
    int layer = fb_layer_parse(arg);
    if (c == 'o' && layer >= 0)
        fb_die(FB_EXIT_USAGE, "-o names the output file; the layer is --layer %s "
               "(for a file called %s, say -o ./%s)", arg, arg, arg);
    if (layer >= 0) {
        fb_warn("--output %s is the old spelling of --layer %s", arg, arg);
        o->layer = (fb_layer)layer;
    } else {
        o->out = arg;
    }
}

static void parse_args(int argc, char **argv, options *o)
{
    static const struct option longs[] = {
        {"weights", required_argument, 0, 'w'}, {"output", required_argument, 0, OPT_OUTPUT_LONG},
        {"layer", required_argument, 0, 'l'},
        {"top", required_argument, 0, 't'},     {"threads", required_argument, 0, 'j'},
        {"batch", required_argument, 0, 'b'},   {"precision", required_argument, 0, 'p'},
        {0, 0, 0, 0}};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (options){NULL, NULL, FB_LAYER_FEATURES, 0, ncpu > 0 ? (int)(ncpu > 64 ? 64 : ncpu) : 1, 8,
                   FB_PRECISION_FP32};
    int c;
    while ((c = getopt_long(argc, argv, "w:o:l:t:j:b:p:", longs, NULL)) != -1) {
        switch (c) {
        case 'w': o->weights = optarg; break;
        case 'o': case OPT_OUTPUT_LONG: output_option(o, c, optarg); break;
        case 'l': o->layer = fb_opt_layer("--layer", optarg); break;
        case 'p':
            if (strcmp(optarg, "fp32") == 0) o->precision = FB_PRECISION_FP32;
            else if (strcmp(optarg, "bf16") == 0) o->precision = FB_PRECISION_BF16;
            else {
                fb_warn("--precision is fp32 or bf16, not '%s'", optarg);
                exit(FB_EXIT_USAGE);
            }
            break;
        case 't': o->top = (int)fb_opt_long("--top", optarg, 1, FB_RESNET_CLASSES); break;
        case 'j': o->threads = (int)fb_opt_long("--threads", optarg, 1, 64); break;
        case 'b': o->batch = (int)fb_opt_long("--batch", optarg, 1, 1024); break;
        default: fputs(usage, stderr); exit(FB_EXIT_USAGE);
        }
    }
    if (o->layer == FB_LAYER_STAGE4 && o->top)
        fb_die(FB_EXIT_USAGE, "--top prints ImageNet classes; it cannot go with --layer stage4");
}

/* Dies unless records are uint8 224x224x3: a stream of something else is
 * named with the tool that reads it; images of another size go back to
 * fb-prep. */
static void check_input(const fb_header *h, const char *name)
{
    fb_input_expect(h, name, FB_KIND_IMAGES);
    if (h->dims[0] != FB_RESNET_SIDE || h->dims[1] != FB_RESNET_SIDE)
        fb_die(FB_EXIT_FAILURE, "%s: images of %ux%u, the network takes %dx%d: make them with "
               "fb-prep -s %d", name, h->dims[1], h->dims[0], FB_RESNET_SIDE, FB_RESNET_SIDE,
               FB_RESNET_SIDE);
}

typedef struct {
    uint8_t *images;              /* batch x 224x224x3 */
    char **ids;
    int32_t *labels;
    uint32_t *groups;
    float *features, *logits;
    float *stage4;                /* batch x 14x14x1024 with --layer stage4, else NULL */
    int n;
} batch;

/* Reads up to max records; returns how many (0 at the end). */
static int read_batch(fb_reader *r, batch *b, int max)
{
    fb_record rec;
    int rc = 0;
    b->n = 0;
    while (b->n < max && (rc = fb_reader_next(r, &rec)) == 1) {
        memcpy(b->images + (size_t)b->n * FB_RESNET_INPUT, rec.data, FB_RESNET_INPUT);
        free(b->ids[b->n]);
        b->ids[b->n] = fb_xstrdup(rec.id);
        b->labels[b->n] = rec.label;
        b->groups[b->n] = rec.group;
        b->n++;
    }
    if (rc < 0) fb_die(FB_EXIT_FAILURE, "%s", fb_reader_error(r));
    return b->n;
}

static void write_batch(const batch *b, const options *o, fb_writer *wr, const fb_weights *w)
{
    float probs[FB_RESNET_CLASSES];
    for (int i = 0; i < b->n; i++) {
        const float *out = b->features + (size_t)i * FB_RESNET_FEATURES;
        if (o->layer == FB_LAYER_STAGE4) {
            out = b->stage4 + (size_t)i * FB_STAGE4_SIZE;
        } else if (o->layer != FB_LAYER_FEATURES || o->top) {
            out = b->logits + (size_t)i * FB_RESNET_CLASSES;
            if (o->layer == FB_LAYER_PROBS || o->top) {
                fb_resnet_probs(out, probs);
                out = probs;
            }
        }
        /* Finite pixels and checked weights give finite numbers; a NaN here
         * would be a bug or damaged weights, and is never written. */
        size_t count = o->top ? FB_RESNET_CLASSES : fb_layer_values(o->layer);
        size_t bad = fb_first_nonfinite(out, count);
        if (bad < count)
            fb_die(FB_EXIT_FAILURE, "%s: output value %zu is %s: the backbone's output is not finite "
                   "(damaged weights?); nothing more is written", b->ids[i], bad,
                   isnan(out[bad]) ? "NaN" : "infinite");
        if (o->top) fb_feat_print_top(b->ids[i], probs, o->top, w);
        else if (fb_writer_put_grouped(wr, b->ids[i], b->labels[i], b->groups[i], out) != 0)
            fb_die(FB_EXIT_FAILURE, "%s: %s", o->out ? o->out : "stdout", fb_writer_error(wr));
    }
    if (o->top && (fflush(stdout) != 0 || ferror(stdout)))
        fb_die(FB_EXIT_FAILURE, "stdout: %s", strerror(errno));
}

/* -o FILE: written to a temporary beside it, renamed at the end; removed
 * when the program ends before (fb_atomic_abort does nothing after a commit). */
static fb_atomic out_file;
static void abort_output(void) { fb_atomic_abort(&out_file); }

/* A documented switch in the environment: set, not empty and not "0". */
static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

int main(int argc, char **argv)
{
    fb_tune_blas(argv);
    fb_set_progname(argv[0]);
    fb_catch_signals();
    fb_handle_help_version(argc, argv, usage);
    options o;
    parse_args(argc, argv, &o);
    if (o.top && o.out)
        fb_die(FB_EXIT_USAGE, "--top prints text on standard output; -o is for the stream");
    if (!o.top && !o.out) fb_refuse_binary_tty(stdout);
    fb_input in;
    fb_input_open(&in, argc - optind, argv + optind,
                  "fb-feat images.fbt > features.fbt, or fb-prep ... | fb-feat > features.fbt");

    char err[1024];
    char *wpath = fb_weights_locate(o.weights, getenv("FB_WEIGHTS"), err, sizeof err);
    if (!wpath) fb_die(FB_EXIT_FAILURE, "%s", err);
    fb_weights w;
    fb_resnet net;
    if (fb_weights_load(&w, wpath, err, sizeof err) != 0 || fb_resnet_init(&net, &w, err, sizeof err) != 0)
        fb_die(FB_EXIT_FAILURE, "%s", err);

    fb_reader *r = fb_reader_open(in.f, in.name, err, sizeof err);
    if (!r) fb_die(FB_EXIT_FAILURE, "%s", err);
    check_input(fb_reader_header(r), in.name);
    const char *out_name = o.out ? o.out : "stdout";
    FILE *out = stdout;
    if (o.out) {
        if (fb_atomic_open(&out_file, o.out) != 0) fb_die(FB_EXIT_FAILURE, "%s: %s", o.out, strerror(errno));
        atexit(abort_output);   /* any fb_die from here on leaves no half-written file */
        out = out_file.f;
    }
    fb_writer *wr = o.top ? NULL : fb_feat_stream_open(out, out_name, fb_reader_header(r), o.layer,
                                                      o.precision, &w);

    fb_resnet_options ro;
    fb_resnet_options_init(&ro, o.threads);
    ro.precision = o.precision;
    ro.no_avx512 = env_flag("FB_NO_AVX512");
    ro.no_winograd = env_flag("FB_NO_WINOGRAD");
    ro.profile = env_flag("FB_PROFILE");
    fb_resnet_runner *runner = fb_resnet_runner_new(&net, &ro, err, sizeof err);
    if (!runner && o.precision == FB_PRECISION_BF16) fb_die(FB_EXIT_FAILURE, "--precision bf16: %s", err);
    if (!runner) fb_die(FB_EXIT_FAILURE, "%s", err);
    batch b = {0};
    b.images = malloc((size_t)o.batch * FB_RESNET_INPUT);
    b.ids = calloc((size_t)o.batch, sizeof *b.ids);
    b.labels = malloc((size_t)o.batch * sizeof *b.labels);
    b.groups = malloc((size_t)o.batch * sizeof *b.groups);
    b.features = malloc((size_t)o.batch * FB_RESNET_FEATURES * sizeof(float));
    b.logits = malloc((size_t)o.batch * FB_RESNET_CLASSES * sizeof(float));
    if (o.layer == FB_LAYER_STAGE4 && !(b.stage4 = malloc((size_t)o.batch * FB_STAGE4_SIZE * sizeof(float))))
        fb_die(FB_EXIT_FAILURE, "out of memory for a batch of %d stage-4 maps (-b)", o.batch);
    if (!b.images || !b.ids || !b.labels || !b.groups || !b.features || !b.logits)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    int need_logits = o.layer != FB_LAYER_FEATURES || o.top;

    fb_progress progress;
    fb_progress_init(&progress, "images");
    unsigned long done = 0;
    while (read_batch(r, &b, o.batch) > 0) {
        if (o.layer == FB_LAYER_STAGE4) fb_resnet_run_stage4(runner, b.images, b.n, b.stage4);
        else fb_resnet_run(runner, b.images, b.n, b.features, need_logits ? b.logits : NULL);
        if (wr) fb_feat_stream_sync_classes(wr, fb_reader_header(r), out_name);
        write_batch(&b, &o, wr, &w);
        done += (unsigned long)b.n;
        fb_progress_update(&progress, done, 0);
    }
    fb_progress_done(&progress, done);
    if (wr && fb_writer_close(wr) != 0) fb_die(FB_EXIT_FAILURE, "%s: %s", out_name, fb_writer_error(wr));
    if (!wr && fflush(stdout) != 0) fb_die(FB_EXIT_FAILURE, "stdout: %s", strerror(errno));
    if (o.out && fb_atomic_commit(&out_file) != 0) fb_die(FB_EXIT_FAILURE, "%s: %s", o.out, strerror(errno));

    fb_reader_close(r);
    fb_input_close(&in);
    fb_feat_print_profile(runner);
    fb_resnet_runner_free(runner);
    for (int i = 0; i < o.batch; i++) free(b.ids[i]);
    free(b.ids); free(b.images); free(b.labels); free(b.groups); free(b.features); free(b.logits);
    free(b.stage4);
    fb_weights_free(&w);
    free(wpath);
    return FB_EXIT_OK;
}
