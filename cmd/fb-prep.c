/* fb-prep: decode and resize photos into a stream of size×size×3 uint8 RGB
 * records, one per usable input file, in input order.  See man/fb-prep.1. */
#include "fb/prep.h"
#include "fb/stream.h"
#include "fb/util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
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
    "      --strict             stop at the first file that fails; the stream is\n"
    "                           left without its end mark (-o: no file is written)\n"
    "      --help, --version\n"
    "Unusable files are named on stderr with the reason; the run goes on and\n"
    "exits 1 at the end.  Exit status: 0 all files used, 1 some failed, 2 usage.\n";

typedef struct {
    char *path;
    char *label;          /* NULL: unlabelled */
} input;

typedef struct {
    input *items;
    size_t n, cap;
} input_list;

typedef struct {
    const char *output;
    fb_prep_opts prep;
    const char *label;
    int label_from_dir;
    int jobs;
    double timeout;
    int strict;
} options;

static void list_add(input_list *l, const char *path, const char *label)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->items = fb_xrealloc(l->items, l->cap * sizeof *l->items);
    }
    l->items[l->n].path = fb_xstrdup(path);
    l->items[l->n].label = label && *label ? fb_xstrdup(label) : NULL;
    l->n++;
}

/* "label<TAB>path" or "path" per line; blank lines are skipped. */
static void read_list(FILE *f, input_list *l)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        char *tab = strchr(line, '\t');
        if (tab) {
            *tab = 0;
            list_add(l, tab + 1, line);
        } else {
            list_add(l, line, NULL);
        }
    }
    if (ferror(f)) fb_die(FB_EXIT_FAILURE, "reading the file list: %s", strerror(errno));
    free(line);
}

/* The name of the folder that holds path ("photos/cats/1.jpg" → "cats"). */
static char *parent_dir_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) return NULL;
        return parent_dir_name(strcat(cwd, "/x"));
    }
    const char *end = slash;
    while (end > path && end[-1] == '/') end--;
    const char *start = end;
    while (start > path && start[-1] != '/') start--;
    if (start == end) return NULL;
    return strndup(start, (size_t)(end - start));
}

static void apply_label_options(input_list *l, const options *o)
{
    for (size_t i = 0; i < l->n; i++) {
        if (o->label) {
            free(l->items[i].label);
            l->items[i].label = fb_xstrdup(o->label);
        } else if (o->label_from_dir) {
            free(l->items[i].label);
            l->items[i].label = parent_dir_name(l->items[i].path);
        }
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Classes in name order, so the table does not depend on input order. */
static void add_classes(fb_header *h, const input_list *l)
{
    char **names = fb_xmalloc((l->n + 1) * sizeof *names);
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].label) names[k++] = l->items[i].label;
    qsort(names, k, sizeof *names, cmp_str);
    for (size_t i = 0; i < k; i++)
        if ((i == 0 || strcmp(names[i], names[i - 1]) != 0) && fb_header_add_class(h, names[i]) < 0)
            fb_die(FB_EXIT_FAILURE, "out of memory");
    free(names);
}

static void set_provenance(fb_header *h, const options *o)
{
    char size[32], bg[32];
    snprintf(size, sizeof size, "%d", o->prep.size);
    snprintf(bg, sizeof bg, "%u,%u,%u", o->prep.background[0], o->prep.background[1],
             o->prep.background[2]);
    if (fb_prov_set(&h->provenance, "prep", "fb-prep " FB_VERSION) ||
        fb_prov_set(&h->provenance, "resize", fb_prep_policy_name(o->prep.policy)) ||
        fb_prov_set(&h->provenance, "size", size) ||
        fb_prov_set(&h->provenance, "kernel", fb_prep_kernel_name(o->prep.kernel)) ||
        fb_prov_set(&h->provenance, "background", bg) ||
        fb_prov_set(&h->provenance, "colour", "sRGB") ||
        fb_prov_set(&h->provenance, "layout", "HWC RGB uint8"))
        fb_die(FB_EXIT_FAILURE, "out of memory");
}

/* ---- the run ---- */

typedef struct {
    const input_list *inputs;
    fb_writer *w;
    const options *o;
    size_t failed, written;
    int write_failed;
    fb_progress progress;
} run_state;

static int sink(void *ctx, size_t i, const uint8_t *pixels, const char *reason)
{
    run_state *s = ctx;
    const input *in = &s->inputs->items[i];
    fb_progress_update(&s->progress, i + 1, s->inputs->n);
    if (!pixels) {
        if (s->progress.enabled) fputc('\n', stderr);
        fb_warn("%s: %s", in->path, reason);
        s->failed++;
        return s->o->strict;
    }
    const fb_header *h = fb_writer_header(s->w);
    int32_t label = in->label ? fb_header_class_index(h, in->label) : FB_NO_LABEL;
    if (fb_writer_put(s->w, in->path, label, pixels) != 0) {
        s->write_failed = 1;
        return 1;
    }
    s->written++;
    return 0;
}

