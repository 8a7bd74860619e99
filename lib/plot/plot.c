/* Training curves as SVG, rendered with libvips (include/fb/plot.h). */
#include "fb/plot.h"
#include "fb/core.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

void fb_history_free(fb_history *h)
{
    free(h->epoch); free(h->loss); free(h->acc); free(h->val_loss); free(h->val_acc);
    memset(h, 0, sizeof *h);
}

static double field(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    return end == s ? NAN : v;
}

int fb_history_read(fb_history *h, FILE *f, const char *name, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    char line[1024];
    int lineno = 0, cap = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1) {
            if (strncmp(line, "epoch\t", 6) != 0) {
                snprintf(err, errlen, "%s: line 1: not an fb-train history (no 'epoch' header)", name);
                return -1;
            }
            continue;
        }
        if (line[0] == '\n' || line[0] == '#') continue;
        char *col[6];
        int ncol = 0;
        for (char *p = line, *tok; ncol < 6 && (tok = strsep(&p, "\t\n")); ) col[ncol++] = tok;
        if (ncol < 5 || isnan(field(col[0]))) {
            snprintf(err, errlen, "%s: line %d: want epoch, loss, accuracy, val_loss, val_accuracy", name, lineno);
            fb_history_free(h);
            return -1;
        }
        if (h->n == cap) {
            cap = cap ? cap * 2 : 64;
            double **arrs[5] = { &h->epoch, &h->loss, &h->acc, &h->val_loss, &h->val_acc };
            for (int i = 0; i < 5; i++) {
                double *p = realloc(*arrs[i], cap * sizeof(double));
                if (!p) { snprintf(err, errlen, "out of memory"); fb_history_free(h); return -1; }
                *arrs[i] = p;
            }
        }
        h->epoch[h->n] = field(col[0]);
        h->loss[h->n] = field(col[1]);
        h->acc[h->n] = field(col[2]);
        h->val_loss[h->n] = field(col[3]);
        h->val_acc[h->n] = field(col[4]);
        h->n++;
    }
    if (ferror(f)) { snprintf(err, errlen, "%s: %s", name, strerror(errno)); fb_history_free(h); return -1; }
    if (h->n == 0) { snprintf(err, errlen, "%s: no epochs to plot", name); fb_history_free(h); return -1; }
    /* fb-train keeps the epoch whose validation loss is strictly lowest, so
     * the first of equal ones (lib/head/train.c) */
    double best = INFINITY;
    for (int i = 0; i < h->n; i++)
        if (isfinite(h->val_loss[i]) && h->val_loss[i] < best) {
            best = h->val_loss[i];
            h->kept = (int)h->epoch[i];
        }
    return 0;
}

/* ---- SVG text builder ---- */
typedef struct { char *p; size_t len, cap; int oom; } sbuf;

static void out(sbuf *b, const char *fmt, ...)
{
    if (b->oom) return;
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) { b->oom = 1; return; }
        if (b->p && b->len + n < b->cap) { b->len += n; return; }
        size_t cap = b->cap ? b->cap * 2 : 8192;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return; }
        b->p = p;
        b->cap = cap;
    }
}

/* "Nice" tick step (1, 2, 5 x 10^k) for about `want` ticks over span. */
static double nice_step(double span, int want)
{
    double raw = span / want, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

/* The tick positions k*step within [lo, hi + slack], at most MAX_TICKS of
 * them.  Each is computed from its index, never by adding step to the last:
 * values so large that adding step leaves them unchanged (1e17 + 2) would
 * otherwise never reach hi.  Returns how many; 0 for a span that is not
 * finite. */
enum { MAX_TICKS = 64 };
static int tick_values(double lo, double hi, double step, double slack, double t[MAX_TICKS])
{
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(step) || !(step > 0)) return 0;
    double k0 = ceil(lo / step);
    int n = 0;
    for (int k = 0; n < MAX_TICKS; k++) {
        double v = (k0 + k) * step;
        if (!(v <= hi + slack) || (n > 0 && v <= t[n - 1])) break;
        t[n++] = v;
    }
    return n;
}

/* matplotlib's default colours: tab:blue for train, tab:orange for validation */
#define TRAIN_COLOUR "#1f77b4"
#define VAL_COLOUR "#ff7f0e"
#define FONT "font-family=\"DejaVu Sans, sans-serif\""

typedef struct { double x0, y0, w, h, xmin, xmax, ymin, ymax; } panel;

static double px(const panel *p, double x) { return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w; }
static double py(const panel *p, double y) { return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h; }

