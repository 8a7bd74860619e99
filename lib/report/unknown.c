/* The report's "unknown" section: the records of the stream that the head's
 * rejection model (lib/head/reject.c) calls unlike every training photo --
 * what fb-predict would answer "unknown" -- and their share. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int by_distance_desc(const void *a, const void *b, void *ctx)
{
    const double *d = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return d[x] > d[y] ? -1 : d[x] < d[y] ? 1 : (x > y) - (x < y);
}

int rpt_unknown_find(rpt_unknown *u, const fb_head *h, const fb_featset *ds, const int *truth,
                     char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    if (h->reject.n == 0) return 0;
    size_t n = ds->n;
    u->dist = malloc((n ? n : 1) * sizeof *u->dist);
    u->rows = malloc((n ? n : 1) * sizeof *u->rows);
    if (!u->dist || !u->rows || fb_reject_distances(&h->reject, ds->x, n, u->dist) != 0) {
        rpt_unknown_free(u);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    u->on = 1;
    for (size_t r = 0; r < n; r++) {
        int rejected = u->dist[r] > h->reject.cut;
        if (rejected) u->rows[u->n++] = r;
        if (truth[r] >= 0) {
            u->in_n++;
            u->in_rejected += rejected;
        }
    }
    qsort_r(u->rows, u->n, sizeof *u->rows, by_distance_desc, u->dist);
    return 0;
}

void rpt_unknown_free(rpt_unknown *u)
{
    free(u->dist);
    free(u->rows);
    memset(u, 0, sizeof *u);
}

int rpt_unknown_html(const rpt_unknown *u, const fb_head *h, const fb_featset *ds,
                     const int *truth, const int *pred, const int *slot, const fb_pic *pics,
                     size_t max, FILE *f, char *err, size_t errlen)
{
    const fb_reject *rj = &h->reject;
    fprintf(f, "<section id=\"unknown\"><h2>Unlike every training photo</h2>\n"
            "<p>fb-predict would answer <em>unknown</em> for %zu of these %zu photos (%.1f%%): "
            "each is farther from its %d-th nearest training photo than the cut, %.4f, which "
            "fb-train set to reject about %.1f%% of its training photos held out (see "
            "fb-train(1): by default, of clusters of similar photos standing in for subjects "
            "it has not seen). "
            "Of the %zu photos of the head's classes, %zu (%.1f%%) were; the scores above count "
            "every photo as if there were no such test.</p>\n",
            u->n, ds->n, ds->n ? 100.0 * u->n / ds->n : 0.0, rj->k, (double)rj->cut,
            100.0 * rj->rate, u->in_n, u->in_rejected,
            u->in_n ? 100.0 * u->in_rejected / u->in_n : 0.0);
    if (u->n) {
        size_t shown = u->n < max ? u->n : max;
        fprintf(f, "<p>Most unusual first%s; each caption: the label, what the head would "
                "have said, and the share of training photos nearer to the rest of the "
                "training data than this one is.</p>\n<div class=\"gallery\">",
                shown < u->n ? " (the first ones)" : "");
        for (size_t i = 0; i < shown; i++) {
            size_t r = u->rows[i];
            if (slot[r] < 0) continue;
            const fb_pic *pic = &pics[slot[r]];
            char alt[800];
            snprintf(alt, sizeof alt, "%s: label %s, would say %s, beyond %.3f of training photos",
                     ds->ids[r], truth[r] >= 0 ? h->classes[truth[r]] : "none",
                     h->classes[pred[r]], fb_reject_rank(rj, u->dist[r]));
            fprintf(f, "<figure>");
            if (rpt_img(f, pic->whole, 224, 96, 65, alt, "thumb", pic->problem, err, errlen))
                return -1;
            fprintf(f, "<figcaption>");
            if (truth[r] >= 0) rpt_esc(f, h->classes[truth[r]]);
            else fprintf(f, "&ndash;");
            fprintf(f, " &rarr; ");
            rpt_esc(f, h->classes[pred[r]]);
            fprintf(f, " %.3f</figcaption></figure>", fb_reject_rank(rj, u->dist[r]));
        }
        fprintf(f, "</div>\n<table class=\"sortable\"><thead><tr><th>photo</th><th>label</th>"
                "<th>would say</th><th>distance</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < u->n; i++) {
            size_t r = u->rows[i];
            fprintf(f, "<tr><td><code>");
            rpt_esc(f, ds->ids[r]);
            fprintf(f, "</code></td><td>");
            if (truth[r] >= 0) rpt_esc(f, h->classes[truth[r]]);
            else fprintf(f, "&ndash;");
            fprintf(f, "</td><td>");
            rpt_esc(f, h->classes[pred[r]]);
            fprintf(f, "</td><td>%.4f</td></tr>\n", u->dist[r]);
        }
        fprintf(f, "</tbody></table>\n");
    }
    fprintf(f, "</section>\n");
    return 0;
}
