/* fb-eval: scores a trained head on a labelled feature stream.
 * See man/fb-eval.1. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/eval_report.h"
#include "common/head_input.h"
#include "common/input.h"
#include "fb/head.h"
#include "fb/photo.h"
#include "fb/report.h"

static const char usage[] =
    "usage: fb-eval [options] head.bin [STREAM...] < test.fbt\n"
    "  scores the head on the feature streams named (read as one; - or none:\n"
    "  standard input)\n"
    "  --json         one JSON object on stdout instead of the text report\n"
    "  --unknown FILE.fbt  records of photos that belong to no class: how many the\n"
    "                 unknown test rejects (records of the stream whose label is not a\n"
    "                 class of the head count as such outsiders too)\n"
    "  --curve FILE.tsv  the trade-off as the cut moves: cut, share of in-class\n"
    "                 records rejected, share of outsiders rejected\n"
    "  --reject-rate R   the cut that rejects R of held-out training photos\n"
    "                 (default: the cut the head stores)\n"
    "  --no-reject    score without the unknown test\n"
    "  --positive CLASS  report CLASS against the rest: precision, recall, specificity,\n"
    "                 F1 and ROC AUC (default for two classes: the head's second class)\n"
    "  --force        score a stream whose preprocessing differs from the head's training data\n"
    "  --mistakes N   list at most N misclassified records in the text report (default 20;\n"
    "                 --json lists all)\n"
    "  --sheet FILE   also draw the first 100 mistakes as one contact sheet (PNG)\n"
    "  --help, --version\n";

/* JSON number, or null for NaN (undefined metrics). */
/* The unknown test on the stream and on --unknown's records; --curve's TSV.
 * 0 when the head has no rejection model (fb_head_input_reject's note). */
static int measure_unknown(fb_unknown_score *u, const fb_head *h, const char *head_path,
                           const fb_featset *ds, const float *probs, const fb_featset *extra,
                           double rate, const char *curve_path)
{
    double cut;
    double *dist = fb_head_input_reject(h, ds, head_path, 0, rate, &cut);
    if (!dist) return 0;
    double *dx = fb_xmalloc((extra->n ? extra->n : 1) * sizeof *dx);
    if (fb_reject_distances(&h->reject, extra->x, extra->n, dx) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    float *px = extra->n ? fb_head_input_probs((fb_head *)h, extra) : NULL;
    if (fb_unknown_score_run(u, h, cut, rate >= 0 ? rate : h->reject.rate, ds, dist, probs, extra,
                             dx, px) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    if (curve_path) fb_eval_write_curve(curve_path, u);
    free(px);
    free(dx);
    free(dist);
    return 1;
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_catch_signals();
    fb_handle_help_version(argc, argv, usage);
    fb_tune_blas(argv);
    int as_json = 0, force = 0, max_mistakes = 20, no_reject = 0, c;
    double reject_rate = -1;
    const char *positive_name = NULL, *unknown_path = NULL, *curve_path = NULL, *sheet = NULL;
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' }, { "force", no_argument, NULL, 'f' },
        { "mistakes", required_argument, NULL, 'm' }, { "positive", required_argument, NULL, 'p' },
        { "unknown", required_argument, NULL, 'u' }, { "curve", required_argument, NULL, 'c' },
        { "reject-rate", required_argument, NULL, 'R' }, { "no-reject", no_argument, NULL, 'n' },
        { "sheet", required_argument, NULL, 'S' }, { NULL, 0, NULL, 0 }
    };
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = 1; break;
        case 'f': force = 1; break;
        case 'm': max_mistakes = (int)fb_opt_long("--mistakes", optarg, 0, 1000000); break;
        case 'p': positive_name = optarg; break;
        case 'u': unknown_path = optarg; break;
        case 'c': curve_path = optarg; break;
        case 'R': reject_rate = fb_opt_double("--reject-rate", optarg, 0, 1); break;
        case 'n': no_reject = 1; break;
        case 'S': sheet = optarg; break;
        default: fputs(usage, stderr); return FB_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(usage, stderr);
        return FB_EXIT_USAGE;
    }
    if (no_reject && (unknown_path || curve_path || reject_rate >= 0))
        fb_die(FB_EXIT_USAGE, "--no-reject turns the unknown test off; --unknown, --curve and "
               "--reject-rate measure it");
    const char *head_path = argv[optind];
    fb_head h;
    fb_head_input_load(&h, head_path);
    fb_input in;
    fb_input_open(&in, argc - optind - 1, argv + optind + 1, "fb-eval head.bin test.fbt, or fb-eval head.bin < test.fbt");
    fb_featset ds;
    fb_head_input_read(&ds, in.f, in.name, &h, head_path, force, "score it", "scoring");
    fb_input_close(&in);
    float *probs = fb_head_input_probs(&h, &ds);
    fb_head_input_merge_variants(&ds, probs, h.nclasses, "stdin");   /* test-time augmentation */
    fb_score s;
    char err[256];
    if (fb_score_init(&s, &h, &ds, probs, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    for (int k = 0; k < ds.nclasses; k++)
        if (s.unknown[k])
            fb_warn("%s: %zu %s of class '%s', which %s was not trained on: not scored",
                    in.name, s.unknown[k], fb_plural(s.unknown[k], "record", "records"), ds.classes[k],
                    head_path);
    if (s.unlabelled)
        fb_warn("%s: %zu unlabelled %s: not scored", in.name, s.unlabelled,
                fb_plural(s.unlabelled, "record", "records"));
    fb_unknown_score u = { 0 };
    fb_featset out = { 0 };
    int tested = 0;
    if (unknown_path) {
        /* made like the head's training data, as the stream on stdin */
        FILE *f = fopen(unknown_path, "rb");
        if (!f) fb_die(FB_EXIT_FAILURE, "%s: %s", unknown_path, strerror(errno));
        fb_head_input_read(&out, f, unknown_path, &h, head_path, force, "score it", "scoring");
        fclose(f);
    }
    if (!no_reject) tested = measure_unknown(&u, &h, head_path, &ds, probs, &out, reject_rate, curve_path);
    if (unknown_path && !tested)
        fb_die(FB_EXIT_FAILURE, "--unknown: %s has no rejection model to measure", head_path);
    if (s.m.n == 0 && !(tested && u.out_n))
        fb_die(FB_EXIT_FAILURE, "%s: no records with a class the head knows; nothing to score", in.name);

    int positive = h.nclasses == 2 ? 1 : -1;
    if (positive_name && (positive = fb_class_index(h.classes, h.nclasses, positive_name)) < 0)
        fb_die(FB_EXIT_USAGE, "--positive: %s has no class '%s'", head_path, positive_name);
    fb_binary_report b;
    if (positive >= 0 && fb_score_positive(&h, &ds, probs, positive, &b) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    fb_eval_report r = { &h, &ds, &s, positive >= 0 ? &b : NULL, tested ? &u : NULL };
    if (as_json) fb_eval_print_json(&r);
    else fb_eval_print_text(&r, max_mistakes);
    if (fflush(stdout) != 0 || ferror(stdout)) fb_die(FB_EXIT_FAILURE, "stdout: write error");
    if (sheet && (fb_photo_vips_start(argv[0], err, sizeof err) ||
                  fb_sheet_mistakes(&h, &ds, &s, 100, sheet, err, sizeof err)))
        fb_die(FB_EXIT_FAILURE, "%s", err);

    fb_score_free(&s);
    fb_unknown_score_free(&u);
    fb_featset_free(&out);
    free(probs);
    fb_featset_free(&ds);
    fb_head_free(&h);
    return 0;
}
