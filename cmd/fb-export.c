/* fb-export: features and models out of fb, and features back in.
 *   --npy FILE.npy     a stream's tensors as NumPy .npy + FILE.tsv of the records
 *   --tsv FILE.tsv     a stream as one TSV, one record per line
 *   --from-npy FILE    .npy (+ record TSV) -> a stream
 *   -o MODEL.onnx      ResNet50 [+ head.bin] as one ONNX graph from pixels */
#include "common/common.h"
#include "common/input.h"
#include "common/layer.h"
#include "fb/export.h"
#include "fb/head.h"
#include "fb/backbone.h"
#include "fb/stream.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
    "usage: fb-export --npy FILE.npy [STREAM...]\n"
    "       fb-export --tsv FILE.tsv [STREAM...]\n"
    "       fb-export --from-npy FILE.npy [--labels FILE.tsv] [-p KEY=VALUE]...\n"
    "                 [-z LEVEL] [-o STREAM.fbt]\n"
    "       fb-export -o MODEL.onnx [--layer features|logits|probs] [-w WEIGHTS]\n"
    "                 [HEAD.bin]\n"
    "\n"
    "Takes features and models out of fb, and features made elsewhere into it.\n"
    "\n"
    "  --npy FILE.npy     write the stream's tensors (the STREAMs read as one; - or\n"
    "                     none: standard input) as\n"
    "                     a NumPy array [records, ...dims] and the records' index,\n"
    "                     id, label and class to FILE.tsv beside it\n"
    "  --tsv FILE.tsv     write the stream as one TSV (FILE - is standard output):\n"
    "                     index, id, label, class, then every value\n"
    "  --from-npy FILE    read FILE.npy (float32, float64 or uint8) and the record\n"
    "                     TSV beside it (when there is one), write a stream\n"
    "  --labels FILE.tsv  the record TSV to read with --from-npy (columns id, and\n"
    "                     optionally index, label, class)\n"
    "  -p, --provenance KEY=VALUE\n"
    "                     with --from-npy: a provenance line for the stream\n"
    "                     (repeatable), e.g. backbone=... so fb-eval can compare\n"
    "  -z, --compress LEVEL  with --from-npy: zlib level 1-9 for the records\n"
    "  -o, --output FILE  where to write: the ONNX model, or the stream of\n"
    "                     --from-npy (default standard output)\n"
    "  --layer KIND       ONNX model without a head: features (2048, default),\n"
    "                     logits or probs (the 1000 ImageNet classes)\n"
    "  -w, --weights FILE the ResNet50 weights (default as fb-feat finds them)\n"
    "  -h, --help         this help;  --version  the version\n"
    "\n"
    "Examples:\n"
    "  fb-export --npy features.npy < features.fbt\n"
    "  fb-export --from-npy features.npy > features.fbt\n"
    "  fb-export -o model.onnx head.bin\n"
    "See fb-export(1).\n";

enum mode { MODE_NONE, MODE_NPY, MODE_TSV, MODE_FROM_NPY, MODE_ONNX };

typedef struct {
    enum mode mode;
    const char *file;             /* --npy, --tsv, --from-npy */
    const char *labels, *output, *weights;
    char *provenance;
    int compress;
    fb_onnx_layer layer;
    const char *input;            /* the first STREAM, or HEAD.bin */
    char **inputs;                /* the STREAMs: inputs[0..ninputs) */
    int ninputs;
} options;

static _Noreturn void usage_error(const char *fmt, const char *arg)
{
    fb_warn(fmt, arg);
    fputs(usage, stderr);
    exit(FB_EXIT_USAGE);
}

static void set_mode(options *o, enum mode m, const char *file)
{
    if (o->mode != MODE_NONE && o->mode != m)
        usage_error("%s: choose one of --npy, --tsv, --from-npy and -o MODEL.onnx", file);
    o->mode = m;
    o->file = file;
}

