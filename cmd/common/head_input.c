/* The head and the feature streams the head tools read (head_input.h). */
#include "head_input.h"
#include "fb/core.h"
#include "fb/stream.h"
#include "common/common.h"
#include "common/input.h"

#include <errno.h>
#include <string.h>

void fb_head_input_read_features(fb_featset *ds, FILE *in, const char *name)
{
    char err[1024];
    fb_input_limits();
    fb_reader *r = fb_reader_open(in, name, err, sizeof err);
    if (!r) fb_die(FB_EXIT_FAILURE, "%s", err);
    fb_input_expect(fb_reader_header(r), name, FB_KIND_FEATURES);
    if (fb_featset_read_from(ds, r, name, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    fb_reader_close(r);
}

void fb_head_input_read_stream(fb_featset *ds, const char *path)
{
    FILE *f = fb_open_input(path);
    const char *name = path && strcmp(path, "-") != 0 ? path : "stdin";
    if (!f) fb_die(FB_EXIT_FAILURE, "%s: %s", name, strerror(errno));
    fb_head_input_read_features(ds, f, name);
    if (f != stdin) fclose(f);
}

void fb_head_input_load(fb_head *h, const char *head_path)
{
    char err[1024];
    if (fb_head_load(h, head_path, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
}

void fb_head_input_read(fb_featset *ds, FILE *in, const char *name, const fb_head *h,
                        const char *head_path, int force, const char *to_do, const char *doing)
{
    char err[1024];
    fb_input_limits();
    /* A fine-tuned head reads stage-4 maps through its own stage 5. */
    if (h->stage5.params) {
        if (fb_maps_read(ds, in, name, &h->stage5, 0, NULL, err, sizeof err) != 0)
            fb_die(FB_EXIT_FAILURE, "%s", err);
    } else {
        fb_head_input_read_features(ds, in, name);
    }
    if (ds->dim != h->in_dim)
        fb_die(FB_EXIT_FAILURE, "%s: %d features per record, %s was trained on %d",
               name, ds->dim, head_path, h->in_dim);
    if (fb_prov_compare(h->provenance, ds->provenance, err, sizeof err)) {
        if (!force)
            fb_die(FB_EXIT_FAILURE, "%s: made differently from %s's training data (%s); "
                   "--force to %s anyway", name, head_path, err, to_do);
        fb_warn("%s: made differently from %s's training data (%s); %s anyway (--force)",
                name, head_path, err, doing);
    }
}

float *fb_head_input_probs(fb_head *h, const fb_featset *ds)
{
    char err[256];
    float *probs;
    fb_par_init(1);
    if (fb_head_predict_all(h, ds, &probs, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
    return probs;
}

void fb_head_input_merge_variants(fb_featset *ds, float *probs, int k, const char *name)
{
    size_t before = ds->n, merged = fb_featset_merge_variants(ds, probs, k);
    if (merged)
        fb_warn("note: %s: %zu records are %zu photos and their variants (fb-prep --augment or "
                "--tta): one verdict per photo, its probabilities averaged over them",
                name, before, ds->n);
}

double *fb_head_input_reject(const fb_head *h, const fb_featset *ds, const char *head_path,
                             int off, double rate, double *cut)
{
    if (off) return NULL;
    if (h->reject.n == 0) {
        fb_warn("note: %s has no rejection model (an older fb-train, --no-reject, or too few "
                "training records): "
                "every record gets one of its classes, never unknown", head_path);
        return NULL;
    }
    *cut = rate >= 0 ? fb_reject_cut_for_rate(&h->reject, rate) : h->reject.cut;
    double *dist = fb_xmalloc((ds->n ? ds->n : 1) * sizeof *dist);
    if (fb_reject_distances(&h->reject, ds->x, ds->n, dist) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    return dist;
}

/* The validation stream, checked against the training stream and relabelled
 * onto its classes; its usable rows into *vrows.  Returns how many. */
size_t fb_head_input_read_val(fb_featset *val, const fb_featset *train, const char *path, int force,
                              size_t **vrows)
{
    char err[1024];
    fb_head_input_read_stream(val, path);
    if (val->dim != train->dim)
        fb_die(FB_EXIT_FAILURE, "%s: %d features per record, the training stream has %d",
               path, val->dim, train->dim);
    if (fb_prov_compare(train->provenance, val->provenance, err, sizeof err) && !force)
        fb_die(FB_EXIT_FAILURE, "%s: made differently from the training stream (%s); "
               "--force to use it anyway", path, err);
    size_t unknown, unlabelled, nv = 0;
    if (fb_featset_relabel(val, train->classes, train->nclasses, &unknown, &unlabelled) != 0)
        fb_die(FB_EXIT_FAILURE, "out of memory");
    if (unknown)
        fb_warn("%s: %zu %s of classes the training stream does not have; not used", path, unknown,
                fb_plural(unknown, "record", "records"));
    if (unlabelled)
        fb_warn("%s: %zu unlabelled %s; not used", path, unlabelled, fb_plural(unlabelled, "record", "records"));
    *vrows = fb_xmalloc((val->n ? val->n : 1) * sizeof(size_t));
    for (size_t i = 0; i < val->n; i++)
        if (val->y[i] >= 0) (*vrows)[nv++] = i;
    if (nv == 0) fb_warn("%s: no usable validation records", path);
    return nv;
}
