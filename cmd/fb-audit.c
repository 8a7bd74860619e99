/* fb-audit: finds leaks (the same photo in train and test) and shortcuts
 * (metadata that predicts the class) in a photo set before anyone trusts an
 * accuracy number measured on it. */
#include "common/audit_report.h"
#include "common/json.h"
#include "common/common.h"
#include "common/input.h"
#include "fb/audit.h"
#include "fb/head.h"
#include "fb/report.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static const char usage[] =
    "usage: fb-audit [options] DIR\n"
    "       fb-audit [options] -l OUTDIR\n"
    "Checks a class-per-folder photo tree (or the train/val/test.tsv lists in OUTDIR)\n"
    "for near-duplicate photos across splits (leaks), metadata that predicts the class\n"
    "(shortcuts), and files that are not usable images.\n"
    "  -l, --lists OUTDIR    audit the lists fb-split wrote\n"
    "  -f, --features FILE   also group photos whose backbone features (fb-feat) are\n"
    "                        closer than cosine COS, and list the training photos the\n"
    "                        unknown test of fb-train would reject: unlike the others\n"
    "  -d, --near-dup BITS   pHash distance for 'same photo', default 8 (0..64)\n"
    "  -c, --cosine COS      feature cosine similarity for 'same photo', default "
    STR(FB_FEATURE_SAME_COSINE) "\n"
    "  -s, --seed N          seed of the cross-validation, default 1\n"
    "      --json            machine-readable report\n"
    "      --sheet FILE      also draw the near-duplicate groups as one sheet (PNG)\n"
    "  -j, --jobs N          decoder processes (default: number of cores)\n"
    "      --timeout SECONDS give up on a file after this long (default 30)\n"
    "      --max-pixels N    refuse images over N pixels, e.g. 100M (default)\n"
    "Exit status: 0 clean, 1 unusable files or errors, 2 usage, 3 leak, 4 shortcut,\n"
    "5 leak and shortcut.  See fb-audit(1).\n";

typedef struct {
    int json;
    const char *lists, *dir, *features, *sheet;
    int near_dup_bits;
    double cosine;
    uint64_t seed;
    fb_decode_limits decode;
} options;

static void parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        { "json", no_argument, 0, 'J' }, { "lists", required_argument, 0, 'l' },
        { "features", required_argument, 0, 'f' }, { "near-dup", required_argument, 0, 'd' },
        { "cosine", required_argument, 0, 'c' }, { "seed", required_argument, 0, 's' },
        { "sheet", required_argument, 0, 'S' }, { "jobs", required_argument, 0, 'j' },
        { "timeout", required_argument, 0, 'T' }, { "max-pixels", required_argument, 0, 'P' },
        { 0, 0, 0, 0 } };
    memset(o, 0, sizeof *o);
    o->decode = (fb_decode_limits){ fb_default_jobs(), FB_DECODE_TIMEOUT, FB_PHOTO_MAX_PIXELS, argv[0] };
    o->near_dup_bits = FB_PHASH_DEFAULT_MAXDIST;
    o->cosine = FB_FEATURE_SAME_COSINE;
    o->seed = 1;
    int c;
    while ((c = getopt_long(argc, argv, "l:f:d:c:s:j:", longopts, NULL)) != -1) {
        switch (c) {
        case 'J': o->json = 1; break;
        case 'S': o->sheet = optarg; break;
        case 'l': o->lists = optarg; break;
        case 'f': o->features = optarg; break;
        case 'd': o->near_dup_bits = (int)fb_opt_long("--near-dup", optarg, 0, 64); break;
        case 'c':
            /* A cosine of 0 would call every photo the same. */
            o->cosine = fb_opt_double("--cosine", optarg, 0, 1);
            if (o->cosine <= 0) fb_die(FB_EXIT_USAGE, "--cosine: '%s' is not above 0", optarg);
            break;
        case 's':
            o->seed = fb_opt_seed("--seed", optarg);
            break;
        case 'j': o->decode.jobs = fb_opt_jobs("--jobs", optarg); break;
        case 'T': o->decode.timeout = fb_opt_timeout("--timeout", optarg); break;
        case 'P': o->decode.max_pixels = fb_opt_pixels("--max-pixels", optarg); break;
        default: fputs(usage, stderr); exit(FB_EXIT_USAGE);
        }
    }
    if (o->lists && optind != argc)
        fb_die(FB_EXIT_USAGE, "give either -l OUTDIR or DIR, not both (try --help)");
    if (!o->lists) {
        if (optind != argc - 1) fb_die(FB_EXIT_USAGE, "expected one photo folder DIR (try --help)");
        o->dir = argv[optind];
    }
}

/* ---- training photos unlike the others ---- */

/* A photo the unknown test calls unknown among its own training set. */
typedef struct { size_t file; double dist, rank; } unusual;

static int by_distance_desc(const void *a, const void *b)
{
    const unusual *x = a, *y = b;
    return (x->dist < y->dist) - (x->dist > y->dist);
}

