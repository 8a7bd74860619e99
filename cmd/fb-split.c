/* fb-split: class-per-folder photo tree -> train/val/test lists, stratified,
 * seeded, with duplicate and near-duplicate photos kept in one split. */
#include "fb/phash.h"
#include "fb/split.h"
#include "fb/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <vips/vips.h>

static const char usage[] =
    "usage: fb-split [-r TRAIN:VAL:TEST] [-s SEED] [-d BITS | --no-near-dups] -o OUTDIR DIR\n"
    "Splits a class-per-folder photo tree (DIR/class/file) into OUTDIR/train.tsv,\n"
    "val.tsv and test.tsv, lines 'label<TAB>path', stratified per class.\n"
    "  -r, --ratio R        shares, default 70:15:15\n"
    "  -s, --seed N         random seed, default 1\n"
    "  -o, --output OUTDIR  where the lists go (created when missing)\n"
    "  -d, --near-dup BITS  pHash distance for 'same photo', default 8 (0..64)\n"
    "      --no-near-dups   keep only byte-identical files together\n"
    "Byte-identical files and near-duplicate photos go to one split.  See fb-split(1).\n";

typedef struct {
    double ratio[FB_NSPLITS];
    uint64_t seed;
    const char *outdir, *dir;
    int near_dup_bits;           /* -1 = off */
} options;

static void parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        { "ratio", required_argument, 0, 'r' }, { "seed", required_argument, 0, 's' },
        { "output", required_argument, 0, 'o' }, { "near-dup", required_argument, 0, 'd' },
        { "no-near-dups", no_argument, 0, 'N' }, { 0, 0, 0, 0 } };
    char err[256];
    fb_parse_ratios("70:15:15", o->ratio, err, sizeof err);
    o->seed = 1;
    o->outdir = o->dir = NULL;
    o->near_dup_bits = FB_PHASH_DEFAULT_MAXDIST;
    int c;
    while ((c = getopt_long(argc, argv, "r:s:o:d:", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'r':
            if (fb_parse_ratios(optarg, o->ratio, err, sizeof err))
                fb_die(FB_EXIT_USAGE, "%s", err);
            break;
        case 's':
            errno = 0;
            o->seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-')
                fb_die(FB_EXIT_USAGE, "bad seed '%s': expected a non-negative integer", optarg);
            break;
        case 'o': o->outdir = optarg; break;
        case 'd': {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 0 || v > 64)
                fb_die(FB_EXIT_USAGE, "bad near-duplicate distance '%s': expected 0..64 bits", optarg);
            o->near_dup_bits = (int)v;
            break;
        }
        case 'N': o->near_dup_bits = -1; break;
        default: fputs(usage, stderr); exit(FB_EXIT_USAGE);
        }
    }
    if (!o->outdir) fb_die(FB_EXIT_USAGE, "missing -o OUTDIR (try --help)");
    if (optind != argc - 1) fb_die(FB_EXIT_USAGE, "expected one photo folder DIR (try --help)");
    o->dir = argv[optind];
}

/* Fills group[] (representative per item); returns the number of files that
 * could not be read or decoded. */
static int find_groups(const fb_dataset *ds, int near_dup_bits, size_t *group)
{
    size_t n = ds->nitems;
    int problems = 0;
    uint64_t *size = fb_xcalloc(n ? n : 1, sizeof *size), *digest = fb_xcalloc(n ? n : 1, 8);
    fb_phash *hash = fb_xcalloc(n ? n : 1, sizeof *hash);
    unsigned char *has_digest = fb_xcalloc(n ? n : 1, 1), *has_hash = fb_xcalloc(n ? n : 1, 1);
    char **paths = fb_xmalloc((n ? n : 1) * sizeof *paths);
    fb_progress progress;
    fb_progress_init(&progress, "files");
    for (size_t i = 0; i < n; i++) {
        paths[i] = ds->items[i].path;
        if (fb_file_digest(paths[i], &size[i], &digest[i]) != 0) {
            fb_warn("%s: cannot read: %s", paths[i], strerror(errno));
            problems++;
            continue;
        }
        has_digest[i] = 1;
        if (near_dup_bits >= 0) {
            char err[512];
            if (fb_phash_file(paths[i], &hash[i], err, sizeof err) != 0) {
                fb_warn("%s: %s (kept, but not checked for near-duplicates)", paths[i], err);
                problems++;
            } else {
                has_hash[i] = 1;
            }
        }
        fb_progress_update(&progress, i + 1, n);
    }
    fb_progress_done(&progress, n);
    fb_groups g;
    if (fb_groups_init(&g, n)) fb_die(FB_EXIT_FAILURE, "out of memory");
    fb_groups_join_identical(&g, paths, size, digest, has_digest);
    if (near_dup_bits >= 0) fb_groups_join_phash(&g, hash, has_hash, near_dup_bits);
    for (size_t i = 0; i < n; i++) group[i] = fb_groups_find(&g, i);
    /* Mark which groups are all byte-identical, for the report: reuse has_hash. */
    for (size_t i = 0; i < n; i++) {
        size_t r = group[i];
        has_hash[i] = has_digest[i] && has_digest[r] && size[i] == size[r] && digest[i] == digest[r];
    }
    size_t groups_kept = 0, files_kept = 0;
    for (size_t r = 0; r < n; r++) {
        if (group[r] != r) continue;
        size_t members = 0;
        int identical = 1, cross_class = 0;
        for (size_t i = r; i < n; i++)
            if (group[i] == r) {
                members++;
                identical &= has_hash[i];
                cross_class |= ds->items[i].label != ds->items[r].label;
            }
        if (members < 2) continue;
        groups_kept++;
        files_kept += members;
        fprintf(stderr, "%s: kept together (%zu %s files%s):", fb_progname(), members,
                identical ? "byte-identical" : "near-duplicate",
                cross_class ? ", IN DIFFERENT CLASSES" : "");
        for (size_t i = r; i < n; i++)
            if (group[i] == r) fprintf(stderr, " %s", paths[i]);
        fputc('\n', stderr);
    }
    if (groups_kept)
        fprintf(stderr, "%s: kept %zu group%s of the same photo together (%zu files)\n",
                fb_progname(), groups_kept, groups_kept == 1 ? "" : "s", files_kept);
    fb_groups_free(&g);
    free(size); free(digest); free(hash); free(has_digest); free(has_hash); free(paths);
    return problems;
}

