/* Training curves: a history TSV (fb-train --history) drawn as an SVG with two
 * panels (loss, accuracy; train and validation per epoch) and rendered to PNG
 * with libvips.  Also the unknown test's trade-off (fb-eval --curve): one
 * panel, outsiders rejected against in-class records rejected. */
#ifndef FB_PLOT_H
#define FB_PLOT_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    int n;
    double *epoch, *loss, *acc, *val_loss, *val_acc;   /* NaN where absent */
    /* The epoch fb-train kept (the first with the lowest validation loss,
     * its rule), marked on the plot; 0 when there was no validation.  A
     * caller that knows better (the head's best_epoch note) may set it. */
    int kept;
} fb_history;

/* Reads fb-train's history TSV (header line, then epoch, loss, accuracy,
 * val_loss, val_accuracy, seconds) and finds the kept epoch.  0 ok; -1 with
 * a message in err. */
int  fb_history_read(fb_history *h, FILE *f, const char *name, char *err, size_t errlen);
void fb_history_free(fb_history *h);
/* The SVG text (malloc'd), width x height pixels; NULL on no memory. */
char *fb_plot_history_svg(const fb_history *h, int width, int height, const char *title);
/* fb-eval --curve: cut, in-class share rejected, outsider share rejected. */
typedef struct {
    int n;
    double *cut, *in, *out;
} fb_reject_curve;

/* Reads fb-eval --curve's TSV (header "cut\tin_class_rejected\t...").  Needs
 * outsiders (a column of nan is refused).  0 ok; -1 with a message in err. */
int  fb_reject_curve_read(fb_reject_curve *c, FILE *f, const char *name, char *err, size_t errlen);
void fb_reject_curve_free(fb_reject_curve *c);
/* The SVG text (malloc'd) of the trade-off; NULL on no memory. */
char *fb_plot_reject_curve_svg(const fb_reject_curve *c, int width, int height, const char *title);

/* Renders SVG text to a PNG at path, atomically.  0 ok; -1 with message. */
int  fb_plot_svg_to_png(const char *svg, const char *path, char *err, size_t errlen);

#endif
