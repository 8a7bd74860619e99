/* lib/audit: the dataset audit behind fb-audit.  The top of the photo
 * areas: uses fb/dataset.h and fb/photo.h, nothing uses it but the tool.
 *
 *   - file inspection (format, size as displayed, JPEG quality, EXIF camera);
 *   - the tiny-image rule;
 *   - the metadata shortcut test: a small decision tree, cross-validated;
 *   - the analysis: same-photo groups (fb_same_photo_join, plus backbone
 *     features), per-class summaries;
 *   - the verdict and the tool's exit status.
 *
 * Nothing here prints or exits; what the analysis could not use it says
 * through an fb_notes. */
#ifndef FB_AUDIT_H
#define FB_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fb/dataset.h"
#include "fb/photo.h"

/* ---- the tiny-image rule ----
 * A photo is tiny when its shorter side (as displayed) has fewer pixels
 * than FB_AUDIT_TINY: too small to say much about its subject at 224x224. */
#define FB_AUDIT_TINY 64
int fb_audit_is_tiny(int width, int height);

typedef enum { FB_FILE_OK = 0, FB_FILE_NOT_IMAGE, FB_FILE_UNREADABLE } fb_file_state;

/* Facts about one file.  Only the camera make and model are taken from EXIF;
 * GPS, serial numbers and owner names are never read. */
typedef struct {
    const char *path;          /* borrowed */
    int label, split;          /* class index; FB_TRAIN.. or FB_NO_SPLIT */
    fb_file_state state;
    char problem[256];         /* why not FB_FILE_OK */
    const char *format;        /* "jpeg", "png", ... (static) or NULL */
    int width, height;         /* as displayed: EXIF orientation applied */
    int jpeg_quality;          /* IJG-equivalent 1..100, -1 when not a JPEG */
    int has_exif;              /* EXIF with capture information (camera,
                                  exposure, date taken), not just a bare block */
    char camera[80];           /* "Make Model" (printable ASCII), "" when unknown */
    fb_phash phash;
    int has_phash;
    uint64_t size, digest;
    int has_digest;
} fb_audit_file;

/* Fills f (path, label, split already set), in this process.  Never
 * fails: problems go in f->state and f->problem; an image whose header
 * declares more than max_pixels is refused undecoded.  Needs
 * fb_photo_vips_start. */
void fb_audit_inspect(fb_audit_file *f, double max_pixels);

/* fb_audit_inspect for files[0..n) in decoder processes (fb_decoders_run):
 * a file whose decoder hangs past limits->timeout or dies is unreadable,
 * with the reason.  each (may be NULL) is called with every file in input
 * order as it is filled.  This process must not have started libvips.
 * 0 ok, -1 when the processes could not run (message in err). */
typedef void (*fb_audit_inspected)(void *ctx, size_t index, const fb_audit_file *f);
int fb_audit_inspect_all(fb_audit_file *files, size_t n, const fb_decode_limits *limits,
                         fb_audit_inspected each, void *ctx, char *err, size_t errlen);
/* 1 when f was inspected as a usable image that is tiny. */
int fb_audit_file_is_tiny(const fb_audit_file *f);

/* IJG-equivalent quality (1..100) of a JPEG file, estimated from its first
 * luminance quantisation table (DQT, table 0): the quality whose standard
 * scaled table is closest.  -1 when the file is not a baseline/progressive
 * JPEG with such a table. */
int fb_jpeg_quality(const char *path);
/* The same from f at the file's first byte (read, seeked, not closed). */
int fb_jpeg_quality_stream(FILE *f);
/* Same from a table already in natural (row-major) order. */
int fb_jpeg_quality_from_table(const uint16_t table[64]);
/* The IJG luminance table for quality q (natural order), as libjpeg makes it. */
void fb_jpeg_ijg_table(int quality, uint16_t table[64]);

/* ---- the metadata shortcut test ---- */

enum {
    FB_FEAT_LOG_WIDTH, FB_FEAT_LOG_HEIGHT, FB_FEAT_LOG_ASPECT, FB_FEAT_FORMAT,
    FB_FEAT_QUALITY, FB_FEAT_HAS_EXIF, FB_FEAT_CAMERA, FB_NFEATURES
};

/* Named feature groups the report speaks of ("image size" = width+height). */
typedef struct {
    const char *name;          /* "image size" */
    unsigned mask;             /* bits 1 << FB_FEAT_* */
} fb_feature_group;
extern const fb_feature_group fb_feature_groups[];
extern const int fb_nfeature_groups;

/* Accuracy of predicting labels from features (n rows of FB_NFEATURES;
 * categorical columns hold small integer codes) with a depth-limited
 * decision tree, by stratified k-fold cross-validation seeded with seed.
 * Only columns in mask are used.  Returns the accuracy in [0,1]; *folds gets
 * the k used (0 when there are too few files per class to test). */
