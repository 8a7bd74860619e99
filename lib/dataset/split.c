/* Stratified, group-aware train/val/test splits (fb/dataset.h). */
#include "fb/dataset.h"
#include "fb/core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fb_split_names[FB_NSPLITS] = { "train", "val", "test" };

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

/* Splits the groups of one class; members of a group follow its
 * representative.  units: room for nitems. */
static void assign_class(fb_dataset *ds, const size_t *group, int label, const size_t *group_size,
                         const size_t target[FB_NSPLITS], const double ratio[FB_NSPLITS],
                         uint64_t seed, group_unit *units, const fb_notes *notes)
{
    size_t nunits = 0;
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
    for (int s = 0; s < FB_NSPLITS; s++)
        if (ratio[s] > 0 && count[s] == 0)
            fb_note(notes, "class '%s': no files in %s: its duplicate groups are too large to "
                    "spread over every split", ds->classes[label], fb_split_names[s]);
}

int fb_split_assign(fb_dataset *ds, const size_t *group, const double ratio[FB_NSPLITS],
                    uint64_t seed, const fb_notes *notes)
{
    size_t *class_count = calloc(ds->nclasses ? ds->nclasses : 1, sizeof *class_count);
    size_t *group_size = calloc(ds->nitems ? ds->nitems : 1, sizeof *group_size);
    group_unit *units = malloc((ds->nitems ? ds->nitems : 1) * sizeof *units);
    if (!class_count || !group_size || !units) {
        free(class_count); free(group_size); free(units);
        fb_note(notes, "out of memory");
        return -1;
    }
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
            fb_note(notes, "class '%s' has %zu file%s, too few to give each of the %d splits one",
                    ds->classes[c], class_count[c], class_count[c] == 1 ? "" : "s", positive);
            rc = 1;
            continue;
        }
        assign_class(ds, group, c, group_size, target, ratio, seed, units, notes);
    }
    /* Members follow their group's representative. */
    for (size_t i = 0; i < ds->nitems; i++) ds->items[i].split = ds->items[group[i]].split;
    free(units);
    free(group_size);
    free(class_count);
    return rc;
}
