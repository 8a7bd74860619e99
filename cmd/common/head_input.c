/* The head and the feature stream that fb-eval and fb-predict apply it to. */
#include "head_input.h"
#include "fb/util.h"

void fb_head_input_load(fb_head *h, const char *head_path)
{
    char err[1024];
    if (fb_head_load(h, head_path, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
}

void fb_head_input_read(fb_featset *ds, FILE *in, const char *name, const fb_head *h,
                        const char *head_path, int force, const char *to_do, const char *doing)
{
    char err[1024];
    if (fb_featset_read(ds, in, name, err, sizeof err) != 0) fb_die(FB_EXIT_FAILURE, "%s", err);
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
