/* The audit's findings as a report section: fb-audit --json read back
 * (see man/fb-audit.1 for its fields). */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

int rpt_audit_open(rpt_audit *a, const char *text, const char *name, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    json_error_t je;
    a->root = json_loads(text, 0, &je);
    if (!a->root || !json_is_object(a->root)) {
        snprintf(err, errlen, "%s: not fb-audit --json output (line %d: %s)", name, je.line,
                 a->root ? "not an object" : je.text);
        rpt_audit_close(a);
        return -1;
    }
    json_t *groups = json_object_get(a->root, "near_duplicates");
    if (!json_is_array(groups) || !json_is_object(json_object_get(a->root, "shortcut"))) {
        snprintf(err, errlen, "%s: not fb-audit --json output (no near_duplicates or shortcut)", name);
        rpt_audit_close(a);
        return -1;
    }
    size_t gi, fi, n = 0;
    json_t *g, *file;
    json_array_foreach(groups, gi, g) n += json_array_size(json_object_get(g, "files"));
    a->paths = calloc(n ? n : 1, sizeof *a->paths);
    a->slot = calloc(n ? n : 1, sizeof *a->slot);
    if (!a->paths || !a->slot) { snprintf(err, errlen, "out of memory"); rpt_audit_close(a); return -1; }
    json_array_foreach(groups, gi, g)
        json_array_foreach(json_object_get(g, "files"), fi, file) {
            a->slot[a->npaths] = -1;
            a->paths[a->npaths++] = str(file, "path");
        }
    return 0;
}

void rpt_audit_close(rpt_audit *a)
{
    if (a->root) json_decref(a->root);
    free(a->paths);
    free(a->slot);
    memset(a, 0, sizeof *a);
}

/* min-median-max of each class on one axis, as a small inline SVG: a bar
 * from min to max with the median marked, so classes compare at a glance. */
static void spreads_svg(FILE *f, json_t *classes, const char *key, const char *label, int logx)
{
    double lo = INFINITY, hi = -INFINITY;
    size_t i;
    json_t *c;
    json_array_foreach(classes, i, c) {
        json_t *s = json_object_get(c, key);
        if (!json_is_object(s)) continue;
        lo = fmin(lo, json_number_value(json_object_get(s, "min")));
        hi = fmax(hi, json_number_value(json_object_get(s, "max")));
    }
    if (!isfinite(lo) || !isfinite(hi)) return;
    if (logx && lo <= 0) logx = 0;
    double a = logx ? log(lo) : lo, b = logx ? log(hi) : hi;
    if (b <= a) { a -= 1; b += 1; }
    int rows = (int)json_array_size(classes), W = 520, left = 150, right = 20, rh = 26;
    fprintf(f, "<figure class=\"spread\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" role=\"img\" aria-label=\"", W, rows * rh + 30);
    rpt_esc(f, label);
    fprintf(f, " per class\">\n");
    json_array_foreach(classes, i, c) {
        json_t *s = json_object_get(c, key);
        double y = 10 + i * rh;
        fprintf(f, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\" font-size=\"13\">", left - 8, y + 13);
        rpt_esc(f, str(c, "name"));
        fprintf(f, "</text>\n");
        if (!json_is_object(s)) continue;
        double v[3];
        const char *k3[3] = { "min", "median", "max" };
        for (int k = 0; k < 3; k++) {
            double t = json_number_value(json_object_get(s, k3[k]));
            v[k] = left + ((logx ? log(t) : t) - a) / (b - a) * (W - left - right);
        }
        fprintf(f, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"14\" fill=\"#9ecae1\"/>"
                "<rect x=\"%.1f\" y=\"%.0f\" width=\"3\" height=\"18\" fill=\"#08519c\"/>\n",
                v[0], y + 2, fmax(v[2] - v[0], 2), v[1] - 1, y);
    }
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\">%g</text>"
            "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">%g</text>\n",
            left, rows * rh + 26, lo, W - right, rows * rh + 26, hi);
    fprintf(f, "</svg><figcaption>");
    rpt_esc(f, label);
    fprintf(f, " per class: the bar runs from the smallest to the largest, the dark mark is the "
            "median.</figcaption></figure>\n");
}

/* The telling feature group's numbers per class. */
static void telling_feature(FILE *f, json_t *classes, const char *group)
{
    size_t i;
    json_t *c;
    if (!strcmp(group, "image size")) {
        spreads_svg(f, classes, "width", "width (pixels)", 1);
        spreads_svg(f, classes, "height", "height (pixels)", 1);
    } else if (!strcmp(group, "aspect ratio")) {
        spreads_svg(f, classes, "aspect", "aspect ratio (width / height)", 1);
    } else if (!strcmp(group, "JPEG quality")) {
        spreads_svg(f, classes, "jpeg_quality", "JPEG quality", 0);
    } else {
        /* categorical: a table of what each class has */
        const char *key = !strcmp(group, "file format") ? "formats"
                        : !strcmp(group, "camera make/model") ? "cameras" : NULL;
        fprintf(f, "<table class=\"telling\"><tr><th>class</th><th>");
        rpt_esc(f, group);
        fprintf(f, "</th></tr>\n");
        json_array_foreach(classes, i, c) {
            fprintf(f, "<tr><td>");
            rpt_esc(f, str(c, "name"));
            fprintf(f, "</td><td>");
            if (key) {
                const char *k;
                json_t *v;
                int first = 1;
                json_object_foreach(json_object_get(c, key), k, v) {
                    fprintf(f, "%s", first ? "" : ", ");
                    rpt_esc(f, k);
                    fprintf(f, " %lld", (long long)json_integer_value(v));
                    first = 0;
                }
                if (first) fprintf(f, "none");
            } else {
                fprintf(f, "%.0f%% of photos carry camera EXIF",
                        100 * json_number_value(json_object_get(c, "exif_fraction")));
            }
            fprintf(f, "</td></tr>\n");
        }
        fprintf(f, "</table>\n");
    }
}

