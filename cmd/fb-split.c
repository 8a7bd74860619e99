/* fb-split: class-per-folder photo tree -> train/val/test lists, stratified,
 * seeded, with duplicate and near-duplicate photos kept in one split. */
#include "common/common.h"
#include "common/input.h"
#include "fb/dataset.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

static const char usage[] =
    "usage: fb-split [-r TRAIN:VAL:TEST] [-s SEED] [-d BITS | --no-near-dups]\n"
    "                [-f FEATURES.fbt [-c COS]] [-j N] [--timeout SECONDS]\n"
    "                [--max-pixels N] -o OUTDIR DIR\n"
    "Splits a class-per-folder photo tree (DIR/class/file) into OUTDIR/train.tsv,\n"
    "val.tsv and test.tsv, lines 'label<TAB>path', stratified per class.\n"
    "  -r, --ratio R        shares, default 70:15:15\n"
    "  -s, --seed N         random seed, default 1\n"
    "  -o, --output OUTDIR  where the lists go (created when missing)\n"
    "  -d, --near-dup BITS  pHash distance for 'same photo', default 8 (0..64)\n"
    "      --no-near-dups   keep only byte-identical files together\n"
    "  -f, --features FILE  also keep together photos whose backbone features\n"
    "                       (fb-feat, record ids DIR/class/file) have cosine >= COS\n"
    "  -c, --cosine COS     feature cosine for 'same photo', default " STR(FB_FEATURE_SAME_COSINE) "\n"
    "  -j, --jobs N         decoder processes (default: number of cores)\n"
    "      --timeout SECONDS  give up on a file after this long (default 30)\n"
    "      --max-pixels N   refuse images over N pixels, e.g. 100M (default)\n"
    "Byte-identical files and near-duplicate photos go to one split; with -f the\n"
    "same rule as fb-audit -f.  See fb-split(1).\n";

typedef struct {
    double ratio[FB_NSPLITS];
    uint64_t seed;
    const char *outdir, *dir;
    int near_dup_bits;           /* -1 = off */
    const char *features;        /* fb-feat stream, or NULL */
    double cosine;
    fb_decode_limits decode;
} options;

static void parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        { "ratio", required_argument, 0, 'r' }, { "seed", required_argument, 0, 's' },
        { "output", required_argument, 0, 'o' }, { "near-dup", required_argument, 0, 'd' },
        { "no-near-dups", no_argument, 0, 'N' }, { "features", required_argument, 0, 'f' },
        { "cosine", required_argument, 0, 'c' }, { "jobs", required_argument, 0, 'j' },
        { "timeout", required_argument, 0, 'T' }, { "max-pixels", required_argument, 0, 'P' },
        { 0, 0, 0, 0 } };
    char err[256];
    fb_parse_ratios("70:15:15", o->ratio, err, sizeof err);
    o->seed = 1;
    o->outdir = o->dir = NULL;
    o->near_dup_bits = FB_PHASH_DEFAULT_MAXDIST;
    o->features = NULL;
    o->cosine = FB_FEATURE_SAME_COSINE;
    o->decode = (fb_decode_limits){ fb_default_jobs(), FB_DECODE_TIMEOUT, FB_PHOTO_MAX_PIXELS, argv[0] };
    int c;
    while ((c = getopt_long(argc, argv, "r:s:o:d:f:c:j:", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (fb_parse_ratios(optarg, o->ratio, err, sizeof err))
                fb_die(FB_EXIT_USAGE, "%s (-r, --ratio)", err);
            break;
        case 's':
            o->seed = fb_opt_seed("--seed", optarg);
            break;
        case 'o': o->outdir = optarg; break;
        case 'd': o->near_dup_bits = (int)fb_opt_long("--near-dup", optarg, 0, 64); break;
        case 'N': o->near_dup_bits = -1; break;
        case 'f': o->features = optarg; break;
        case 'c':
            /* A cosine of 0 would call every photo the same. */
            o->cosine = fb_opt_double("--cosine", optarg, 0, 1);
            if (o->cosine <= 0) fb_die(FB_EXIT_USAGE, "--cosine: '%s' is not above 0", optarg);
            break;
        case 'j': o->decode.jobs = fb_opt_jobs("--jobs", optarg); break;
        case 'T': o->decode.timeout = fb_opt_timeout("--timeout", optarg); break;
        case 'P': o->decode.max_pixels = fb_opt_pixels("--max-pixels", optarg); break;
        default: fputs(usage, stderr); exit(FB_EXIT_USAGE);
        }
    }
    if (!o->outdir) fb_die(FB_EXIT_USAGE, "missing -o OUTDIR (try --help)");
    if (optind != argc - 1) fb_die(FB_EXIT_USAGE, "expected one photo folder DIR (try --help)");
    o->dir = argv[optind];
}

static void say(void *ctx, const char *msg)
{
    (void)ctx;
    fb_warn("%s", msg);
}
static const fb_notes notes = { say, NULL };

typedef struct { fb_progress progress; size_t n; int problems; } key_reading;

/* Names each file that could not be read or hashed, in input order. */
static void key_read(void *ctx, size_t i, const fb_photo_key *k, int rc, const char *err)
{
    key_reading *r = ctx;
    if (rc < 0) fb_warn("%s: %s", k->path, err);
    if (rc > 0) fb_warn("%s: %s (kept, but not checked for near-duplicates)", k->path, err);
    r->problems += rc != 0;
    fb_progress_update(&r->progress, i + 1, r->n);
}

/* Digest and pHash of every file, in decoder processes (a file that hangs
 * or kills its decoder is named and kept, like one that cannot be decoded),
 * with progress; returns the number of files that could not be read or
 * decoded. */
