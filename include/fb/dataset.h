/* lib/dataset: a photo set as fb sees it.  Uses fb/photo.h (for the pHash)
 * and fb/stream.h (for feature streams), never fb/audit.h.
 *
 *   - class-per-folder scanning (DIR/class/file);
 *   - THE list format, "label<TAB>path" lines: one reader, one writer;
 *   - same-photo groups: union-find, joined by identical bytes, by pHash and
 *     (given an fb-feat stream) by backbone features, shared by fb-split and
 *     fb-audit so both tools agree on what "the same
 *     photo" means;
 *   - train/val/test splits, stratified and group-aware.
 *
 * Nothing here prints or exits: errors come back as -1 with a message in
 * err, and what a function skipped or could not use it tells the caller
 * through an fb_notes, for the tool to say. */
#ifndef FB_DATASET_H
#define FB_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fb/photo.h"

/* ---- notes: lib's warnings, said by the tool ---- */
/* say(ctx, msg) gets one complete message, e.g. "d/x.txt: not an image file
 * name (...), ignored", without the tool's name or a newline.  say may be
 * NULL: then nothing is said. */
typedef struct {
    void (*say)(void *ctx, const char *msg);
    void *ctx;
} fb_notes;
/* For lib code: formats one note and hands it to notes (which may be NULL). */
void fb_note(const fb_notes *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- a class-per-folder set ---- */

enum { FB_TRAIN = 0, FB_VAL = 1, FB_TEST = 2, FB_NSPLITS = 3, FB_NO_SPLIT = -1 };
extern const char *const fb_split_names[FB_NSPLITS];   /* "train", "val", "test" */

typedef struct {
    char *path;        /* DIR/class/file as given, or the path from a list */
    int label;         /* index into classes */
    int split;         /* FB_TRAIN.., or FB_NO_SPLIT */
    uint32_t group;    /* same-photo group (1..), 0 alone: written in the lists */
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
 * the others are noted; with all_files == 1 every file is kept (the audit
 * reports non-images itself).  Names the list format cannot hold (see below)
 * are noted and skipped.  Empty classes and unreadable folders are noted.
 * Returns the number of problems that make the tree unusable (0 = fine), or
 * -1 when out of memory (noted); ds is filled either way. */
int fb_dataset_scan(fb_dataset *ds, const char *dir, int all_files, const fb_notes *notes);

/* Reads OUTDIR/{train,val,test}.tsv (fb_list_read, each line must have a
 * label); missing files are skipped, at least one must exist.  Returns the
 * number of problems (each noted), or -1 when out of memory. */
int fb_dataset_read_lists(fb_dataset *ds, const char *outdir, const fb_notes *notes);

/* Writes ds's items (each with a split) to OUTDIR/{train,val,test}.tsv as a
 * set: OUTDIR is created when missing, the three lists are written to
 * temporary files and renamed at the end, so a failure leaves the old lists
 * (if any) in place.  0 ok; -1 with a message in err. */
int fb_dataset_write_lists(const fb_dataset *ds, const char *outdir, char *err, size_t errlen);

/* Two or more classes make a classification problem; fb-split and fb-audit
 * refuse fewer before any slow step.  0 ok; -1 with a message naming source
 * (the folder or lists the set came from) in err. */
int fb_dataset_check_classes(const fb_dataset *ds, const char *source, char *err, size_t errlen);

void fb_dataset_free(fb_dataset *ds);

/* ---- the list format ----
 * One entry per line: "label<TAB>path", or "path" alone (no label).  The
 * label is everything before the first TAB, the path everything after it,
 * byte for byte: no quoting and no escapes, so a backslash, a space or any
 * UTF-8 is itself.  Lines end in LF (a CR before it is dropped); blank
 * lines are skipped.  A label containing a TAB, and a label or path
 * containing a CR or LF, cannot be written: the writer refuses them
 * (fb_list_writable) and fb_dataset_scan skips such names with a note.
 * A photo in a same-photo group (fb-split's) ends its line with
 * "<TAB>group=N", N from 1 to 4294967295: "label<TAB>path<TAB>group=N".
 * The reader takes that ending as the group only when the line has a label;
 * such a path may not itself contain a TAB (the writer refuses it). */

typedef struct {
    char *label;             /* NULL: the line had no TAB */
    char *path;              /* may be "" ("label<TAB>" with nothing after) */
    uint32_t group;          /* same-photo group, 0 (FB_NO_GROUP) for none */
    unsigned long line;      /* 1-based line number in the file */
} fb_list_entry;

typedef struct {
    fb_list_entry *entries;
    size_t n, cap;
} fb_list;

/* Appends every entry of f to l.  0 ok; -1 with a message in err on a read
 * error or no memory (entries read so far stay in l). */
int fb_list_read(FILE *f, fb_list *l, char *err, size_t errlen);
/* Appends one entry (copies of label, which may be NULL, and path; line 0).
 * 0 ok, -1 no memory. */
int fb_list_add(fb_list *l, const char *label, const char *path);
void fb_list_free(fb_list *l);

/* 1 when label, path and group (0: none) can be written as one line
 * (label may be NULL; a group needs a label). */
int fb_list_writable(const char *label, const char *path, uint32_t group);
/* Writes one line.  0 ok; -1 with errno set on a write error, or with
 * errno EINVAL when fb_list_writable says no (nothing written). */
int fb_list_write(FILE *f, const char *label, const char *path, uint32_t group);

/* The name of the folder that holds path ("photos/cats/1.jpg" -> "cats";
 * "1.jpg" -> the current folder's name).  Malloc'd; NULL when there is none
 * or no memory. */
char *fb_parent_dir_name(const char *path);

/* ---- same-photo groups ---- */

/* Union-find over n items: fb_groups_find(g, i) is the representative
 * (smallest index) of item i's group after any sequence of fb_groups_join
 * calls. */
typedef struct { size_t *parent; size_t n; } fb_groups;
int    fb_groups_init(fb_groups *g, size_t n);          /* 0 ok, -1 no memory */
void   fb_groups_free(fb_groups *g);
size_t fb_groups_find(fb_groups *g, size_t i);
void   fb_groups_join(fb_groups *g, size_t a, size_t b);

/* Joins every pair that fb_phash_near calls the same photo.  Items with
 * has_hash[i] == 0 (not decodable) are left alone.  Returns the number of
 * joined pairs. */
size_t fb_groups_join_phash(fb_groups *g, const fb_phash *hash,
                            const unsigned char *has_hash, int maxdist);

/* Content identity: size and a 64-bit FNV-1a digest of the bytes.
 * 0 ok, -1 errno set. */
int fb_file_digest(const char *path, uint64_t *size, uint64_t *digest, char *err, size_t errlen);
/* 1 when the two files have identical bytes, 0 when not, -1 on error. */
int fb_files_identical(const char *a, const char *b);

/* Joins byte-identical files (digest match confirmed byte by byte).
 * size/digest as from fb_file_digest; has_digest[i] == 0 skips item i.
 * Returns the number of joined pairs, or -1 when out of memory. */
long fb_groups_join_identical(fb_groups *g, const char *const *paths, const uint64_t *size,
                              const uint64_t *digest, const unsigned char *has_digest);

/* What grouping knows of one file. */
typedef struct {
    const char *path;          /* borrowed */
    int label, split;          /* class index; FB_TRAIN.. or FB_NO_SPLIT */
    int has_digest;
    uint64_t size, digest;     /* fb_file_digest */
    int has_phash;
    fb_phash phash;
} fb_photo_key;

/* Fills k's digest and (with_phash) pHash; path, label and split are set
 * by the caller.  0 ok; 1 when the file was read but its pHash could not
 * be computed (why in err; k->has_phash 0); -1 when the file cannot be
 * read (why in err, no path in it). */
int fb_photo_key_read(fb_photo_key *k, int with_phash, char *err, size_t errlen);

/* fb_photo_key_read for keys[0..n) (paths, labels and splits set) in
 * decoder processes (fb_decoders_run), each image under limits->max_pixels.
 * A file whose decoder hangs past limits->timeout or dies gets rc 1 (its
 * digest read in this process, no decoding) or -1, with the reason.  each
 * (may be NULL) is called in input order with every key, its rc (as
 * fb_photo_key_read's) and the reason when rc != 0.  This process must not
 * have started libvips.  0 ok, -1 when the processes could not run (message
 * in err). */
typedef void (*fb_photo_key_done)(void *ctx, size_t index, const fb_photo_key *k, int rc,
                                  const char *err);
int fb_photo_keys_read(fb_photo_key *keys, size_t n, int with_phash, const fb_decode_limits *limits,
                       fb_photo_key_done each, void *ctx, char *err, size_t errlen);

/* THE rule for "the same photo": joins in g (over n files) every
 * byte-identical pair and, with maxdist >= 0, every pair of pHashes within
 * maxdist bits (whole frame, or a 92% crop of one against the other).
 * 0 ok, -1 out of memory. */
int fb_same_photo_join(fb_groups *g, const fb_photo_key *keys, size_t n, int maxdist);

/* The other half of THE rule: photos whose backbone feature vectors have a
 * cosine similarity of at least FB_FEATURE_SAME_COSINE are the same photo
 * (burst shots, small crops, re-encodings a pHash can miss).  Both fb-split
 * -f and fb-audit -f use this default; their -c changes it. */
#define FB_FEATURE_SAME_COSINE 0.95

/* Joins in g (over the n files of keys) every pair of files whose feature
 * vectors in the stream at path `features` (an fb-feat stream: float32, one
 * dimension; record ids are the files' paths, as fb-prep read them; "-" is
 * stdin) have cosine similarity >= cosine.  Records naming no file are
 * noted and ignored.  0 ok (*rows_used: the records that matched a file);
 * 1 the stream is unusable (noted, nothing joined); -1 out of memory. */
int fb_same_photo_join_features(fb_groups *g, const fb_photo_key *keys, size_t n, const char *features,
                                double cosine, size_t *rows_used, const fb_notes *notes);

/* A group of two or more files that are the same photo. */
typedef struct {
    size_t *members;           /* indices into keys, ascending; the first is the representative */
    size_t n;                  /* 2 or more */
    int identical;             /* all byte-identical (same size and digest) to the first */
    int max_bits;              /* largest full-frame pHash distance to the first, -1 unknown */
    unsigned splits;           /* bit 1 << FB_TRAIN.. per split present */
    int nclasses;              /* distinct labels among the members */
} fb_photo_group;

/* The groups of two or more files g has joined, in order of their smallest
 * member.  *ngroups of them (0: a valid, empty array); NULL when out of
 * memory.  Free with fb_photo_groups_free. */
fb_photo_group *fb_photo_groups(fb_groups *g, const fb_photo_key *keys, size_t n, size_t *ngroups);
void fb_photo_groups_free(fb_photo_group *groups, size_t ngroups);

/* Numbers the groups 1, 2, ... in the order given and writes each member's
 * number into ds->items[member].group (keys indexed like ds->items), so the
 * lists carry them to fb-prep and every split and fold can keep them whole. */
void fb_dataset_number_groups(fb_dataset *ds, const fb_photo_group *groups, size_t ngroups);

/* 1 when the group has members in more than one split (a leak). */
int fb_photo_group_is_leak(const fb_photo_group *g);

/* ---- splits ---- */

/* "70:15:15" (any non-negative numbers, train > 0) -> fractions summing to 1.
 * 0 ok; -1 with a message in err. */
int fb_parse_ratios(const char *s, double ratio[FB_NSPLITS], char *err, size_t errlen);

/* How many of n files each split gets: largest remainder (ties go to the
 * earlier split), then every split with a positive ratio gets at least one
 * file, taken from the largest.  -1 when n is smaller than the number of
 * splits with a positive ratio. */
int fb_split_targets(size_t n, const double ratio[FB_NSPLITS], size_t target[FB_NSPLITS]);

/* Assigns items[i].split.  group[i] is the representative (smallest index)
 * of the same-photo group of item i; a group always goes to one split, with
 * the class of its representative.  Per class: groups are shuffled with a
 * generator seeded from seed and the class name (so adding a class changes
 * no other class), placed largest first, each into the split furthest below
 * its target.  A class too small for every split, or whose groups leave a
 * split empty, is noted.  Returns 0; 1 when a class has too few files
 * (nothing should be written); -1 when out of memory (noted). */
int fb_split_assign(fb_dataset *ds, const size_t *group, const double ratio[FB_NSPLITS],
                    uint64_t seed, const fb_notes *notes);

#endif
