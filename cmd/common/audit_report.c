/* fb-audit's report, as text and as JSON (audit_report.h).  Printing
 * only: every number comes from lib/audit. */
#include "common/audit_report.h"
#include "common/common.h"
#include "common/json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void split_list(unsigned splits, char *buf, size_t len)
{
    buf[0] = 0;
    for (int s = 0; s < FB_NSPLITS; s++)
        if (splits & 1u << s)
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "", fb_split_names[s]);
}

static void print_groups(const audit *a)
{
    printf("\nNear-duplicates (same photo: pHash of whole or 92%% crop within %d bits%s): %zu %s",
           a->near_dup_bits,
           a->feature_rows >= 0 ? ", or feature cosine" : "",
           a->ngroups, fb_plural(a->ngroups, "group", "groups"));
    if (a->lists)
        printf(", %zu spanning splits%s", a->verdict.leaks, a->verdict.leaks ? " (LEAK)" : "");
    printf("\n");
    if (!a->ngroups) printf("  none\n");
    for (size_t g = 0; g < a->ngroups; g++) {
        const fb_photo_group *dg = &a->groups[g];
        char splits[64];
        split_list(dg->splits, splits, sizeof splits);
        int leak = fb_photo_group_is_leak(dg);
        printf("  %s%zu files, %s", leak ? "LEAK: " : "", dg->n,
               dg->identical ? "byte-identical" : "near-identical");
        if (!dg->identical && dg->max_bits >= 0) printf(" (pHash up to %d bits from the first)", dg->max_bits);
        if (dg->nclasses > 1) printf(", labelled as %d different classes", dg->nclasses);
        if (splits[0]) printf(", in %s", splits);
        printf(":\n");
        for (size_t k = 0; k < dg->n; k++) {
            const fb_audit_file *f = &a->files[dg->members[k]];
            printf("    %-6s %-16s %s\n", f->split >= 0 ? fb_split_names[f->split] : "-",
                   a->ds->classes[f->label], f->path);
        }
    }
    if (a->verdict.leaks && a->feature_rows >= 0)
        printf("  -> A leak makes test accuracy measure memory.  Re-split with fb-split -f and\n"
               "     this feature stream (the same rule: each group in one split), then make\n"
               "     the split's streams again; or delete the extra copies.\n");
    else if (a->verdict.leaks)
        printf("  -> A leak makes test accuracy measure memory.  Re-split with fb-split,\n"
               "     which keeps each group in one split, or delete the extra copies.\n");
    if (a->verdict.conflicts)
        printf("  -> The same photo under two labels: keep it in the right class only.\n");
}

static void print_classes(const audit *a)
{
    printf("\nPer class (usable images; size as displayed):\n");
    int width = 5;   /* the class column fits the longest name */
    for (int c = 0; c < a->ds->nclasses; c++) {
        int len = (int)strlen(a->ds->classes[c]);
        if (len > width) width = len;
    }
    printf("  %-*s %6s %-23s %-14s %-17s %-9s %5s  %s\n", width, "class", "files", "median size (sides)",
           "aspect median", "formats", "JPEG q", "EXIF", "cameras");
    for (int c = 0; c < a->ds->nclasses; c++) {
        const fb_class_summary *s = &a->classes[c];
        char size[64], fmt[64] = "", q[24] = "-", cams[160] = "-";
        snprintf(size, sizeof size, "%.0fx%.0f (%.0f..%.0f)", s->width.median, s->height.median,
                 fmin(s->width.min, s->height.min), fmax(s->width.max, s->height.max));
        for (int k = 0; k < FB_AUDIT_NFORMATS; k++)
            if (s->format_count[k])
                snprintf(fmt + strlen(fmt), sizeof fmt - strlen(fmt), "%s%s %.0f%%", fmt[0] ? " " : "",
                         fb_audit_formats[k], 100.0 * s->format_count[k] / s->usable);
        if (s->quality.n) snprintf(q, sizeof q, "%.0f", s->quality.median);
        if (s->ncameras) {
            cams[0] = 0;
            for (size_t k = 0; k < s->ncameras && k < 2; k++)
                snprintf(cams + strlen(cams), sizeof cams - strlen(cams), "%s%s (%zu)",
                         k ? ", " : "", s->cameras[k].name, s->cameras[k].count);
            if (s->ncameras > 2)
                snprintf(cams + strlen(cams), sizeof cams - strlen(cams), ", %zu more", s->ncameras - 2);
        }
        printf("  %-*s %6zu %-23s %-14.2f %-17s %-9s %4.0f%%  %s\n", width, a->ds->classes[c], s->files,
               size, s->aspect.median, fmt, q, s->usable ? 100.0 * s->with_exif / s->usable : 0.0, cams);
    }
}