double fb_shortcut_cv_accuracy(const double *features, const int *labels, size_t n,
                               int nclasses, unsigned mask, uint64_t seed, int *folds);

/* ---- the analysis behind the report (lib/audit/analysis.c) ---- */

/* Finds the groups of files that are the same photo: fb_same_photo_join
 * (byte-identical, pHashes within near_dup_bits) and, when features is not
 * NULL, backbone feature vectors (an fb-feat stream whose record ids are the
 * files' paths) with cosine similarity at least cosine.  Returns the groups
 * of two or more files, in order of their smallest member (*ngroups of them;
 * free with fb_photo_groups_free); NULL when out of memory (message in err).
 * *feature_rows gets the number of stream records that matched a file, or -1
 * when features is NULL or the stream is unusable (noted). */
fb_photo_group *fb_audit_near_duplicates(const fb_audit_file *files, size_t n, int near_dup_bits,
                                         const char *features, double cosine,
                                         size_t *ngroups, long *feature_rows,
                                         const fb_notes *notes, char *err, size_t errlen);

/* The formats the per-class summary counts, in report order, and the index
 * of a format name in it (FB_AUDIT_NFORMATS for NULL or any other name). */
enum { FB_AUDIT_NFORMATS = 6 };
extern const char *const fb_audit_formats[FB_AUDIT_NFORMATS];   /* "jpeg", "png", ... */
int fb_audit_format_code(const char *format);

/* Smallest, median (mean of the middle two for even n) and largest of n
 * values; all 0 when n is 0. */
typedef struct { double min, median, max; size_t n; } fb_spread;

typedef struct { const char *name; size_t count; } fb_camera_count;

/* One class in numbers.  The spreads and counts are over its usable files. */
typedef struct {
    size_t files, usable, tiny, with_exif;
    fb_spread width, height, aspect, quality;   /* quality: JPEGs only */
    size_t format_count[FB_AUDIT_NFORMATS];
    fb_camera_count *cameras;  /* make and model, most files first, then by name;
                                  names borrowed from files */
    size_t ncameras;
} fb_class_summary;

/* Summarises the files of class label; free with fb_class_summary_free.
 * 0 ok, -1 out of memory. */
int fb_audit_summarise_class(const fb_audit_file *files, size_t n, int label, fb_class_summary *s);
void fb_class_summary_free(fb_class_summary *s);

/* Metadata "strongly" predicts the class when the cross-validated tree
 * removes at least half of the errors of always guessing the largest class
 * (2 balanced classes: 75% or more); "noticeably" at a fifth. */
#define FB_SHORTCUT_STRONG 0.5
#define FB_SHORTCUT_NOTICE 0.2

typedef struct {
    int tested, folds;         /* tested: enough usable files per class; folds: the k used */
    double chance, accuracy;   /* largest class's share; accuracy from all metadata */
    double group_accuracy[8];  /* per fb_feature_groups entry, when tested */
    int best_group;            /* the first group with the highest accuracy */
    int strong, notice;        /* skill over chance >= FB_SHORTCUT_STRONG, _NOTICE */
    size_t rows;               /* usable files tested */
} fb_shortcut_result;

/* The shortcut test: how well size, aspect, format, JPEG quality, EXIF
 * presence and camera of the usable files predict their labels (0 ..
 * nclasses-1), all together and one feature group at a time, by
 * fb_shortcut_cv_accuracy with seed.  0 ok, -1 out of memory. */
int fb_audit_test_shortcut(const fb_audit_file *files, size_t n, int nclasses, uint64_t seed,
                           fb_shortcut_result *res);

/* ---- the verdict ---- */

/* fb-audit's exit statuses (man/fb-audit.1).  A leak or a strong shortcut
 * outranks unusable files: it is what makes an accuracy number wrong. */
enum {
    FB_AUDIT_CLEAN = 0, FB_AUDIT_PROBLEMS = 1, FB_AUDIT_LEAK = 3, FB_AUDIT_SHORTCUT = 4,
    FB_AUDIT_LEAK_AND_SHORTCUT = 5
};

typedef struct {
    size_t leaks;              /* groups spanning splits */
    size_t conflicts;          /* groups whose members carry different labels */
    size_t unusable;           /* files not FB_FILE_OK */
    size_t tiny;               /* usable files that are tiny */
    int shortcut;              /* the shortcut test found a strong one */
    int input_problems;        /* the folder, lists or feature stream had problems */
    int status;                /* FB_AUDIT_* */
    char words[64];            /* "LEAK SHORTCUT UNUSABLE-FILES INPUT-PROBLEMS", or "clean" */
} fb_audit_verdict;

/* The verdict on an analysis.  input_problems: the number of problems met
 * while reading the folder or lists and the feature stream. */
fb_audit_verdict fb_audit_judge(const fb_audit_file *files, size_t n,
                                const fb_photo_group *groups, size_t ngroups,
                                const fb_shortcut_result *shortcut, int input_problems);

#endif
