/* fb-prep: decode and resize photos into a stream of size×size×3 uint8 RGB
 * records, one per usable input file, in input order.  See man/fb-prep.1. */
#include "common/common.h"
#include "common/input.h"
#include "common/photo_stream.h"
#include "fb/core.h"
#include "fb/dataset.h"
#include "fb/photo.h"
#include "fb/stream.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: fb-prep [options] [FILE...] > images.fbt\n"
    "Decodes photos (JPEG, PNG, WebP, TIFF, GIF, HEIF/AVIF) into a stream of\n"
    "SIZE×SIZE×3 uint8 RGB records.  With no FILE, reads lines 'label<TAB>path'\n"
    "or 'path' from standard input (e.g. fb-prep < train.tsv).\n"
    "  -o, --output FILE        write the stream to FILE (atomically), not stdout\n"
    "  -s, --size N             output side in pixels (default 224)\n"
    "  -r, --resize POLICY      squash (default; whole image, aspect ignored, as Keras),\n"
    "                           crop (shorter side to N, centre crop, as torchvision),\n"
    "                           pad (longer side to N, pad with the background)\n"
    "  -k, --kernel K           antialiasing kernel: linear (default; Pillow's BILINEAR),\n"
    "                           cubic (Catmull-Rom, Pillow's BICUBIC) or lanczos3\n"
    "  -b, --background COLOUR  alpha is flattened onto it, pad fills with it:\n"
    "                           white (default), black, gray, R,G,B or #rrggbb\n"
    "  -l, --label NAME         label every file NAME\n"
    "  -d, --label-from-dir     label each file with its parent folder's name\n"
    "  -j, --jobs N             decoder processes (default: number of cores)\n"
    "      --max-pixels N       refuse images over N pixels, e.g. 100M (default)\n"
    "      --timeout SECONDS    give up on a file after this long (default 30)\n"
    "      --reencode Q[:SIDE]  first resize each photo's shorter side to SIDE (default\n"
    "                           N) and re-encode it as a JPEG of quality Q: one size\n"
    "                           and quality for all (fb-audit's shortcut finding)\n"
    "      --strict             stop at the first file that fails; the stream is\n"
    "                           left without its end mark (-o: no file is written)\n"
    "      --augment N          after each photo, N random variants of it (crop, flip,\n"
    "                           rotation, colour; ids 'path#augK'), in its group\n"
    "      --seed S             draws --augment's variants (default 0)\n"
    "      --tta                after each photo, its horizontal flip ('path#flip'),\n"
    "                           which fb-eval and fb-predict average with it\n"
    "      --help, --version\n"
    "Unusable files are named on stderr with the reason; the run goes on and\n"
    "exits 1 at the end.  Exit status: 0 all files used, 1 some failed, 2 usage.\n";

typedef struct {
    const char *output;
    fb_prep_opts prep;
    const char *label;
    int label_from_dir;
    int jobs;
    double timeout;
    int strict;
} options;

/* Labels from -l or -d replace those of the list. */
static void apply_label_options(fb_list *l, const options *o)
{
    for (size_t i = 0; i < l->n; i++) {
        fb_list_entry *e = &l->entries[i];
        if (o->label) {
            free(e->label);
            e->label = fb_xstrdup(o->label);
        } else if (o->label_from_dir) {
            free(e->label);
            e->label = fb_parent_dir_name(e->path);
        } else if (e->label && !*e->label) {   /* "<TAB>path": no label */
            free(e->label);
            e->label = NULL;
        }
    }
}

/* ---- the run ---- */

typedef struct {
    const fb_list *inputs;
    fb_writer *w;
    const options *o;
    size_t failed, written;
    int write_failed;
    fb_progress progress;
} run_state;

/* The photo's record, then its variants' (--augment, --tta) in its group. */
static int write_photo(run_state *s, const fb_list_entry *in, int32_t label, const uint8_t *pixels)
{
    const fb_prep_opts *o = &s->o->prep;
    int n = fb_prep_outputs(o);
    uint32_t group = n > 1 ? fb_augment_group(in->path, in->group) : in->group;
    if (fb_writer_put_grouped(s->w, in->path, label, group, pixels) != 0) return -1;
    size_t one = (size_t)o->size * o->size * 3;
    for (int k = 1; k < n; k++) {
        char suffix[32];
        fb_augment_suffix(o, k, suffix, sizeof suffix);
        char *id = fb_xmalloc(strlen(in->path) + sizeof suffix);
        sprintf(id, "%s%s", in->path, suffix);
        int rc = fb_writer_put_grouped(s->w, id, label, group, pixels + k * one);
        free(id);
        if (rc) return -1;
    }
    return 0;
}

