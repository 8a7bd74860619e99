/* The report page from a hand-made stream and head: the confusion grid's
 * counts are fb_score's, mistakes come most confident first, the least
 * confident right answers least confident first, ids are escaped, and photos
 * that are not there are placeholders counted in the stats. */
#include "check.h"
#include "fb/head.h"
#include "fb/photo.h"
#include "fb/report.h"

#include <stdlib.h>
#include <string.h>

enum { N = 6, D = 2 };

int main(int argc, char **argv)
{
    (void)argc;
    /* a linear head that says class 1 when x0 > x1: logits (x0 - x1, x1 - x0)... */
    const char *names[2] = { "cat", "dog" };
    fb_head h;
    if (fb_head_init(&h, D, 2, names, 0, NULL, 0, "") != 0) return 2;
    float W[D * 2] = { -1, 1, 1, -1 };   /* W [D,C]: logit0 = x1 - x0, logit1 = x0 - x1 */
    memcpy(h.params, W, sizeof W);
    h.params[4] = h.params[5] = 0;

    /* rows: labels and features chosen for known outcomes */
    static const struct { const char *id; int y; float x0, x1; } rows[N] = {
        { "/nonexistent/a.jpg", 0, 0.0f, 2.0f },          /* cat, said cat, sure */
        { "/nonexistent/<evil>&\"b.jpg", 0, 1.0f, 0.2f },  /* cat, said dog: mistake, p ~0.83 */
        { "/nonexistent/c.jpg", 1, 3.0f, 0.0f },          /* dog, said dog, sure */
        { "/nonexistent/d.jpg", 0, 3.0f, 0.0f },          /* cat, said dog: mistake, p ~0.998 */
        { "/nonexistent/e.jpg", 1, 0.55f, 0.5f },         /* dog, said dog barely */
        { "/nonexistent/f.jpg", 1, 0.0f, 0.5f },          /* dog, said cat: mistake, p ~0.73 */
    };
    fb_featset ds = { 0 };
    float x[N * D];
    int y[N];
    char *ids[N];
    for (int i = 0; i < N; i++) {
        x[i * D] = rows[i].x0;
        x[i * D + 1] = rows[i].x1;
        y[i] = rows[i].y;
        ids[i] = (char *)rows[i].id;
    }
    ds.n = N; ds.dim = D; ds.x = x; ds.y = y; ds.ids = ids;
    ds.nclasses = 2; ds.classes = (char **)names;
    ds.provenance = "prep=fb-prep 0.1.0\nresize=squash\nsize=224\nkernel=linear\nbackground=255,255,255\n";

    char err[512];
    float *probs;
    fb_score s;
    if (fb_head_predict_all(&h, &ds, &probs, err, sizeof err) || fb_score_init(&s, &h, &ds, probs, err, sizeof err))
        return 2;
    CHECK(s.nmistakes == 3, "three mistakes");

    fb_report_opts o;
    fb_report_opts_default(&o);
    o.head = &h; o.head_name = "head.bin"; o.ds = &ds; o.stream_name = "test.fbt";
    o.probs = probs; o.score = &s; o.unsure = 1; o.no_heatmaps = "not asked for";
    o.date = "2026-12-03"; o.version = "test";
    fb_report_stats st;
    fb_report *r = fb_report_prepare(&o, &st, err, sizeof err);
    CHECK(r != NULL, "prepared: %s", r ? "" : err);
    if (!r) return check_done();
    CHECK(st.pictures == N && st.missing == N, "every photo is missing: %zu of %zu", st.missing, st.pictures);
    CHECK(strstr(st.heatmap_note, "not asked for") != NULL, "heatmap note: %s", st.heatmap_note);
    if (fb_photo_vips_start(argv[0], err, sizeof err)) SKIP_ALL("libvips: %s", err);
    char *page = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&page, &len);
    CHECK(fb_report_write(r, f, err, sizeof err) == 0, "written");
    fclose(f);

    char want[200];
    int cells_ok = 1;
    for (int t = 0; t < 2; t++)
        for (int c = 0; c < 2; c++) {
            snprintf(want, sizeof want, "data-true=\"%d\" data-pred=\"%d\" data-count=\"%zu\"", t, c,
                     s.m.confusion[t * 2 + c]);
            cells_ok &= strstr(page, want) != NULL;
        }
    CHECK(cells_ok, "the grid's counts are fb_score's");
    /* mistakes most confident first: rows 3 (0.998), 1 (0.83), 5 (0.73) */
    const char *m3 = strstr(page, "class=\"record mistake\" data-row=\"3\"");
    const char *m1 = strstr(page, "class=\"record mistake\" data-row=\"1\"");
    const char *m5 = strstr(page, "class=\"record mistake\" data-row=\"5\"");
    CHECK(m3 && m1 && m5 && m3 < m1 && m1 < m5, "mistakes most confident first");
    CHECK(strstr(page, "class=\"record unsure\" data-row=\"4\"") &&
          !strstr(page, "class=\"record unsure\" data-row=\"0\""),
          "the least confident right answer (row 4) only, as --unsure 1 asks");
    CHECK(!strstr(page, "<evil>") && strstr(page, "&lt;evil&gt;&amp;&quot;b.jpg"), "ids escaped");
    CHECK(!strstr(page, "<img "), "no <img> for photos that are not there");
    int placeholders = 0;
    for (const char *p = page; (p = strstr(p, "class=\"missing")); p++) placeholders++;
    /* 3 mistakes + 1 unsure, 3 pictures each; 6 gallery thumbnails */
    CHECK(placeholders == 4 * 3 + 6, "a placeholder for every picture: %d", placeholders);
    CHECK(strstr(page, "6 photos could not be read") != NULL, "and a note at the top");
    CHECK(strstr(page, "3 of 6 photos classified right") != NULL, "the numbers in words");
    free(page);
    fb_report_free(r);
    fb_score_free(&s);
    free(probs);
    fb_head_free(&h);
    return check_done();
}
