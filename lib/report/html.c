/* The report: one self-contained HTML page (include/fb/report.h, "the
 * report").  Pictures are inlined as base64 JPEG, the curves as inline SVG;
 * the page reads without JavaScript, and a few lines of it sort and filter
 * the table of every photo. */
#include "internal.h"
#include "fb/stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fb_report_opts_default(fb_report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mistakes = 24;
    o->unsure = 8;
    o->per_cell = 60;
    o->jobs = 2;
}

/* ---- small writers ---- */

void rpt_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

int rpt_img(FILE *f, const uint8_t *rgb, int side, int show, int q, const char *alt,
            const char *cls, const char *problem, char *err, size_t errlen)
{
    if (!rgb) {
        fprintf(f, "<div class=\"missing %s\" style=\"width:%dpx;height:%dpx\">", cls, show, show);
        rpt_esc(f, problem ? problem : "no picture");
        fprintf(f, "</div>");
        return 0;
    }
    char *uri = fb_pic_data_uri(rgb, side, side, show, q, err, errlen);
    if (!uri) return -1;
    fprintf(f, "<img class=\"%s\" width=\"%d\" height=\"%d\" alt=\"", cls, show, show);
    rpt_esc(f, alt);
    fprintf(f, "\" src=\"%s\">", uri);
    free(uri);
    return 0;
}

/* ---- which records are shown ---- */

typedef struct {
    int *truth, *pred;        /* [ds->n]: head class indices, truth -1 when not scored */
    size_t *unsure;           /* right answers, least confident first */
    size_t nunsure;
    int *slot;                /* [ds->n]: index into pics, -1 when not rendered */
    uint8_t **heat;           /* [ds->n]: blended heatmap (224x224x3) or NULL */
    fb_pic *pics;
    const char **paths;
    size_t npics;
    rpt_audit audit;
    int has_audit;
    rpt_unknown unknown;      /* records the head would call unknown */
} plan;

/* Least confident first (the probability of the class said); ties in stream order. */
static int by_confidence(const void *a, const void *b, void *ctx)
{
    const fb_report_opts *o = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int k = o->head->nclasses;
    float px = o->probs[x * k + fb_head_decide(o->head, o->probs + x * k)];
    float py = o->probs[y * k + fb_head_decide(o->head, o->probs + y * k)];
    return px < py ? -1 : px > py ? 1 : (x > y) - (x < y);
}

static float prob_of(const fb_report_opts *o, size_t row, int c)
{
    return o->probs[row * o->head->nclasses + c];
}

