/* fb-predict: classifies feature records with a trained head.
 * See man/fb-predict.1. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/head_input.h"
#include "common/input.h"
#include "fb/export.h"
#include "fb/head.h"

static const char usage[] =
    "usage: fb-predict [options] head.bin [STREAM...] < features.fbt\n"
    "  reads the feature streams named (as one; - or none: standard input)\n"
    "  prints: id, predicted class, its probability (TSV, one line per record);\n"
    "  a record unlike every training photo: id, unknown, the confidence in that\n"
    "  verdict (the share of held-out training photos nearer the others than it)\n"
    "  --all            add every class's probability, in the head's class order\n"
    "                   (for an unknown record too: what the head alone would say)\n"
    "  --no-reject      never answer unknown: the head's class for every record\n"
    "  --reject-rate R  cut where R of held-out training photos would be unknown\n"
    "                   (default: the cut fb-train stored, 0.02 unless told)\n"
    "  --header         print a header line first\n"
    "  --threshold P    two-class heads: predict the positive class when its\n"
    "                   probability is at least P (default: the head's own decision, the\n"
    "                   more probable class or the threshold fb-train --threshold stored)\n"
    "  --positive NAME  the positive class for --threshold (default: the head's second class)\n"
    "  --force          accept a stream whose preprocessing differs from the head's training data\n"
    "  --help, --version\n";

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_catch_signals();
    fb_handle_help_version(argc, argv, usage);
    fb_tune_blas(argv);
    int all = 0, header = 0, force = 0, no_reject = 0, c;
    double threshold = -1, reject_rate = -1;
    const char *positive_name = NULL;
    static const struct option longopts[] = {
        { "all", no_argument, NULL, 'a' }, { "header", no_argument, NULL, 'H' },
        { "threshold", required_argument, NULL, 't' }, { "positive", required_argument, NULL, 'p' },
        { "force", no_argument, NULL, 'f' }, { "no-reject", no_argument, NULL, 'n' },
        { "reject-rate", required_argument, NULL, 'R' }, { NULL, 0, NULL, 0 }
    };
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'a': all = 1; break;
        case 'H': header = 1; break;
        case 't': threshold = fb_opt_double("--threshold", optarg, 0, 1); break;
        case 'p': positive_name = optarg; break;
        case 'f': force = 1; break;
        case 'n': no_reject = 1; break;
        case 'R': reject_rate = fb_opt_double("--reject-rate", optarg, 0, 1); break;
        default: fputs(usage, stderr); return FB_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(usage, stderr);
        return FB_EXIT_USAGE;
    }
    if (no_reject && reject_rate >= 0)
        fb_die(FB_EXIT_USAGE, "--no-reject turns the unknown test off; --reject-rate moves its cut");
    const char *head_path = argv[optind];
    fb_head h;
    fb_head_input_load(&h, head_path);

    int positive = -1;
    if (threshold >= 0 || positive_name) {
        if (h.nclasses != 2)
            fb_die(FB_EXIT_USAGE, "--threshold and --positive need a two-class head; %s has %d classes",
                   head_path, h.nclasses);
        positive = 1;
        if (positive_name && (positive = fb_class_index(h.classes, h.nclasses, positive_name)) < 0)
            fb_die(FB_EXIT_USAGE, "--positive: %s has no class '%s' (it has '%s' and '%s')",
                   head_path, positive_name, h.classes[0], h.classes[1]);
    }

    fb_input in;
    fb_input_open(&in, argc - optind - 1, argv + optind + 1,
                  "fb-predict head.bin features.fbt, or fb-feat < images.fbt | fb-predict head.bin");
    fb_featset ds;
    fb_head_input_read(&ds, in.f, in.name, &h, head_path, force, "predict", "predicting");
    fb_input_close(&in);

    float *probs = fb_head_input_probs(&h, &ds);
    fb_head_input_merge_variants(&ds, probs, h.nclasses, "stdin");   /* test-time augmentation */
    double cut = 0, *dist = fb_head_input_reject(&h, &ds, head_path, no_reject, reject_rate, &cut);

    if (header) {
        printf("id\tclass\tprobability");
        for (int k = 0; all && k < h.nclasses; k++) {
            putchar('\t');
            fb_tsv_put(stdout, h.classes[k]);
        }
        printf("\n");
    }
    for (size_t i = 0; i < ds.n; i++) {
        const float *p = probs + i * h.nclasses;
        int pred = threshold >= 0 ? (p[positive] >= threshold ? positive : 1 - positive)
                                  : fb_head_decide(&h, p);
        /* ids and class names escaped (\t \n \r \\): one record a line */
        int rejected = dist && dist[i] > cut;
        fb_tsv_put(stdout, ds.ids[i]);
        putchar('\t');
        fb_tsv_put(stdout, rejected ? FB_REJECT_CLASS : h.classes[pred]);
        printf("\t%.6f", rejected ? fb_reject_rank(&h.reject, dist[i]) : p[pred]);
        for (int k = 0; all && k < h.nclasses; k++) printf("\t%.6f", p[k]);
        printf("\n");
    }
    if (fflush(stdout) != 0 || ferror(stdout)) fb_die(FB_EXIT_FAILURE, "stdout: write error");
    free(probs);
    free(dist);
    fb_featset_free(&ds);
    fb_head_free(&h);
    return 0;
}
