/* fb-report: a head scored on a labelled feature stream, as one
 * self-contained HTML page with the photos in it.  See man/fb-report.1. */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "common/head_input.h"
#include "common/input.h"
#include "fb/photo.h"
#include "fb/report.h"
#include "fb/backbone.h"
#include "fb/stream.h"

static const char usage[] =
    "usage: fb-report -o report.html [options] head.bin [STREAM...] < test.fbt\n"
    "  reads the feature streams named (as one; - or none: standard input)\n"
    "  The stream's ids must be the photos' paths (as fb-prep was given them).\n"
    "  -o, --output FILE    the HTML page to write (atomically)\n"
    "      --audit FILE     add the audit: fb-audit --json output\n"
    "      --history FILE   add the training curves: fb-train --history output\n"
    "      --lists DIR      add the split: fb-split's train/val/test.tsv\n"
    "      --mistakes N     the N most confident mistakes, with pictures (default 24)\n"
    "      --unsure N       the N least confident right answers (default 8)\n"
    "      --per-cell N     thumbnails per confusion-matrix cell (default 60)\n"
    "      --no-heatmaps    leave out where the network looked (no backbone run)\n"
    "  -w, --weights FILE   ResNet50 weights for the heatmaps (default: $FB_WEIGHTS,\n"
    "                       then the installed ones)\n"
    "  -j, --jobs N         decoder processes and backbone threads (default 2)\n"
    "      --force          report on a stream made unlike the head's training data\n"
    "      --help, --version\n";

typedef struct {
    const char *out, *audit, *history, *lists, *weights;
    int heatmaps, force;
} options;

