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

static const char usage[] =
    "usage: fb-eval [options] head.bin < test.fbt\n"
    "  --json         one JSON object on stdout instead of the text report\n"
    "  --unknown FILE.fbt  records of photos that belong to no class: how many the\n"
    "                 unknown test rejects (records of the stream whose label is not a\n"
    "                 class of the head count as such outsiders too)\n"
    "  --curve FILE.tsv  the trade-off as the cut moves: cut, share of in-class\n"
    "                 records rejected, share of outsiders rejected\n"
    "  --reject-rate R   the cut that rejects R of held-out training photos\n"
    "                 (default: the cut the head stores)\n"
    "  --no-reject    score without the unknown test\n"
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
    const struct unknown_test *u;  /* NULL: no unknown test */
} report;

/* The unknown test scored: in-class records (a class of the head) and
 * outsiders (a label the head lacks, or --unknown). */
typedef struct unknown_test {
    double cut, rate;
    size_t in_n, in_rejected, in_accepted_right;
    size_t out_n, out_rejected;
    size_t *out_as;          /* [h->nclasses]: outsiders accepted as each class */
} unknown_test;

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

static void print_unknown_text(const unknown_test *u, const fb_head *h)
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
    if (r->u) {
        const unknown_test *u = r->u;
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

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* How many of the sorted v[0..n) are above cut. */
static size_t above(const double *v, size_t n, double cut)
{
    size_t lo = 0, hi = n;    /* first v > cut */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] <= cut) lo = mid + 1;
        else hi = mid;
    }
    return n - lo;
}

/* --curve: at every cut where something changes (each distance seen), the
 * shares of in-class records and of outsiders beyond it. */
static void write_curve(const char *path, double *in, size_t nin, double *out, size_t nout)
{
    qsort(in, nin, sizeof *in, cmp_double);
    qsort(out, nout, sizeof *out, cmp_double);
    double *cuts = fb_xmalloc((nin + nout + 1) * sizeof *cuts);
    size_t m = 0;
    cuts[m++] = 0;
    memcpy(cuts + m, in, nin * sizeof *in);
    memcpy(cuts + m + nin, out, nout * sizeof *out);
    m += nin + nout;
    qsort(cuts, m, sizeof *cuts, cmp_double);
    fb_atomic a;
    if (fb_atomic_open(&a, path) != 0) fb_die(FB_EXIT_FAILURE, "%s: %s", path, strerror(errno));
    fprintf(a.f, "cut\tin_class_rejected\toutsiders_rejected\n");
    for (size_t i = 0; i < m; i++) {
        if (i && cuts[i] == cuts[i - 1]) continue;
        fprintf(a.f, "%.6f\t%.6f\t%.6f\n", cuts[i], nin ? (double)above(in, nin, cuts[i]) / nin : NAN,
                nout ? (double)above(out, nout, cuts[i]) / nout : NAN);
    }
    if (fb_atomic_commit(&a) != 0) fb_die(FB_EXIT_FAILURE, "%s: %s", path, strerror(errno));
    free(cuts);
}

/* The unknown test on the stream (in-class records: a class of the head;
 * outsiders: a label it lacks) and on --unknown's records (all outsiders).
 * 0 when the head has no rejection model (fb_head_input_reject's note). */
