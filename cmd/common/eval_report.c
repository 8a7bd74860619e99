/* What fb-eval prints: the text report and --json, and --curve's TSV
 * (eval_report.h).  Printing only; the numbers come from lib/head. */
#include "common/eval_report.h"
#include "common/common.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *num(double v) { return isnan(v) ? json_null() : json_real(v); }



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

static void print_unknown_text(const fb_unknown_score *u, const fb_head *h)
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
            printf("%s%s %zu", sep, h->classes[c], u->out_as[c]);
            sep = ", ";
        }
    printf("\n");
}

void fb_eval_print_text(const fb_eval_report *r, int max_mistakes)
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
    if (r->u) print_unknown_text(r->u, h);
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

void fb_eval_print_json(const fb_eval_report *r)
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
    if (r->u) {
        const fb_unknown_score *u = r->u;
        json_t *as = json_object();
        for (int c = 0; c < k; c++)
            json_object_set_new(as, h->classes[c], json_integer((json_int_t)u->out_as[c]));
        json_object_set_new(o, "unknown_test", json_pack(
            "{s:f, s:f, s:{s:I, s:I, s:o, s:o}, s:{s:I, s:I, s:o, s:o, s:o}}",
            "cut", u->cut, "rate", u->rate,
            "in_class", "records", (json_int_t)u->in_n, "rejected", (json_int_t)u->in_rejected,
            "rejected_share", num(share(u->in_rejected, u->in_n)),
            "accuracy_accepted", num(share(u->in_accepted_right, u->in_n - u->in_rejected)),
            "outsiders", "records", (json_int_t)u->out_n, "rejected", (json_int_t)u->out_rejected,
            "rejected_share", num(share(u->out_rejected, u->out_n)),
            "accepted_share", num(share(u->out_n - u->out_rejected, u->out_n)), "accepted_as", as));
    }
    json_object_set_new(o, "misclassified", mist);
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