static void series(sbuf *b, const panel *p, const double *x, const double *y, int n, const char *colour)
{
    int started = 0;
    out(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"", colour);
    for (int i = 0; i < n; i++)
        if (isfinite(y[i])) { out(b, "%.1f,%.1f ", px(p, x[i]), py(p, y[i])); started = 1; }
    out(b, "\"/>\n");
    /* markers, as matplotlib's 'o-' style, so a single epoch still shows */
    for (int i = 0; started && i < n; i++)
        if (isfinite(y[i]))
            out(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(p, x[i]), py(p, y[i]), colour);
}

static void draw_panel(sbuf *b, panel *p, const fb_history *h, const double *train, const double *val,
                       const char *ylabel, int is_accuracy)
{
    double lo = INFINITY, hi = -INFINITY;
    int has_val = 0;
    for (int i = 0; i < h->n; i++) {
        if (isfinite(train[i])) { lo = fmin(lo, train[i]); hi = fmax(hi, train[i]); }
        if (isfinite(val[i])) { lo = fmin(lo, val[i]); hi = fmax(hi, val[i]); has_val = 1; }
    }
    if (!isfinite(lo)) { lo = 0; hi = 1; }
    if (is_accuracy) { hi = fmin(1, hi); }
    double pad = (hi - lo) * 0.05;
    if (pad <= 0) pad = fabs(hi) * 0.05 + 0.01;
    p->ymin = lo - pad;
    p->ymax = hi + pad;
    p->xmin = h->epoch[0];
    p->xmax = h->epoch[h->n - 1];
    if (p->xmax <= p->xmin) { p->xmin -= 0.5; p->xmax += 0.5; }
    double xpad = (p->xmax - p->xmin) * 0.04;
    p->xmin -= xpad;
    p->xmax += xpad;

    /* frame and grid */
    out(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" stroke=\"black\" stroke-width=\"1\"/>\n",
        p->x0, p->y0, p->w, p->h);
    double ystep = nice_step(p->ymax - p->ymin, 6);
    double tv[MAX_TICKS];
    int nt = tick_values(p->ymin, p->ymax, ystep, 1e-12, tv);
    for (int k = 0; k < nt; k++) {
        double t = tv[k], y = py(p, t);
        out(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", p->x0, y, p->x0 + p->w, y);
        out(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", p->x0 - 5, y, p->x0, y);
        int decimals = ystep >= 1 ? 0 : (int)ceil(-log10(ystep) - 1e-9);
        out(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"end\" %s>%.*f</text>\n",
            p->x0 - 8, y + 4.5, FONT, decimals, fabs(t) < ystep * 1e-6 ? 0.0 : t);
    }
    double xstep = nice_step(p->xmax - p->xmin, 8);
    if (xstep < 1) xstep = 1;   /* epochs are whole numbers */
    nt = tick_values(p->xmin, p->xmax, xstep, 1e-9, tv);
    for (int k = 0; k < nt; k++) {
        double t = tv[k], x = px(p, t);
        out(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", x, p->y0, x, p->y0 + p->h);
        out(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n", x, p->y0 + p->h, x, p->y0 + p->h + 5);
        out(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\" %s>%.0f</text>\n",
            x, p->y0 + p->h + 21, FONT, t);
    }
    out(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\" stroke-width=\"1\"/>\n",
        p->x0, p->y0, p->w, p->h);
    if (h->kept > 0) {
        /* the kept epoch: a dashed line across the panel, labelled */
        double x = px(p, h->kept);
        out(b, "<line class=\"kept\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2ca02c\" "
            "stroke-width=\"1.5\" stroke-dasharray=\"6,4\"/>\n", x, p->y0, x, p->y0 + p->h);
        out(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" fill=\"#2ca02c\" text-anchor=\"%s\" %s>kept: epoch %d</text>\n",
            x + (x > p->x0 + p->w / 2 ? -4 : 4),
            /* away from the legend: bottom for loss, top for accuracy */
            is_accuracy ? p->y0 + 14 : p->y0 + p->h - 8, x > p->x0 + p->w / 2 ? "end" : "start",
            FONT, h->kept);
    }
    series(b, p, h->epoch, train, h->n, TRAIN_COLOUR);
    if (has_val) series(b, p, h->epoch, val, h->n, VAL_COLOUR);

    /* axis labels and title */
    out(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\" %s>epoch</text>\n",
        p->x0 + p->w / 2, p->y0 + p->h + 42, FONT);
    out(b, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" font-size=\"14\" text-anchor=\"middle\" %s>%s</text>\n",
        p->x0 - 52, p->y0 + p->h / 2, FONT, ylabel);
    out(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"15\" text-anchor=\"middle\" %s>%s</text>\n",
        p->x0 + p->w / 2, p->y0 - 10, FONT, ylabel);

    /* legend: top right for loss (falls), bottom right for accuracy (rises) */
    double lw = 118, lh = has_val ? 50 : 28;
    double lx = p->x0 + p->w - lw - 10, ly = is_accuracy ? p->y0 + p->h - lh - 10 : p->y0 + 10;
    out(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"3\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#cccccc\"/>\n",
        lx, ly, lw, lh);
    const char *names[2] = { "train", "validation" }, *colours[2] = { TRAIN_COLOUR, VAL_COLOUR };
    for (int i = 0; i < (has_val ? 2 : 1); i++) {
        double y = ly + 16 + 22 * i;
        out(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
            lx + 8, y - 4, lx + 36, y - 4, colours[i]);
        out(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", lx + 22, y - 4, colours[i]);
        out(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" %s>%s</text>\n", lx + 44, y + 1, FONT, names[i]);
    }
}

char *fb_plot_history_svg(const fb_history *h, int width, int height, const char *title)
{
    sbuf b = { 0 };
    out(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
        width, height, width, height);
    out(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    double top = title && *title ? 70 : 45, bottom = 62, left = 78, gap = 95, right = 25;
    if (title && *title) {
        /* escape the few characters XML cares about */
        out(&b, "<text x=\"%d\" y=\"30\" font-size=\"17\" text-anchor=\"middle\" %s>", width / 2, FONT);
        for (const char *s = title; *s; s++) {
            if (*s == '<') out(&b, "&lt;");
            else if (*s == '>') out(&b, "&gt;");
            else if (*s == '&') out(&b, "&amp;");
            else out(&b, "%c", *s);
        }
        out(&b, "</text>\n");
    }
    double pw = (width - left - gap - right) / 2.0, ph = height - top - bottom;
    panel loss = { left, top, pw, ph, 0, 0, 0, 0 }, acc = { left + pw + gap, top, pw, ph, 0, 0, 0, 0 };
    draw_panel(&b, &loss, h, h->loss, h->val_loss, "loss", 0);
    draw_panel(&b, &acc, h, h->acc, h->val_acc, "accuracy", 1);
    out(&b, "</svg>\n");
    if (b.oom) { free(b.p); return NULL; }
    return b.p;
}

/* ---- the unknown test's trade-off ---- */

void fb_reject_curve_free(fb_reject_curve *c)
{
    free(c->cut); free(c->in); free(c->out);
    memset(c, 0, sizeof *c);
}

int fb_reject_curve_read(fb_reject_curve *c, FILE *f, const char *name, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    char line[1024];
    int lineno = 0, cap = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1) {
            static const char header[] = "cut\tin_class_rejected\toutsiders_rejected";
            if (strncmp(line, header, sizeof header - 1) != 0) {
                snprintf(err, errlen, "%s: line 1: not an fb-eval --curve file (no 'cut' header)", name);
                return -1;
            }
            continue;
        }
        char *col[3];
        int ncol = 0;
        for (char *p = line, *tok; ncol < 3 && (tok = strsep(&p, "\t\n")); ) col[ncol++] = tok;
        double cut = ncol == 3 ? field(col[0]) : NAN, in = ncol == 3 ? field(col[1]) : NAN,
               o = ncol == 3 ? field(col[2]) : NAN;
        if (isnan(cut) || !(in >= 0 && in <= 1) || !(o >= 0 && o <= 1)) {
            snprintf(err, errlen, "%s: line %d: want cut, in-class and outsider shares in 0..1 "
                     "(fb-eval --curve needs outsiders and in-class records to draw)", name, lineno);
            fb_reject_curve_free(c);
            return -1;
        }
        if (c->n == cap) {
            cap = cap ? cap * 2 : 256;
            double **arrs[3] = { &c->cut, &c->in, &c->out };
            for (int i = 0; i < 3; i++) {
                double *p = realloc(*arrs[i], cap * sizeof(double));
                if (!p) { snprintf(err, errlen, "out of memory"); fb_reject_curve_free(c); return -1; }
                *arrs[i] = p;
            }
        }
        c->cut[c->n] = cut;
        c->in[c->n] = in;
        c->out[c->n] = o;
        c->n++;
    }
    if (ferror(f)) { snprintf(err, errlen, "%s: %s", name, strerror(errno)); fb_reject_curve_free(c); return -1; }
    if (c->n == 0) { snprintf(err, errlen, "%s: no cuts to plot", name); fb_reject_curve_free(c); return -1; }
    return 0;
}

/* Axis ticks along one side of a panel: x (bottom) or y (left). */
static void ticks(sbuf *b, const panel *p, int is_x)
{
    double lo = is_x ? p->xmin : p->ymin, hi = is_x ? p->xmax : p->ymax, step = nice_step(hi - lo, 6);
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    double tv[MAX_TICKS];
    int nt = tick_values(lo, hi, step, 1e-12, tv);
    for (int k = 0; k < nt; k++) {
        double t = tv[k], v = fabs(t) < step * 1e-6 ? 0.0 : t;
        if (is_x) {
            double x = px(p, t);
            out(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", x, p->y0, x, p->y0 + p->h);
            out(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"middle\" %s>%.*f</text>\n",
                x, p->y0 + p->h + 21, FONT, decimals, v);
        } else {
            double y = py(p, t);
            out(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", p->x0, y, p->x0 + p->w, y);
            out(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" text-anchor=\"end\" %s>%.*f</text>\n",
                p->x0 - 8, y + 4.5, FONT, decimals, v);
        }
    }
}

char *fb_plot_reject_curve_svg(const fb_reject_curve *c, int width, int height, const char *title)
{
    sbuf b = { 0 };
    out(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
        width, height, width, height);
    out(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    double top = 45, bottom = 62, left = 78, right = 25;
    /* the interesting part is where few insiders are lost: x runs to a
     * little past the point where outsiders stop gaining (at least 0.05) */
    double best = 0, xmax = 0;
    for (int i = 0; i < c->n; i++) best = fmax(best, c->out[i]);
    xmax = 1;
    for (int i = 0; i < c->n; i++)
        if (c->out[i] >= best && c->in[i] < xmax) xmax = c->in[i];
    xmax = fmin(1, fmax(0.05, xmax * 1.25));
    panel p = { left, top, width - left - right, height - top - bottom, 0, xmax, 0, 1.02 };
    out(&b, "<text x=\"%d\" y=\"30\" font-size=\"17\" text-anchor=\"middle\" %s>", width / 2, FONT);
    const char *t = title && *title ? title : "unknown test: outsiders rejected as the cut moves";
    for (const char *s = t; *s; s++) {
        if (*s == '<') out(&b, "&lt;");
        else if (*s == '>') out(&b, "&gt;");
        else if (*s == '&') out(&b, "&amp;");
        else out(&b, "%c", *s);
    }
    out(&b, "</text>\n");
    out(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" stroke=\"black\"/>\n",
        p.x0, p.y0, p.w, p.h);
    ticks(&b, &p, 1);
    ticks(&b, &p, 0);
    /* points sorted by in-class share, clipped to the panel */
    out(&b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"", TRAIN_COLOUR);
    for (int i = c->n - 1; i >= 0; i--)
        if (c->in[i] <= xmax) out(&b, "%.1f,%.1f ", px(&p, c->in[i]), py(&p, c->out[i]));
    out(&b, "\"/>\n");
    out(&b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\" %s>in-class records rejected (share)</text>\n",
        p.x0 + p.w / 2, p.y0 + p.h + 42, FONT);
    out(&b, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" font-size=\"14\" text-anchor=\"middle\" %s>outsiders rejected (share)</text>\n",
        p.x0 - 52, p.y0 + p.h / 2, FONT);
    out(&b, "</svg>\n");
    if (b.oom) { free(b.p); return NULL; }
    return b.p;
}

int fb_plot_svg_to_png(const char *svg, const char *path, char *err, size_t errlen)
{
    if (VIPS_INIT("fb-plot")) {
        snprintf(err, errlen, "cannot start libvips: %s", vips_error_buffer());
        return -1;
    }
    VipsImage *img = NULL;
    if (vips_svgload_buffer((void *)svg, strlen(svg), &img, NULL)) {
        snprintf(err, errlen, "rendering the plot: %s", vips_error_buffer());
        vips_error_clear();
        return -1;
    }
    void *png = NULL;
    size_t len = 0;
    int rc = vips_pngsave_buffer(img, &png, &len, NULL);
    g_object_unref(img);
    if (rc) {
        snprintf(err, errlen, "encoding PNG: %s", vips_error_buffer());
        vips_error_clear();
        return -1;
    }
    /* vips_pngsave to a file would write in place; a buffer and fb_atomic
     * keep a half-written PNG from ever appearing at path */
    rc = fb_write_file_atomic(path, png, len, err, errlen);
    g_free(png);
    return rc;
}
