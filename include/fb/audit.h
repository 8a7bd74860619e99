/* Dataset audit (fb-audit): per-file facts, near-duplicate groups, and the
 * "does metadata alone predict the class?" shortcut test. */
#ifndef FB_AUDIT_H
#define FB_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "fb/phash.h"

/* A file is tiny when its shorter side has fewer pixels than this. */
#define FB_AUDIT_TINY 64

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

/* Fills f (path, label, split already set).  Never fails: problems go in
 * f->state and f->problem. */
void fb_audit_inspect(fb_audit_file *f);

/* IJG-equivalent quality (1..100) of a JPEG file, estimated from its first
 * luminance quantisation table (DQT, table 0): the quality whose standard
 * scaled table is closest.  -1 when the file is not a baseline/progressive
 * JPEG with such a table. */
int fb_jpeg_quality(const char *path);
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

#endif
