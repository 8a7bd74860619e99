/* What fb-eval prints: the text report and --json, and --curve's TSV
 * (eval_report.h).  Printing only; the numbers come from lib/head. */
#include "common/eval_report.h"
#include "common/common.h"
#include "common/json.h"
#include "fb/export.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* JSON has no NaN or Inf: null stands for "undefined here" */
static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }



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

static double share(size_t a, size_t n) { return n ? (double)a / n : NAN; }

static void print_unknown_text(const fb_unknown_score *u, const fb_head *h, char **names)
{
    printf("unknown test  cut %.4f (rejects %.4f of held-out training photos)\n", u->cut, u->rate);
    printf("  in-class    %zu of %zu rejected (%.4f); accuracy on the %zu accepted %.4f\n",
           u->in_rejected, u->in_n, share(u->in_rejected, u->in_n), u->in_n - u->in_rejected,
           share(u->in_accepted_right, u->in_n - u->in_rejected));
    if (u->out_n == 0) {
        printf("  outsiders   none (labels the head lacks, or --unknown FILE)\n");
        return;
    }
    printf("  outsiders   %zu of %zu rejected (%.4f), %zu wrongly accepted (%.4f)", u->out_rejected,
           u->out_n, share(u->out_rejected, u->out_n), u->out_n - u->out_rejected,
           share(u->out_n - u->out_rejected, u->out_n));
    const char *sep = ": as ";
    for (int c = 0; c < h->nclasses; c++)
        if (u->out_as[c]) {
            printf("%s%s %zu", sep, names[c], u->out_as[c]);
            sep = ", ";
        }
    printf("\n");
}

void fb_eval_print_text(const fb_eval_report *r, int max_mistakes)
{
    const fb_head *h = r->h;
    const fb_metrics *m = &r->s->m;
    int k = h->nclasses, w = 12;
    /* class names and ids escaped (\t \n \r \\): the table keeps its rows
     * and the mistakes their columns */
    char **names = fb_xmalloc((size_t)k * sizeof *names);
    for (int c = 0; c < k; c++) names[c] = fb_xescape(h->classes[c]);
    for (int c = 0; c < k; c++) if ((int)strlen(names[c]) > w) w = (int)strlen(names[c]);
    printf("records     %zu\n", r->ds->n);
    printf("scored      %zu\n", m->n);
    if (r->s->unlabelled) printf("unlabelled  %zu (not scored)\n", r->s->unlabelled);
    for (int c = 0; c < r->ds->nclasses; c++)
        if (r->s->unknown[c]) {
            char *name = fb_xescape(r->ds->classes[c]);
            printf("unknown     %zu of class '%s', which the head was not trained on (not scored)\n",
                   r->s->unknown[c], name);
            free(name);
        }
    summary u = summarise(m);
    printf("accuracy    %.4f (95%% interval %.4f-%.4f, Wilson)\n", fb_metrics_accuracy(m), u.lo, u.hi);
    printf("balanced accuracy %.4f (mean recall over classes)\n", u.balanced);
    printf("majority baseline %.4f (always '%s')\n", u.majority, names[u.majority_class]);
    printf("mean loss   %.4f\n", fb_metrics_mean_loss(m));
    if (h->nclasses == 2 && h->threshold != 0)
        printf("threshold   '%s' when ln(p(%s)/p(%s)) > %.4f (stored in the head)\n", names[1],
               names[1], names[0], (double)h->threshold);
    if (r->b) {
        const fb_binary_report *b = r->b;
        printf("roc auc     %.4f (positive class: %s)\n", b->auc, names[b->positive]);
        printf("positive    %s: precision %.4f, recall %.4f, specificity %.4f, f1 %.4f "
               "(tp %zu, fp %zu, fn %zu, tn %zu)\n", names[b->positive], b->precision, b->recall,
               b->specificity, b->f1, b->tp, b->fp, b->fn, b->tn);
    }
    if (r->u) print_unknown_text(r->u, h, names);
    printf("\nconfusion matrix (rows: true class, columns: predicted)\n%*s", w, "");
    for (int c = 0; c < k; c++) printf("  %*s", w, names[c]);
    printf("\n");
    for (int t = 0; t < k; t++) {
        printf("%-*s", w, names[t]);
        for (int p = 0; p < k; p++) printf("  %*zu", w, m->confusion[(size_t)t * k + p]);
        printf("\n");
    }
    printf("\n%-*s  precision     recall         f1    support\n", w, "class");
    for (int c = 0; c < k; c++) {
        size_t support = 0;
        for (int p = 0; p < k; p++) support += m->confusion[(size_t)c * k + p];
        printf("%-*s  %9.4f  %9.4f  %9.4f  %9zu\n", w, names[c], fb_metrics_precision(m, c),
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
            fb_tsv_put(stdout, r->ds->ids[x->row]);
            printf("\t%s\t%s\t%.4f\n", names[x->truth],
                   names[x->pred], x->prob);
        }
    } else {
        printf("\n");
    }
    for (int c = 0; c < k; c++) free(names[c]);
    free(names);
}