static void parse_args(int argc, char **argv, options *o)
{
    enum { OPT_NPY = 256, OPT_TSV, OPT_FROM_NPY, OPT_LABELS, OPT_LAYER };
    static const struct option longs[] = {
        {"npy", required_argument, 0, OPT_NPY},         {"tsv", required_argument, 0, OPT_TSV},
        {"from-npy", required_argument, 0, OPT_FROM_NPY}, {"labels", required_argument, 0, OPT_LABELS},
        {"layer", required_argument, 0, OPT_LAYER},     {"output", required_argument, 0, 'o'},
        {"weights", required_argument, 0, 'w'},         {"provenance", required_argument, 0, 'p'},
        {"compress", required_argument, 0, 'z'},        {0, 0, 0, 0}};
    *o = (options){.layer = FB_ONNX_FEATURES, .provenance = fb_xstrdup("")};
    int c, layer_given = 0;
    while ((c = getopt_long(argc, argv, "o:w:p:z:", longs, NULL)) != -1) {
        switch (c) {
        case OPT_NPY: set_mode(o, MODE_NPY, optarg); break;
        case OPT_TSV: set_mode(o, MODE_TSV, optarg); break;
        case OPT_FROM_NPY: set_mode(o, MODE_FROM_NPY, optarg); break;
        case OPT_LABELS: o->labels = optarg; break;
        case OPT_LAYER: {
            layer_given = 1;
            if (fb_layer_parse(optarg) == FB_LAYER_STAGE4)
                usage_error("--layer %s: an ONNX model ends at features, logits or probs", optarg);
            if (fb_layer_parse(optarg) < 0) {
                char msg[256];
                snprintf(msg, sizeof msg, "--layer is features, logits or probs, not '%s'", optarg);
                usage_error("%s", msg);
            }
            static const fb_onnx_layer onnx[FB_LAYER_COUNT] = {
                [FB_LAYER_FEATURES] = FB_ONNX_FEATURES, [FB_LAYER_LOGITS] = FB_ONNX_LOGITS,
                [FB_LAYER_PROBS] = FB_ONNX_PROBS };
            o->layer = onnx[fb_layer_parse(optarg)];
            break;
        }
        case 'o': o->output = optarg; break;
        case 'w': o->weights = optarg; break;
        case 'p': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || strchr(optarg, '\n'))
                usage_error("-p wants KEY=VALUE on one line, not '%s'", optarg);
            *eq = 0;
            if (fb_prov_set(&o->provenance, optarg, eq + 1)) fb_die(FB_EXIT_FAILURE, "out of memory");
            *eq = '=';
            break;
        }
        case 'z': o->compress = (int)fb_opt_long("--compress", optarg, 0, 9); break;
        default: fputs(usage, stderr); exit(FB_EXIT_USAGE);
        }
    }
    if (o->mode == MODE_NONE && o->output) o->mode = MODE_ONNX;
    if (o->mode == MODE_NONE) usage_error("%s", "say what to write: --npy, --tsv, --from-npy or -o MODEL.onnx");
    o->inputs = argv + optind;
    o->ninputs = argc - optind;
    if (optind < argc) o->input = argv[optind++];
    if (optind < argc && (o->mode == MODE_ONNX || o->mode == MODE_FROM_NPY))
        usage_error("unexpected argument '%s'", argv[optind]);
    if (o->mode == MODE_FROM_NPY && o->input)
        usage_error("unexpected argument '%s' (--from-npy reads only its FILE.npy)", o->input);
    if (o->labels && o->mode != MODE_FROM_NPY) usage_error("%s", "--labels goes with --from-npy");
    if (layer_given && (o->mode != MODE_ONNX || o->input))
        usage_error("%s", "--layer is for an ONNX model without a head");
    if ((o->mode == MODE_NPY || o->mode == MODE_TSV) && o->output)
        usage_error("%s", "-o is not used with --npy or --tsv (they name their file)");
    if (o->mode != MODE_FROM_NPY && (o->compress || *o->provenance))
        usage_error("%s", "-p and -z go with --from-npy");
}

/* The record TSV written beside FILE.npy: FILE.tsv. */
static char *tsv_beside(const char *npy)
{
    size_t n = strlen(npy);
    if (n > 4 && strcmp(npy + n - 4, ".npy") == 0) n -= 4;
    char *tsv = fb_xmalloc(n + 5);
    memcpy(tsv, npy, n);
    memcpy(tsv + n, ".tsv", 5);
    return tsv;
}

static fb_reader *open_stream(const options *o, fb_input *in)
{
    fb_input_open(in, o->ninputs, o->inputs,
                  "fb-export --npy features.npy features.fbt, or ... < features.fbt");
    char err[512];
    fb_reader *r = fb_reader_open(in->f, in->name, err, sizeof err);
    if (!r) fb_die(FB_EXIT_FAILURE, "%s", err);
    return r;
}

static int export_npy(const options *o)
{
    fb_input in;
    fb_reader *r = open_stream(o, &in);
    char *tsv = tsv_beside(o->file), err[512];
    uint64_t n;
    if (fb_export_npy(r, o->file, tsv, &n, err, sizeof err)) fb_die(FB_EXIT_FAILURE, "%s", err);
    fb_reader_close(r);
    fb_input_close(&in);
    free(tsv);
    return FB_EXIT_OK;
}