/* A file that is not a photo but an fb stream (fb-prep images.fbt): says
 * which tool reads it, as the guard of the list on stdin does.  Reads the
 * first bytes of a regular file only (nothing is decoded here). */
static int stream_note(const char *path, char *msg, size_t len)
{
    char why[256], head[4096];
    FILE *f = fb_open_regular(path, why, sizeof why);
    if (!f) return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return fb_input_stream_note(head, n, path, "a photo", msg, len);
}

static int sink(void *ctx, size_t i, const uint8_t *pixels, const char *reason)
{
    run_state *s = ctx;
    const fb_list_entry *in = &s->inputs->entries[i];
    fb_progress_update(&s->progress, i + 1, s->inputs->n);
    if (!pixels) {
        if (s->progress.enabled) fputc('\n', stderr);
        char note[1024];
        if (stream_note(in->path, note, sizeof note)) fb_warn("%s", note);
        else fb_warn("%s: %s", in->path, reason);
        s->failed++;
        return s->o->strict;
    }
    const fb_header *h = fb_writer_header(s->w);
    int32_t label = in->label ? fb_header_class_index(h, in->label) : FB_NO_LABEL;
    if (write_photo(s, in, label, pixels) != 0) {
        s->write_failed = 1;
        return 1;
    }
    s->written++;
    return 0;
}

