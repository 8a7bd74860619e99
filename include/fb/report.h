/* The report area's one door (lib/report/): what fb-report draws and writes.
 * In this order: heatmaps (where the network looked); pictures of photos
 * (tiles, JPEG/PNG, base64); contact sheets; the numbers in plain words; the
 * HTML report itself.
 * Where it lives: cam.c (heatmaps), picture.c (tiles and encodings), sheet.c
 * (contact sheets), words.c (uncertainty in words), html.c (the report),
 * audit.c (the audit's JSON as report sections).
 * Nothing here prints, exits or reads the environment: errors come back as
 * -1 (or NULL) with a message in err.  Photos are decoded in fb-prep's
 * decoder processes (fb_prep_run), which must be forked before this process
 * starts libvips; the calls that encode or draw (fb_pic_encode and what uses
 * it, fb_sheet_write, fb_report_write) need libvips started
 * (fb_photo_vips_start, fb/photo.h). */
#ifndef FB_REPORT_H
#define FB_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fb/audit.h"
#include "fb/head.h"
#include "fb/plot.h"
#include "fb/photo.h"

/* ================================================================ heatmaps */

/* ResNet50's last block: 7x7 cells of 2048 channels, whose mean over the
 * cells is the feature vector fb-feat writes. */
#define FB_CAM_SIDE 7
#define FB_CAM_CELLS (FB_CAM_SIDE * FB_CAM_SIDE)
#define FB_CAM_CHANNELS 2048

/* The head's logits at raw features x [h->in_dim] (its normalisation, then
 * inference mode) and the gradient of logit c with respect to x, grad
 * [h->in_dim].  Computed from
 * the blocks fb_head_block_at lays out.  0 ok, -1 no memory. */
int   fb_cam_logits_grad(const fb_head *h, const float *x, int c, float *logits, float *grad);
/* Does fb_cam_logits_grad reproduce the head?  Compares its softmax at x with
 * probs [h->nclasses] (from fb_head_predict_all).  0 yes; -1 with a message. */
int   fb_cam_check_head(const fb_head *h, const float *x, const float *probs, char *err,
                        size_t errlen);
/* Class activation map: map[i] = grad . A[i,:] for the cells i of a spatial
 * map A [cells, dim] whose mean over cells is the head's input.  With grad
 * from fb_cam_logits_grad this is CAM for a linear head without
 * normalisation (grad = W[:,c]) and, up to the positive factor 1/cells,
 * Grad-CAM otherwise (hidden layers, or fb/head.h's normalisation): Grad-CAM's
 * channel weights are the gradient averaged over the cells. */
void  fb_cam_map(const float *A, int cells, int dim, const float *grad, float *map);
/* ReLU (only evidence for the class), then divided by the largest value;
 * returns that largest value (0: no cell speaks for the class). */
float fb_cam_normalise(float *map, size_t n);
/* Bilinear resize of a side x side map to out_side x out_side, half-pixel
 * centres, edges clamped. */
void  fb_cam_upsample(const float *map, int side, float *out, int out_side);
/* Colours heat [side*side] in [0,1] and lays it over the RGB image rgb
 * [side*side*3] into out. */
void  fb_cam_blend(const uint8_t *rgb, const float *heat, int side, uint8_t *out);
/* All of it for one photo: the head's input is the mean of A [side*side,
 * dim]; the map for class c, normalised, upsampled to rgb_side and blended
 * over rgb into out [rgb_side*rgb_side*3].  cam [side*side] (may be NULL)
 * gets the raw map.  0 ok; -1 with a message. */
int   fb_cam_draw(const fb_head *h, const float *A, int side, int dim, int c, const uint8_t *rgb,
                  int rgb_side, uint8_t *out, float *cam, char *err, size_t errlen);

/* ================================================================ pictures */

/* A photo as the report shows it.  whole: the whole photo fitted into a
 * tile x tile square (its shape kept, bars in the page colour); seen: what
 * the network saw, size x size as fb-prep made it.  Either is NULL when the
 * photo could not be read, and problem says why. */
typedef struct {
    uint8_t *whole, *seen;
    char *problem;
} fb_pic;

/* fb-prep's options (resize policy, size, kernel, background) from a
 * stream's provenance.  0 ok; -1 with a message. */
int   fb_pic_opts_from_provenance(const char *prov, fb_prep_opts *o, char *err, size_t errlen);
/* Renders paths[0..n) into pics[0..n) with `jobs` of fb-prep's decoder
 * processes (fb_prep_run; call it before starting libvips in this process):
 * `seen` with the stream's options, `whole` padded onto background at tile.  A photo that cannot be read is not an error (its
 * problem is set).  0 ok; -1 with a message (no memory, no processes). */
int   fb_pic_render(const char *const *paths, size_t n, const fb_prep_opts *seen, int tile,
                    const uint8_t background[3], int jobs, fb_pic *pics, char *err, size_t errlen);
void  fb_pic_free(fb_pic *pics, size_t n);
/* rgb [h][w][3] as JPEG (quality) or PNG, shrunk to fit side x side when
 * larger (side 0: as is); *buf is g_malloc'd (g_free it).  0 ok, -1 with a
 * message. */
