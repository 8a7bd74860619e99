/* fb-audit: finds leaks (the same photo in train and test) and shortcuts
 * (metadata that predicts the class) in a photo set before anyone trusts an
 * accuracy number measured on it. */
#include "fb/audit.h"
#include "fb/phash.h"
#include "fb/split.h"
#include "fb/util.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

static const char usage[] =
    "usage: fb-audit [--json] [-f FEATURES.fbt] [-d BITS] [-c COS] [-s SEED] DIR\n"
    "       fb-audit [--json] [-f FEATURES.fbt] [-d BITS] [-c COS] [-s SEED] -l OUTDIR\n"
    "Checks a class-per-folder photo tree (or the train/val/test.tsv lists in OUTDIR)\n"
    "for near-duplicate photos across splits (leaks), metadata that predicts the class\n"
    "(shortcuts), and files that are not usable images.\n"
    "  -l, --lists OUTDIR    audit the lists fb-split wrote\n"
    "  -f, --features FILE   also group photos whose backbone features (fb-feat) are\n"
    "                        closer than cosine COS\n"
    "  -d, --near-dup BITS   pHash distance for 'same photo', default 8 (0..64)\n"
    "  -c, --cosine COS      feature cosine similarity for 'same photo', default 0.95\n"
    "  -s, --seed N          seed of the cross-validation, default 1\n"
    "      --json            machine-readable report\n"
    "Exit status: 0 clean, 1 unusable files or errors, 2 usage, 3 leak, 4 shortcut,\n"
    "5 leak and shortcut.  See fb-audit(1).\n";

enum { EXIT_LEAK = 3, EXIT_SHORTCUT = 4, EXIT_LEAK_AND_SHORTCUT = 5 };

typedef struct {
    int json;
    const char *lists, *dir, *features;
    int near_dup_bits;
    double cosine;
    uint64_t seed;
} options;

