/* fb-audit: finds leaks (the same photo in train and test) and shortcuts
 * (metadata that predicts the class) in a photo set before anyone trusts an
 * accuracy number measured on it. */
#include "fb/audit.h"
#include "fb/phash.h"
#include "fb/split.h"
#include "fb/stream.h"
#include "fb/util.h"

#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
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

/* Metadata "strongly" predicts the class when the cross-validated tree
 * removes at least half of the errors of always guessing the largest class
 * (2 balanced classes: 75% or more); "noticeably" at a fifth. */
#define SHORTCUT_STRONG 0.5
#define SHORTCUT_NOTICE 0.2

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

/* ---- near-duplicate groups ---- */

typedef struct {
    size_t *members;           /* indices into files, sorted */
    size_t n;
    int identical;             /* all byte-identical */
    int max_bits;              /* largest pHash distance to the first member, -1 unknown */
    unsigned splits;           /* bit per split present */
    int nclasses;              /* distinct classes */
} dup_group;

static int popcount_u(unsigned x) { return __builtin_popcount(x); }

/* Joins photos whose backbone features are nearly parallel.  Returns the
 * number of stream records that matched a file, -1 when the stream is unusable. */
static long join_by_features(fb_groups *g, const fb_audit_file *files, size_t n,
                             const char *path, double cosine)
{
    FILE *f = fb_open_input(path);
    if (!f) { fb_warn("%s: %s", path, strerror(errno)); return -1; }
    char err[256];
    fb_reader *r = fb_reader_open(f, path, err, sizeof err);
    if (!r) { fb_warn("%s", err); if (f != stdin) fclose(f); return -1; }
    const fb_header *h = fb_reader_header(r);
    if (h->dtype != FB_F32 || h->rank != 1) {
        fb_warn("%s: expected feature vectors (float32, one dimension), got %s rank %d",
                path, fb_dtype_name(h->dtype), h->rank);
        fb_reader_close(r); if (f != stdin) fclose(f);
        return -1;
    }
    size_t d = h->dims[0];
    float *vec = calloc(n * d, sizeof *vec);
    size_t *which = malloc(n * sizeof *which);   /* matched file index per row */
    unsigned char *seen = calloc(n, 1);
    if (!vec || !which || !seen) fb_die(FB_EXIT_FAILURE, "out of memory for %zu features", n);
    size_t rows = 0;
    long unmatched = 0;
    fb_record rec;
    int got;
    while ((got = fb_reader_next(r, &rec)) == 1) {
        size_t i;
        for (i = 0; i < n && (seen[i] || strcmp(files[i].path, rec.id) != 0); i++) {}
        if (i == n) { unmatched++; continue; }
        seen[i] = 1;
        const float *x = rec.data;
        double norm = 0;
        for (size_t k = 0; k < d; k++) norm += (double)x[k] * x[k];
        norm = norm > 0 ? 1 / sqrt(norm) : 0;
        for (size_t k = 0; k < d; k++) vec[rows * d + k] = (float)(x[k] * norm);
        which[rows++] = i;
    }
    if (got < 0) fb_warn("%s: %s (using the %zu records before)", path, fb_reader_error(r), rows);
    if (unmatched) fb_warn("%s: %ld records name no file of this audit", path, unmatched);
    fb_reader_close(r);
    if (f != stdin) fclose(f);
    /* All cosines, a block of rows at a time: X_block * X^T. */
    enum { BLOCK = 256 };
    float *sim = malloc((size_t)BLOCK * (rows ? rows : 1) * sizeof *sim);
    if (!sim) fb_die(FB_EXIT_FAILURE, "out of memory");
    for (size_t b = 0; b < rows; b += BLOCK) {
        size_t m = rows - b < BLOCK ? rows - b : BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)rows, (int)d, 1.0f,
                    vec + b * d, (int)d, vec, (int)d, 0.0f, sim, (int)rows);
        for (size_t i = 0; i < m; i++)
            for (size_t j = b + i + 1; j < rows; j++)
                if (sim[i * rows + j] >= cosine) fb_groups_join(g, which[b + i], which[j]);
    }
    free(sim); free(vec); free(which); free(seen);
    return (long)rows;
}