int rpt_audit_html(const rpt_audit *a, FILE *f, const fb_pic *pics, int tile, char *err,
                   size_t errlen)
{
    json_t *root = a->root, *groups = json_object_get(root, "near_duplicates");
    json_t *sc = json_object_get(root, "shortcut"), *problems = json_object_get(root, "problems");
    json_t *classes = json_object_get(root, "classes");
    fprintf(f, "<section id=\"audit\"><h2>The audit</h2>\n<p>%lld files from <code>",
            (long long)json_integer_value(json_object_get(root, "files")));
    rpt_esc(f, str(root, "source"));
    fprintf(f, "</code>: %zu near-duplicate group%s, %lld of them across splits (leaks); "
            "%zu unusable or tiny file%s.</p>\n", json_array_size(groups),
            json_array_size(groups) == 1 ? "" : "s",
            (long long)json_integer_value(json_object_get(root, "leaks")),
            json_array_size(problems), json_array_size(problems) == 1 ? "" : "s");

    fprintf(f, "<h3 id=\"duplicates\">Near-duplicates</h3>\n");
    if (!json_array_size(groups)) fprintf(f, "<p>None found.</p>\n");
    size_t gi, fi, k = 0;
    json_t *g, *file;
    json_array_foreach(groups, gi, g) {
        int leak = json_is_true(json_object_get(g, "leak"));
        fprintf(f, "<div class=\"group%s\"><p>Group %zu: %s%s</p><div class=\"pics\">\n",
                leak ? " leak" : "", gi + 1,
                json_is_true(json_object_get(g, "identical")) ? "byte-identical files" : "the same photo",
                leak ? " &mdash; <strong>in more than one split: a leak</strong>" : "");
        json_array_foreach(json_object_get(g, "files"), fi, file) {
            const fb_pic *p = a->slot[k] >= 0 ? &pics[a->slot[k]] : NULL;
            k++;
            fprintf(f, "<figure>");
            if (rpt_img(f, p ? p->whole : NULL, tile, 160, 70, str(file, "path"), "thumb",
                        p ? p->problem : "not rendered", err, errlen))
                return -1;
            const char *split = str(file, "split");
            fprintf(f, "<figcaption><span class=\"split\">%s</span> ", *split ? split : "no split");
            rpt_esc(f, str(file, "class"));
            fprintf(f, "<br><code>");
            rpt_esc(f, str(file, "path"));
            fprintf(f, "</code></figcaption></figure>\n");
        }
        fprintf(f, "</div></div>\n");
    }

    fprintf(f, "<h3 id=\"shortcut\">Does metadata alone tell the classes apart?</h3>\n");
    if (!json_is_true(json_object_get(sc, "tested"))) {
        fprintf(f, "<p>Not tested: too few usable files per class.</p>\n");
    } else {
        const char *telling = str(sc, "most_telling");
        double acc = json_number_value(json_object_get(sc, "accuracy"));
        double chance = json_number_value(json_object_get(sc, "chance"));
        fprintf(f, "<p>A small decision tree that sees only size, aspect, format, JPEG quality "
                "and camera tags guesses the class %.0f%% of the time, against %.0f%% by always "
                "guessing the largest class. %s The most telling feature is <strong>",
                100 * acc, 100 * chance,
                json_is_true(json_object_get(sc, "strong"))
                    ? "<strong>That is a shortcut</strong>: the head may have learnt where the photos "
                      "came from rather than what they show."
                    : json_is_true(json_object_get(sc, "notable"))
                          ? "That is noticeable: check where each class's photos came from."
                          : "That is near chance: no shortcut.");
        rpt_esc(f, telling);
        fprintf(f, "</strong>; per class:</p>\n");
        telling_feature(f, classes, telling);
    }

    fprintf(f, "<h3 id=\"unusable\">Unusable files</h3>\n");
    if (!json_array_size(problems)) {
        fprintf(f, "<p>None.</p>\n");
    } else {
        fprintf(f, "<table><tr><th>file</th><th>problem</th></tr>\n");
        json_array_foreach(problems, fi, file) {
            fprintf(f, "<tr><td><code>");
            rpt_esc(f, str(file, "path"));
            fprintf(f, "</code></td><td>");
            rpt_esc(f, str(file, "message"));
            fprintf(f, "</td></tr>\n");
        }
        fprintf(f, "</table>\n");
    }
    fprintf(f, "</section>\n");
    return 0;
}