static void print_shortcut(const audit *a)
{
    const fb_shortcut_result *r = &a->shortcut;
    printf("\nShortcut test (does metadata alone predict the class?):\n");
    if (!r->tested) {
        printf("  not run: it needs two classes with at least 2 usable images each\n");
        return;
    }
    const char *best = fb_feature_groups[r->best_group].name;
    printf("  size, aspect, format, JPEG quality, camera EXIF and model together: %.0f%% correct "
           "(chance %.0f%%; decision tree, %d-fold cross-validation, %zu images)\n",
           100 * r->accuracy, 100 * r->chance, r->folds, r->rows);
    printf("  one at a time:");
    for (int g = 0; g < fb_nfeature_groups; g++)
        printf("%s %s %.0f%%", g ? "," : "", fb_feature_groups[g].name, 100 * r->group_accuracy[g]);
    printf("\n");
    if (r->strong) {
        printf("  SHORTCUT: %s alone tells the classes apart %.0f%% of the time (chance %.0f%%):\n"
               "  the classes seem to come from different sources, and a classifier can learn\n"
               "  the source instead of the subject.  Make the classes alike in %s (same\n"
               "  camera, same download path), or test on photos from one source.\n",
               best, 100 * r->group_accuracy[r->best_group], 100 * r->chance, best);
        /* What re-encoding makes alike: the pixels' size, format and quality. */
        unsigned reencoded = 1u << FB_FEAT_LOG_WIDTH | 1u << FB_FEAT_LOG_HEIGHT |
                             1u << FB_FEAT_FORMAT | 1u << FB_FEAT_QUALITY;
        if (fb_feature_groups[r->best_group].mask & reencoded)
            printf("  To give every photo one format, pixel size and JPEG quality, prepare them\n"
                   "  with fb-prep --reencode Q:SIDE (Q no higher than the lowest JPEG quality,\n"
                   "  SIDE no larger than the smallest photos in the table above).\n");
    } else if (r->notice) {
        printf("  Note: metadata predicts the class somewhat better than chance; %s tells\n"
               "  the most (%.0f%%).  Worth a look, not alarming.\n",
               best, 100 * r->group_accuracy[r->best_group]);
    } else {
        printf("  no shortcut: metadata predicts the class little better than chance\n");
    }
}

static void print_problems(const audit *a)
{
    printf("\nUnusable files: %zu; tiny images (under %d pixels on a side): %zu\n",
           a->verdict.unusable, FB_AUDIT_TINY, a->verdict.tiny);
    for (size_t i = 0; i < a->n; i++) {
        const fb_audit_file *f = &a->files[i];
        if (f->state != FB_FILE_OK) printf("  %s: %s\n", f->path, f->problem);
        else if (fb_audit_file_is_tiny(f)) printf("  %s: tiny, %dx%d\n", f->path, f->width, f->height);
    }
}

void fb_audit_print_report(const audit *a)
{
    size_t per_split[FB_NSPLITS] = { 0 };
    for (size_t i = 0; i < a->n; i++) if (a->files[i].split >= 0) per_split[a->files[i].split]++;
    printf("fb-audit: %zu %s in %d %s (%s)", a->n, fb_plural(a->n, "file", "files"), a->ds->nclasses,
           fb_plural(a->ds->nclasses, "class", "classes"), a->source);
    if (a->lists)
        printf(": train %zu, val %zu, test %zu", per_split[0], per_split[1], per_split[2]);
    printf("\n");
    print_groups(a);
    print_classes(a);
    print_shortcut(a);
    print_problems(a);
    printf("\nVerdict: %s (exit status %d)\n", a->verdict.words, a->verdict.status);
}

static json_t *spread_json(fb_spread s)
{
    if (!s.n) return json_null();
    return json_pack("{s:f,s:f,s:f}", "min", s.min, "median", s.median, "max", s.max);
}

