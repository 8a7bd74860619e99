/* fb-feat: uint8 RGB 224x224x3 images -> Keras ImageNet ResNet50 features
 * (or logits, or probabilities, or a text top-K), one record per image.
 * Reads a batch, runs it on all threads, writes it, repeats: memory is
 * bounded by one batch whatever the number of images. */
#include "common/common.h"
#include "common/feat_print.h"
#include "fb/backbone.h"
#include "fb/stream.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: fb-feat [-w WEIGHTS] [--output features|logits|probs] [--top K]\n"
    "               [--precision fp32|bf16] [-j THREADS] [-b BATCH]\n"
    "               < images.fbt > features.fbt\n"
    "\n"
    "Runs the Keras ImageNet ResNet50 on a stream of uint8 224x224x3 RGB images\n"
    "(from fb-prep) and writes one float32 record per image.\n"
    "\n"
    "  -w, --weights FILE   weights file (default: $FB_WEIGHTS, then\n"
    "                       ../share/fb/resnet50.fbw beside the program, then\n"
    "                       " FB_DATADIR "/resnet50.fbw)\n"
    "  -o, --output KIND    features: 2048 pooled features (default)\n"
    "                       logits:   1000 ImageNet class scores before softmax\n"
    "                       probs:    1000 ImageNet class probabilities\n"
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

enum output_kind { OUT_FEATURES, OUT_LOGITS, OUT_PROBS };

typedef struct {
    const char *weights;
    enum output_kind output;
    int top;                      /* 0: binary output */
    int threads, batch;
    fb_precision precision;
} options;

