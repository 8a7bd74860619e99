/* Class-per-folder scanning, list reading and stratified group-aware splits. */
#include "fb/split.h"
#include "fb/rng.h"
#include "fb/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

const char *const fb_split_names[FB_NSPLITS] = { "train", "val", "test" };

/* Nested folders deeper than this are not followed (guards symlink loops). */
#define MAX_DEPTH 16

int fb_has_image_extension(const char *name)
{
    static const char *const ext[] = { "jpg", "jpeg", "png", "webp", "tif", "tiff",
                                       "gif", "heic", "heif", "avif" };
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot + 1, ext[i]) == 0) return 1;
    return 0;
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted non-hidden entry names of dir; NULL, with a warning naming dir,
 * when it cannot be read. */
static char **list_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fb_warn("%s: cannot read folder: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;   /* hidden, "." and ".." */
        if (n == cap) names = fb_xrealloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
        names[n++] = fb_xstrdup(e->d_name);
    }
    closedir(d);
    /* Allocate before qsort: glibc declares its base non-null, and the
     * compiler would then drop a later NULL check. */
    if (!names) names = fb_xmalloc(sizeof *names);
    qsort(names, n, sizeof *names, compare_str);
    *count = n;
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

static char *join_path(const char *dir, const char *name)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/') len--;
    char *p = fb_xmalloc(len + strlen(name) + 2);
    sprintf(p, "%.*s/%s", (int)len, dir, name);
    return p;
}

static void add_item(fb_dataset *ds, size_t *cap, char *path, int label)
{
    if (ds->nitems == *cap)
        ds->items = fb_xrealloc(ds->items, (*cap = *cap ? 2 * *cap : 256) * sizeof *ds->items);
    ds->items[ds->nitems++] = (fb_item){ path, label, FB_NO_SPLIT };
}

/* Adds the files below dir to class `label`; returns the number of problems. */
static int scan_class_dir(fb_dataset *ds, size_t *cap, const char *dir, int label,
                          int all_files, int depth)
{
    size_t n;
    char **names = list_dir(dir, &n);
    if (!names) return 1;
    int problems = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = join_path(dir, names[i]);
        struct stat st;
        if (stat(path, &st) != 0) {
            fb_warn("%s: %s", path, strerror(errno));
            problems++;
            free(path);
        } else if (S_ISDIR(st.st_mode)) {
            if (depth < MAX_DEPTH)
                problems += scan_class_dir(ds, cap, path, label, all_files, depth + 1);
            else
                fb_warn("%s: folders nested more than %d deep are ignored", path, MAX_DEPTH);
            free(path);
        } else if (!S_ISREG(st.st_mode)) {
            fb_warn("%s: not a regular file, ignored", path);
            free(path);
        } else if (strpbrk(path, "\t\n\r")) {
            /* The lists are tab-separated lines: such a name cannot be written. */
            fb_warn("%s: name contains a tab or newline, ignored", path);
            free(path);
        } else if (!all_files && !fb_has_image_extension(names[i])) {
            fb_warn("%s: not an image file name (.jpg .jpeg .png .webp .tif .tiff .gif "
                    ".heic .heif .avif), ignored", path);
            free(path);
        } else {
            add_item(ds, cap, path, label);
        }
    }
    free_names(names, n);
    return problems;
}

int fb_dataset_scan(fb_dataset *ds, const char *dir, int all_files)
{
    memset(ds, 0, sizeof *ds);
    size_t n;
    char **names = list_dir(dir, &n);
    if (!names) return 1;
    int problems = 0;
    size_t cap = 0;
    ds->classes = fb_xmalloc((n ? n : 1) * sizeof *ds->classes);
    for (size_t i = 0; i < n; i++) {
        char *path = join_path(dir, names[i]);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fb_warn("%s: not a folder, ignored (each class is a sub-folder of %s)", path, dir);
            free(path);
            continue;
        }
        if (strpbrk(names[i], "\t\n\r")) {
            fb_warn("%s: class name contains a tab or newline, ignored", path);
            free(path);
            continue;
        }
        int label = ds->nclasses++;
        ds->classes[label] = fb_xstrdup(names[i]);
        size_t before = ds->nitems;
        problems += scan_class_dir(ds, &cap, path, label, all_files, 1);
        if (ds->nitems == before) {
            fb_warn("%s: class '%s' has no image files", path, names[i]);
            problems++;
        }
        free(path);
    }
    if (ds->nclasses == 0) {
        fb_warn("%s: no class folders (expected one sub-folder per class)", dir);
        problems++;
    }
    free_names(names, n);
    return problems;
}

