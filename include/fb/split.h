/* Class-per-folder photo sets and their train/val/test lists (fb-split,
 * fb-audit).  Messages about bad input go to stderr through fb_warn. */
#ifndef FB_SPLIT_H
#define FB_SPLIT_H

#include <stddef.h>
#include <stdint.h>

enum { FB_TRAIN = 0, FB_VAL = 1, FB_TEST = 2, FB_NSPLITS = 3, FB_NO_SPLIT = -1 };
extern const char *const fb_split_names[FB_NSPLITS];   /* "train", "val", "test" */

typedef struct {
    char *path;        /* DIR/class/file as given, or the path from a list */
    int label;         /* index into classes */
    int split;         /* FB_TRAIN.., or FB_NO_SPLIT */
} fb_item;

typedef struct {
    char **classes;    /* sorted by name (scan) or in order of appearance (lists) */
    int nclasses;
    fb_item *items;    /* sorted by class, then path (byte order) */
    size_t nitems;
} fb_dataset;

/* Extensions of the formats fb-prep decodes (case-insensitive): .jpg .jpeg
 * .png .webp .tif .tiff .gif .heic .heif .avif.  1 when the name has one. */
int fb_has_image_extension(const char *name);

/* Reads a class-per-folder tree: every non-hidden sub-folder of dir is a
 * class, every non-hidden file below it (recursively, sorted by name) an
 * item.  With all_files == 0 only names with an image extension are kept and
 * the others are reported; with all_files == 1 every file is kept (the audit
 * reports non-images itself).  Empty classes and unreadable folders are
 * reported.  Returns the number of problems that make the tree unusable
 * (0 = fine); ds is filled either way. */
int fb_dataset_scan(fb_dataset *ds, const char *dir, int all_files);

/* Reads OUTDIR/{train,val,test}.tsv ("label<TAB>path" lines); missing files
 * are skipped, at least one must exist.  Returns the number of problems. */
int fb_dataset_read_lists(fb_dataset *ds, const char *outdir);

void fb_dataset_free(fb_dataset *ds);

/* "70:15:15" (any non-negative numbers, train > 0) -> fractions summing to 1.
 * 0 ok; -1 with a message in err. */
int fb_parse_ratios(const char *s, double ratio[FB_NSPLITS], char *err, size_t errlen);

/* How many of n files each split gets: largest remainder (ties go to the
 * earlier split), then every split with a positive ratio gets at least one
 * file, taken from the largest.  -1 when n is smaller than the number of
 * splits with a positive ratio. */
int fb_split_targets(size_t n, const double ratio[FB_NSPLITS], size_t target[FB_NSPLITS]);

/* Assigns items[i].split.  group[i] is the representative (smallest index)
 * of the duplicate group of item i; a group always goes to one split, with
 * the class of its representative.  Per class: groups are shuffled with a
 * generator seeded from seed and the class name (so adding a class changes
 * no other class), placed largest first, each into the split furthest below
 * its target.  Returns 0, or -1 with messages when a class has too few files. */
int fb_split_assign(fb_dataset *ds, const size_t *group, const double ratio[FB_NSPLITS],
                    uint64_t seed);

#endif