static double parse_number(const char *s, const char *what, double min)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end != s && (*end == 'M' || *end == 'm')) { v *= 1e6; end++; }
    if (errno || end == s || *end || !(v >= min))
        fb_die(FB_EXIT_USAGE, "%s: not a valid number: '%s'", what, s);
    return v;
}

static void parse_options(int argc, char **argv, options *o)
{
    enum { OPT_MAX_PIXELS = 256, OPT_TIMEOUT, OPT_STRICT };
    static const struct option longopts[] = {
        { "output", required_argument, 0, 'o' }, { "size", required_argument, 0, 's' },
        { "resize", required_argument, 0, 'r' }, { "kernel", required_argument, 0, 'k' },
        { "background", required_argument, 0, 'b' }, { "label", required_argument, 0, 'l' },
        { "label-from-dir", no_argument, 0, 'd' }, { "jobs", required_argument, 0, 'j' },
        { "max-pixels", required_argument, 0, OPT_MAX_PIXELS },
        { "timeout", required_argument, 0, OPT_TIMEOUT },
        { "strict", no_argument, 0, OPT_STRICT }, { 0, 0, 0, 0 },
    };
    memset(o, 0, sizeof *o);
    fb_prep_opts_default(&o->prep);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = cores > 0 ? (int)cores : 1;
    o->timeout = 30;
    int c;
    while ((c = getopt_long(argc, argv, "o:s:r:k:b:l:dj:", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 's': o->prep.size = (int)parse_number(optarg, "--size", 1);
                  if (o->prep.size > 4096) fb_die(FB_EXIT_USAGE, "--size: at most 4096");
                  break;
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
        case 'j': o->jobs = (int)parse_number(optarg, "--jobs", 1);
                  if (o->jobs > 64) o->jobs = 64;
                  break;
        case OPT_MAX_PIXELS: o->prep.max_pixels = parse_number(optarg, "--max-pixels", 1); break;
        case OPT_TIMEOUT: o->timeout = parse_number(optarg, "--timeout", 0); break;
        case OPT_STRICT: o->strict = 1; break;
        default: fputs(usage, stderr); exit(FB_EXIT_USAGE);
        }
    }
    if (o->label && o->label_from_dir)
        fb_die(FB_EXIT_USAGE, "--label and --label-from-dir exclude each other");
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_handle_help_version(argc, argv, usage);
    options o;
    parse_options(argc, argv, &o);
    if (!o.output) fb_refuse_binary_tty(stdout);

    input_list inputs = { 0 };
    if (optind < argc) {
        for (int i = optind; i < argc; i++) list_add(&inputs, argv[i], NULL);
    } else {
        if (isatty(STDIN_FILENO))
            fb_die(FB_EXIT_USAGE, "no files: name them, or give a 'label<TAB>path' list on stdin");
        read_list(stdin, &inputs);
    }
    apply_label_options(&inputs, &o);

    uint32_t dims[3] = { (uint32_t)o.prep.size, (uint32_t)o.prep.size, 3 };
    fb_header h;
    fb_header_init(&h, FB_U8, 3, dims);
    add_classes(&h, &inputs);
    set_provenance(&h, &o);

    fb_atomic out = { 0 };
    FILE *f = stdout;
    if (o.output) {
        if (fb_atomic_open(&out, o.output) != 0)
            fb_die(FB_EXIT_FAILURE, "%s: %s", o.output, strerror(errno));
        f = out.f;
    }
    char err[512];
    fb_writer *w = fb_writer_open(f, &h, 0, err, sizeof err);
    if (!w) {
        if (o.output) fb_atomic_abort(&out);
        fb_die(FB_EXIT_FAILURE, "%s", err);
    }

    const char **paths = fb_xmalloc((inputs.n + 1) * sizeof *paths);
    for (size_t i = 0; i < inputs.n; i++) paths[i] = inputs.items[i].path;
    run_state s = { .inputs = &inputs, .w = w, .o = &o };
    fb_progress_init(&s.progress, "images");
    int rc = fb_prep_run(&o.prep, o.jobs, o.timeout, paths, inputs.n, sink, &s, err, sizeof err);
    fb_progress_done(&s.progress, inputs.n);

    if (rc < 0 || s.write_failed) {
        if (o.output) fb_atomic_abort(&out);
        fb_die(FB_EXIT_FAILURE, "%s", rc < 0 ? err : fb_writer_error(w));
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
    if (s.failed) {
        fb_warn("%zu of %zu files failed", s.failed, inputs.n);
        return FB_EXIT_FAILURE;
    }
    return FB_EXIT_OK;
}