static int class_index(fb_dataset *ds, const char *name)
{
    for (int i = 0; i < ds->nclasses; i++)
        if (strcmp(ds->classes[i], name) == 0) return i;
    ds->classes = fb_xrealloc(ds->classes, (ds->nclasses + 1) * sizeof *ds->classes);
    ds->classes[ds->nclasses] = fb_xstrdup(name);
    return ds->nclasses++;
}

static int compare_item(const void *a, const void *b)
{
    const fb_item *x = a, *y = b;
    if (x->label != y->label) return x->label - y->label;
    return strcmp(x->path, y->path);
}

int fb_dataset_read_lists(fb_dataset *ds, const char *outdir)
{
    memset(ds, 0, sizeof *ds);
    int problems = 0, found = 0;
    size_t cap = 0;
    for (int s = 0; s < FB_NSPLITS; s++) {
        char name[16];
        snprintf(name, sizeof name, "%s.tsv", fb_split_names[s]);
        char *path = join_path(outdir, name);
        FILE *f = fopen(path, "r");
        if (!f) {
            if (errno != ENOENT) {
                fb_warn("%s: %s", path, strerror(errno));
                problems++;
            }
            free(path);
            continue;
        }
        found++;
        char *line = NULL;
        size_t linecap = 0;
        ssize_t len;
        unsigned long lineno = 0;
        while ((len = getline(&line, &linecap, f)) >= 0) {
            lineno++;
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
            if (len == 0) continue;
            char *tab = strchr(line, '\t');
            if (!tab || tab == line || !tab[1]) {
                fb_warn("%s:%lu: expected 'label<TAB>path'", path, lineno);
                problems++;
                continue;
            }
            *tab = 0;
            add_item(ds, &cap, fb_xstrdup(tab + 1), class_index(ds, line));
            ds->items[ds->nitems - 1].split = s;
        }
        if (ferror(f)) {
            fb_warn("%s: read error", path);
            problems++;
        }
        free(line);
        fclose(f);
        free(path);
    }
    if (!found) {
        fb_warn("%s: no train.tsv, val.tsv or test.tsv", outdir);
        problems++;
    }
    if (ds->nitems) qsort(ds->items, ds->nitems, sizeof *ds->items, compare_item);
    return problems;
}

void fb_dataset_free(fb_dataset *ds)
{
    for (int i = 0; i < ds->nclasses; i++) free(ds->classes[i]);
    free(ds->classes);
    for (size_t i = 0; i < ds->nitems; i++) free(ds->items[i].path);
    free(ds->items);
    memset(ds, 0, sizeof *ds);
}

int fb_parse_ratios(const char *s, double ratio[FB_NSPLITS], char *err, size_t errlen)
{
    const char *p = s;
    double sum = 0;
    for (int i = 0; i < FB_NSPLITS; i++) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !(v >= 0) || v > 1e9 || *p == '-' || *p == '+' || *p == ' ') {
            snprintf(err, errlen, "bad ratio '%s': expected three non-negative numbers "
                     "like 70:15:15 (train:val:test)", s);
            return -1;
        }
        ratio[i] = v;
        sum += v;
        p = end;
        if (i < FB_NSPLITS - 1) {
            if (*p != ':') {
                snprintf(err, errlen, "bad ratio '%s': expected three numbers separated by "
                         "':' like 70:15:15 (train:val:test)", s);
                return -1;
            }
            p++;
        }
    }
    if (*p) {
        snprintf(err, errlen, "bad ratio '%s': unexpected '%s' after the third number", s, p);
        return -1;
    }
    if (ratio[FB_TRAIN] <= 0) {
        snprintf(err, errlen, "bad ratio '%s': the train share must be above 0", s);
        return -1;
    }
    for (int i = 0; i < FB_NSPLITS; i++) ratio[i] /= sum;
    return 0;
}