static int write_lists(const fb_dataset *ds, const char *outdir)
{
    if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        fb_warn("%s: cannot create folder: %s", outdir, strerror(errno));
        return -1;
    }
    fb_atomic out[FB_NSPLITS];
    int opened = 0, rc = 0;
    for (; opened < FB_NSPLITS; opened++) {
        char *path = fb_xmalloc(strlen(outdir) + 16);
        sprintf(path, "%s/%s.tsv", outdir, fb_split_names[opened]);
        int bad = fb_atomic_open(&out[opened], path);
        if (bad) fb_warn("%s: cannot write: %s", path, strerror(errno));
        free(path);
        if (bad) { rc = -1; break; }
    }
    /* All three are written to temporary files first and renamed together at
     * the end, so a failure leaves the old lists (if any) in place. */
    for (size_t i = 0; rc == 0 && i < ds->nitems; i++) {
        const fb_item *it = &ds->items[i];
        if (fprintf(out[it->split].f, "%s\t%s\n", ds->classes[it->label], it->path) < 0) {
            fb_warn("%s: write error: %s", outdir, strerror(errno));
            rc = -1;
        }
    }
    for (int s = 0; s < opened; s++) {
        if (rc != 0) { fb_atomic_abort(&out[s]); continue; }
        char *path = fb_xstrdup(out[s].path);
        if (fb_atomic_commit(&out[s]) != 0) {
            fb_warn("%s: cannot write: %s", path, strerror(errno));
            rc = -1;
        }
        free(path);
    }
    return rc;
}

static void report_counts(const fb_dataset *ds)
{
    size_t count[FB_NSPLITS] = { 0 };
    for (size_t i = 0; i < ds->nitems; i++) count[ds->items[i].split]++;
    fprintf(stderr, "%s: %d classes, %zu files: train %zu, val %zu, test %zu\n", fb_progname(),
            ds->nclasses, ds->nitems, count[FB_TRAIN], count[FB_VAL], count[FB_TEST]);
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_handle_help_version(argc, argv, usage);
    options o;
    parse_args(argc, argv, &o);
    if (VIPS_INIT(argv[0])) fb_die(FB_EXIT_FAILURE, "cannot start libvips");
    fb_phash_vips_setup();

    fb_dataset ds;
    if (fb_dataset_scan(&ds, o.dir, 0) != 0)
        fb_die(FB_EXIT_FAILURE, "nothing written: fix the problems above first");
    size_t *group = fb_xmalloc((ds.nitems ? ds.nitems : 1) * sizeof *group);
    int unreadable = find_groups(&ds, o.near_dup_bits, group);
    if (fb_split_assign(&ds, group, o.ratio, o.seed) != 0)
        fb_die(FB_EXIT_FAILURE, "nothing written: fix the problems above first");
    if (write_lists(&ds, o.outdir) != 0) fb_die(FB_EXIT_FAILURE, "lists not written");
    report_counts(&ds);
    if (unreadable)
        fb_warn("%d file%s could not be read or decoded (listed above; still in the lists)",
                unreadable, unreadable == 1 ? "" : "s");
    free(group);
    fb_dataset_free(&ds);
    vips_shutdown();
    return unreadable ? FB_EXIT_FAILURE : FB_EXIT_OK;
}
