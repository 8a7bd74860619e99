/* What fb-feat prints: --top's lines and FB_PROFILE's table (feat_print.h). */
#include "common/feat_print.h"

#include <stdio.h>

/* An id printed in a TAB-separated line: TAB, newline and backslash escaped. */
static void print_id(const char *id)
{
    for (const char *p = id; *p; p++) {
        if (*p == '\t') fputs("\\t", stdout);
        else if (*p == '\n') fputs("\\n", stdout);
        else if (*p == '\\') fputs("\\\\", stdout);
        else putchar(*p);
    }
}

void fb_feat_print_top(const char *id, const float *probs, int k, const fb_weights *w)
{
    int best[FB_RESNET_CLASSES];
    fb_resnet_top(probs, k, best);
    for (int r = 0; r < k; r++) {
        print_id(id);
        printf("\t%d\t%s\t%.4f\n", r + 1, w->labels[best[r]], probs[best[r]]);
    }
}

/* FB_PROFILE's table on stderr (see fb-feat(1)): per step, thread-ms per
 * image as the mean and for the fastest image, and for convs the GFLOP/s
 * per core those give, counting each conv as done directly. */
void fb_feat_print_profile(const fb_resnet_runner *runner)
{
    static fb_resnet_profile p;
    if (fb_resnet_runner_profile(runner, &p) != 0 || p.images <= 0) return;
    double total[2] = {0, 0}, conv[2] = {0, 0}, conv_flop = 0;
    fprintf(stderr, "FB_PROFILE: %ld images on %d threads; thread-ms per image; GFLOP/s per core, "
            "counting each conv as done directly\n", p.images, p.nthreads);
    fprintf(stderr, "%-16s %5s %5s %5s %8s %8s %8s %8s\n", "step", "M", "K", "N", "mean ms", "GFLOP/s",
            "best ms", "GFLOP/s");
    for (int i = 0; i < p.nrows; i++) {
        const fb_resnet_profile_row *row = &p.rows[i];
        double mean = row->mean_seconds, best = row->best_seconds;
        total[0] += mean;
        total[1] += best;
        if (!row->is_conv) {
            fprintf(stderr, "%-16s %17s %8.3f %8s %8.3f\n", row->name, "", mean * 1e3, "", best * 1e3);
            continue;
        }
        conv[0] += mean;
        conv[1] += best;
        conv_flop += row->flop;
        fprintf(stderr, "%-16s %5d %5d %5d %8.3f %8.1f %8.3f %8.1f\n", row->name, row->m, row->k, row->n,
                mean * 1e3, row->flop / mean * 1e-9, best * 1e3, row->flop / best * 1e-9);
    }
    fprintf(stderr, "%-16s %17s %8.3f %8.1f %8.3f %8.1f\n", "all convs", "", conv[0] * 1e3,
            conv_flop / conv[0] * 1e-9, conv[1] * 1e3, conv_flop / conv[1] * 1e-9);
    fprintf(stderr, "%-16s %17s %8.3f %8.1f %8.3f %8.1f\n", "total", "", total[0] * 1e3,
            FB_RESNET_GFLOP / total[0], total[1] * 1e3, FB_RESNET_GFLOP / total[1]);
    fprintf(stderr, "images/s on %d threads: %.1f mean, %.1f at the best of each step\n", p.nthreads,
            p.nthreads / total[0], p.nthreads / total[1]);
}