int fb_split_targets(size_t n, const double ratio[FB_NSPLITS], size_t target[FB_NSPLITS])
{
    size_t assigned = 0, positive = 0;
    double remainder[FB_NSPLITS];
    for (int i = 0; i < FB_NSPLITS; i++) {
        double exact = n * ratio[i];
        target[i] = (size_t)exact;
        remainder[i] = exact - target[i];
        assigned += target[i];
        positive += ratio[i] > 0;
    }
    /* Largest remainder: the files left after rounding down go to the splits
     * that lost the most; ties to the earlier split. */
    while (assigned < n) {
        int best = -1;
        for (int i = 0; i < FB_NSPLITS; i++)
            if (ratio[i] > 0 && (best < 0 || remainder[i] > remainder[best] + 1e-12)) best = i;
        target[best]++;
        remainder[best] = -1;
        assigned++;
    }
    if (n < positive) return -1;
    /* Every split asked for gets at least one file, from the largest. */
    for (int i = 0; i < FB_NSPLITS; i++) {
        if (ratio[i] <= 0 || target[i] > 0) continue;
        int largest = 0;
        for (int j = 1; j < FB_NSPLITS; j++) if (target[j] > target[largest]) largest = j;
        target[largest]--;
        target[i]++;
    }
    return 0;
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) { h ^= (unsigned char)*s; h *= 0x100000001b3ULL; }
    return h;
}

typedef struct { size_t rep, size; } group_unit;

static int compare_unit_size_desc(const void *a, const void *b)
{
    const group_unit *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return 0;
}

/* Splits the groups of one class; members of a group follow its representative. */
static void assign_class(fb_dataset *ds, const size_t *group, int label, const size_t *group_size,
                         const size_t target[FB_NSPLITS], const double ratio[FB_NSPLITS],
                         uint64_t seed)
{
    size_t nunits = 0;
    group_unit *units = fb_xmalloc((ds->nitems ? ds->nitems : 1) * sizeof *units);
    for (size_t i = 0; i < ds->nitems; i++)
        if (group[i] == i && ds->items[i].label == label)
            units[nunits++] = (group_unit){ i, group_size[i] };
    fb_rng rng;
    fb_rng_seed(&rng, seed ^ hash_name(ds->classes[label]));
    fb_rng_shuffle(&rng, units, nunits, sizeof *units);
    /* Largest groups first so they land where there is room.  A stable
     * insertion sort keeps the shuffled order among equal sizes (and costs
     * O(n) when, as usual, nearly every group is a single file). */
    for (size_t i = 1; i < nunits; i++) {
        group_unit u = units[i];
        size_t j = i;
        while (j > 0 && compare_unit_size_desc(&units[j - 1], &u) > 0) {
            units[j] = units[j - 1];
            j--;
        }
        units[j] = u;
    }
    long count[FB_NSPLITS] = { 0 };
    for (size_t u = 0; u < nunits; u++) {
        int best = -1;
        for (int s = 0; s < FB_NSPLITS; s++) {
            if (ratio[s] <= 0) continue;
            long deficit = (long)target[s] - count[s];
            if (best < 0 || deficit > (long)target[best] - count[best]) best = s;
        }
        count[best] += units[u].size;
        ds->items[units[u].rep].split = best;
    }
    free(units);
    for (int s = 0; s < FB_NSPLITS; s++)
        if (ratio[s] > 0 && count[s] == 0)
            fb_warn("class '%s': no files in %s: its duplicate groups are too large to "
                    "spread over every split", ds->classes[label], fb_split_names[s]);
}

int fb_split_assign(fb_dataset *ds, const size_t *group, const double ratio[FB_NSPLITS],
                    uint64_t seed)
{
    size_t *class_count = fb_xcalloc(ds->nclasses ? ds->nclasses : 1, sizeof *class_count);
    size_t *group_size = fb_xcalloc(ds->nitems ? ds->nitems : 1, sizeof *group_size);
    for (size_t i = 0; i < ds->nitems; i++) {
        class_count[ds->items[i].label]++;
        group_size[group[i]]++;
    }
    int rc = 0;
    for (int c = 0; c < ds->nclasses; c++) {
        size_t target[FB_NSPLITS];
        if (class_count[c] == 0) continue;   /* reported by the scan */
        if (fb_split_targets(class_count[c], ratio, target) != 0) {
            int positive = 0;
            for (int s = 0; s < FB_NSPLITS; s++) positive += ratio[s] > 0;
            fb_warn("class '%s' has %zu file%s, too few to give each of the %d splits one",
                    ds->classes[c], class_count[c], class_count[c] == 1 ? "" : "s", positive);
            rc = -1;
            continue;
        }
        assign_class(ds, group, c, group_size, target, ratio, seed);
    }
    /* Members follow their group's representative. */
    for (size_t i = 0; i < ds->nitems; i++) ds->items[i].split = ds->items[group[i]].split;
    free(group_size);
    free(class_count);
    return rc;
}
