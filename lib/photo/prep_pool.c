/* fb-prep's decoder processes: fb_prep_image as a job of the decoder pool
 * (decoders.c).  The result of a file is its pixels: the photo, then its
 * variants, size*size*3 bytes each. */
#include "fb/photo.h"
#include "allowlist.h"

typedef struct {
    const fb_prep_opts *opts;
    fb_prep_sink sink;
    void *ctx;
} prep_job;

/* In each decoder process, before its first file. */
static int prep_start(void *ctx)
{
    const prep_job *j = ctx;
    return fb_prep_vips_init("fb-prep", j->opts->vipshome);
}

static int prep_one(void *ctx, const char *path, void *out, char *reason, size_t len)
{
    const prep_job *j = ctx;
    return fb_prep_image(path, j->opts, out, reason, len);
}

static int prep_sink(void *ctx, size_t index, const void *result, const char *reason)
{
    const prep_job *j = ctx;
    return j->sink(j->ctx, index, result, reason);
}

int fb_prep_run(const fb_prep_opts *o, int jobs, double timeout,
                const char *const *paths, size_t n,
                fb_prep_sink sink, void *ctx, char *err, size_t errlen)
{
    prep_job j = { o, sink, ctx };
    fb_decoder_job job = {
        .start = prep_start, .run = prep_one, .ctx = &j,
        .result_size = (size_t)o->size * o->size * 3 * fb_prep_outputs(o),   /* original + variants */
        .jobs = jobs, .timeout = timeout,
    };
    return fb_decoders_run(&job, paths, n, prep_sink, &j, err, errlen);
}