static void parse(int argc, char **argv, options *o, fb_report_opts *r)
{
    enum { O_AUDIT = 256, O_HISTORY, O_LISTS, O_MISTAKES, O_UNSURE, O_CELL, O_NOHEAT, O_FORCE };
    static const struct option longopts[] = {
        { "output", required_argument, 0, 'o' }, { "audit", required_argument, 0, O_AUDIT },
        { "history", required_argument, 0, O_HISTORY }, { "lists", required_argument, 0, O_LISTS },
        { "mistakes", required_argument, 0, O_MISTAKES }, { "unsure", required_argument, 0, O_UNSURE },
        { "per-cell", required_argument, 0, O_CELL }, { "no-heatmaps", no_argument, 0, O_NOHEAT },
        { "weights", required_argument, 0, 'w' }, { "jobs", required_argument, 0, 'j' },
        { "force", no_argument, 0, O_FORCE }, { 0, 0, 0, 0 }
    };
    int c;
    while ((c = getopt_long(argc, argv, "o:w:j:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case O_AUDIT: o->audit = optarg; break;
        case O_HISTORY: o->history = optarg; break;
        case O_LISTS: o->lists = optarg; break;
        case O_MISTAKES: r->mistakes = (int)fb_opt_long("--mistakes", optarg, 0, 100000); break;
        case O_UNSURE: r->unsure = (int)fb_opt_long("--unsure", optarg, 0, 100000); break;
        case O_CELL: r->per_cell = (int)fb_opt_long("--per-cell", optarg, 0, 1000000); break;
        case O_NOHEAT: o->heatmaps = 0; break;
        case 'w': o->weights = optarg; break;
        case 'j': r->jobs = (int)fb_opt_long("--jobs", optarg, 1, 64); break;
        case O_FORCE: o->force = 1; break;
        default: fputs(usage, stderr); exit(FB_EXIT_USAGE);
        }
    }
    if (!o->out) fb_die(FB_EXIT_USAGE, "no output: give -o report.html");
    if (optind >= argc) {
        fputs(usage, stderr);
        exit(FB_EXIT_USAGE);
    }
}

/* The whole of a small text file, or dies naming it. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fb_die(FB_EXIT_FAILURE, "%s: %s", path, strerror(errno));
    size_t len = 0, cap = 1 << 16;
    char *buf = fb_xmalloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (len + 1 == cap) buf = fb_xrealloc(buf, cap *= 2);
    }
    if (ferror(f)) fb_die(FB_EXIT_FAILURE, "%s: %s", path, strerror(errno));
    fclose(f);
    buf[len] = 0;
    return buf;
}

/* The backbone for the heatmaps: the weights the stream's features were
 * made with, run at the stream's precision. */
typedef struct {
    fb_weights w;
    fb_resnet net;
    fb_resnet_runner *runner;
} backbone;

static int stage5(void *ctx, const uint8_t *image, float *A, char *err, size_t errlen)
{
    (void)err; (void)errlen;
    fb_resnet_run_spatial(((backbone *)ctx)->runner, image, 1, NULL, A);
    return 0;
}

/* NULL, with why (the page says it), when the heatmaps cannot be drawn. */
static backbone *open_backbone(const char *weights, const fb_featset *ds, int threads, char *why,
                               size_t n)
{
    char err[1024];
    char *path = fb_weights_locate(weights, getenv("FB_WEIGHTS"), err, sizeof err);
    if (!path) { snprintf(why, n, "%s", err); return NULL; }
    backbone *b = fb_xcalloc(1, sizeof *b);
    char *crc = fb_prov_get(ds->provenance, "weights_crc32");
    char *precision = fb_prov_get(ds->provenance, "precision");
    fb_resnet_options o;
    fb_resnet_options_init(&o, threads);
    if (precision && strcmp(precision, "bf16") == 0) o.precision = FB_PRECISION_BF16;
    int loaded = fb_weights_load(&b->w, path, err, sizeof err) == 0;
    if (!loaded || fb_resnet_init(&b->net, &b->w, err, sizeof err))
        snprintf(why, n, "%s", err);
    else if (!crc || strcmp(crc, b->w.checksum) != 0)
        snprintf(why, n, "the stream's features were made with weights %s; %s holds %s",
                 crc ? crc : "(not said)", path, b->w.checksum);
    else if (!(b->runner = fb_resnet_runner_new(&b->net, &o, err, sizeof err)))
        snprintf(why, n, "%s", err);
    free(crc);
    free(precision);
    free(path);
    if (b->runner) return b;
    if (loaded) fb_weights_free(&b->w);
    free(b);
    return NULL;
}

static void close_backbone(backbone *b)
{
    if (!b) return;
    fb_resnet_runner_free(b->runner);
    fb_weights_free(&b->w);
    free(b);
}

/* The date the page says it was made: SOURCE_DATE_EPOCH when set (for
 * byte-identical reports), else now; UTC. */
static void report_date(char *buf, size_t n)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    time_t t = sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M UTC", &tm);
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_catch_signals();
    fb_handle_help_version(argc, argv, usage);
    fb_tune_blas(argv);
    options o = { .heatmaps = 1 };
    fb_report_opts r;
    fb_report_opts_default(&r);
    parse(argc, argv, &o, &r);
    const char *head_path = argv[optind];
    char err[1024], date[64];

    fb_head h;
    fb_head_input_load(&h, head_path);
    fb_input in;
    fb_input_open(&in, argc - optind - 1, argv + optind + 1,
                  "fb-report -o report.html head.bin test.fbt, or ... < test.fbt");
    fb_featset ds;
    fb_head_input_read(&ds, in.f, in.name, &h, head_path, o.force, "report on it", "reporting");
    fb_input_close(&in);
    float *probs = fb_head_input_probs(&h, &ds);
    fb_head_input_merge_variants(&ds, probs, h.nclasses, "stdin");   /* test-time augmentation */
    fb_score s;
    if (fb_score_init(&s, &h, &ds, probs, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    if (s.m.n == 0)
        fb_die(FB_EXIT_FAILURE, "%s: no records with a class the head knows; nothing to report", in.name);

    fb_history hist;
    if (o.history) {
        FILE *f = fopen(o.history, "r");
        if (!f) fb_die(FB_EXIT_FAILURE, "%s: %s", o.history, strerror(errno));
        if (fb_history_read(&hist, f, o.history, err, sizeof err)) fb_die(FB_EXIT_FAILURE, "%s", err);
        fclose(f);
        /* the head knows which epoch it kept; the history only guesses from rounded losses */
        char *best = fb_prov_get(h.training, "best_epoch");
        char *end = NULL;
        long kept = best ? strtol(best, &end, 10) : 0;
        if (best && end != best && !*end && kept > 0 && kept <= INT_MAX) hist.kept = (int)kept;
        free(best);
        r.history = &hist;
    }
    if (o.audit) { r.audit_json = slurp(o.audit); r.audit_name = o.audit; }
    r.lists_dir = o.lists;
    r.head = &h;
    r.head_name = head_path;
    r.ds = &ds;
    r.stream_name = in.name;
    r.probs = probs;
    r.score = &s;
    report_date(date, sizeof date);
    r.date = date;
    r.version = FB_VERSION;
    char why[1024] = "left out (--no-heatmaps)";
    backbone *bb = o.heatmaps ? open_backbone(o.weights, &ds, r.jobs, why, sizeof why) : NULL;
    r.spatial = bb ? stage5 : NULL;
    r.spatial_ctx = bb;
    r.no_heatmaps = why;
    r.vipshome = getenv("VIPSHOME");

    /* the decoder processes fork before this process starts libvips */
    fb_report_stats st;
    fb_report *rep = fb_report_prepare(&r, &st, err, sizeof err);
    if (!rep) fb_die(FB_EXIT_FAILURE, "%s", err);
    if (fb_photo_vips_start(argv[0], err, sizeof err)) fb_die(FB_EXIT_FAILURE, "%s", err);
    fb_atomic a;
    if (fb_atomic_open(&a, o.out) != 0) fb_die(FB_EXIT_FAILURE, "%s: %s", o.out, strerror(errno));
    if (fb_report_write(rep, a.f, err, sizeof err) != 0) {
        fb_atomic_abort(&a);
        fb_die(FB_EXIT_FAILURE, "%s: %s", o.out, err);
    }
    if (fb_atomic_commit(&a) != 0) fb_die(FB_EXIT_FAILURE, "%s: %s", o.out, strerror(errno));
    fb_report_free(rep);
    close_backbone(bb);
    if (st.missing)
        fb_warn("%zu of %zu %s could not be read (first: %s); placeholders in %s", st.missing,
                st.pictures, fb_plural(st.pictures, "photo", "photos"), st.missing_example, o.out);
    if (st.changed)
        fb_warn("%zu %s other features now than the stream holds: changed since?", st.changed,
                fb_plural(st.changed, "photo gives", "photos give"));
    if (o.heatmaps && st.heatmap_note[0]) fb_warn("%s", st.heatmap_note);

    free((char *)r.audit_json);
    if (o.history) fb_history_free(&hist);
    fb_score_free(&s);
    free(probs);
    fb_featset_free(&ds);
    fb_head_free(&h);
    return 0;
}