static dup_group *collect_groups(fb_groups *g, const fb_audit_file *files, size_t n, size_t *ngroups)
{
    size_t *count = calloc(n ? n : 1, sizeof *count);
    if (!count) fb_die(FB_EXIT_FAILURE, "out of memory");
    for (size_t i = 0; i < n; i++) count[fb_groups_find(g, i)]++;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += count[i] > 1;
    dup_group *groups = fb_xcalloc(m ? m : 1, sizeof *groups);
    m = 0;
    for (size_t r = 0; r < n; r++) {
        if (count[r] < 2) continue;
        dup_group *dg = &groups[m++];
        dg->members = fb_xmalloc(count[r] * sizeof *dg->members);
        dg->identical = 1;
        dg->max_bits = 0;
        for (size_t i = r; i < n; i++) {
            if (fb_groups_find(g, i) != r) continue;
            const fb_audit_file *a = &files[r], *b = &files[i];
            dg->members[dg->n++] = i;
            dg->identical &= a->has_digest && b->has_digest && a->size == b->size &&
                             a->digest == b->digest;
            int bits = a->has_phash && b->has_phash ? fb_hamming(a->phash.full, b->phash.full) : -1;
            if (bits < 0) dg->max_bits = -1;
            else if (dg->max_bits >= 0 && bits > dg->max_bits) dg->max_bits = bits;
            if (b->split != FB_NO_SPLIT) dg->splits |= 1u << b->split;
        }
        dg->nclasses = 1;
        for (size_t k = 1; k < dg->n; k++) {
            int fresh = 1;
            for (size_t l = 0; l < k; l++)
                if (files[dg->members[l]].label == files[dg->members[k]].label) fresh = 0;
            dg->nclasses += fresh;
        }
    }
    free(count);
    *ngroups = m;
    return groups;
}

/* ---- per-class summaries ---- */

static const char *const formats[] = { "jpeg", "png", "webp", "tiff", "gif", "heif" };
enum { NFORMATS = sizeof formats / sizeof formats[0] };

static int format_code(const char *f)
{
    for (int i = 0; i < NFORMATS; i++) if (f && strcmp(f, formats[i]) == 0) return i;
    return NFORMATS;
}

typedef struct { double min, median, max; size_t n; } spread;

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static spread spread_of(double *v, size_t n)
{
    spread s = { 0, 0, 0, n };
    if (!n) return s;
    qsort(v, n, sizeof *v, compare_double);
    s.min = v[0];
    s.max = v[n - 1];
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return s;
}

typedef struct { const char *name; size_t count; } camera_count;

typedef struct {
    size_t files, usable, tiny, with_exif;
    spread width, height, aspect, quality;
    size_t format_count[NFORMATS];
    camera_count *cameras;     /* sorted by count, descending */
    size_t ncameras;
} class_summary;

