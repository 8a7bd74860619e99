/* fb-eval: scores a trained head on a labelled feature stream.
 * See man/fb-eval.1. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/head_input.h"
#include "fb/head.h"
#include "fb/photo.h"
#include "fb/report.h"
#include "fb/util.h"

static const char usage[] =
    "usage: fb-eval [--json] [--force] [--mistakes N] [--positive CLASS] head.bin < test.fbt\n"
    "  --json         one JSON object on stdout instead of the text report\n"
    "  --positive CLASS  report CLASS against the rest: precision, recall, specificity,\n"
    "                 F1 and ROC AUC (default for two classes: the head's second class)\n"
    "  --force        score a stream whose preprocessing differs from the head's training data\n"
    "  --mistakes N   list at most N misclassified records in the text report (default 20;\n"
    "                 --json lists all)\n"
    "  --sheet FILE   also draw the first 100 mistakes as one contact sheet (PNG)\n"
    "  --help, --version\n";

/* JSON number, or null for NaN (undefined metrics). */
static json_t *num(double v) { return isnan(v) ? json_null() : json_real(v); }

/* What the report is about: the head, the stream, and its score. */
typedef struct {
    const fb_head *h;
    const fb_featset *ds;
    const fb_score *s;
    const fb_binary_report *b;   /* NULL: no positive class */
} report;

/* Accuracy's 95% interval, balanced accuracy and the majority baseline. */
typedef struct { double lo, hi, balanced, majority; int majority_class; } summary;

static summary summarise(const fb_metrics *m)
{
    summary u;
    fb_wilson_interval(m->correct, m->n, 1.959964, &u.lo, &u.hi);
    u.balanced = fb_balanced_accuracy(m->confusion, m->k);
    u.majority = fb_majority_baseline(m->confusion, m->k);
    u.majority_class = 0;
    size_t most = 0;
    for (int t = 0; t < m->k; t++) {
        size_t row = 0;
        for (int p = 0; p < m->k; p++) row += m->confusion[(size_t)t * m->k + p];
        if (row > most) { most = row; u.majority_class = t; }
    }
    return u;
}

static void print_text(const report *r, int max_mistakes)
{
    const fb_head *h = r->h;
    const fb_metrics *m = &r->s->m;
    int k = h->nclasses, w = 12;
    for (int c = 0; c < k; c++) if ((int)strlen(h->classes[c]) > w) w = (int)strlen(h->classes[c]);
    printf("records     %zu\n", r->ds->n);
    printf("scored      %zu\n", m->n);
    if (r->s->unlabelled) printf("unlabelled  %zu (not scored)\n", r->s->unlabelled);
    for (int c = 0; c < r->ds->nclasses; c++)
        if (r->s->unknown[c])
            printf("unknown     %zu of class '%s', which the head was not trained on (not scored)\n",
                   r->s->unknown[c], r->ds->classes[c]);
    summary u = summarise(m);
    printf("accuracy    %.4f (95%% interval %.4f-%.4f, Wilson)\n", fb_metrics_accuracy(m), u.lo, u.hi);
    printf("balanced accuracy %.4f (mean recall over classes)\n", u.balanced);
    printf("majority baseline %.4f (always '%s')\n", u.majority, h->classes[u.majority_class]);
    printf("mean loss   %.4f\n", fb_metrics_mean_loss(m));
    if (h->nclasses == 2 && h->threshold != 0)
        printf("threshold   '%s' when ln(p(%s)/p(%s)) > %.4f (stored in the head)\n", h->classes[1],
               h->classes[1], h->classes[0], (double)h->threshold);
    if (r->b) {
        const fb_binary_report *b = r->b;
        printf("roc auc     %.4f (positive class: %s)\n", b->auc, h->classes[b->positive]);
        printf("positive    %s: precision %.4f, recall %.4f, specificity %.4f, f1 %.4f "
               "(tp %zu, fp %zu, fn %zu, tn %zu)\n", h->classes[b->positive], b->precision, b->recall,
               b->specificity, b->f1, b->tp, b->fp, b->fn, b->tn);
    }
    printf("\nconfusion matrix (rows: true class, columns: predicted)\n%*s", w, "");
    for (int c = 0; c < k; c++) printf("  %*s", w, h->classes[c]);
    printf("\n");
    for (int t = 0; t < k; t++) {
        printf("%-*s", w, h->classes[t]);
        for (int p = 0; p < k; p++) printf("  %*zu", w, m->confusion[(size_t)t * k + p]);
        printf("\n");
    }
    printf("\n%-*s  precision     recall         f1    support\n", w, "class");
    for (int c = 0; c < k; c++) {
        size_t support = 0;
        for (int p = 0; p < k; p++) support += m->confusion[(size_t)c * k + p];
        printf("%-*s  %9.4f  %9.4f  %9.4f  %9zu\n", w, h->classes[c], fb_metrics_precision(m, c),
               fb_metrics_recall(m, c), fb_metrics_f1(m, c), support);
    }
    printf("%-*s  %9.4f  %9.4f  %9.4f  %9zu\n", w, "macro avg", fb_metrics_macro_precision(m),
           fb_metrics_macro_recall(m), fb_metrics_macro_f1(m), m->n);
    printf("\nmisclassified: %zu", r->s->nmistakes);
    if (r->s->nmistakes) {
        printf(" (most confident first%s)\nid\ttrue\tpredicted\tprobability\n",
               (int)r->s->nmistakes > max_mistakes ? ", first ones" : "");
        for (size_t i = 0; i < r->s->nmistakes && (int)i < max_mistakes; i++) {
            const fb_mistake *x = &r->s->mistakes[i];
            printf("%s\t%s\t%s\t%.4f\n", r->ds->ids[x->row], h->classes[x->truth],
                   h->classes[x->pred], x->prob);
        }
    } else {
        printf("\n");
    }
}