int   fb_pic_encode(const uint8_t *rgb, int w, int h, int side, int quality, int png,
                    void **buf, size_t *len, char *err, size_t errlen);
/* The same JPEG as a "data:image/jpeg;base64,..." URI (malloc'd); NULL with
 * a message. */
char *fb_pic_data_uri(const uint8_t *rgb, int w, int h, int side, int quality, char *err,
                      size_t errlen);
/* rgb as a PNG file at path, atomically.  0 ok; -1 with a message. */
int   fb_pic_write_png(const uint8_t *rgb, int w, int h, const char *path, char *err,
                       size_t errlen);

/* ========================================================== contact sheets */

/* One thumbnail: rgb [h][w][3], or NULL for a grey placeholder (a blank
 * cell when the caption is NULL too); a caption of up to three lines (plain
 * text, '\n' between lines). */
typedef struct {
    const uint8_t *rgb;
    int w, h;
    const char *caption;
} fb_sheet_item;

/* Lays items out `columns` across, each fitted into tile x tile with its
 * caption below, and writes the sheet as a PNG at path, atomically.  0 ok;
 * -1 with a message. */
int   fb_sheet_write(const fb_sheet_item *items, size_t n, int columns, int tile,
                     const char *path, char *err, size_t errlen);
/* The same for photo files: each decoded in this process (fb_prep_image,
 * libvips started) and fitted whole into its tile; one that cannot be read
 * is a grey square with the reason in its caption.  A NULL path with a NULL
 * caption is a blank cell (to start each group on a new row). */
int   fb_sheet_photos(const char *const *paths, const char *const *captions, size_t n,
                      int columns, int tile, const char *path, char *err, size_t errlen);
/* fb-eval --sheet: the first max mistakes of s (most confident first), the
 * whole photo (ds's ids are paths) with its true and said class and the
 * probability.  No mistakes: a sheet that says so.  0 ok; -1 with a message. */
int   fb_sheet_mistakes(const fb_head *h, const fb_featset *ds, const fb_score *s, size_t max,
                        const char *path, char *err, size_t errlen);
/* fb-audit --sheet: each near-duplicate group on its own row, each copy with
 * its split and class (LEAK when the group spans splits).  No groups: a sheet
 * that says so.  0 ok; -1 with a message. */
int   fb_sheet_groups(const fb_audit_file *files, const fb_photo_group *groups, size_t ngroups,
                      char *const *classes, const char *path, char *err, size_t errlen);

/* ======================================================= numbers in words */

/* "87 of 100 photos classified right: 87.0%. With 100 photos ... between
 * 79.0% and 92.2%.": the 95% Wilson interval of fb/head.h in words. */
void  fb_words_accuracy(size_t right, size_t n, char *buf, size_t len);

/* ============================================================== the report */

/* The backbone's stage-5 map of one 224x224x3 image: A [FB_CAM_CELLS]
 * [FB_CAM_CHANNELS], cell-major.  0 ok; -1 with a message. */
typedef int (*fb_spatial_fn)(void *ctx, const uint8_t *image, float *A, char *err, size_t errlen);

typedef struct {
    fb_head *head;
    const char *head_name;
    const fb_featset *ds;             /* ids are the photos' paths */
    const char *stream_name;
    const float *probs;               /* [ds->n, head->nclasses], fb_head_predict_all */
    const fb_score *score;            /* fb_score_init of the same */
    /* optional sections (NULL: left out) */
    const char *audit_json, *audit_name;   /* fb-audit --json output */
    const fb_history *history;        /* training curves, kept epoch marked */
    const char *lists_dir;            /* fb-split's train/val/test.tsv */
    /* pictures */
    int jobs;                         /* decoder processes */
    int mistakes, unsure, per_cell;   /* how many to show of each */
    fb_spatial_fn spatial;            /* NULL: no heatmaps, and no_heatmaps says why */
    void *spatial_ctx;
    const char *no_heatmaps;
    const char *vipshome;             /* for the decoder processes (fb_prep_opts) */
    const char *date, *version;
} fb_report_opts;

/* What the report found while making its pictures (for the tool's messages). */
typedef struct {
    size_t pictures, missing, heatmaps, changed;
    char missing_example[512];        /* the first missing photo and why */
    char heatmap_note[512];           /* why heatmaps were left out, "" when drawn */
} fb_report_stats;

/* mistakes 24, unsure 8, per_cell 60, jobs 2; everything else NULL/0. */
void  fb_report_opts_default(fb_report_opts *o);

/* A report with its pictures made, ready to write. */
typedef struct fb_report fb_report;
/* Chooses what to show, decodes those photos (fb_pic_render: before libvips
 * is started in this process) and draws the heatmaps.  Photos that cannot be
 * read get a placeholder and a note, not a failure.  o and what it points
 * to must outlive the report.  NULL with a message (bad audit JSON, a
 * stream not made by fb-prep, no memory). */
fb_report *fb_report_prepare(const fb_report_opts *o, fb_report_stats *st, char *err,
                             size_t errlen);
/* Writes the whole self-contained HTML page to f (libvips started).  0 ok;
 * -1 with a message. */
int   fb_report_write(const fb_report *r, FILE *f, char *err, size_t errlen);
void  fb_report_free(fb_report *r);

#endif