static int compare_camera(const void *a, const void *b)
{
    const camera_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void summarise_class(const fb_audit_file *files, size_t n, int label, class_summary *s)
{
    memset(s, 0, sizeof *s);
    double *w = fb_xmalloc((n + 1) * sizeof *w), *h = fb_xmalloc((n + 1) * sizeof *h);
    double *a = fb_xmalloc((n + 1) * sizeof *a), *q = fb_xmalloc((n + 1) * sizeof *q);
    size_t nq = 0;
    s->cameras = fb_xmalloc((n + 1) * sizeof *s->cameras);
    for (size_t i = 0; i < n; i++) {
        const fb_audit_file *f = &files[i];
        if (f->label != label) continue;
        s->files++;
        if (f->state != FB_FILE_OK) continue;
        size_t u = s->usable++;
        w[u] = f->width;
        h[u] = f->height;
        a[u] = (double)f->width / f->height;
        if (f->jpeg_quality > 0) q[nq++] = f->jpeg_quality;
        if (f->width < FB_AUDIT_TINY || f->height < FB_AUDIT_TINY) s->tiny++;
        s->with_exif += f->has_exif;
        int fc = format_code(f->format);
        if (fc < NFORMATS) s->format_count[fc]++;
        if (!f->camera[0]) continue;
        size_t k;
        for (k = 0; k < s->ncameras && strcmp(s->cameras[k].name, f->camera) != 0; k++) {}
        if (k == s->ncameras) s->cameras[s->ncameras++] = (camera_count){ f->camera, 0 };
        s->cameras[k].count++;
    }
    s->width = spread_of(w, s->usable);
    s->height = spread_of(h, s->usable);
    s->aspect = spread_of(a, s->usable);
    s->quality = spread_of(q, nq);
    qsort(s->cameras, s->ncameras, sizeof *s->cameras, compare_camera);
    free(w); free(h); free(a); free(q);
}

/* ---- the shortcut test ---- */

typedef struct {
    int tested, folds;
    double chance, accuracy;               /* all metadata */
    double group_accuracy[8];
    int best_group;
    int strong, notice;
    size_t rows;
} shortcut_result;

/* Small integer code per distinct camera string (0 = none). */
static int camera_code(const fb_audit_file *files, size_t i)
{
    if (!files[i].camera[0]) return 0;
    for (size_t j = 0; j < i; j++)
        if (files[j].camera[0] && strcmp(files[j].camera, files[i].camera) == 0)
            return camera_code(files, j);
    return (int)i + 1;
}

static shortcut_result test_shortcut(const fb_audit_file *files, size_t n, int nclasses, uint64_t seed)
{
    shortcut_result res = { 0 };
    double *x = fb_xmalloc((n + 1) * FB_NFEATURES * sizeof *x);
    int *y = fb_xmalloc((n + 1) * sizeof *y);
    long *count = fb_xcalloc(nclasses + 1, sizeof *count);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const fb_audit_file *f = &files[i];
        if (f->state != FB_FILE_OK) continue;
        double *row = x + m * FB_NFEATURES;
        row[FB_FEAT_LOG_WIDTH] = log2(f->width);
        row[FB_FEAT_LOG_HEIGHT] = log2(f->height);
        row[FB_FEAT_LOG_ASPECT] = log2((double)f->width / f->height);
        row[FB_FEAT_FORMAT] = format_code(f->format);
        row[FB_FEAT_QUALITY] = f->jpeg_quality;
        row[FB_FEAT_HAS_EXIF] = f->has_exif;
        row[FB_FEAT_CAMERA] = camera_code(files, i);
        y[m] = f->label;
        count[f->label]++;
        m++;
    }
    res.rows = m;
    long most = 0;
    for (int c = 0; c < nclasses; c++) if (count[c] > most) most = count[c];
    res.chance = m ? (double)most / m : 0;
    res.accuracy = fb_shortcut_cv_accuracy(x, y, m, nclasses, (1u << FB_NFEATURES) - 1, seed,
                                           &res.folds);
    res.tested = res.folds > 0;
    res.best_group = 0;
    for (int g = 0; res.tested && g < fb_nfeature_groups; g++) {
        int folds;
        res.group_accuracy[g] = fb_shortcut_cv_accuracy(x, y, m, nclasses,
                                                        fb_feature_groups[g].mask, seed, &folds);
        if (res.group_accuracy[g] > res.group_accuracy[res.best_group]) res.best_group = g;
    }
    if (res.tested && res.chance < 1) {
        double skill = (res.accuracy - res.chance) / (1 - res.chance);
        res.strong = skill >= SHORTCUT_STRONG;
        res.notice = skill >= SHORTCUT_NOTICE;
    }
    free(x); free(y); free(count);
    return res;
}

/* ---- reports ---- */