static int read_keys(const fb_dataset *ds, int with_phash, const fb_decode_limits *limits,
                     fb_photo_key *keys)
{
    for (size_t i = 0; i < ds->nitems; i++) {
        const fb_item *it = &ds->items[i];
        keys[i] = (fb_photo_key){ .path = it->path, .label = it->label, .split = it->split };
    }
    key_reading r = { .n = ds->nitems };
    fb_progress_init(&r.progress, "files");
    char err[512];
    if (fb_photo_keys_read(keys, ds->nitems, with_phash, limits, key_read, &r, err, sizeof err) != 0)
        fb_die(FB_EXIT_FAILURE, "%s", err);
    fb_progress_done(&r.progress, ds->nitems);
    return r.problems;
}

/* fb-audit -f's rule: joins the photos whose features are alike.  A stream
 * that cannot be used, or that names none of the photos, stops the split:
 * lists made without the grouping asked for would look right and leak. */
static void join_by_features(fb_groups *g, const fb_photo_key *keys, size_t n, const options *o)
{
    size_t rows;
    fb_input_limits();   /* the stream limits of FB_LIMITS */
    int rc = fb_same_photo_join_features(g, keys, n, o->features, o->cosine, &rows, &notes);
    if (rc < 0) fb_die(FB_EXIT_FAILURE, "out of memory");
    if (rc > 0) fb_die(FB_EXIT_FAILURE, "nothing written: %s is not a usable feature stream", o->features);
    if (rows == 0)
        fb_die(FB_EXIT_FAILURE, "nothing written: no record of %s names a photo of %s (make the features "
               "from lists of this folder, given the same way: fb-prep < OUTDIR/train.tsv ...)",
               o->features, o->dir);
    if (rows < n)
        fb_warn("%s: features for %zu of %zu photos; the other %zu are grouped by pHash only",
                o->features, rows, n, n - rows);
}

/* Names the groups that will be kept in one split. */
static void report_groups(const fb_photo_group *groups, size_t ngroups, const fb_photo_key *keys)
{
    size_t files = 0;
    for (size_t g = 0; g < ngroups; g++) {
        const fb_photo_group *dg = &groups[g];
        files += dg->n;
        fprintf(stderr, "%s: kept together (%zu %s files%s):", fb_progname(), dg->n,
                dg->identical ? "byte-identical" : "near-duplicate",
                dg->nclasses > 1 ? ", IN DIFFERENT CLASSES" : "");
        for (size_t k = 0; k < dg->n; k++) fprintf(stderr, " %s", keys[dg->members[k]].path);
        fputc('\n', stderr);
    }
    if (ngroups)
        fprintf(stderr, "%s: kept %zu %s of the same photo together (%zu %s)\n", fb_progname(),
                ngroups, fb_plural(ngroups, "group", "groups"), files, fb_plural(files, "file", "files"));
}

static void report_counts(const fb_dataset *ds)
{
    size_t count[FB_NSPLITS] = { 0 };
    for (size_t i = 0; i < ds->nitems; i++) count[ds->items[i].split]++;
    fprintf(stderr, "%s: %d %s, %zu %s: train %zu, val %zu, test %zu\n", fb_progname(),
            ds->nclasses, fb_plural(ds->nclasses, "class", "classes"), ds->nitems,
            fb_plural(ds->nitems, "file", "files"), count[FB_TRAIN], count[FB_VAL], count[FB_TEST]);
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_catch_signals();
    fb_handle_help_version(argc, argv, usage);
    options o;
    parse_args(argc, argv, &o);
    char err[512];

    fb_dataset ds;
    int problems = fb_dataset_scan(&ds, o.dir, 0, &notes);
    if (problems < 0) fb_die(FB_EXIT_FAILURE, "out of memory");
    if (problems > 0) fb_die(FB_EXIT_FAILURE, "nothing written: fix the problems above first");
    if (fb_dataset_check_classes(&ds, o.dir, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    size_t n = ds.nitems, ngroups;
    fb_photo_key *keys = fb_xmalloc((n ? n : 1) * sizeof *keys);
    size_t *group = fb_xmalloc((n ? n : 1) * sizeof *group);
    int unreadable = read_keys(&ds, o.near_dup_bits >= 0, &o.decode, keys);
    fb_groups g;
    if (fb_groups_init(&g, n) || fb_same_photo_join(&g, keys, n, o.near_dup_bits))
        fb_die(FB_EXIT_FAILURE, "out of memory");
    if (o.features) join_by_features(&g, keys, n, &o);
    for (size_t i = 0; i < n; i++) group[i] = fb_groups_find(&g, i);
    fb_photo_group *groups = fb_photo_groups(&g, keys, n, &ngroups);
    if (!groups) fb_die(FB_EXIT_FAILURE, "out of memory");
    report_groups(groups, ngroups, keys);
    fb_dataset_number_groups(&ds, groups, ngroups);

    int rc = fb_split_assign(&ds, group, o.ratio, o.seed, &notes);
    if (rc < 0) fb_die(FB_EXIT_FAILURE, "out of memory");
    if (rc > 0) fb_die(FB_EXIT_FAILURE, "nothing written: fix the problems above first");
    if (fb_dataset_write_lists(&ds, o.outdir, err, sizeof err) != 0) {
        fb_warn("%s", err);
        fb_die(FB_EXIT_FAILURE, "lists not written");
    }
    report_counts(&ds);
    if (unreadable)
        fb_warn("%d %s could not be read or decoded (listed above; still in the lists)",
                unreadable, fb_plural(unreadable, "file", "files"));
    fb_photo_groups_free(groups, ngroups);
    fb_groups_free(&g);
    free(group);
    free(keys);
    fb_dataset_free(&ds);
    return unreadable ? FB_EXIT_FAILURE : FB_EXIT_OK;
}
