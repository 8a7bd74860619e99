/* Inside the report area (private to lib/report): what html.c and audit.c
 * share to write the page. */
#ifndef FB_REPORT_INTERNAL_H
#define FB_REPORT_INTERNAL_H

#include <stdio.h>
#include <jansson.h>

#include "fb/report.h"

/* Text with &, <, >, " and ' escaped for HTML text and attribute values. */
void rpt_esc(FILE *f, const char *s);
/* An <img> of rgb [side][side][3] shrunk to show x show, JPEG of quality q,
 * with alt text and class; a placeholder <div> saying why when rgb is NULL.
 * Counts what it wrote into *bytes.  0 ok, -1 with a message. */
int  rpt_img(FILE *f, const uint8_t *rgb, int side, int show, int q, const char *alt,
             const char *cls, const char *problem, char *err, size_t errlen);

/* fb-audit --json, read for the report. */
typedef struct {
    json_t *root;
    const char **paths;      /* every near-duplicate member's path, in the JSON's order */
    size_t npaths;
    int *slot;               /* [npaths]: index into the report's pictures, -1 none */
} rpt_audit;

/* Parses text (named name in messages).  0 ok; -1 with a message. */
int  rpt_audit_open(rpt_audit *a, const char *text, const char *name, char *err, size_t errlen);
void rpt_audit_close(rpt_audit *a);
/* The audit's section: verdict, near-duplicate groups side by side with
 * each copy's split, the shortcut with the telling feature per class,
 * unusable files.  pics are the report's pictures (a->slot index them),
 * tile their side.  0 ok, -1 with a message. */
int  rpt_audit_html(const rpt_audit *a, FILE *f, const fb_pic *pics, int tile, char *err,
                    size_t errlen);

/* The records the head's rejection model calls unknown (lib/report/unknown.c). */
typedef struct {
    int on;                  /* the head has a rejection model */
    double *dist;            /* [ds->n] distance of each record */
    size_t *rows, n;         /* the rejected records, most unusual first */
    size_t in_n, in_rejected;  /* records of the head's classes, and of those rejected */
} rpt_unknown;

/* truth[r]: the head's class of record r, -1 none.  A head without a model
 * leaves u off.  0 ok, -1 with a message. */
int  rpt_unknown_find(rpt_unknown *u, const fb_head *h, const fb_featset *ds, const int *truth,
                      char *err, size_t errlen);
void rpt_unknown_free(rpt_unknown *u);
/* The section: the share rejected (all, in-class), thumbnails of the first
 * max rejected records that have a picture (slot[r] >= 0 into pics), and a
 * table of them all.  0 ok, -1 with a message. */
int  rpt_unknown_html(const rpt_unknown *u, const fb_head *h, const fb_featset *ds,
                      const int *truth, const int *pred, const int *slot, const fb_pic *pics,
                      size_t max, FILE *f, char *err, size_t errlen);

#endif
