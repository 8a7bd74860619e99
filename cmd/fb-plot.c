/* fb-plot: draws an fb-train history as a PNG with two panels (loss,
 * accuracy).  See man/fb-plot.1. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "fb/plot.h"

static const char usage[] =
    "usage: fb-plot -o curves.png [--title TEXT] [--size WxH] [history.tsv]\n"
    "       fb-plot -o curve.png --reject-curve FILE.tsv\n"
    "  reads fb-train --history output (stdin when no file is given)\n"
    "  -o, --output FILE   PNG to write (atomically)\n"
    "      --title TEXT    a title above the panels\n"
    "      --size WxH      pixels (default 1100x450)\n"
    "      --svg           write the SVG text instead of a PNG\n"
    "      --reject-curve FILE.tsv  draw fb-eval --curve's trade-off instead: outsiders\n"
    "                      rejected against in-class records rejected\n"
    "      --help, --version\n";

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_catch_signals();
    fb_handle_help_version(argc, argv, usage);
    const char *outpath = NULL, *title = NULL, *curve = NULL;
    int width = 1100, height = 450, as_svg = 0, c;
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' }, { "title", required_argument, NULL, 't' },
        { "size", required_argument, NULL, 's' }, { "svg", no_argument, NULL, 'S' },
        { "reject-curve", required_argument, NULL, 'r' }, { NULL, 0, NULL, 0 }
    };
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': outpath = optarg; break;
        case 't': title = optarg; break;
        case 's':
            /* two panels side by side need the width */
            fb_opt_size("--size", optarg, 200, 10000, &width, &height);
            if (width < 300) fb_die(FB_EXIT_USAGE, "--size: '%s' is narrower than 300 pixels", optarg);
            break;
        case 'S': as_svg = 1; break;
        case 'r': curve = optarg; break;
        default: fputs(usage, stderr); return FB_EXIT_USAGE;
        }
    }
    if (!outpath) fb_die(FB_EXIT_USAGE, "no output: give -o curves.png");
    if (argc - optind > (curve ? 0 : 1))
        fb_die(FB_EXIT_USAGE, curve ? "--reject-curve names its file; no history file with it"
                                    : "one history file at most");
    const char *inpath = curve ? curve : optind < argc ? argv[optind] : "-";
    FILE *f = strcmp(inpath, "-") == 0 ? stdin : fopen(inpath, "r");
    if (!f) fb_die(FB_EXIT_FAILURE, "%s: %s", inpath, strerror(errno));
    char err[512];
    const char *name = f == stdin ? "stdin" : inpath;
    fb_history h = { 0 };
    fb_reject_curve rc_curve = { 0 };
    if (curve ? fb_reject_curve_read(&rc_curve, f, name, err, sizeof err)
              : fb_history_read(&h, f, name, err, sizeof err))
        fb_die(FB_EXIT_FAILURE, "%s", err);
    if (f != stdin) fclose(f);
    char *svg = curve ? fb_plot_reject_curve_svg(&rc_curve, width, height, title)
                      : fb_plot_history_svg(&h, width, height, title);
    if (!svg) fb_die(FB_EXIT_FAILURE, "out of memory");
    /* both write through fb_atomic: on failure nothing is left at outpath or beside it */
    int rc = as_svg ? fb_write_file_atomic(outpath, svg, strlen(svg), err, sizeof err)
                    : fb_plot_svg_to_png(svg, outpath, err, sizeof err);
    if (rc != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    free(svg);
    fb_history_free(&h);
    fb_reject_curve_free(&rc_curve);
    return 0;
}