/* The training photos (every photo of a folder; the train list of fb-split's
 * lists) whose held-out distance to the others is beyond the cut fb-train
 * would store (its default rate and k; a photo's same-photo group left out,
 * as there), most unusual first.  NULL with *n 0 when there is nothing to
 * test (the reason noted). */
static unusual *find_unusual(const fb_audit_file *files, size_t nfiles, const fb_photo_group *groups,
                             size_t ngroups, const char *path, size_t *n, double *cut)
{
    *n = 0;
    char err[512];
    FILE *f = fb_open_input(path);
    if (!f) return NULL;    /* the near-duplicate pass said why */
    fb_featset fs;
    int rc = fb_featset_read(&fs, f, path, err, sizeof err);
    if (f != stdin) fclose(f);
    if (rc != 0) return NULL;
    uint32_t *group_of = fb_xcalloc(nfiles ? nfiles : 1, sizeof *group_of);
    for (size_t g = 0; g < ngroups; g++)
        for (size_t m = 0; m < groups[g].n; m++) group_of[groups[g].members[m]] = (uint32_t)g + 1;
    float *x = fb_xmalloc((fs.n ? fs.n : 1) * (size_t)fs.dim * sizeof *x);
    uint32_t *group = fb_xmalloc((fs.n ? fs.n : 1) * sizeof *group);
    size_t *file = fb_xmalloc((fs.n ? fs.n : 1) * sizeof *file), m = 0;
    unsigned char *seen = fb_xcalloc(nfiles ? nfiles : 1, 1);
    for (size_t r = 0; r < fs.n; r++) {
        size_t i;
        for (i = 0; i < nfiles && (seen[i] || strcmp(files[i].path, fs.ids[r]) != 0); i++) {}
        if (i == nfiles || (files[i].split != FB_TRAIN && files[i].split != FB_NO_SPLIT)) continue;
        seen[i] = 1;
        memcpy(x + m * fs.dim, fs.x + r * fs.dim, (size_t)fs.dim * sizeof *x);
        group[m] = group_of[i];
        file[m++] = i;
    }
    unusual *out = NULL;
    fb_reject rj;
    if (m > FB_REJECT_MAX_POINTS) {
        fb_warn("%s: %zu training photos, more than the unknown test keeps (%d): not listing "
                "unusual ones", path, m, FB_REJECT_MAX_POINTS);
    } else if (fb_reject_fit(&rj, x, m, fs.dim, group, FB_REJECT_DEFAULT_K, FB_REJECT_DEFAULT_RATE, 1,
                             err, sizeof err) != 0) {
        fb_warn("%s: unknown test: %s", path, err);
    } else {
        double *dist = fb_xmalloc(m * sizeof *dist);
        if (fb_reject_held_out(&rj, group, dist) != 0) fb_die(FB_EXIT_FAILURE, "out of memory");
        out = fb_xmalloc(m * sizeof *out);
        *cut = rj.cut;
        for (size_t r = 0; r < m; r++)
            if (dist[r] > rj.cut) out[(*n)++] = (unusual){ file[r], dist[r], fb_reject_rank(&rj, dist[r]) };
        qsort(out, *n, sizeof *out, by_distance_desc);
        free(dist);
        fb_reject_free(&rj);
    }
    free(seen);
    free(file);
    free(group);
    free(x);
    free(group_of);
    fb_featset_free(&fs);
    return out;
}

static void print_unusual(const fb_dataset *ds, const fb_audit_file *files, const unusual *u, size_t n,
                          double cut)
{
    printf("\nunusual training photos (worth a look): %zu unlike the others", n);
    if (n == 0) {
        printf("\n");
        return;
    }
    printf(" (fb-train's unknown test, cut %.4f), most unusual first\n"
           "class\tdistance\trank\tpath\n", cut);
    for (size_t i = 0; i < n; i++)
        printf("%s\t%.4f\t%.4f\t%s\n", ds->classes[files[u[i].file].label], u[i].dist, u[i].rank,
               files[u[i].file].path);
}

static json_t *unusual_json(const fb_dataset *ds, const fb_audit_file *files, const unusual *u, size_t n,
                            double cut)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        fb_json_push(list, json_pack("{s:o, s:o, s:f, s:f}", "path", fb_json_text(files[u[i].file].path),
                                              "class", fb_json_text(ds->classes[files[u[i].file].label]),
                                              "distance", u[i].dist, "rank", u[i].rank));
    return json_pack("{s:f, s:o}", "cut", cut, "photos", list);
}

/* ---- main ---- */

static void say(void *ctx, const char *msg)
{
    (void)ctx;
    fb_warn("%s", msg);
}
static const fb_notes notes = { say, NULL };

typedef struct { fb_progress progress; size_t n; } inspection;