void fb_eval_print_json(const fb_eval_report *r)
{
    const fb_head *h = r->h;
    const fb_metrics *m = &r->s->m;
    int k = h->nclasses;
    json_t *o = json_object(), *classes = json_array(), *conf = json_array(), *per = json_array();
    json_t *unknown = json_object(), *mist = json_array();
    for (int c = 0; c < k; c++) fb_json_push(classes, fb_json_text(h->classes[c]));
    for (int t = 0; t < k; t++) {
        json_t *row = json_array();
        size_t support = 0;
        for (int p = 0; p < k; p++) {
            fb_json_push(row, json_integer((json_int_t)m->confusion[(size_t)t * k + p]));
            support += m->confusion[(size_t)t * k + p];
        }
        fb_json_push(conf, row);
        fb_json_push(per, json_pack("{s:o, s:o, s:o, s:o, s:I}", "class", fb_json_text(h->classes[t]),
                                             "precision", num(fb_metrics_precision(m, t)),
                                             "recall", num(fb_metrics_recall(m, t)),
                                             "f1", num(fb_metrics_f1(m, t)),
                                             "support", (json_int_t)support));
    }
    for (int c = 0; c < r->ds->nclasses; c++)
        if (r->s->unknown[c]) fb_json_set(unknown, r->ds->classes[c], json_integer((json_int_t)r->s->unknown[c]));
    for (size_t i = 0; i < r->s->nmistakes; i++) {
        const fb_mistake *x = &r->s->mistakes[i];
        fb_json_push(mist, json_pack("{s:o, s:o, s:o, s:f}", "id", fb_json_text(r->ds->ids[x->row]),
                                              "true", fb_json_text(h->classes[x->truth]),
                                              "predicted", fb_json_text(h->classes[x->pred]),
                                              "probability", (double)x->prob));
    }
    fb_json_set(o, "records", json_integer((json_int_t)r->ds->n));
    fb_json_set(o, "scored", json_integer((json_int_t)m->n));
    fb_json_set(o, "unlabelled", json_integer((json_int_t)r->s->unlabelled));
    fb_json_set(o, "unknown_classes", unknown);
    fb_json_set(o, "accuracy", num(fb_metrics_accuracy(m)));
    summary u = summarise(m);
    fb_json_set(o, "accuracy_interval95", json_pack("[o, o]", num(u.lo), num(u.hi)));
    fb_json_set(o, "balanced_accuracy", num(u.balanced));
    fb_json_set(o, "majority_baseline", num(u.majority));
    fb_json_set(o, "majority_class", fb_json_text(h->classes[u.majority_class]));
    fb_json_set(o, "threshold", num(h->threshold));
    fb_json_set(o, "loss", num(fb_metrics_mean_loss(m)));
    fb_json_set(o, "classes", classes);
    fb_json_set(o, "confusion", conf);
    fb_json_set(o, "per_class", per);
    fb_json_set(o, "macro", json_pack("{s:o, s:o, s:o}",
                                              "precision", num(fb_metrics_macro_precision(m)),
                                              "recall", num(fb_metrics_macro_recall(m)),
                                              "f1", num(fb_metrics_macro_f1(m))));
    if (r->b) {
        const fb_binary_report *b = r->b;
        fb_json_set(o, "roc_auc", num(b->auc));
        fb_json_set(o, "positive_class", fb_json_text(h->classes[b->positive]));
        fb_json_set(o, "positive", json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I}",
                                                     "precision", num(b->precision), "recall", num(b->recall),
                                                     "specificity", num(b->specificity), "f1", num(b->f1),
                                                     "tp", (json_int_t)b->tp, "fp", (json_int_t)b->fp,
                                                     "fn", (json_int_t)b->fn, "tn", (json_int_t)b->tn));
    }
    if (r->u) {
        const fb_unknown_score *u = r->u;
        json_t *as = json_object();
        for (int c = 0; c < k; c++)
            fb_json_set(as, h->classes[c], json_integer((json_int_t)u->out_as[c]));
        fb_json_set(o, "unknown_test", json_pack(
            "{s:f, s:f, s:{s:I, s:I, s:o, s:o}, s:{s:I, s:I, s:o, s:o, s:o}}",
            "cut", u->cut, "rate", u->rate,
            "in_class", "records", (json_int_t)u->in_n, "rejected", (json_int_t)u->in_rejected,
            "rejected_share", num(share(u->in_rejected, u->in_n)),
            "accuracy_accepted", num(share(u->in_accepted_right, u->in_n - u->in_rejected)),
            "outsiders", "records", (json_int_t)u->out_n, "rejected", (json_int_t)u->out_rejected,
            "rejected_share", num(share(u->out_rejected, u->out_n)),
            "accepted_share", num(share(u->out_n - u->out_rejected, u->out_n)), "accepted_as", as));
    }
    fb_json_set(o, "misclassified", mist);
    if (json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) != 0)
        fb_die(FB_EXIT_FAILURE, "stdout: write error");
    printf("\n");
    json_decref(o);
}


void fb_eval_write_curve(const char *path, const fb_unknown_score *u)
{
    size_t m;
    double *rows = fb_unknown_curve(u, &m);
    if (!rows) fb_die(FB_EXIT_FAILURE, "out of memory");
    fb_atomic a;
    if (fb_atomic_open(&a, path) != 0) fb_die(FB_EXIT_FAILURE, "%s: %s", path, strerror(errno));
    fprintf(a.f, "cut\tin_class_rejected\toutsiders_rejected\n");
    for (size_t i = 0; i < m; i++)
        fprintf(a.f, "%.6f\t%.6f\t%.6f\n", rows[3 * i], rows[3 * i + 1], rows[3 * i + 2]);
    if (fb_atomic_commit(&a) != 0) fb_die(FB_EXIT_FAILURE, "%s: %s", path, strerror(errno));
    free(rows);
}