typedef struct {
    const options *opt;
    const fb_dataset *ds;
    const fb_audit_file *files;
    size_t n;
    dup_group *groups;
    size_t ngroups, leaks, conflicts, problems;
    class_summary *classes;
    shortcut_result shortcut;
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
    if (a->opt->lists) printf(", %zu spanning splits (LEAK)", a->leaks);
    printf("\n");
    if (!a->ngroups) printf("  none\n");
    for (size_t g = 0; g < a->ngroups; g++) {
        const dup_group *dg = &a->groups[g];
        char splits[64];
        split_list(dg->splits, splits, sizeof splits);
        int leak = popcount_u(dg->splits) > 1;
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
        const class_summary *s = &a->classes[c];
        char size[64], fmt[64] = "", q[24] = "-", cams[160] = "-";
        snprintf(size, sizeof size, "%.0fx%.0f (%.0f..%.0f)", s->width.median, s->height.median,
                 fmin(s->width.min, s->height.min), fmax(s->width.max, s->height.max));
        for (int k = 0; k < NFORMATS; k++)
            if (s->format_count[k])
                snprintf(fmt + strlen(fmt), sizeof fmt - strlen(fmt), "%s%s %.0f%%", fmt[0] ? " " : "",
                         formats[k], 100.0 * s->format_count[k] / s->usable);
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
    const shortcut_result *r = &a->shortcut;
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

static json_t *spread_json(spread s)
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
        const class_summary *s = &a->classes[c];
        json_t *fmts = json_object(), *cams = json_object();
        for (int k = 0; k < NFORMATS; k++)
            if (s->format_count[k]) json_object_set_new(fmts, formats[k], json_integer((json_int_t)s->format_count[k]));
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
        const dup_group *dg = &a->groups[g];
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
            "leak", popcount_u(dg->splits) > 1, "identical", dg->identical, "classes", dg->nclasses,
            "max_bits", dg->max_bits >= 0 ? json_integer(dg->max_bits) : json_null(),
            "splits", splits, "files", members));
    }
    json_object_set_new(root, "near_duplicates", groups);
    json_object_set_new(root, "leaks", json_integer((json_int_t)a->leaks));
    const shortcut_result *r = &a->shortcut;
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

    fb_groups g;
    if (fb_groups_init(&g, a.n)) fb_die(FB_EXIT_FAILURE, "out of memory");
    fb_phash *hash = fb_xmalloc(a.n * sizeof *hash);
    uint64_t *size = fb_xmalloc(a.n * 8), *digest = fb_xmalloc(a.n * 8);
    unsigned char *has_hash = fb_xmalloc(a.n), *has_digest = fb_xmalloc(a.n);
    char **paths = fb_xmalloc(a.n * sizeof *paths);
    for (size_t i = 0; i < a.n; i++) {
        hash[i] = files[i].phash; has_hash[i] = (unsigned char)files[i].has_phash;
        size[i] = files[i].size; digest[i] = files[i].digest;
        has_digest[i] = (unsigned char)files[i].has_digest;
        paths[i] = ds.items[i].path;
    }
    fb_groups_join_identical(&g, paths, size, digest, has_digest);
    fb_groups_join_phash(&g, hash, has_hash, opt.near_dup_bits);
    if (opt.features) {
        a.feature_rows = join_by_features(&g, files, a.n, opt.features, opt.cosine);
        if (a.feature_rows < 0) setup_problems++;
    }
    a.groups = collect_groups(&g, files, a.n, &a.ngroups);
    for (size_t k = 0; k < a.ngroups; k++) {
        a.leaks += popcount_u(a.groups[k].splits) > 1;
        a.conflicts += a.groups[k].nclasses > 1;
    }
    for (size_t i = 0; i < a.n; i++) a.problems += files[i].state != FB_FILE_OK;

    a.classes = fb_xcalloc(ds.nclasses ? ds.nclasses : 1, sizeof *a.classes);
    for (int c = 0; c < ds.nclasses; c++) summarise_class(files, a.n, c, &a.classes[c]);
    a.shortcut = test_shortcut(files, a.n, ds.nclasses, opt.seed);

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

    for (size_t k = 0; k < a.ngroups; k++) free(a.groups[k].members);
    for (int c = 0; c < ds.nclasses; c++) free(a.classes[c].cameras);
    free(a.groups); free(a.classes); free(hash); free(size); free(digest);
    free(has_hash); free(has_digest); free(paths); free(files);
    fb_groups_free(&g);
    fb_dataset_free(&ds);
    vips_shutdown();
    return a.status;
}