static int export_tsv(const options *o)
{
    fb_input in;
    fb_reader *r = open_stream(o, &in);
    char err[512];
    uint64_t n;
    if (strcmp(o->file, "-") == 0) {
        if (fb_export_tsv(r, stdout, &n, err, sizeof err)) fb_die(FB_EXIT_FAILURE, "stdout: %s", err);
    } else {
        fb_atomic a;
        if (fb_atomic_open(&a, o->file)) fb_die(FB_EXIT_FAILURE, "%s: %s", o->file, strerror(errno));
        if (fb_export_tsv(r, a.f, &n, err, sizeof err)) {
            fb_atomic_abort(&a);
            fb_die(FB_EXIT_FAILURE, "%s: %s", o->file, err);
        }
        if (fb_atomic_commit(&a)) fb_die(FB_EXIT_FAILURE, "%s: %s", o->file, strerror(errno));
    }
    fb_reader_close(r);
    fb_input_close(&in);
    return FB_EXIT_OK;
}

static int from_npy(options *o)
{
    fb_input_limits();   /* the stream written is within FB_LIMITS */
    char *beside = NULL;
    const char *labels = o->labels;
    struct stat st;
    if (!labels) {
        beside = tsv_beside(o->file);
        if (stat(beside, &st) == 0) labels = beside;
    }
    if (fb_prov_set(&o->provenance, "imported", o->file)) fb_die(FB_EXIT_FAILURE, "out of memory");
    char err[512];
    uint64_t n;
    fb_atomic a;
    FILE *out = stdout;
    if (o->output) {
        if (fb_atomic_open(&a, o->output)) fb_die(FB_EXIT_FAILURE, "%s: %s", o->output, strerror(errno));
        out = a.f;
    } else {
        fb_refuse_binary_tty(stdout);
    }
    if (fb_import_npy(o->file, labels, o->provenance, out, o->compress, &n, err, sizeof err)) {
        /* a failed write is the output's fault: name it (lib names its inputs) */
        int wrote_badly = ferror(out);
        if (o->output) fb_atomic_abort(&a);
        if (wrote_badly) fb_die(FB_EXIT_FAILURE, "%s: %s", o->output ? o->output : "stdout", err);
        fb_die(FB_EXIT_FAILURE, "%s", err);
    }
    if (o->output && fb_atomic_commit(&a)) fb_die(FB_EXIT_FAILURE, "%s: %s", o->output, strerror(errno));
    free(beside);
    return FB_EXIT_OK;
}

static int export_onnx(const options *o)
{
    char err[512];
    char *path = fb_weights_locate(o->weights, getenv("FB_WEIGHTS"), err, sizeof err);
    if (!path) fb_die(FB_EXIT_FAILURE, "%s", err);
    fb_weights w;
    if (fb_weights_load(&w, path, err, sizeof err)) fb_die(FB_EXIT_FAILURE, "%s", err);
    fb_resnet net;
    if (fb_resnet_init(&net, &w, err, sizeof err)) fb_die(FB_EXIT_FAILURE, "%s: %s", path, err);
    fb_head head, *h = NULL;
    if (o->input) {
        if (fb_head_load(&head, o->input, err, sizeof err)) fb_die(FB_EXIT_FAILURE, "%s", err);
        h = &head;
        /* the graph is ImageNet's ResNet50 up to its pooled features, then a
         * head; a fine-tuned head brings a stage 5 of its own to run instead */
        if (h->stage5.params)
            fb_die(FB_EXIT_FAILURE, "%s: a head fine-tuned with its own stage 5 (fb-train --fine-tune) cannot be "
                   "exported yet: the ONNX model is ResNet50 with its ImageNet weights plus a head on their "
                   "features, and this head brings a stage 5 of its own. Use it with fb-predict or fb-eval on "
                   "fb-feat --layer stage4 maps; to export, train a head without --fine-tune", o->input);
    }
    if (fb_export_onnx(&net, h, o->layer, o->output, err, sizeof err)) {
        if (h) fb_die(FB_EXIT_FAILURE, "%s with %s: %s", o->output, o->input, err);
        fb_die(FB_EXIT_FAILURE, "%s", err);
    }
    if (h) fb_head_free(h);
    fb_weights_free(&w);
    free(path);
    return FB_EXIT_OK;
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_catch_signals();
    fb_handle_help_version(argc, argv, usage);
    options o;
    parse_args(argc, argv, &o);
    int rc = FB_EXIT_FAILURE;
    switch (o.mode) {
    case MODE_NPY: rc = export_npy(&o); break;
    case MODE_TSV: rc = export_tsv(&o); break;
    case MODE_FROM_NPY: rc = from_npy(&o); break;
    case MODE_ONNX: rc = export_onnx(&o); break;
    case MODE_NONE: break;
    }
    free(o.provenance);
    return rc;
}