json_t *fb_audit_report_json(const audit *a)
{
    json_t *root = json_object(), *classes = json_array(), *groups = json_array(), *problems = json_array();
    fb_json_set(root, "files", json_integer((json_int_t)a->n));
    fb_json_set(root, "source", fb_json_text(a->source));
    fb_json_set(root, "mode", fb_json_text(a->lists ? "lists" : "folder"));
    for (int c = 0; c < a->ds->nclasses; c++) {
        const fb_class_summary *s = &a->classes[c];
        json_t *fmts = json_object(), *cams = json_object();
        for (int k = 0; k < FB_AUDIT_NFORMATS; k++)
            if (s->format_count[k]) fb_json_set(fmts, fb_audit_formats[k], json_integer((json_int_t)s->format_count[k]));
        for (size_t k = 0; k < s->ncameras; k++)
            fb_json_set(cams, s->cameras[k].name, json_integer((json_int_t)s->cameras[k].count));
        fb_json_push(classes, json_pack("{s:o,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:f,s:o}",
            "name", fb_json_text(a->ds->classes[c]), "files", (json_int_t)s->files, "usable", (json_int_t)s->usable,
            "tiny", (json_int_t)s->tiny, "width", spread_json(s->width), "height", spread_json(s->height),
            "aspect", spread_json(s->aspect), "jpeg_quality", spread_json(s->quality),
            "formats", fmts, "exif_fraction", s->usable ? (double)s->with_exif / s->usable : 0.0,
            "cameras", cams));
    }
    fb_json_set(root, "classes", classes);
    for (size_t g = 0; g < a->ngroups; g++) {
        const fb_photo_group *dg = &a->groups[g];
        json_t *members = json_array(), *splits = json_array();
        for (size_t k = 0; k < dg->n; k++) {
            const fb_audit_file *f = &a->files[dg->members[k]];
            fb_json_push(members, json_pack("{s:o,s:o,s:o}", "path", fb_json_text(f->path),
                "class", fb_json_text(a->ds->classes[f->label]),
                "split", f->split >= 0 ? fb_json_text(fb_split_names[f->split]) : json_null()));
        }
        for (int s = 0; s < FB_NSPLITS; s++)
            if (dg->splits & 1u << s) fb_json_push(splits, fb_json_text(fb_split_names[s]));
        fb_json_push(groups, json_pack("{s:b,s:b,s:i,s:o,s:o,s:o}",
            "leak", fb_photo_group_is_leak(dg), "identical", dg->identical, "classes", dg->nclasses,
            "max_bits", dg->max_bits >= 0 ? json_integer(dg->max_bits) : json_null(),
            "splits", splits, "files", members));
    }
    fb_json_set(root, "near_duplicates", groups);
    fb_json_set(root, "leaks", json_integer((json_int_t)a->verdict.leaks));
    const fb_shortcut_result *r = &a->shortcut;
    json_t *by = json_object();
    for (int g = 0; r->tested && g < fb_nfeature_groups; g++)
        fb_json_set(by, fb_feature_groups[g].name, json_real(r->group_accuracy[g]));
    fb_json_set(root, "shortcut", json_pack("{s:b,s:b,s:b,s:o,s:f,s:i,s:I,s:o,s:o}",
        "tested", r->tested, "strong", r->strong, "notable", r->notice,
        "accuracy", r->tested ? json_real(r->accuracy) : json_null(), "chance", r->chance,
        "folds", r->folds, "images", (json_int_t)r->rows,
        "most_telling", r->tested ? fb_json_text(fb_feature_groups[r->best_group].name) : json_null(),
        "by_feature", by));
    for (size_t i = 0; i < a->n; i++) {
        const fb_audit_file *f = &a->files[i];
        if (f->state != FB_FILE_OK)
            fb_json_push(problems, json_pack("{s:o,s:s,s:o}", "path", fb_json_text(f->path),
                "problem", f->state == FB_FILE_NOT_IMAGE ? "not-image" : "unreadable",
                "message", fb_json_text(f->problem)));
        else if (fb_audit_file_is_tiny(f)) {
            char msg[64];
            snprintf(msg, sizeof msg, "under %d pixels on a side", FB_AUDIT_TINY);
            fb_json_push(problems, json_pack("{s:o,s:s,s:s}", "path", fb_json_text(f->path),
                "problem", "tiny", "message", msg));
        }
    }
    fb_json_set(root, "problems", problems);
    fb_json_set(root, "status", json_integer(a->verdict.status));
    return root;
}