static void parse_options(int argc, char **argv, options *o)
{
    enum { OPT_MAX_PIXELS = 256, OPT_TIMEOUT, OPT_STRICT, OPT_AUGMENT, OPT_SEED, OPT_TTA, OPT_REENCODE };
    static const struct option longopts[] = {
        { "output", required_argument, 0, 'o' }, { "size", required_argument, 0, 's' },
        { "resize", required_argument, 0, 'r' }, { "kernel", required_argument, 0, 'k' },
        { "background", required_argument, 0, 'b' }, { "label", required_argument, 0, 'l' },
        { "label-from-dir", no_argument, 0, 'd' }, { "jobs", required_argument, 0, 'j' },
        { "max-pixels", required_argument, 0, OPT_MAX_PIXELS },
        { "timeout", required_argument, 0, OPT_TIMEOUT },
        { "strict", no_argument, 0, OPT_STRICT },
        { "augment", required_argument, 0, OPT_AUGMENT }, { "seed", required_argument, 0, OPT_SEED },
        { "tta", no_argument, 0, OPT_TTA }, { "reencode", required_argument, 0, OPT_REENCODE },
        { 0, 0, 0, 0 },
    };
    memset(o, 0, sizeof *o);
    fb_prep_opts_default(&o->prep);
    o->jobs = fb_default_jobs();
    /* What the environment says, lib is told (man/fb-prep.1, ENVIRONMENT). */
    o->prep.vipshome = getenv("VIPSHOME");
    fb_prep_simd_cap(fb_prep_simd_parse(getenv("FB_PREP_SIMD")));
    o->timeout = FB_DECODE_TIMEOUT;
    int c;
    while ((c = getopt_long(argc, argv, "o:s:r:k:b:l:dj:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 's': o->prep.size = (int)fb_opt_long("--size", optarg, 1, 4096); break;
        case 'r': if (fb_prep_parse_policy(optarg, &o->prep.policy))
                      fb_die(FB_EXIT_USAGE, "--resize: '%s' is not squash, crop or pad", optarg);
                  break;
        case 'k': if (fb_prep_parse_kernel(optarg, &o->prep.kernel))
                      fb_die(FB_EXIT_USAGE, "--kernel: unknown kernel '%s'", optarg);
                  break;
        case 'b': if (fb_prep_parse_colour(optarg, o->prep.background))
                      fb_die(FB_EXIT_USAGE, "--background: not a colour: '%s'", optarg);
                  break;
        case 'l': if (!*optarg) fb_die(FB_EXIT_USAGE, "--label: empty name");
                  o->label = optarg; break;
        case 'd': o->label_from_dir = 1; break;
        case 'j': o->jobs = fb_opt_jobs("--jobs", optarg); break;
        case OPT_MAX_PIXELS: o->prep.max_pixels = fb_opt_pixels("--max-pixels", optarg); break;
        case OPT_TIMEOUT: o->timeout = fb_opt_timeout("--timeout", optarg); break;
        case OPT_STRICT: o->strict = 1; break;
        case OPT_AUGMENT: o->prep.augment = (int)fb_opt_long("--augment", optarg, 0, 100); break;
        case OPT_SEED: o->prep.seed = fb_opt_seed("--seed", optarg); break;
        case OPT_TTA: o->prep.tta_flip = 1; break;
        case OPT_REENCODE:
            if (fb_prep_parse_reencode(optarg, &o->prep.reencode_quality, &o->prep.reencode_side))
                fb_die(FB_EXIT_USAGE, "--reencode: '%s' is not Q or Q:SIDE (quality 1..100, side 8..4096)",
                       optarg);
            break;
        default: fputs(usage, stderr); exit(FB_EXIT_USAGE);
        }
    }
    if (o->label && o->label_from_dir)
        fb_die(FB_EXIT_USAGE, "--label and --label-from-dir exclude each other");
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_catch_signals();
    fb_handle_help_version(argc, argv, usage);
    options o;
    parse_options(argc, argv, &o);
    if (!o.output) fb_refuse_binary_tty(stdout);

    fb_list inputs = { 0 };
    char err[512];
    if (optind < argc) {
        for (int i = optind; i < argc; i++)
            if (fb_list_add(&inputs, NULL, argv[i]) != 0) fb_die(FB_EXIT_FAILURE, "out of memory");
    } else {
        if (isatty(STDIN_FILENO))
            fb_die(FB_EXIT_USAGE, "no files: name them, or give a 'label<TAB>path' list on stdin");
        FILE *list = fb_input_text(stdin, "stdin", "a list of photo paths");
        if (fb_list_read(list, &inputs, err, sizeof err) != 0)
            fb_die(FB_EXIT_FAILURE, "reading the file list: %s", err);
        fclose(list);
    }
    apply_label_options(&inputs, &o);

    char **labels = fb_xmalloc((inputs.n + 1) * sizeof *labels);
    const char **paths = fb_xmalloc((inputs.n + 1) * sizeof *paths);
    for (size_t i = 0; i < inputs.n; i++) {
        labels[i] = inputs.entries[i].label;
        paths[i] = inputs.entries[i].path;
    }
    fb_header h;
    fb_prep_stream_header(&h, &o.prep, labels, inputs.n);
    char variants[256];
    fb_augment_describe(&o.prep, variants, sizeof variants);
    if (*variants && fb_prov_set(&h.provenance, "augment", variants) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");

    fb_atomic out = { 0 };
    FILE *f = stdout;
    if (o.output) {
        if (fb_atomic_open(&out, o.output) != 0)
            fb_die(FB_EXIT_FAILURE, "%s: %s", o.output, strerror(errno));
        f = out.f;
    }
    fb_writer *w = fb_writer_open(f, &h, 0, err, sizeof err);
    if (!w) {
        if (o.output) fb_atomic_abort(&out);
        fb_die(FB_EXIT_FAILURE, "%s", err);
    }

    run_state s = { .inputs = &inputs, .w = w, .o = &o };
    fb_progress_init(&s.progress, "images");
    int rc = fb_prep_run(&o.prep, o.jobs, o.timeout, paths, inputs.n, sink, &s, err, sizeof err);
    fb_progress_done(&s.progress, inputs.n);

    if (rc < 0 || s.write_failed) {
        if (o.output) fb_atomic_abort(&out);
        if (rc < 0) fb_die(FB_EXIT_FAILURE, "%s", err);
        fb_die(FB_EXIT_FAILURE, "%s: %s", o.output ? o.output : "stdout", fb_writer_error(w));
    }
    if (rc > 0) {
        /* --strict stopped the run: no end mark, so any reader sees the
         * stream as incomplete; with -o nothing is written at all. */
        if (o.output) fb_atomic_abort(&out);
        else fflush(stdout);
        fb_warn("stopped at the first failure (--strict); the stream is incomplete");
        _exit(FB_EXIT_FAILURE);
    }
    if (fb_writer_close(w) != 0) {
        if (o.output) fb_atomic_abort(&out);
        fb_die(FB_EXIT_FAILURE, "writing %s: %s", o.output ? o.output : "the stream",
               fb_writer_error(w));
    }
    if (o.output && fb_atomic_commit(&out) != 0)
        fb_die(FB_EXIT_FAILURE, "%s: %s", o.output, strerror(errno));
    size_t failed = s.failed, n = inputs.n;
    free(labels);
    free(paths);
    fb_header_free(&h);
    fb_list_free(&inputs);
    if (failed) {
        fb_warn("%zu of %zu %s failed", failed, n, fb_plural(n, "file", "files"));
        return FB_EXIT_FAILURE;
    }
    return FB_EXIT_OK;
}