static void print_json(const report *r)
{
    const fb_head *h = r->h;
    const fb_metrics *m = &r->s->m;
    int k = h->nclasses;
    json_t *o = json_object(), *classes = json_array(), *conf = json_array(), *per = json_array();
    json_t *unknown = json_object(), *mist = json_array();
    for (int c = 0; c < k; c++) json_array_append_new(classes, json_string(h->classes[c]));
    for (int t = 0; t < k; t++) {
        json_t *row = json_array();
        size_t support = 0;
        for (int p = 0; p < k; p++) {
            json_array_append_new(row, json_integer((json_int_t)m->confusion[(size_t)t * k + p]));
            support += m->confusion[(size_t)t * k + p];
        }
        json_array_append_new(conf, row);
        json_array_append_new(per, json_pack("{s:s, s:o, s:o, s:o, s:I}", "class", h->classes[t],
                                             "precision", num(fb_metrics_precision(m, t)),
                                             "recall", num(fb_metrics_recall(m, t)),
                                             "f1", num(fb_metrics_f1(m, t)),
                                             "support", (json_int_t)support));
    }
    for (int c = 0; c < r->ds->nclasses; c++)
        if (r->s->unknown[c]) json_object_set_new(unknown, r->ds->classes[c], json_integer((json_int_t)r->s->unknown[c]));
    for (size_t i = 0; i < r->s->nmistakes; i++) {
        const fb_mistake *x = &r->s->mistakes[i];
        json_array_append_new(mist, json_pack("{s:s, s:s, s:s, s:f}", "id", r->ds->ids[x->row],
                                              "true", h->classes[x->truth],
                                              "predicted", h->classes[x->pred],
                                              "probability", (double)x->prob));
    }
    json_object_set_new(o, "records", json_integer((json_int_t)r->ds->n));
    json_object_set_new(o, "scored", json_integer((json_int_t)m->n));
    json_object_set_new(o, "unlabelled", json_integer((json_int_t)r->s->unlabelled));
    json_object_set_new(o, "unknown_classes", unknown);
    json_object_set_new(o, "accuracy", num(fb_metrics_accuracy(m)));
    summary u = summarise(m);
    json_object_set_new(o, "accuracy_interval95", json_pack("[o, o]", num(u.lo), num(u.hi)));
    json_object_set_new(o, "balanced_accuracy", num(u.balanced));
    json_object_set_new(o, "majority_baseline", num(u.majority));
    json_object_set_new(o, "majority_class", json_string(h->classes[u.majority_class]));
    json_object_set_new(o, "threshold", json_real(h->threshold));
    json_object_set_new(o, "loss", num(fb_metrics_mean_loss(m)));
    json_object_set_new(o, "classes", classes);
    json_object_set_new(o, "confusion", conf);
    json_object_set_new(o, "per_class", per);
    json_object_set_new(o, "macro", json_pack("{s:o, s:o, s:o}",
                                              "precision", num(fb_metrics_macro_precision(m)),
                                              "recall", num(fb_metrics_macro_recall(m)),
                                              "f1", num(fb_metrics_macro_f1(m))));
    if (r->b) {
        const fb_binary_report *b = r->b;
        json_object_set_new(o, "roc_auc", num(b->auc));
        json_object_set_new(o, "positive_class", json_string(h->classes[b->positive]));
        json_object_set_new(o, "positive", json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I}",
                                                     "precision", num(b->precision), "recall", num(b->recall),
                                                     "specificity", num(b->specificity), "f1", num(b->f1),
                                                     "tp", (json_int_t)b->tp, "fp", (json_int_t)b->fp,
                                                     "fn", (json_int_t)b->fn, "tn", (json_int_t)b->tn));
    }
    json_object_set_new(o, "misclassified", mist);
    if (json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) != 0)
        fb_die(FB_EXIT_FAILURE, "stdout: write error");
    printf("\n");
    json_decref(o);
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_handle_help_version(argc, argv, usage);
    fb_tune_blas(argv);
    int as_json = 0, force = 0, max_mistakes = 20, c;
    const char *positive_name = NULL, *sheet = NULL;
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' }, { "force", no_argument, NULL, 'f' },
        { "mistakes", required_argument, NULL, 'm' }, { "positive", required_argument, NULL, 'p' },
        { "sheet", required_argument, NULL, 'S' }, { NULL, 0, NULL, 0 }
    };
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = 1; break;
        case 'f': force = 1; break;
        case 'm': max_mistakes = (int)fb_opt_long("--mistakes", optarg, 0, 1000000); break;
        case 'p': positive_name = optarg; break;
        case 'S': sheet = optarg; break;
        default: fputs(usage, stderr); return FB_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fputs(usage, stderr);
        return FB_EXIT_USAGE;
    }
    const char *head_path = argv[optind];
    fb_head h;
    fb_head_input_load(&h, head_path);
    fb_featset ds;
    fb_head_input_read(&ds, stdin, "stdin", &h, head_path, force, "score it", "scoring");
    float *probs = fb_head_input_probs(&h, &ds);
    fb_score s;
    char err[256];
    if (fb_score_init(&s, &h, &ds, probs, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    for (int k = 0; k < ds.nclasses; k++)
        if (s.unknown[k])
            fb_warn("stdin: %zu records of class '%s', which %s was not trained on: not scored",
                    s.unknown[k], ds.classes[k], head_path);
    if (s.unlabelled) fb_warn("stdin: %zu unlabelled records: not scored", s.unlabelled);
    if (s.m.n == 0) fb_die(FB_EXIT_FAILURE, "stdin: no records with a class the head knows; nothing to score");

    int positive = h.nclasses == 2 ? 1 : -1;
    if (positive_name && (positive = fb_class_index(h.classes, h.nclasses, positive_name)) < 0)
        fb_die(FB_EXIT_USAGE, "--positive: %s has no class '%s'", head_path, positive_name);
    fb_binary_report b;
    if (positive >= 0 && fb_score_positive(&h, &ds, probs, positive, &b) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    report r = { &h, &ds, &s, positive >= 0 ? &b : NULL };
    if (as_json) print_json(&r);
    else print_text(&r, max_mistakes);
    if (fflush(stdout) != 0 || ferror(stdout)) fb_die(FB_EXIT_FAILURE, "stdout: write error");
    if (sheet && (fb_photo_vips_start(argv[0], err, sizeof err) ||
                  fb_sheet_mistakes(&h, &ds, &s, 100, sheet, err, sizeof err)))
        fb_die(FB_EXIT_FAILURE, "%s", err);

    fb_score_free(&s);
    free(probs);
    fb_featset_free(&ds);
    fb_head_free(&h);
    return 0;
}