static int make_plan(const fb_report_opts *o, plan *p, char *err, size_t errlen)
{
    const fb_featset *ds = o->ds;
    int k = o->head->nclasses;
    size_t n = ds->n;
    int *map = malloc((ds->nclasses ? ds->nclasses : 1) * sizeof *map);
    p->truth = malloc(n * sizeof *p->truth);
    p->pred = malloc(n * sizeof *p->pred);
    p->unsure = malloc(n * sizeof *p->unsure);
    p->slot = malloc(n * sizeof *p->slot);
    p->heat = calloc(n ? n : 1, sizeof *p->heat);
    if (!map || !p->truth || !p->pred || !p->unsure || !p->slot || !p->heat) goto oom;
    /* the same matching by name and decision as fb_score_init */
    fb_class_map(ds->classes, ds->nclasses, o->head->classes, k, map);
    for (size_t r = 0; r < n; r++) {
        p->truth[r] = ds->y[r] >= 0 ? map[ds->y[r]] : -1;
        p->pred[r] = fb_head_decide(o->head, o->probs + r * k);
        p->slot[r] = -1;
        if (p->truth[r] >= 0 && p->truth[r] == p->pred[r]) p->unsure[p->nunsure++] = r;
    }
    free(map);
    map = NULL;
    qsort_r(p->unsure, p->nunsure, sizeof *p->unsure, by_confidence, (void *)o);
    if (p->nunsure > (size_t)o->unsure) p->nunsure = o->unsure;

    /* rendered: the shown mistakes and unsure ones, and up to per_cell of each cell */
    size_t *in_cell = calloc((size_t)k * k, sizeof *in_cell);
    if (!in_cell) goto oom;
    for (size_t r = 0; r < n; r++)
        if (p->truth[r] >= 0 && in_cell[p->truth[r] * k + p->pred[r]]++ < (size_t)o->per_cell)
            p->slot[r] = 0;
    free(in_cell);
    for (size_t i = 0; i < o->score->nmistakes && i < (size_t)o->mistakes; i++)
        p->slot[o->score->mistakes[i].row] = 0;
    for (size_t i = 0; i < p->nunsure; i++) p->slot[p->unsure[i]] = 0;
    if (rpt_unknown_find(&p->unknown, o->head, ds, p->truth, err, errlen)) return -1;
    for (size_t i = 0; i < p->unknown.n && i < (size_t)o->mistakes; i++)
        p->slot[p->unknown.rows[i]] = 0;
    if (o->audit_json) {
        if (rpt_audit_open(&p->audit, o->audit_json, o->audit_name, err, errlen)) return -1;
        p->has_audit = 1;
    }
    size_t total = p->has_audit ? p->audit.npaths : 0;
    for (size_t r = 0; r < n; r++) total += p->slot[r] == 0;
    p->paths = malloc((total ? total : 1) * sizeof *p->paths);
    p->pics = calloc(total ? total : 1, sizeof *p->pics);
    if (!p->paths || !p->pics) goto oom;
    for (size_t r = 0; r < n; r++)
        if (p->slot[r] == 0) {
            p->slot[r] = (int)p->npics;
            p->paths[p->npics++] = ds->ids[r];
        }
    for (size_t i = 0; p->has_audit && i < p->audit.npaths; i++) {
        p->audit.slot[i] = (int)p->npics;
        p->paths[p->npics++] = p->audit.paths[i];
    }
    return 0;
oom:
    free(map);
    snprintf(err, errlen, "out of memory");
    return -1;
}

static void free_plan(plan *p, size_t n)
{
    free(p->truth); free(p->pred); free(p->unsure); free(p->slot);
    for (size_t r = 0; p->heat && r < n; r++) free(p->heat[r]);
    free(p->heat);
    fb_pic_free(p->pics, p->npics);
    free(p->pics);
    free(p->paths);
    if (p->has_audit) rpt_audit_close(&p->audit);
    rpt_unknown_free(&p->unknown);
}

/* ---- heatmaps ---- */

/* Draws the heatmap of the predicted class for each shown record.  A
 * failure of the backbone leaves the heatmaps out with a note, not the
 * report. */
static int draw_heatmaps(const fb_report_opts *o, plan *p, const fb_prep_opts *seen,
                         fb_report_stats *st)
{
    if (!o->spatial) {
        snprintf(st->heatmap_note, sizeof st->heatmap_note, "no heatmaps: %s",
                 o->no_heatmaps ? o->no_heatmaps : "not asked for");
        return 0;
    }
    if (seen->size != 224 || o->ds->dim != FB_CAM_CHANNELS) {
        snprintf(st->heatmap_note, sizeof st->heatmap_note,
                 "no heatmaps: they need ResNet50 features of 224x224 images");
        return 0;
    }
    char why[256];
    if (o->ds->n && fb_cam_check_head(o->head, o->ds->x, o->probs, why, sizeof why)) {
        snprintf(st->heatmap_note, sizeof st->heatmap_note, "no heatmaps: %s", why);
        return 0;
    }
    float *A = malloc(sizeof(float) * FB_CAM_CELLS * FB_CAM_CHANNELS);
    if (!A) return -1;
    size_t n = o->score->nmistakes < (size_t)o->mistakes ? o->score->nmistakes : (size_t)o->mistakes;
    for (size_t i = 0; i < n + p->nunsure; i++) {
        size_t r = i < n ? o->score->mistakes[i].row : p->unsure[i - n];
        const fb_pic *pic = &p->pics[p->slot[r]];
        if (!pic->seen || p->heat[r]) continue;
        if (o->spatial(o->spatial_ctx, pic->seen, A, why, sizeof why)) {
            snprintf(st->heatmap_note, sizeof st->heatmap_note, "no heatmaps: %s", why);
            break;
        }
        /* the photo as it is now against the features the stream holds */
        double dot = 0, na = 0, nb = 0;
        const float *x = o->ds->x + r * o->ds->dim;
        for (int k = 0; k < FB_CAM_CHANNELS; k++) {
            double m = 0;
            for (int c = 0; c < FB_CAM_CELLS; c++) m += A[(size_t)c * FB_CAM_CHANNELS + k];
            m /= FB_CAM_CELLS;
            dot += m * x[k]; na += m * m; nb += (double)x[k] * x[k];
        }
        if (dot < 0.99 * sqrt(na * nb)) st->changed++;
        p->heat[r] = malloc(224 * 224 * 3);
        if (!p->heat[r] ||
            fb_cam_draw(o->head, A, FB_CAM_SIDE, FB_CAM_CHANNELS, p->pred[r], pic->seen, 224,
                        p->heat[r], NULL, why, sizeof why)) {
            free(p->heat[r]);
            p->heat[r] = NULL;
            snprintf(st->heatmap_note, sizeof st->heatmap_note, "no heatmaps: %s", why);
            break;
        }
        st->heatmaps++;
    }
    free(A);
    return 0;
}