/* Names each unusable file as its turn comes, in input order. */
static void inspected(void *ctx, size_t i, const fb_audit_file *f)
{
    inspection *in = ctx;
    if (f->state != FB_FILE_OK) fb_warn("%s: %s", f->path, f->problem);
    fb_progress_update(&in->progress, i + 1, in->n);
}

/* Every file inspected in decoder processes: a file that hangs or kills
 * its decoder is an unusable file like any other. */
static fb_audit_file *inspect_all(const fb_dataset *ds, const fb_decode_limits *limits)
{
    size_t n = ds->nitems;
    fb_audit_file *files = fb_xcalloc(n, sizeof *files);
    for (size_t i = 0; i < n; i++) {
        files[i].path = ds->items[i].path;
        files[i].label = ds->items[i].label;
        files[i].split = ds->items[i].split;
    }
    inspection in = { .n = n };
    fb_progress_init(&in.progress, "files");
    char err[512];
    if (fb_audit_inspect_all(files, n, limits, inspected, &in, err, sizeof err) != 0)
        fb_die(FB_EXIT_FAILURE, "%s", err);
    fb_progress_done(&in.progress, n);
    return files;
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_catch_signals();
    fb_handle_help_version(argc, argv, usage);
    options opt;
    parse_args(argc, argv, &opt);
    if (opt.features) fb_input_limits();   /* the stream limits of FB_LIMITS */
    char err[512];

    fb_dataset ds;
    int input_problems = opt.lists ? fb_dataset_read_lists(&ds, opt.lists, &notes)
                                   : fb_dataset_scan(&ds, opt.dir, 1, &notes);
    if (input_problems < 0) fb_die(FB_EXIT_FAILURE, "out of memory");
    if (ds.nitems == 0) fb_die(FB_EXIT_FAILURE, "no files to audit");
    if (fb_dataset_check_classes(&ds, opt.lists ? opt.lists : opt.dir, err, sizeof err) != 0)
        fb_die(FB_EXIT_FAILURE, "%s", err);

    audit a = { .source = opt.lists ? opt.lists : opt.dir, .lists = opt.lists != NULL,
                .near_dup_bits = opt.near_dup_bits, .ds = &ds, .n = ds.nitems };
    fb_audit_file *files = inspect_all(&ds, &opt.decode);
    a.files = files;
    fb_photo_group *groups = fb_audit_near_duplicates(files, a.n, opt.near_dup_bits, opt.features,
                                                      opt.cosine, &a.ngroups, &a.feature_rows,
                                                      &notes, err, sizeof err);
    if (!groups) fb_die(FB_EXIT_FAILURE, "%s", err);
    a.groups = groups;
    if (opt.features && a.feature_rows < 0) input_problems++;

    fb_class_summary *classes = fb_xcalloc(ds.nclasses ? ds.nclasses : 1, sizeof *classes);
    for (int c = 0; c < ds.nclasses; c++)
        if (fb_audit_summarise_class(files, a.n, c, &classes[c]) != 0) fb_die(FB_EXIT_FAILURE, "out of memory");
    a.classes = classes;
    if (fb_audit_test_shortcut(files, a.n, ds.nclasses, opt.seed, &a.shortcut) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    a.verdict = fb_audit_judge(files, a.n, groups, a.ngroups, &a.shortcut, input_problems);

    size_t nunusual = 0;
    double cut = 0;
    unusual *odd = opt.features && a.feature_rows > 0
                 ? find_unusual(files, a.n, groups, a.ngroups, opt.features, &nunusual, &cut) : NULL;
    if (opt.json) {
        json_t *root = fb_audit_report_json(&a);
        if (odd) fb_json_set(root, "unusual", unusual_json(&ds, files, odd, nunusual, cut));
        if (json_dumpf(root, stdout, JSON_INDENT(2)) != 0) fb_die(FB_EXIT_FAILURE, "stdout: write error");
        putchar('\n');
        json_decref(root);
    } else {
        fb_audit_print_report(&a);
        if (odd) print_unusual(&ds, files, odd, nunusual, cut);
    }
    free(odd);
    if (fflush(stdout) != 0) fb_die(FB_EXIT_FAILURE, "cannot write the report: %s", strerror(errno));
    /* libvips starts here, after the decoder processes are done: a
     * process that forks decoders must not have started it. */
    if (opt.sheet && fb_photo_vips_start(argv[0], err, sizeof err)) fb_die(FB_EXIT_FAILURE, "%s", err);
    if (opt.sheet && fb_sheet_groups(files, groups, a.ngroups, ds.classes, opt.sheet, err, sizeof err))
        fb_die(FB_EXIT_FAILURE, "%s", err);

    fb_photo_groups_free(groups, a.ngroups);
    for (int c = 0; c < ds.nclasses; c++) fb_class_summary_free(&classes[c]);
    free(classes);
    free(files);
    fb_dataset_free(&ds);
    if (opt.sheet) fb_photo_vips_stop();
    return a.verdict.status;
}