static void parse_args(int argc, char **argv, options *o)
{
    static const struct option longs[] = {
        {"weights", required_argument, 0, 'w'}, {"output", required_argument, 0, 'o'},
        {"top", required_argument, 0, 't'},     {"threads", required_argument, 0, 'j'},
        {"batch", required_argument, 0, 'b'},   {"precision", required_argument, 0, 'p'},
        {0, 0, 0, 0}};
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (options){NULL, OUT_FEATURES, 0, ncpu > 0 ? (int)(ncpu > 64 ? 64 : ncpu) : 1, 8, FB_PRECISION_FP32};
    int c;
    while ((c = getopt_long(argc, argv, "w:o:t:j:b:p:", longs, NULL)) != -1) {
        switch (c) {
        case 'w': o->weights = optarg; break;
        case 'o':
            if (strcmp(optarg, "features") == 0) o->output = OUT_FEATURES;
            else if (strcmp(optarg, "logits") == 0) o->output = OUT_LOGITS;
            else if (strcmp(optarg, "probs") == 0) o->output = OUT_PROBS;
            else {
                fb_warn("--output is features, logits or probs, not '%s'", optarg);
                exit(FB_EXIT_USAGE);
            }
            break;
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
    if (optind < argc) {
        fb_warn("unexpected argument '%s' (images come on standard input)", argv[optind]);
        fputs(usage, stderr);
        exit(FB_EXIT_USAGE);
    }
}

/* Dies unless records are uint8 224x224x3. */
static void check_input(const fb_header *h)
{
    if (h->dtype == FB_U8 && h->rank == 3 && h->dims[0] == FB_RESNET_SIDE &&
        h->dims[1] == FB_RESNET_SIDE && h->dims[2] == 3)
        return;
    char shape[64] = "";
    for (int i = 0; i < h->rank; i++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%u", i ? "x" : "", h->dims[i]);
    fb_die(FB_EXIT_FAILURE, "stdin: expected uint8 224x224x3 images, got %s %s (run fb-prep first)",
           fb_dtype_name(h->dtype), shape);
}

/* The output header: input classes and provenance, plus where the numbers came from. */
static fb_writer *open_output(const fb_header *in, const options *o, const fb_weights *w)
{
    uint32_t dims[1] = {o->output == OUT_FEATURES ? FB_RESNET_FEATURES : FB_RESNET_CLASSES};
    fb_header h;
    fb_header_init(&h, FB_F32, 1, dims);
    for (int i = 0; i < in->nclasses; i++)
        if (fb_header_add_class(&h, in->classes[i]) < 0) fb_die(FB_EXIT_FAILURE, "out of memory");
    /* Everything upstream said stays; these keys describe this stage. */
    static const char *kind[] = {"features", "logits", "probs"};
    free(h.provenance);
    h.provenance = fb_xstrdup(in->provenance ? in->provenance : "");
    if (fb_prov_set(&h.provenance, "backbone", "keras-resnet50-imagenet") ||
        fb_prov_set(&h.provenance, "weights_crc32", w->checksum) ||
        fb_prov_set(&h.provenance, "feat_output", kind[o->output]))
        fb_die(FB_EXIT_FAILURE, "out of memory");
    /* Only bf16 says so: an fp32 stream stays byte for byte what earlier
     * versions wrote, so it still concatenates with them. */
    if (o->precision != FB_PRECISION_FP32 &&
        fb_prov_set(&h.provenance, "precision", fb_precision_name(o->precision)))
        fb_die(FB_EXIT_FAILURE, "out of memory");
    char err[512];
    fb_writer *wr = fb_writer_open(stdout, &h, 0, err, sizeof err);
    if (!wr) fb_die(FB_EXIT_FAILURE, "stdout: %s", err);
    fb_header_free(&h);
    return wr;
}

/* Classes a later input segment brought are added to the output in the same
 * order, so label indices stay the same. */
static void sync_classes(fb_writer *wr, const fb_header *in)
{
    while (fb_writer_header(wr)->nclasses < in->nclasses)
        if (fb_writer_add_class(wr, in->classes[fb_writer_header(wr)->nclasses]) < 0)
            fb_die(FB_EXIT_FAILURE, "stdout: %s", fb_writer_error(wr));
}

typedef struct {
    uint8_t *images;              /* batch x 224x224x3 */
    char **ids;
    int32_t *labels;
    uint32_t *groups;
    float *features, *logits;
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
        if (o->output != OUT_FEATURES || o->top) {
            out = b->logits + (size_t)i * FB_RESNET_CLASSES;
            if (o->output == OUT_PROBS || o->top) {
                fb_resnet_probs(out, probs);
                out = probs;
            }
        }
        if (o->top) fb_feat_print_top(b->ids[i], probs, o->top, w);
        else if (fb_writer_put_grouped(wr, b->ids[i], b->labels[i], b->groups[i], out) != 0)
            fb_die(FB_EXIT_FAILURE, "stdout: %s", fb_writer_error(wr));
    }
    if (o->top && (fflush(stdout) != 0 || ferror(stdout)))
        fb_die(FB_EXIT_FAILURE, "stdout: %s", strerror(errno));
}

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
    if (!o.top) fb_refuse_binary_tty(stdout);

    char err[1024];
    char *wpath = fb_weights_locate(o.weights, getenv("FB_WEIGHTS"), err, sizeof err);
    if (!wpath) fb_die(FB_EXIT_FAILURE, "%s", err);
    fb_weights w;
    fb_resnet net;
    if (fb_weights_load(&w, wpath, err, sizeof err) != 0 || fb_resnet_init(&net, &w, err, sizeof err) != 0)
        fb_die(FB_EXIT_FAILURE, "%s", err);

    fb_reader *r = fb_reader_open(stdin, "stdin", err, sizeof err);
    if (!r) fb_die(FB_EXIT_FAILURE, "%s", err);
    check_input(fb_reader_header(r));
    fb_writer *wr = o.top ? NULL : open_output(fb_reader_header(r), &o, &w);

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
    if (!b.images || !b.ids || !b.labels || !b.groups || !b.features || !b.logits)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    int need_logits = o.output != OUT_FEATURES || o.top;

    fb_progress progress;
    fb_progress_init(&progress, "images");
    unsigned long done = 0;
    while (read_batch(r, &b, o.batch) > 0) {
        fb_resnet_run(runner, b.images, b.n, b.features, need_logits ? b.logits : NULL);
        if (wr) sync_classes(wr, fb_reader_header(r));
        write_batch(&b, &o, wr, &w);
        done += (unsigned long)b.n;
        fb_progress_update(&progress, done, 0);
    }
    fb_progress_done(&progress, done);
    if (wr && fb_writer_close(wr) != 0) fb_die(FB_EXIT_FAILURE, "stdout: %s", fb_writer_error(wr));
    if (!wr && fflush(stdout) != 0) fb_die(FB_EXIT_FAILURE, "stdout: %s", strerror(errno));

    fb_reader_close(r);
    fb_feat_print_profile(runner);
    fb_resnet_runner_free(runner);
    for (int i = 0; i < o.batch; i++) free(b.ids[i]);
    free(b.ids); free(b.images); free(b.labels); free(b.groups); free(b.features); free(b.logits);
    fb_weights_free(&w);
    free(wpath);
    return FB_EXIT_OK;
}