/* ---- sections ---- */

static const char style[] =
    "body{font:15px/1.45 system-ui,'DejaVu Sans',sans-serif;margin:0 auto;max-width:1480px;"
    "padding:0 16px 40px;color:#1b1b1b;background:#fafafa}\n"
    "h1{font-size:26px;margin:24px 0 4px}h2{border-bottom:2px solid #ddd;padding-top:18px}\n"
    "nav a{margin-right:14px}code{font-size:13px;word-break:break-all}\n"
    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:4px 8px;"
    "text-align:right}th{background:#eee}td:first-child,th:first-child{text-align:left}\n"
    "table.confusion td{min-width:70px;text-align:center;font-size:18px}\n"
    "table.confusion td a{color:#111;text-decoration:none;display:block}\n"
    ".record{display:inline-block;vertical-align:top;background:#fff;border:1px solid #ddd;"
    "border-radius:6px;margin:6px;padding:8px;max-width:700px}\n"
    ".record figure,.group figure{display:inline-block;margin:0 4px;vertical-align:top;"
    "text-align:center;font-size:12px}\n"
    ".record p{margin:4px 0 0;font-size:14px}.wrong{color:#b00}.right{color:#070}\n"
    ".gallery img,.gallery .missing{margin:2px}\n"
    ".missing{display:inline-flex;align-items:center;justify-content:center;background:#ddd;"
    "color:#555;font-size:11px;text-align:center;overflow:hidden;vertical-align:top}\n"
    ".group{background:#fff;border:1px solid #ddd;border-radius:6px;margin:6px 0;padding:6px}\n"
    ".group.leak{border-color:#d62728}.split{font-weight:bold}\n"
    ".note{background:#fff4ce;border-left:4px solid #e0b000;padding:6px 10px}\n"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px}dt{font-weight:bold}"
    "dd{margin:0}\n";