static void parse_args(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        { "json", no_argument, 0, 'J' }, { "lists", required_argument, 0, 'l' },
        { "features", required_argument, 0, 'f' }, { "near-dup", required_argument, 0, 'd' },
        { "cosine", required_argument, 0, 'c' }, { "seed", required_argument, 0, 's' },
        { 0, 0, 0, 0 } };
    memset(o, 0, sizeof *o);
    o->near_dup_bits = FB_PHASH_DEFAULT_MAXDIST;
    o->cosine = 0.95;
    o->seed = 1;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "l:f:d:c:s:", longopts, NULL)) != -1) {
        switch (c) {
        case 'J': o->json = 1; break;
        case 'l': o->lists = optarg; break;
        case 'f': o->features = optarg; break;
        case 'd': {
            long v = strtol(optarg, &end, 10);
            if (end == optarg || *end || v < 0 || v > 64)
                fb_die(FB_EXIT_USAGE, "bad near-duplicate distance '%s': expected 0..64 bits", optarg);
            o->near_dup_bits = (int)v;
            break;
        }
        case 'c':
            o->cosine = strtod(optarg, &end);
            if (end == optarg || *end || !(o->cosine > 0 && o->cosine <= 1))
                fb_die(FB_EXIT_USAGE, "bad cosine '%s': expected a number in (0, 1]", optarg);
            break;
        case 's':
            errno = 0;
            o->seed = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-')
                fb_die(FB_EXIT_USAGE, "bad seed '%s': expected a non-negative integer", optarg);
            break;
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

/* ---- reports ---- */

typedef struct {
    const options *opt;
    const fb_dataset *ds;
    const fb_audit_file *files;
    size_t n;
    fb_dup_group *groups;
    size_t ngroups, leaks, conflicts, problems;
    fb_class_summary *classes;
    fb_shortcut_result shortcut;
    long feature_rows;         /* -1 = no features */
    int status;
} audit;

static void split_list(unsigned splits, char *buf, size_t len)
{
    buf[0] = 0;
    for (int s = 0; s < FB_NSPLITS; s++)
        if (splits & 1u << s)
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "", fb_split_names[s]);
}

static void print_groups(const audit *a)
{
    printf("\nNear-duplicates (same photo: pHash of whole or 92%% crop within %d bits%s): %zu group%s",
           a->opt->near_dup_bits,
           a->feature_rows >= 0 ? ", or feature cosine" : "",
           a->ngroups, a->ngroups == 1 ? "" : "s");
    if (a->opt->lists)
        printf(", %zu spanning splits%s", a->leaks, a->leaks ? " (LEAK)" : "");
    printf("\n");
    if (!a->ngroups) printf("  none\n");
    for (size_t g = 0; g < a->ngroups; g++) {
        const fb_dup_group *dg = &a->groups[g];
        char splits[64];
        split_list(dg->splits, splits, sizeof splits);
        int leak = fb_dup_group_is_leak(dg);
        printf("  %s%zu files, %s", leak ? "LEAK: " : "", dg->n,
               dg->identical ? "byte-identical" : "near-identical");
        if (!dg->identical && dg->max_bits >= 0) printf(" (pHash up to %d bits from the first)", dg->max_bits);
        if (dg->nclasses > 1) printf(", labelled as %d different classes", dg->nclasses);
        if (splits[0]) printf(", in %s", splits);
        printf(":\n");
        for (size_t k = 0; k < dg->n; k++) {
            const fb_audit_file *f = &a->files[dg->members[k]];
            printf("    %-6s %-16s %s\n", f->split >= 0 ? fb_split_names[f->split] : "-",
                   a->ds->classes[f->label], f->path);
        }
    }
    if (a->leaks)
        printf("  -> A leak makes test accuracy measure memory.  Re-split with fb-split,\n"
               "     which keeps each group in one split, or delete the extra copies.\n");
    if (a->conflicts)
        printf("  -> The same photo under two labels: keep it in the right class only.\n");
}

static void print_classes(const audit *a)
{
    printf("\nPer class (usable images; size as displayed):\n");
    int width = 5;   /* the class column fits the longest name */
    for (int c = 0; c < a->ds->nclasses; c++) {
        int len = (int)strlen(a->ds->classes[c]);
        if (len > width) width = len;
    }
    printf("  %-*s %6s %-23s %-14s %-17s %-9s %5s  %s\n", width, "class", "files", "median size (sides)",
           "aspect median", "formats", "JPEG q", "EXIF", "cameras");
    for (int c = 0; c < a->ds->nclasses; c++) {
        const fb_class_summary *s = &a->classes[c];
        char size[64], fmt[64] = "", q[24] = "-", cams[160] = "-";
        snprintf(size, sizeof size, "%.0fx%.0f (%.0f..%.0f)", s->width.median, s->height.median,
                 fmin(s->width.min, s->height.min), fmax(s->width.max, s->height.max));
        for (int k = 0; k < FB_AUDIT_NFORMATS; k++)
            if (s->format_count[k])
                snprintf(fmt + strlen(fmt), sizeof fmt - strlen(fmt), "%s%s %.0f%%", fmt[0] ? " " : "",
                         fb_audit_formats[k], 100.0 * s->format_count[k] / s->usable);
        if (s->quality.n) snprintf(q, sizeof q, "%.0f", s->quality.median);
        if (s->ncameras) {
            cams[0] = 0;
            for (size_t k = 0; k < s->ncameras && k < 2; k++)
                snprintf(cams + strlen(cams), sizeof cams - strlen(cams), "%s%s (%zu)",
                         k ? ", " : "", s->cameras[k].name, s->cameras[k].count);
            if (s->ncameras > 2)
                snprintf(cams + strlen(cams), sizeof cams - strlen(cams), ", %zu more", s->ncameras - 2);
        }
        printf("  %-*s %6zu %-23s %-14.2f %-17s %-9s %4.0f%%  %s\n", width, a->ds->classes[c], s->files,
               size, s->aspect.median, fmt, q, s->usable ? 100.0 * s->with_exif / s->usable : 0.0, cams);
    }
}

static void print_shortcut(const audit *a)
{
    const fb_shortcut_result *r = &a->shortcut;
    printf("\nShortcut test (does metadata alone predict the class?):\n");
    if (!r->tested) {
        printf("  not run: it needs two classes with at least 2 usable images each\n");
        return;
    }
    const char *best = fb_feature_groups[r->best_group].name;
    printf("  size, aspect, format, JPEG quality, camera EXIF and model together: %.0f%% correct "
           "(chance %.0f%%; decision tree, %d-fold cross-validation, %zu images)\n",
           100 * r->accuracy, 100 * r->chance, r->folds, r->rows);
    printf("  one at a time:");
    for (int g = 0; g < fb_nfeature_groups; g++)
        printf("%s %s %.0f%%", g ? "," : "", fb_feature_groups[g].name, 100 * r->group_accuracy[g]);
    printf("\n");
    if (r->strong) {
        printf("  SHORTCUT: %s alone tells the classes apart %.0f%% of the time (chance %.0f%%):\n"
               "  the classes seem to come from different sources, and a classifier can learn\n"
               "  the source instead of the subject.  Make the classes alike in %s (same\n"
               "  camera, same download path, resize and re-encode all photos the same way),\n"
               "  or test on photos from one source.\n",
               best, 100 * r->group_accuracy[r->best_group], 100 * r->chance, best);
    } else if (r->notice) {
        printf("  Note: metadata predicts the class somewhat better than chance; %s tells\n"
               "  the most (%.0f%%).  Worth a look, not alarming.\n",
               best, 100 * r->group_accuracy[r->best_group]);
    } else {
        printf("  no shortcut: metadata predicts the class little better than chance\n");
    }
}

static void print_problems(const audit *a)
{
    size_t tiny = 0;
    for (size_t i = 0; i < a->n; i++)
        tiny += a->files[i].state == FB_FILE_OK &&
                (a->files[i].width < FB_AUDIT_TINY || a->files[i].height < FB_AUDIT_TINY);
    printf("\nUnusable files: %zu; tiny images (under %d pixels on a side): %zu\n", a->problems,
           FB_AUDIT_TINY, tiny);
    for (size_t i = 0; i < a->n; i++) {
        const fb_audit_file *f = &a->files[i];
        if (f->state != FB_FILE_OK) printf("  %s: %s\n", f->path, f->problem);
        else if (f->width < FB_AUDIT_TINY || f->height < FB_AUDIT_TINY)
            printf("  %s: tiny, %dx%d\n", f->path, f->width, f->height);
    }
}

static void print_report(const audit *a)
{
    size_t per_split[FB_NSPLITS] = { 0 };
    for (size_t i = 0; i < a->n; i++) if (a->files[i].split >= 0) per_split[a->files[i].split]++;
    printf("fb-audit: %zu files in %d classes (%s)", a->n, a->ds->nclasses,
           a->opt->lists ? a->opt->lists : a->opt->dir);
    if (a->opt->lists)
        printf(": train %zu, val %zu, test %zu", per_split[0], per_split[1], per_split[2]);
    printf("\n");
    print_groups(a);
    print_classes(a);
    print_shortcut(a);
    print_problems(a);
    char verdict[64] = "";
    if (a->leaks) strcat(verdict, " LEAK");
    if (a->shortcut.strong) strcat(verdict, " SHORTCUT");
    if (a->problems) strcat(verdict, " UNUSABLE-FILES");
    printf("\nVerdict: %s (exit status %d)\n", verdict[0] ? verdict + 1 : "clean", a->status);
}

static json_t *spread_json(fb_spread s)
{
    if (!s.n) return json_null();
    return json_pack("{s:f,s:f,s:f}", "min", s.min, "median", s.median, "max", s.max);
}

static json_t *audit_json(const audit *a)
{
    json_t *root = json_object(), *classes = json_array(), *groups = json_array(), *problems = json_array();
    json_object_set_new(root, "files", json_integer((json_int_t)a->n));
    json_object_set_new(root, "source", json_string(a->opt->lists ? a->opt->lists : a->opt->dir));
    json_object_set_new(root, "mode", json_string(a->opt->lists ? "lists" : "folder"));
    for (int c = 0; c < a->ds->nclasses; c++) {
        const fb_class_summary *s = &a->classes[c];
        json_t *fmts = json_object(), *cams = json_object();
        for (int k = 0; k < FB_AUDIT_NFORMATS; k++)
            if (s->format_count[k]) json_object_set_new(fmts, fb_audit_formats[k], json_integer((json_int_t)s->format_count[k]));
        for (size_t k = 0; k < s->ncameras; k++)
            json_object_set_new(cams, s->cameras[k].name, json_integer((json_int_t)s->cameras[k].count));
        json_array_append_new(classes, json_pack("{s:s,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:f,s:o}",
            "name", a->ds->classes[c], "files", (json_int_t)s->files, "usable", (json_int_t)s->usable,
            "tiny", (json_int_t)s->tiny, "width", spread_json(s->width), "height", spread_json(s->height),
            "aspect", spread_json(s->aspect), "jpeg_quality", spread_json(s->quality),
            "formats", fmts, "exif_fraction", s->usable ? (double)s->with_exif / s->usable : 0.0,
            "cameras", cams));
    }
    json_object_set_new(root, "classes", classes);
    for (size_t g = 0; g < a->ngroups; g++) {
        const fb_dup_group *dg = &a->groups[g];
        json_t *members = json_array(), *splits = json_array();
        for (size_t k = 0; k < dg->n; k++) {
            const fb_audit_file *f = &a->files[dg->members[k]];
            json_array_append_new(members, json_pack("{s:s,s:s,s:o}", "path", f->path,
                "class", a->ds->classes[f->label],
                "split", f->split >= 0 ? json_string(fb_split_names[f->split]) : json_null()));
        }
        for (int s = 0; s < FB_NSPLITS; s++)
            if (dg->splits & 1u << s) json_array_append_new(splits, json_string(fb_split_names[s]));
        json_array_append_new(groups, json_pack("{s:b,s:b,s:i,s:o,s:o,s:o}",
            "leak", fb_dup_group_is_leak(dg), "identical", dg->identical, "classes", dg->nclasses,
            "max_bits", dg->max_bits >= 0 ? json_integer(dg->max_bits) : json_null(),
            "splits", splits, "files", members));
    }
    json_object_set_new(root, "near_duplicates", groups);
    json_object_set_new(root, "leaks", json_integer((json_int_t)a->leaks));
    const fb_shortcut_result *r = &a->shortcut;
    json_t *by = json_object();
    for (int g = 0; r->tested && g < fb_nfeature_groups; g++)
        json_object_set_new(by, fb_feature_groups[g].name, json_real(r->group_accuracy[g]));
    json_object_set_new(root, "shortcut", json_pack("{s:b,s:b,s:b,s:o,s:f,s:i,s:I,s:o,s:o}",
        "tested", r->tested, "strong", r->strong, "notable", r->notice,
        "accuracy", r->tested ? json_real(r->accuracy) : json_null(), "chance", r->chance,
        "folds", r->folds, "images", (json_int_t)r->rows,
        "most_telling", r->tested ? json_string(fb_feature_groups[r->best_group].name) : json_null(),
        "by_feature", by));
    for (size_t i = 0; i < a->n; i++) {
        const fb_audit_file *f = &a->files[i];
        if (f->state != FB_FILE_OK)
            json_array_append_new(problems, json_pack("{s:s,s:s,s:s}", "path", f->path,
                "problem", f->state == FB_FILE_NOT_IMAGE ? "not-image" : "unreadable",
                "message", f->problem));
        else if (f->width < FB_AUDIT_TINY || f->height < FB_AUDIT_TINY)
            json_array_append_new(problems, json_pack("{s:s,s:s,s:s}", "path", f->path,
                "problem", "tiny", "message", "under 64 pixels on a side"));
    }
    json_object_set_new(root, "problems", problems);
    json_object_set_new(root, "status", json_integer(a->status));
    return root;
}

/* ---- main ---- */

static void inspect_all(fb_audit_file *files, size_t n)
{
    fb_progress progress;
    fb_progress_init(&progress, "files");
    for (size_t i = 0; i < n; i++) {
        fb_audit_inspect(&files[i]);
        if (files[i].state != FB_FILE_OK) fb_warn("%s: %s", files[i].path, files[i].problem);
        fb_progress_update(&progress, i + 1, n);
    }
    fb_progress_done(&progress, n);
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_handle_help_version(argc, argv, usage);
    options opt;
    parse_args(argc, argv, &opt);
    if (VIPS_INIT(argv[0])) fb_die(FB_EXIT_FAILURE, "cannot start libvips");
    fb_phash_vips_setup();

    fb_dataset ds;
    int setup_problems = opt.lists ? fb_dataset_read_lists(&ds, opt.lists)
                                   : fb_dataset_scan(&ds, opt.dir, 1);
    if (ds.nitems == 0) fb_die(FB_EXIT_FAILURE, "no files to audit");

    audit a = { .opt = &opt, .ds = &ds, .n = ds.nitems, .feature_rows = -1 };
    fb_audit_file *files = fb_xcalloc(a.n, sizeof *files);
    for (size_t i = 0; i < a.n; i++) {
        files[i].path = ds.items[i].path;
        files[i].label = ds.items[i].label;
        files[i].split = ds.items[i].split;
    }
    inspect_all(files, a.n);
    a.files = files;

    a.groups = fb_audit_near_duplicates(files, a.n, opt.near_dup_bits, opt.features, opt.cosine,
                                        &a.ngroups, &a.feature_rows);
    if (opt.features && a.feature_rows < 0) setup_problems++;
    for (size_t k = 0; k < a.ngroups; k++) {
        a.leaks += fb_dup_group_is_leak(&a.groups[k]);
        a.conflicts += a.groups[k].nclasses > 1;
    }
    for (size_t i = 0; i < a.n; i++) a.problems += files[i].state != FB_FILE_OK;

    a.classes = fb_xcalloc(ds.nclasses ? ds.nclasses : 1, sizeof *a.classes);
    for (int c = 0; c < ds.nclasses; c++) fb_audit_summarise_class(files, a.n, c, &a.classes[c]);
    a.shortcut = fb_audit_test_shortcut(files, a.n, ds.nclasses, opt.seed);

    a.status = a.leaks && a.shortcut.strong ? EXIT_LEAK_AND_SHORTCUT
             : a.leaks ? EXIT_LEAK : a.shortcut.strong ? EXIT_SHORTCUT
             : a.problems || setup_problems ? FB_EXIT_FAILURE : FB_EXIT_OK;
    if (opt.json) {
        json_t *root = audit_json(&a);
        json_dumpf(root, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(root);
    } else {
        print_report(&a);
    }
    if (fflush(stdout) != 0) fb_die(FB_EXIT_FAILURE, "cannot write the report: %s", strerror(errno));

    fb_dup_groups_free(a.groups, a.ngroups);
    for (int c = 0; c < ds.nclasses; c++) fb_class_summary_free(&a.classes[c]);
    free(a.classes); free(files);
    fb_dataset_free(&ds);
    vips_shutdown();
    return a.status;
}