static int measure_unknown(unknown_test *u, const fb_head *h, const char *head_path,
                           const fb_featset *ds, const float *probs, const fb_featset *extra,
                           double rate, const char *curve_path)
{
    double cut;
    double *dist = fb_head_input_reject(h, ds, head_path, 0, rate, &cut);
    if (!dist) return 0;
    double *dx = fb_xmalloc((extra->n ? extra->n : 1) * sizeof *dx);
    if (fb_reject_distances(&h->reject, extra->x, extra->n, dx) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    float *px = NULL;
    if (extra->n) px = fb_head_input_probs((fb_head *)h, extra);
    u->cut = cut;
    u->rate = rate >= 0 ? rate : h->reject.rate;
    u->out_as = fb_xcalloc((size_t)h->nclasses, sizeof *u->out_as);
    double *in_d = fb_xmalloc((ds->n ? ds->n : 1) * sizeof *in_d);
    double *out_d = fb_xmalloc((ds->n + extra->n + 1) * sizeof *out_d);
    for (size_t i = 0; i < ds->n + extra->n; i++) {
        int from_stream = i < ds->n;
        size_t row = from_stream ? i : i - ds->n;
        double d = from_stream ? dist[row] : dx[row];
        const float *p = from_stream ? probs + row * h->nclasses : px + row * h->nclasses;
        int truth = -1, rejected = d > cut, pred = fb_head_decide(h, p);
        if (from_stream) {
            if (ds->y[row] < 0) continue;   /* unlabelled: neither */
            truth = fb_class_index(h->classes, h->nclasses, ds->classes[ds->y[row]]);
        }
        if (truth >= 0) {
            in_d[u->in_n++] = d;
            u->in_rejected += rejected;
            u->in_accepted_right += !rejected && pred == truth;
        } else {
            out_d[u->out_n++] = d;
            u->out_rejected += rejected;
            if (!rejected) u->out_as[pred]++;
        }
    }
    if (curve_path) write_curve(curve_path, in_d, u->in_n, out_d, u->out_n);
    free(in_d);
    free(out_d);
    free(px);
    free(dx);
    free(dist);
    return 1;
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_handle_help_version(argc, argv, usage);
    fb_tune_blas(argv);
    int as_json = 0, force = 0, max_mistakes = 20, no_reject = 0, c;
    double reject_rate = -1;
    const char *positive_name = NULL, *unknown_path = NULL, *curve_path = NULL, *sheet = NULL;
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'j' }, { "force", no_argument, NULL, 'f' },
        { "mistakes", required_argument, NULL, 'm' }, { "positive", required_argument, NULL, 'p' },
        { "unknown", required_argument, NULL, 'u' }, { "curve", required_argument, NULL, 'c' },
        { "reject-rate", required_argument, NULL, 'R' }, { "no-reject", no_argument, NULL, 'n' },
        { "sheet", required_argument, NULL, 'S' }, { NULL, 0, NULL, 0 }
    };
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = 1; break;
        case 'f': force = 1; break;
        case 'm': max_mistakes = (int)fb_opt_long("--mistakes", optarg, 0, 1000000); break;
        case 'p': positive_name = optarg; break;
        case 'u': unknown_path = optarg; break;
        case 'c': curve_path = optarg; break;
        case 'R': reject_rate = fb_opt_double("--reject-rate", optarg, 0, 1); break;
        case 'n': no_reject = 1; break;
        case 'S': sheet = optarg; break;
        default: fputs(usage, stderr); return FB_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fputs(usage, stderr);
        return FB_EXIT_USAGE;
    }
    if (no_reject && (unknown_path || curve_path || reject_rate >= 0))
        fb_die(FB_EXIT_USAGE, "--no-reject turns the unknown test off; --unknown, --curve and "
               "--reject-rate measure it");
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
    unknown_test u = { 0 };
    fb_featset out = { 0 };
    int tested = 0;
    if (unknown_path) {
        /* made like the head's training data, as the stream on stdin */
        FILE *f = fopen(unknown_path, "rb");
        if (!f) fb_die(FB_EXIT_FAILURE, "%s: %s", unknown_path, strerror(errno));
        fb_head_input_read(&out, f, unknown_path, &h, head_path, force, "score it", "scoring");
        fclose(f);
    }
    if (!no_reject) tested = measure_unknown(&u, &h, head_path, &ds, probs, &out, reject_rate, curve_path);
    if (unknown_path && !tested)
        fb_die(FB_EXIT_FAILURE, "--unknown: %s has no rejection model to measure", head_path);
    if (s.m.n == 0 && !(tested && u.out_n))
        fb_die(FB_EXIT_FAILURE, "stdin: no records with a class the head knows; nothing to score");

    int positive = h.nclasses == 2 ? 1 : -1;
    if (positive_name && (positive = fb_class_index(h.classes, h.nclasses, positive_name)) < 0)
        fb_die(FB_EXIT_USAGE, "--positive: %s has no class '%s'", head_path, positive_name);
    fb_binary_report b;
    if (positive >= 0 && fb_score_positive(&h, &ds, probs, positive, &b) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    report r = { &h, &ds, &s, positive >= 0 ? &b : NULL, tested ? &u : NULL };
    if (as_json) print_json(&r);
    else print_text(&r, max_mistakes);
    if (fflush(stdout) != 0 || ferror(stdout)) fb_die(FB_EXIT_FAILURE, "stdout: write error");
    if (sheet && (fb_photo_vips_start(argv[0], err, sizeof err) ||
                  fb_sheet_mistakes(&h, &ds, &s, 100, sheet, err, sizeof err)))
        fb_die(FB_EXIT_FAILURE, "%s", err);

    fb_score_free(&s);
    free(u.out_as);
    fb_featset_free(&out);
    free(probs);
    fb_featset_free(&ds);
    fb_head_free(&h);
    return 0;
}