static void plain_numbers(const fb_report_opts *o, FILE *f)
{
    const fb_metrics *m = &o->score->m;
    const fb_head *h = o->head;
    char words[512];
    fb_words_accuracy(m->correct, m->n, words, sizeof words);
    fprintf(f, "<section id=\"numbers\"><h2>The numbers</h2>\n<p><strong>%s</strong></p>\n", words);
    fprintf(f, "<p>Always guessing the largest class would score %.1f%%. Balanced accuracy "
            "(the mean of each class's recall, which a lopsided test set cannot flatter) is "
            "%.1f%%. Mean loss (cross-entropy) is %.3f.",
            100 * fb_majority_baseline(m->confusion, m->k), 100 * fb_balanced_accuracy(m->confusion, m->k),
            fb_metrics_mean_loss(m));
    if (h->nclasses == 2) {
        double auc = fb_metrics_auc(m);
        if (!isnan(auc))
            fprintf(f, " ROC AUC is %.3f: the chance that a random <em>%s</em> photo scores "
                    "higher for <em>%s</em> than a random <em>%s</em> photo.",
                    auc, h->classes[1], h->classes[1], h->classes[0]);
    }
    if (h->nclasses == 2 && h->threshold != 0) {
        fprintf(f, " This head answers <em>");
        rpt_esc(f, h->classes[1]);
        fprintf(f, "</em> when ln(p(%s) / p(%s)) &gt; %.3f, a threshold chosen in training, "
                "not when its probability passes one half.", "1", "0", h->threshold);
    }
    fprintf(f, "</p>\n");
    if (o->score->unlabelled || o->score->unknown_total)
        fprintf(f, "<p class=\"note\">Not scored: %zu unlabelled record(s) and %zu of classes "
                "the head was not trained on.</p>\n", o->score->unlabelled, o->score->unknown_total);
    fprintf(f, "<table><tr><th>class</th><th>photos</th><th>recall (found)</th>"
            "<th>precision (right when said)</th><th>F1</th></tr>\n");
    for (int c = 0; c < h->nclasses; c++) {
        size_t support = 0;
        for (int p = 0; p < h->nclasses; p++) support += m->confusion[(size_t)c * h->nclasses + p];
        fprintf(f, "<tr><td>");
        rpt_esc(f, h->classes[c]);
        fprintf(f, "</td><td>%zu</td>", support);
        double v[3] = { fb_metrics_recall(m, c), fb_metrics_precision(m, c), fb_metrics_f1(m, c) };
        for (int i = 0; i < 3; i++) {
            if (isnan(v[i])) fprintf(f, "<td>&ndash;</td>");
            else fprintf(f, "<td>%.1f%%</td>", 100 * v[i]);
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table></section>\n");
}

static void confusion(const fb_report_opts *o, FILE *f)
{
    const fb_metrics *m = &o->score->m;
    const fb_head *h = o->head;
    int k = h->nclasses;
    fprintf(f, "<section id=\"confusion\"><h2>Which class is taken for which</h2>\n"
            "<p>Rows: the true class; columns: what the head said. Green is right, red is "
            "wrong, the deeper the larger a share of the row. Each count leads to its photos."
            "</p>\n<table class=\"confusion\"><tr><th>true \\ said</th>");
    for (int c = 0; c < k; c++) { fprintf(f, "<th>"); rpt_esc(f, h->classes[c]); fprintf(f, "</th>"); }
    fprintf(f, "</tr>\n");
    for (int t = 0; t < k; t++) {
        size_t row = 0;
        for (int c = 0; c < k; c++) row += m->confusion[(size_t)t * k + c];
        fprintf(f, "<tr><th>");
        rpt_esc(f, h->classes[t]);
        fprintf(f, "</th>");
        for (int c = 0; c < k; c++) {
            size_t n = m->confusion[(size_t)t * k + c];
            double share = row ? (double)n / row : 0;
            fprintf(f, "<td data-true=\"%d\" data-pred=\"%d\" data-count=\"%zu\" "
                    "style=\"background:rgba(%s,%.2f)\">", t, c, n,
                    t == c ? "44,160,44" : "214,39,40", n ? 0.12 + 0.7 * share : 0.0);
            if (n) fprintf(f, "<a href=\"#cell-%d-%d\">%zu</a></td>", t, c, n);
            else fprintf(f, "0</td>");
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</table></section>\n");
}

static int record(const fb_report_opts *o, const plan *p, size_t r, const char *heat_note,
                  FILE *f, char *err, size_t errlen)
{
    const fb_pic *pic = &p->pics[p->slot[r]];
    const fb_head *h = o->head;
    int right = p->truth[r] == p->pred[r];
    fprintf(f, "<div class=\"record %s\" data-row=\"%zu\">", right ? "unsure" : "mistake", r);
    const char *label[3] = { "the photo", "what the network saw", "where it looked" };
    const uint8_t *img[3] = { pic->whole, pic->seen, p->heat[r] };
    int side[3] = { 224, 224, 224 };
    for (int i = 0; i < 3; i++) {
        fprintf(f, "<figure>");
        const char *why = pic->problem ? pic->problem : i == 2 ? heat_note : NULL;
        if (rpt_img(f, img[i], side[i], 224, 72, label[i], "pic", why, err, errlen)) return -1;
        fprintf(f, "<figcaption>%s%s</figcaption></figure>", label[i],
                i == 2 && img[2] ? " (for the class it said)" : "");
    }
    fprintf(f, "<p><code>");
    rpt_esc(f, o->ds->ids[r]);
    fprintf(f, "</code><br>true <strong>");
    rpt_esc(f, h->classes[p->truth[r]]);
    fprintf(f, "</strong>, said <strong class=\"%s\">", right ? "right" : "wrong");
    rpt_esc(f, h->classes[p->pred[r]]);
    fprintf(f, "</strong> with probability %.3f", prob_of(o, r, p->pred[r]));
    if (pic->problem) {
        fprintf(f, "<br><span class=\"note\">The photo is no longer where the stream says: ");
        rpt_esc(f, pic->problem);
        fprintf(f, "</span>");
    }
    fprintf(f, "</p></div>\n");
    return 0;
}

static int records(const fb_report_opts *o, const plan *p, const fb_report_stats *st, FILE *f,
                   char *err, size_t errlen)
{
    const fb_score *s = o->score;
    size_t n = s->nmistakes < (size_t)o->mistakes ? s->nmistakes : (size_t)o->mistakes;
    fprintf(f, "<section id=\"mistakes\"><h2>Mistakes, most confident first</h2>\n");
    fprintf(f, "<p>%zu photo%s misclassified%s. For each: the whole photo, the %dx%d square the "
            "network saw, and where it looked for the class it said (warm colours: more "
            "evidence).</p>\n", s->nmistakes, s->nmistakes == 1 ? "" : "s",
            n < s->nmistakes ? "; the most confident ones are shown" : "", 224, 224);
    if (st->heatmap_note[0]) {
        fprintf(f, "<p class=\"note\">Heatmaps unavailable: ");
        rpt_esc(f, st->heatmap_note);
        fprintf(f, "</p>\n");
    }
    for (size_t i = 0; i < n; i++)
        if (record(o, p, s->mistakes[i].row, st->heatmap_note, f, err, errlen)) return -1;
    fprintf(f, "</section>\n<section id=\"unsure\"><h2>Right, but barely</h2>\n"
            "<p>The least confident right answers: the next mistakes.</p>\n");
    for (size_t i = 0; i < p->nunsure; i++)
        if (record(o, p, p->unsure[i], st->heatmap_note, f, err, errlen)) return -1;
    fprintf(f, "</section>\n");
    return 0;
}

static int cells(const fb_report_opts *o, const plan *p, FILE *f, char *err, size_t errlen)
{
    const fb_head *h = o->head;
    int k = h->nclasses;
    fprintf(f, "<section id=\"cells\"><h2>The photos in each cell</h2>\n");
    for (int t = 0; t < k; t++)
        for (int c = 0; c < k; c++) {
            size_t n = o->score->m.confusion[(size_t)t * k + c], shown = 0;
            if (!n) continue;
            fprintf(f, "<h3 id=\"cell-%d-%d\">True ", t, c);
            rpt_esc(f, h->classes[t]);
            fprintf(f, ", said ");
            rpt_esc(f, h->classes[c]);
            fprintf(f, " (%zu)</h3>\n<div class=\"gallery\">", n);
            for (size_t r = 0; r < o->ds->n; r++) {
                if (p->truth[r] != t || p->pred[r] != c || p->slot[r] < 0) continue;
                const fb_pic *pic = &p->pics[p->slot[r]];
                char alt[600];
                snprintf(alt, sizeof alt, "%s (p %.2f)", o->ds->ids[r], prob_of(o, r, c));
                if (rpt_img(f, pic->whole, 224, 96, 65, alt, "thumb", pic->problem, err, errlen))
                    return -1;
                shown++;
            }
            fprintf(f, "</div>\n");
            if (shown < n) fprintf(f, "<p>and %zu more (see the table below).</p>\n", n - shown);
        }
    fprintf(f, "</section>\n");
    return 0;
}

static void every_photo(const fb_report_opts *o, const plan *p, FILE *f)
{
    const fb_head *h = o->head;
    fprintf(f, "<section id=\"all\"><h2>Every photo</h2>\n"
            "<p><input id=\"filter\" type=\"search\" placeholder=\"filter by path or class\" "
            "hidden> Click a column's title to sort by it.</p>\n"
            "<table class=\"sortable\" id=\"every\"><thead><tr><th>photo</th><th>true</th>"
            "<th>said</th><th>probability</th><th>right</th></tr></thead><tbody>\n");
    for (size_t r = 0; r < o->ds->n; r++) {
        fprintf(f, "<tr><td><code>");
        rpt_esc(f, o->ds->ids[r]);
        fprintf(f, "</code></td><td>");
        if (p->truth[r] >= 0) rpt_esc(f, h->classes[p->truth[r]]);
        else fprintf(f, "&ndash;");
        fprintf(f, "</td><td>");
        rpt_esc(f, h->classes[p->pred[r]]);
        fprintf(f, "</td><td>%.4f</td><td>%s</td></tr>\n", prob_of(o, r, p->pred[r]),
                p->truth[r] < 0 ? "&ndash;" : p->truth[r] == p->pred[r] ? "yes" : "no");
    }
    fprintf(f, "</tbody></table></section>\n");
}

static void history(const fb_report_opts *o, FILE *f)
{
    fprintf(f, "<section id=\"history\"><h2>Training</h2>\n");
    char *svg = fb_plot_history_svg(o->history, 1100, 420, NULL);
    if (svg) {
        fprintf(f, "<figure>%s<figcaption>Loss and accuracy per epoch. ", svg);
        if (o->history->kept)
            fprintf(f, "The dashed line marks epoch %d, the one kept (lowest validation loss).",
                    o->history->kept);
        fprintf(f, "</figcaption></figure>\n");
        free(svg);
    }
    fprintf(f, "</section>\n");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* fb-split's lists: photos per class in each split, and whether any scored
 * photo is also listed for training or validation. */
static void lists(const fb_report_opts *o, FILE *f)
{
    static const char *split[3] = { "train", "val", "test" };
    const fb_head *h = o->head;
    fprintf(f, "<section id=\"lists\"><h2>The split</h2>\n<table><tr><th>class</th>");
    for (int s = 0; s < 3; s++) fprintf(f, "<th>%s</th>", split[s]);
    fprintf(f, "</tr>\n");
    size_t (*count)[3] = calloc(h->nclasses, sizeof *count), other = 0, nseen = 0, cap = 0;
    char **seen = NULL;
    for (int s = 0; s < 3 && count; s++) {
        char path[4096], line[8192];
        snprintf(path, sizeof path, "%s/%s.tsv", o->lists_dir, split[s]);
        FILE *in = fopen(path, "r");
        if (!in) continue;
        while (fgets(line, sizeof line, in)) {
            line[strcspn(line, "\n")] = 0;
            char *tab = strchr(line, '\t');
            if (!tab) continue;
            *tab = 0;
            int c = fb_class_index(h->classes, h->nclasses, line);
            if (c >= 0) count[c][s]++;
            else other++;
            if (s < 2) {
                if (nseen == cap) {
                    cap = cap ? 2 * cap : 1024;
                    char **g = realloc(seen, cap * sizeof *seen);
                    if (!g) break;
                    seen = g;
                }
                if ((seen[nseen] = strdup(tab + 1))) nseen++;
            }
        }
        fclose(in);
    }
    for (int c = 0; c < h->nclasses && count; c++) {
        fprintf(f, "<tr><td>");
        rpt_esc(f, h->classes[c]);
        fprintf(f, "</td><td>%zu</td><td>%zu</td><td>%zu</td></tr>\n", count[c][0], count[c][1],
                count[c][2]);
    }
    fprintf(f, "</table>\n");
    if (other) fprintf(f, "<p>%zu listed photos are of classes the head does not know.</p>\n", other);
    qsort(seen, nseen, sizeof *seen, cmp_str);
    size_t overlap = 0;
    for (size_t r = 0; r < o->ds->n && seen; r++)
        overlap += bsearch(&o->ds->ids[r], seen, nseen, sizeof *seen, cmp_str) != NULL;
    if (overlap)
        fprintf(f, "<p class=\"note\"><strong>%zu of the scored photos are also listed for "
                "training or validation</strong>: the test is not a test of unseen photos.</p>\n",
                overlap);
    else
        fprintf(f, "<p>None of the scored photos is listed for training or validation.</p>\n");
    fprintf(f, "</section>\n");
    for (size_t i = 0; i < nseen; i++) free(seen[i]);
    free(seen);
    free(count);
}

static void provenance(const fb_report_opts *o, FILE *f)
{
    const fb_head *h = o->head;
    char arch[128];
    fb_head_arch_string(h, arch, sizeof arch);
    fprintf(f, "<section id=\"provenance\"><h2>How this was made</h2>\n<dl>\n<dt>head</dt><dd><code>");
    rpt_esc(f, o->head_name);
    fprintf(f, "</code>: %s, %d inputs, %d classes</dd>\n<dt>photos</dt><dd><code>",
            arch, h->in_dim, h->nclasses);
    rpt_esc(f, o->stream_name);
    fprintf(f, "</code>: %zu records</dd>\n", o->ds->n);
    char norm[64];
    fb_norm_string(h->norm, norm, sizeof norm);
    fprintf(f, "<dt>normalisation</dt><dd>%s</dd>\n", norm);
    const char *text[2] = { o->ds->provenance, h->training };
    for (int i = 0; i < 2; i++)
        for (const char *line = text[i]; line && *line;) {
            size_t n = strcspn(line, "\n"), eq = strcspn(line, "=");
            if (eq < n) {
                char key[128], val[1024];
                snprintf(key, sizeof key, "%s%.*s", i ? "training: " : "", (int)eq, line);
                snprintf(val, sizeof val, "%.*s", (int)(n - eq - 1), line + eq + 1);
                fprintf(f, "<dt>");
                rpt_esc(f, key);
                fprintf(f, "</dt><dd>");
                rpt_esc(f, val);
                fprintf(f, "</dd>\n");
            }
            line += n + (line[n] == '\n');
        }
    fprintf(f, "<dt>made</dt><dd>");
    rpt_esc(f, o->date ? o->date : "");
    fprintf(f, " by fb-report ");
    rpt_esc(f, o->version ? o->version : "");
    fprintf(f, "</dd>\n</dl></section>\n");
}

/* Plain JavaScript, no libraries: sort the table by a column, filter rows. */
static const char script[] =
    "(function(){\n"
    "var t=document.getElementById('every');if(!t)return;\n"
    "var body=t.tBodies[0];\n"
    "t.querySelectorAll('th').forEach(function(th,col){th.style.cursor='pointer';\n"
    " th.addEventListener('click',function(){\n"
    "  var asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';\n"
    "  var rows=Array.prototype.slice.call(body.rows);\n"
    "  rows.sort(function(a,b){var x=a.cells[col].textContent,y=b.cells[col].textContent;\n"
    "   var nx=parseFloat(x),ny=parseFloat(y);\n"
    "   var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c;});\n"
    "  rows.forEach(function(r){body.appendChild(r);});});});\n"
    "var f=document.getElementById('filter');f.hidden=false;\n"
    "f.addEventListener('input',function(){var q=f.value.toLowerCase();\n"
    " Array.prototype.forEach.call(body.rows,function(r){\n"
    "  r.style.display=r.textContent.toLowerCase().indexOf(q)<0?'none':'';});});\n"
    "})();\n";

struct fb_report {
    const fb_report_opts *o;
    fb_report_stats st;
    plan p;
};

fb_report *fb_report_prepare(const fb_report_opts *o, fb_report_stats *st, char *err,
                             size_t errlen)
{
    fb_report *r = calloc(1, sizeof *r);
    if (!r) { snprintf(err, errlen, "out of memory"); return NULL; }
    r->o = o;
    plan *p = &r->p;
    fb_prep_opts seen;
    if (fb_pic_opts_from_provenance(o->ds->provenance, &seen, err, errlen) ||
        make_plan(o, p, err, errlen))
        goto fail;
    seen.vipshome = o->vipshome;
    static const uint8_t page[3] = { 250, 250, 250 };
    if (fb_pic_render(p->paths, p->npics, &seen, 224, page, o->jobs, p->pics, err, errlen)) {
        free(p->pics);
        p->pics = NULL;
        p->npics = 0;
        goto fail;
    }
    for (size_t i = 0; i < p->npics; i++) {
        r->st.pictures++;
        if (p->pics[i].problem && !r->st.missing++)
            snprintf(r->st.missing_example, sizeof r->st.missing_example, "%.300s: %.200s",
                     p->paths[i], p->pics[i].problem);
    }
    if (draw_heatmaps(o, p, &seen, &r->st)) { snprintf(err, errlen, "out of memory"); goto fail; }
    *st = r->st;
    return r;
fail:
    fb_report_free(r);
    return NULL;
}

void fb_report_free(fb_report *r)
{
    if (!r) return;
    free_plan(&r->p, r->o->ds->n);
    free(r);
}

int fb_report_write(const fb_report *r, FILE *f, char *err, size_t errlen)
{
    const fb_report_opts *o = r->o;
    const plan p = r->p;
    const fb_report_stats *st = &r->st;

    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>fb report: ");
    rpt_esc(f, o->head_name);
    fprintf(f, "</title>\n<style>\n%s</style></head><body>\n<h1>How well does <code>", style);
    rpt_esc(f, o->head_name);
    fprintf(f, "</code> do?</h1>\n<p>On %zu photos from <code>", o->score->m.n);
    rpt_esc(f, o->stream_name);
    fprintf(f, "</code>, classes ");
    for (int c = 0; c < o->head->nclasses; c++) {
        fprintf(f, "%s<em>", c ? ", " : "");
        rpt_esc(f, o->head->classes[c]);
        fprintf(f, "</em>");
    }
    fprintf(f, ".</p>\n<nav><a href=\"#numbers\">numbers</a><a href=\"#confusion\">confusion</a>"
            "<a href=\"#mistakes\">mistakes</a><a href=\"#unsure\">barely right</a>"
            "<a href=\"#cells\">photos per cell</a>%s<a href=\"#all\">every photo</a>%s%s%s"
            "<a href=\"#provenance\">provenance</a></nav>\n",
            p.unknown.on ? "<a href=\"#unknown\">unknown</a>" : "", p.has_audit ? "<a href=\"#audit\">audit</a>" : "",
            o->history ? "<a href=\"#history\">training</a>" : "",
            o->lists_dir ? "<a href=\"#lists\">split</a>" : "");
    if (st->missing)
        fprintf(f, "<p class=\"note\">%zu photo%s could not be read where the stream says they "
                "are; each has a grey placeholder with the reason.</p>\n", st->missing,
                st->missing == 1 ? "" : "s");
    if (st->changed)
        fprintf(f, "<p class=\"note\">%zu photo%s gave other features now than the stream holds: "
                "changed since the features were made?</p>\n", st->changed,
                st->changed == 1 ? "" : "s");
    plain_numbers(o, f);
    confusion(o, f);
    if (records(o, &p, st, f, err, errlen) || cells(o, &p, f, err, errlen)) return -1;
    if (p.unknown.on && rpt_unknown_html(&p.unknown, o->head, o->ds, p.truth, p.pred, p.slot,
                                         p.pics, (size_t)o->mistakes, f, err, errlen))
        return -1;
    every_photo(o, &p, f);
    if (p.has_audit && rpt_audit_html(&p.audit, f, p.pics, 224, err, errlen)) return -1;
    if (o->history) history(o, f);
    if (o->lists_dir) lists(o, f);
    provenance(o, f);
    fprintf(f, "<script>\n%s</script>\n</body></html>\n", script);
    if (ferror(f)) { snprintf(err, errlen, "write error"); return -1; }
    return 0;
}
