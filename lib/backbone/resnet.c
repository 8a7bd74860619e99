/* Keras ImageNet ResNet50 forward pass, one image at a time per team of
 * threads (see include/fb/backbone.h).  Shapes follow keras 2.2.4
 * applications.ResNet50: the stride of stages 3-5 is on the first 1x1. */
#include "fb/backbone.h"
#include "kern.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* The largest activation: 112x112x64 after conv1 = 56x56x256 in stage 2. */
#define MAX_ACT ((size_t)112 * 112 * 64)

static const int stage_blocks[4] = {3, 4, 6, 3};
static const int stage_width[4] = {64, 128, 256, 512};

static const fb_conv_params *expect(const fb_weights *w, const char *name, int k, int cin, int cout,
                                    int stride, int pad, char *err, size_t errlen)
{
    const fb_conv_params *p = fb_weights_find_tensor(w, name);
    if (!p) {
        snprintf(err, errlen, "weights file has no layer %s (not a ResNet50 file?)", name);
        return NULL;
    }
    if (p->kh != k || p->kw != k || p->cin != cin || p->cout != cout || p->stride != stride || p->pad != pad) {
        snprintf(err, errlen, "weights layer %s is %dx%d/%d pad %d, %d->%d; expected %dx%d/%d pad %d, %d->%d",
                 name, p->kh, p->kw, p->stride, p->pad, p->cin, p->cout, k, k, stride, pad, cin, cout);
        return NULL;
    }
    return p;
}

void fb_resnet_top(const float *probs, int k, int *best)
{
    /* Partial selection sort: k is small. */
    char taken[FB_RESNET_CLASSES] = {0};
    for (int r = 0; r < k; r++) {
        int b = -1;
        for (int c = 0; c < FB_RESNET_CLASSES; c++)
            if (!taken[c] && (b < 0 || probs[c] > probs[b])) b = c;
        taken[b] = 1;
        best[r] = b;
    }
}

void fb_resnet_probs(const float *logits, float *probs)
{
    fb_kern_softmax(logits, FB_RESNET_CLASSES, probs);
}

int fb_resnet_init(fb_resnet *net, const fb_weights *w, char *err, size_t errlen)
{
    memset(net, 0, sizeof *net);
    net->weights = w;
    if (!(net->conv1 = expect(w, "conv1", 7, 3, 64, 2, 3, err, errlen))) return -1;
    if (!(net->fc = expect(w, "fc1000", 1, 2048, FB_RESNET_CLASSES, 1, 0, err, errlen))) return -1;
    if (w->nlabels != FB_RESNET_CLASSES) {
        snprintf(err, errlen, "weights file has %d class labels, expected %d", w->nlabels, FB_RESNET_CLASSES);
        return -1;
    }
    int cin = 64, nb = 0;
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < stage_blocks[s]; i++) {
            fb_resnet_block *b = &net->blocks[nb++];
            int f = stage_width[s], stride = (i == 0 && s > 0) ? 2 : 1;
            char name[32];
            /* Keras names: res<stage><block letter>_branch2a/2b/2c, _branch1 */
            snprintf(name, sizeof name, "res%d%c_branch2a", s + 2, 'a' + i);
            if (!(b->a = expect(w, name, 1, cin, f, stride, 0, err, errlen))) return -1;
            snprintf(name, sizeof name, "res%d%c_branch2b", s + 2, 'a' + i);
            if (!(b->b = expect(w, name, 3, f, f, 1, 1, err, errlen))) return -1;
            snprintf(name, sizeof name, "res%d%c_branch2c", s + 2, 'a' + i);
            if (!(b->c = expect(w, name, 1, f, 4 * f, 1, 0, err, errlen))) return -1;
            if (i == 0) {
                snprintf(name, sizeof name, "res%d%c_branch1", s + 2, 'a' + i);
                if (!(b->shortcut = expect(w, name, 1, cin, 4 * f, stride, 0, err, errlen))) return -1;
            }
            cin = 4 * f;
        }
    return 0;
}

/* ------------------------------------------------------------ one image */

/* FB_PROFILE: seconds spent per step, per thread (see fb_resnet_runner_new).
 * Steps: one per tensor of the weights file (its convs), then the rest. */
enum { PROF_PREPROCESS, PROF_MAXPOOL, PROF_HEAD, PROF_WAIT, PROF_OTHER };
typedef struct {
    int steps;                    /* ntensors + PROF_OTHER + 1 */
    double *seconds;              /* [steps] summed over images, or NULL: off */
    double *best;                 /* [steps] the fastest image (the quietest moment) */
    double *image;                /* [steps] the current image */
    double *flop;                 /* [steps] of a conv done directly, per image; 0 for the rest */
    double mark;                  /* when the current step began */
} profile;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Charges the time since the last mark to step i and moves the mark. */
static void profile_step(profile *pr, int i)
{
    if (!pr->seconds) return;
    double t = now_seconds();
    pr->image[i] += t - pr->mark;
    pr->mark = t;
}

static void profile_image_done(profile *pr)
{
    if (!pr->seconds) return;
    for (int i = 0; i < pr->steps; i++) {
        pr->seconds[i] += pr->image[i];
        if (pr->best[i] < 0 || pr->image[i] < pr->best[i]) pr->best[i] = pr->image[i];
        pr->image[i] = 0;
    }
}

/* The barrier between layers of an image shared by threads: they spin,
 * since a layer takes 0.1-2 ms and a sleeping thread takes tens of
 * microseconds to wake, then yield.  With more threads than CPUs they yield
 * at once: a spinning thread would hold the CPU another needs to arrive.
 * Sense-reversing: each thread flips its own sense at every wait. */
typedef struct {
    atomic_int arrived;
    atomic_int sense;
    int n;
    long spins;                   /* before yielding */
} spin_barrier;

static void spin_barrier_wait(spin_barrier *b, int *my_sense)
{
    int sense = !*my_sense;
    *my_sense = sense;
    if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) == b->n - 1) {
        atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
        atomic_store_explicit(&b->sense, sense, memory_order_release);
        return;
    }
    for (long spins = 0; atomic_load_explicit(&b->sense, memory_order_acquire) != sense; spins++) {
        if (spins < b->spins) __builtin_ia32_pause();
        else sched_yield();
    }
}

/* Threads working together on one image: each computes a slice of every
 * layer's output rows, then all meet at the barrier before the next layer. */
typedef struct {
    int nthreads, tid;
    spin_barrier *barrier;
    int *sense;                   /* this thread's barrier sense */
    profile *prof;
    int ntensors;                 /* where the steps past the convs start in prof */
} team;

static void team_sync(const team *t)
{
    if (t->nthreads > 1) {
        spin_barrier_wait(t->barrier, t->sense);
        profile_step(t->prof, t->ntensors + PROF_WAIT);
    }
}

/* This thread's share [*lo, *hi) of n rows, in multiples of 16 rows so GEMM
 * tiles stay whole. */
static void team_rows(const team *t, int n, int *lo, int *hi)
{
    int per = (n + t->nthreads - 1) / t->nthreads;
    per = (per + 15) / 16 * 16;
    *lo = t->tid * per < n ? t->tid * per : n;
    *hi = *lo + per < n ? *lo + per : n;
}

/* Activations shared by a team; scratch is per thread. */
typedef struct {
    float *x, *t1, *t2, *s;       /* MAX_ACT floats each */
} activations;

/* Weights of every conv packed for the AVX-512 GEMM (NULL: the OpenBLAS path)
 * or, in bf16, for the bf16 GEMM, indexed like the weights file's tensor
 * table. */
typedef struct {
    const fb_conv_params *tensors;
    float *const *packed;
    uint16_t *const *packed16;       /* bf16: every conv and fc1000; else NULL */
    int native;                      /* bf16 by VDPBF16PS, else by the scalar reference */
    const unsigned char *winograd;   /* per tensor: packed for fb_kern_conv3x3_winograd(_bf16) */
} packed_net;

#define MR_ROWS 14   /* the GEMM's tile height (lib/backbone/kern_gemm.c) */

/* conv + bias [+ residual] [+ ReLU]: in [h][w][cin] -> out [ho][wo][cout] */
static void conv(const team *t, const packed_net *pn, const fb_conv_params *p, const float *in,
                 int h, int w, const float *residual, int relu, float *out, float *scratch,
                 int *ho, int *wo)
{
    *ho = fb_conv_out(h, p->kh, p->stride, p->pad);
    *wo = fb_conv_out(w, p->kw, p->stride, p->pad);
    int m = *ho * *wo, lo, hi;
    if (pn->packed || pn->packed16) {
        int idx = (int)(p - pn->tensors);
        /* Threads sharing an image split the output rows in whole 14-row
         * tiles when each gets at least 7 of them (stages 2-4 on 2 threads):
         * each thread then reads all of B, but mostly the rows of A it wrote
         * itself (measured: stage 4 by rows is faster than by columns).
         * Else they split the 32-column panels (stage 5: 49 rows, large B:
         * each thread reads only its share of the weights).  Winograd convs
         * split their 2x2 tiles the same way. */
        int rows = pn->winograd[idx] ? fb_kern_winograd_tiles(h, w) : m;
        int row0 = 0, row1 = rows, col0 = 0, col1 = p->cout;
        if (t->nthreads > 1 && m >= 7 * MR_ROWS * t->nthreads) {
            int tiles = (rows + MR_ROWS - 1) / MR_ROWS;
            row0 = tiles * t->tid / t->nthreads * MR_ROWS;
            row1 = tiles * (t->tid + 1) / t->nthreads * MR_ROWS;
            if (row1 > rows) row1 = rows;
        } else if (t->nthreads > 1) {
            int panels = (p->cout + 31) / 32;
            col0 = panels * t->tid / t->nthreads * 32;
            col1 = panels * (t->tid + 1) / t->nthreads * 32;
            if (col1 > p->cout) col1 = p->cout;
        }
        if (pn->packed16 && pn->winograd[idx])
            fb_kern_conv3x3_winograd_bf16(pn->native, in, h, w, p->cin, pn->packed16[idx], p->b, p->cout,
                                          relu, out, scratch, row0, row1, col0, col1);
        else if (pn->packed16)
            fb_kern_conv2d_bf16(pn->native, in, h, w, p->cin, pn->packed16[idx], p->b, p->kh, p->stride,
                                p->pad, p->cout, residual, relu, out, scratch, row0, row1, col0, col1);
        else if (pn->winograd[idx])
            fb_kern_conv3x3_winograd(in, h, w, p->cin, pn->packed[idx], p->b, p->cout, relu, out, scratch,
                                     row0, row1, col0, col1);
        else
            fb_kern_conv2d_packed(in, h, w, p->cin, pn->packed[idx], p->b, p->kh, p->stride, p->pad, p->cout,
                                  residual, relu, out, scratch, row0, row1, col0, col1);
    } else {
        team_rows(t, m, &lo, &hi);
        fb_kern_conv2d(in, h, w, p->cin, p->w, p->b, p->kh, p->stride, p->pad, p->cout,
                       residual, relu, out, scratch, lo, hi);
    }
    profile_step(t->prof, (int)(p - pn->tensors));
    if (t->prof->seconds) t->prof->flop[p - pn->tensors] = 2.0 * m * p->kh * p->kw * p->cin * p->cout;
    team_sync(t);
}

/* Bottleneck block: x [h][w][cin] -> x [h/s][w/s][4f] (buffers rotate). */
static void block_forward(const team *t, const packed_net *pn, const fb_resnet_block *b,
                          activations *a, float *scratch, int *h, int *w)
{
    int h1, w1, h2, w2, hs, ws;
    conv(t, pn, b->a, a->x, *h, *w, NULL, 1, a->t1, scratch, &h1, &w1);      /* [h/s][w/s][f]  */
    conv(t, pn, b->b, a->t1, h1, w1, NULL, 1, a->t2, scratch, &h2, &w2);     /* [h/s][w/s][f]  */
    const float *shortcut = a->x;                                         /* [h/s][w/s][4f] */
    if (b->shortcut) {
        conv(t, pn, b->shortcut, a->x, *h, *w, NULL, 0, a->s, scratch, &hs, &ws);
        shortcut = a->s;
    }
    conv(t, pn, b->c, a->t2, h2, w2, shortcut, 1, a->t1, scratch, &h1, &w1); /* [h/s][w/s][4f] */
    float *tmp = a->x;
    a->x = a->t1;
    a->t1 = tmp;
    *h = h1;
    *w = w1;
}

/* image [224][224][3] uint8 RGB -> features [2048], logits [1000], and
 * stage 5's output [7][7][2048] (each if not NULL).
 * Every thread of the team calls this with the same arguments. */
/* Stage 4's map in and out: with stage4_out the pass stops after stage 4
 * (block 13) and copies its [14][14][1024] map there; with stage4_in (image
 * NULL) it starts from that map and runs stage 5 on. */
typedef struct {
    float *stage4_out;
    const float *stage4_in;
} stage4_io;

static void forward(const team *t, const fb_resnet *net, const packed_net *pn, activations *a,
                    float *scratch, const stage4_io *s4,
                    const uint8_t *image, float *features, float *logits, float *spatial)
{
    int lo, hi, h = FB_RESNET_SIDE, w = FB_RESNET_SIDE;
    if (s4->stage4_in) {
        profile_step(t->prof, t->ntensors + PROF_OTHER);
        if (t->tid == 0) memcpy(a->x, s4->stage4_in, sizeof(float) * FB_STAGE4_SIZE);
        team_sync(t);
        h = w = FB_STAGE4_SIDE;
        for (int i = FB_STAGE5_FIRST_BLOCK; i < FB_RESNET_NBLOCKS; i++)
            block_forward(t, pn, &net->blocks[i], a, scratch, &h, &w);       /* [7][7][2048] */
        goto pool;
    }
    team_rows(t, FB_RESNET_PIXELS, &lo, &hi);
    profile_step(t->prof, t->ntensors + PROF_OTHER);   /* between images: not ours */
    fb_kern_preprocess(image + (size_t)lo * 3, (size_t)(hi - lo), a->s + (size_t)lo * 3); /* [224][224][3] */
    profile_step(t->prof, t->ntensors + PROF_PREPROCESS);
    team_sync(t);
    conv(t, pn, net->conv1, a->s, h, w, NULL, 1, a->t1, scratch, &h, &w);    /* [112][112][64] */
    int ho = fb_conv_out(h, 3, 2, 1);
    team_rows(t, ho, &lo, &hi);
    fb_kern_maxpool(a->t1, h, w, 64, 3, 2, 1, a->x, lo, hi);              /* [56][56][64] */
    profile_step(t->prof, t->ntensors + PROF_MAXPOOL);
    team_sync(t);
    h = w = ho;
    for (int i = 0; i < FB_RESNET_NBLOCKS; i++) {
        if (i == FB_STAGE5_FIRST_BLOCK && s4->stage4_out) {                  /* [14][14][1024] */
            if (t->tid == 0) memcpy(s4->stage4_out, a->x, sizeof(float) * FB_STAGE4_SIZE);
            team_sync(t);
            profile_image_done(t->prof);
            return;
        }
        block_forward(t, pn, &net->blocks[i], a, scratch, &h, &w);           /* ... [7][7][2048] */
    }
pool:
    if (t->tid == 0) {
        float pooled[FB_RESNET_FEATURES];
        fb_kern_avgpool(a->x, (size_t)h * w, FB_RESNET_FEATURES, pooled); /* [2048] */
        if (features) memcpy(features, pooled, sizeof pooled);
        if (spatial) memcpy(spatial, a->x, sizeof(float) * h * w * FB_RESNET_FEATURES);
        if (logits && pn->packed16)                                       /* [1000] */
            fb_kern_conv2d_bf16(pn->native, pooled, 1, 1, FB_RESNET_FEATURES,
                                pn->packed16[net->fc - pn->tensors], net->fc->b, 1, 1, 0,
                                FB_RESNET_CLASSES, NULL, 0, logits, scratch, 0, 1, 0, FB_RESNET_CLASSES);
        else if (logits)
            fb_kern_dense(pooled, FB_RESNET_FEATURES, net->fc->w, net->fc->b, FB_RESNET_CLASSES, logits);
    }
    profile_step(t->prof, t->ntensors + PROF_HEAD);
    team_sync(t);
    profile_image_done(t->prof);
}

/* ------------------------------------------------------------- runner */

typedef struct {
    struct fb_resnet_runner *r;
    int tid;
} worker_arg;

struct fb_resnet_runner {
    const fb_resnet *net;
    fb_resnet_options opt;
    int nthreads;
    int avx512;                   /* fp32: the AVX-512 GEMM, else OpenBLAS */
    int native;                   /* bf16: VDPBF16PS, else the scalar reference */
    float **packed;               /* fp32 on AVX-512: per tensor, NULL entries for fc1000 */
    uint16_t **packed16;          /* bf16: per tensor */
    unsigned char *winograd;      /* per tensor: packed for Winograd (see choose_winograd) */
    void *packed_buf;             /* one allocation behind packed[] or packed16[] */
    activations act[64];          /* one set per thread (images spread) */
    float *scratch[64];           /* one per thread */
    /* The pool: threads 1..active-1 live as long as the runner and wait for
     * each job (made once: a batch of one image would otherwise pay for
     * thread creation every image). */
    pthread_t threads[64];
    worker_arg args[64];
    int active;                   /* threads in the pool, the caller's included */
    pthread_mutex_t lock;
    pthread_cond_t start, done;
    unsigned long job;            /* incremented for every job */
    int finished;                 /* pool threads done with the current job */
    int quit;
    int pool_ready;               /* lock and conds initialised */
    /* the current job */
    const uint8_t *images;
    float *features, *logits, *spatial;
    float *stage4_out;            /* n x 14x14x1024, or NULL */
    const float *stage4_in;       /* n x 14x14x1024 instead of images, or NULL */
    int n;
    atomic_int next;
    spin_barrier barrier;
    int sense[64];                /* per thread, see spin_barrier_wait */
    /* FB_PROFILE */
    profile prof[64];             /* one per thread; seconds NULL when off */
    int shared_images;            /* the last run had threads share images */
    long images_done;
};

#define MAX_THREADS 64

static void start_pool(fb_resnet_runner *r);
static void stop_pool(fb_resnet_runner *r);

/* The 3x3 convs of stages 2-4 run as Winograd F(2x2, 3x3) on the AVX-512
 * path (1.5-1.9x faster each, measured alone); stage 5's measured no faster
 * in a whole run (its 7x7 maps make 16 tiles, and its weights would grow
 * 1.8x).  options.no_winograd (FB_NO_WINOGRAD) turns it off. */
static void choose_winograd(fb_resnet_runner *r)
{
    if (r->opt.no_winograd || (r->opt.precision == FB_PRECISION_FP32 && !r->avx512)) return;
    for (int s = 0, nb = 0; s < 3; s++)   /* stages 2-4 */
        for (int i = 0; i < stage_blocks[s]; i++, nb++) {
            const fb_conv_params *b = r->net->blocks[nb].b;
            if (b->kh == 3 && b->stride == 1 && b->pad == 1 && b->cin % 16 == 0 &&
                b->cout % 32 == 0)
                r->winograd[b - r->net->weights->tensors] = 1;
        }
}

/* Floats of scratch one conv needs, at input side `side`, on this runner's path. */
static size_t conv_scratch(const fb_resnet_runner *r, const fb_conv_params *p, int side)
{
    int i = (int)(p - r->net->weights->tensors);
    if (r->opt.precision == FB_PRECISION_BF16)
        return r->winograd[i] ? fb_kern_winograd_bf16_scratch(side, side, p->cin, p->cout)
                              : fb_kern_bf16_conv_scratch(side, side, p->cin, p->kh, p->stride, p->pad);
    if (r->avx512)
        return r->winograd[i] ? fb_kern_winograd_scratch(side, side, p->cin, p->cout)
                              : fb_kern_conv2d_packed_scratch(side, side, p->cin, p->kh, p->stride, p->pad);
    return fb_kern_conv2d_scratch(side, side, p->cin, p->kh, p->stride, p->pad);
}

/* The largest scratch over every conv of the network (and fc1000 in bf16,
 * a 1x1 conv on one pixel), walking its shapes. */
static size_t scratch_floats(const fb_resnet_runner *r)
{
    const fb_resnet *net = r->net;
    size_t m = conv_scratch(r, net->conv1, FB_RESNET_SIDE);
    if (r->opt.precision == FB_PRECISION_BF16) {
        size_t fc = conv_scratch(r, net->fc, 1);
        if (fc > m) m = fc;
    }
    int side = 56, nb = 0;
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < stage_blocks[s]; i++, nb++) {
            const fb_resnet_block *b = &net->blocks[nb];
            int out = fb_conv_out(side, 1, b->a->stride, 0);
            size_t need[4] = {conv_scratch(r, b->a, side), conv_scratch(r, b->b, out),
                              conv_scratch(r, b->c, out), b->shortcut ? conv_scratch(r, b->shortcut, side) : 0};
            for (int k = 0; k < 4; k++)
                if (need[k] > m) m = need[k];
            side = out;
        }
    return (m + 15) / 16 * 16;   /* whole 64-byte lines, as aligned_alloc wants */
}

/* Packs every conv's weights for the AVX-512 GEMM (the fc1000 dense layer
 * stays as it is: lib/backbone/kern_pool.c).  0 ok, -1 out of memory. */
static int pack_weights(fb_resnet_runner *r)
{
    const fb_weights *w = r->net->weights;
    size_t total = 0;
    for (int i = 0; i < w->ntensors; i++) {
        const fb_conv_params *p = &w->tensors[i];
        if (p == r->net->fc) continue;
        total += r->winograd[i] ? fb_kern_winograd_weights_floats(p->cin, p->cout)
                                : fb_kern_packed_weights_floats(p->kh * p->kw * p->cin, p->cout);
    }
    r->packed = calloc(w->ntensors > 0 ? (size_t)w->ntensors : 1, sizeof *r->packed);
    r->packed_buf = aligned_alloc(64, (total ? total : 1) * sizeof(float));
    if (!r->packed || !r->packed_buf) return -1;
    float *at = r->packed_buf;
    for (int i = 0; i < w->ntensors; i++) {
        const fb_conv_params *p = &w->tensors[i];
        if (p == r->net->fc) continue;
        int k = p->kh * p->kw * p->cin;
        r->packed[i] = at;
        if (r->winograd[i]) {
            if (fb_kern_winograd_pack_weights(p->w, p->cin, p->cout, at) != 0) return -1;
            at += fb_kern_winograd_weights_floats(p->cin, p->cout);
            continue;
        }
        fb_kern_pack_weights(p->w, k, p->cout, at);
        at += fb_kern_packed_weights_floats(k, p->cout);   /* a multiple of 16 floats: aligned */
    }
    return 0;
}

/* bf16: every tensor (convs and fc1000) for lib/backbone/kern_bf16.c, each
 * starting on a 64-byte line.  0 ok, -1 out of memory. */
static size_t bf16_size(const fb_resnet_runner *r, int i)
{
    const fb_conv_params *p = &r->net->weights->tensors[i];
    size_t n = r->winograd[i] ? fb_kern_winograd_bf16_weights_size(p->cin, p->cout)
                              : fb_kern_bf16_weights_size(p->kh, p->cin, p->cout);
    return (n + 31) / 32 * 32;
}

static int pack_weights_bf16(fb_resnet_runner *r)
{
    const fb_weights *w = r->net->weights;
    size_t total = 0;
    for (int i = 0; i < w->ntensors; i++) total += bf16_size(r, i);
    r->packed16 = calloc(w->ntensors > 0 ? (size_t)w->ntensors : 1, sizeof *r->packed16);
    r->packed_buf = aligned_alloc(64, (total ? total : 32) * sizeof(uint16_t));
    if (!r->packed16 || !r->packed_buf) return -1;
    uint16_t *at = r->packed_buf;
    for (int i = 0; i < w->ntensors; i++) {
        const fb_conv_params *p = &w->tensors[i];
        r->packed16[i] = at;
        if (r->winograd[i]) {
            if (fb_kern_winograd_bf16_pack_weights(p->w, p->cin, p->cout, at) != 0) return -1;
        } else {
            fb_kern_bf16_pack_weights(p->w, p->kh, p->cin, p->cout, at);
        }
        at += bf16_size(r, i);
    }
    return 0;
}

const char *fb_precision_name(fb_precision p)
{
    return p == FB_PRECISION_BF16 ? "bf16" : "fp32";
}

void fb_resnet_options_init(fb_resnet_options *o, int nthreads)
{
    memset(o, 0, sizeof *o);
    o->nthreads = nthreads;
    o->precision = FB_PRECISION_FP32;
}

fb_resnet_runner *fb_resnet_runner_new(const fb_resnet *net, const fb_resnet_options *o, char *err,
                                       size_t errlen)
{
    int nthreads = o->nthreads < 1 ? 1 : o->nthreads > MAX_THREADS ? MAX_THREADS : o->nthreads;
    int bf16 = o->precision == FB_PRECISION_BF16;
    if (bf16 && !o->bf16_scalar && (o->no_avx512 || !fb_kern_bf16_native())) {
        snprintf(err, errlen, "bf16 needs a CPU with AVX512_BF16 (the VDPBF16PS instruction)%s",
                 o->no_avx512 ? ", and AVX-512 is turned off (FB_NO_AVX512)"
                              : "; this CPU does not have it");
        return NULL;
    }
    fb_resnet_runner *r = calloc(1, sizeof *r);
    if (!r) goto oom;
    r->net = net;
    r->opt = *o;
    r->nthreads = nthreads;
    r->avx512 = !bf16 && !o->no_avx512 && fb_kern_gemm_available();
    r->native = bf16 && !o->bf16_scalar;
    if (!(r->winograd = calloc((size_t)net->weights->ntensors + 1, 1))) goto fail;
    choose_winograd(r);
    size_t sc = scratch_floats(r);
    for (int i = 0; i < nthreads; i++) {
        float **bufs[4] = {&r->act[i].x, &r->act[i].t1, &r->act[i].t2, &r->act[i].s};
        for (int k = 0; k < 4; k++)
            if (!(*bufs[k] = aligned_alloc(64, MAX_ACT * sizeof(float)))) goto fail;
        if (!(r->scratch[i] = aligned_alloc(64, sc * sizeof(float)))) goto fail;
    }
    if (bf16 ? pack_weights_bf16(r) != 0 : r->avx512 && pack_weights(r) != 0) goto fail;
    if (o->profile)
        for (int i = 0; i < nthreads; i++) {
            profile *pr = &r->prof[i];
            pr->steps = net->weights->ntensors + PROF_OTHER + 1;
            if (!(pr->seconds = calloc((size_t)pr->steps * 4, sizeof(double)))) goto fail;
            pr->best = pr->seconds + pr->steps;
            pr->image = pr->best + pr->steps;
            pr->flop = pr->image + pr->steps;
            for (int k = 0; k < pr->steps; k++) pr->best[k] = -1;
        }
    /* Our threads are the parallelism; OpenBLAS must not start its own. */
    openblas_set_num_threads(1);
    start_pool(r);
    return r;
fail:
    fb_resnet_runner_free(r);
oom:
    snprintf(err, errlen, "out of memory for the network's weights and activations");
    return NULL;
}

/* Per step, the thread-seconds per image (summed over the threads that
 * shared an image), as the mean over all images or for the fastest one. */
static double step_seconds(const fb_resnet_runner *r, int i, int best)
{
    double s = 0;
    long n = r->images_done > 0 ? r->images_done : 1;
    for (int t = 0; t < r->nthreads; t++) {
        if (!best) s += r->prof[t].seconds[i] / n;
        else if (r->shared_images) s += r->prof[t].best[i];             /* every thread, each image */
        else if (r->prof[t].best[i] >= 0 && (s == 0 || r->prof[t].best[i] < s)) s = r->prof[t].best[i];
    }
    return s;
}

int fb_resnet_runner_profile(const fb_resnet_runner *r, fb_resnet_profile *out)
{
    if (!r->prof[0].seconds) return -1;
    const fb_weights *w = r->net->weights;
    static const char *const other[] = {"preprocess", "maxpool", "avgpool+fc", "barrier wait", "between images"};
    memset(out, 0, sizeof *out);
    out->images = r->images_done;
    out->nthreads = r->nthreads;
    for (int i = 0; i < r->prof[0].steps; i++) {
        if (i < w->ntensors && &w->tensors[i] == r->net->fc) continue;   /* timed in avgpool+fc */
        if (out->nrows == (int)(sizeof out->rows / sizeof out->rows[0])) break;
        fb_resnet_profile_row *row = &out->rows[out->nrows++];
        row->mean_seconds = step_seconds(r, i, 0);
        row->best_seconds = step_seconds(r, i, 1);
        if (i >= w->ntensors) {
            row->name = other[i - w->ntensors];
            continue;
        }
        const fb_conv_params *p = &w->tensors[i];
        row->name = p->name;
        row->is_conv = 1;
        row->k = p->kh * p->kw * p->cin;
        row->n = p->cout;
        for (int t = 0; t < r->nthreads; t++)   /* as recorded by any thread that ran it */
            if (r->prof[t].flop[i] > row->flop) row->flop = r->prof[t].flop[i];
        row->m = (int)(row->flop / (2.0 * row->k * row->n) + 0.5);
    }
    return 0;
}

void fb_resnet_runner_free(fb_resnet_runner *r)
{
    if (!r) return;
    stop_pool(r);
    for (int i = 0; i < MAX_THREADS; i++) free(r->prof[i].seconds);
    for (int i = 0; i < r->nthreads; i++) {
        free(r->act[i].x); free(r->act[i].t1); free(r->act[i].t2); free(r->act[i].s);
        free(r->scratch[i]);
    }
    free(r->packed);
    free(r->packed16);
    free(r->packed_buf);
    free(r->winograd);
    free(r);
}

static void run_image(fb_resnet_runner *r, const team *t, activations *a, float *scratch, int i)
{
    packed_net pn = {r->net->weights->tensors, r->packed, r->packed16, r->native, r->winograd};
    stage4_io s4 = {r->stage4_out ? r->stage4_out + (size_t)i * FB_STAGE4_SIZE : NULL,
                    r->stage4_in ? r->stage4_in + (size_t)i * FB_STAGE4_SIZE : NULL};
    forward(t, r->net, &pn, a, scratch, &s4, r->images ? r->images + (size_t)i * FB_RESNET_INPUT : NULL,
            r->features ? r->features + (size_t)i * FB_RESNET_FEATURES : NULL,
            r->logits ? r->logits + (size_t)i * FB_RESNET_CLASSES : NULL,
            r->spatial ? r->spatial + (size_t)i * FB_RESNET_CELLS * FB_RESNET_FEATURES : NULL);
}

/* Thread tid's part of the current job. */
static void work(fb_resnet_runner *r, int tid)
{
    r->prof[tid].mark = now_seconds();
    if (r->n >= r->active) {
        r->shared_images = 0;
        /* Images spread: each thread runs whole images, taking the next one. */
        team solo = {1, 0, NULL, NULL, &r->prof[tid], r->net->weights->ntensors};
        int i;
        while ((i = atomic_fetch_add(&r->next, 1)) < r->n)
            run_image(r, &solo, &r->act[tid], r->scratch[tid], i);
    } else {
        /* Fewer images than threads: all threads share each image. */
        r->shared_images = 1;
        team all = {r->active, tid, &r->barrier, &r->sense[tid], &r->prof[tid], r->net->weights->ntensors};
        activations a = r->act[0];   /* the same buffers in every thread */
        for (int i = 0; i < r->n; i++) {
            run_image(r, &all, &a, r->scratch[tid], i);
            /* block_forward rotated the local copy; every thread rotated alike. */
        }
    }
}

static void *pool_thread(void *p)
{
    worker_arg *wa = p;
    fb_resnet_runner *r = wa->r;
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (r->job == seen && !r->quit) pthread_cond_wait(&r->start, &r->lock);
        if (r->quit) {
            pthread_mutex_unlock(&r->lock);
            return NULL;
        }
        seen = r->job;
        pthread_mutex_unlock(&r->lock);
        work(r, wa->tid);
        pthread_mutex_lock(&r->lock);
        if (++r->finished == r->active - 1) pthread_cond_signal(&r->done);
        pthread_mutex_unlock(&r->lock);
    }
}

/* Starts threads 1..nthreads-1; fewer when the system refuses (resource
 * limits): the results are the same on any number. */
static void start_pool(fb_resnet_runner *r)
{
    r->active = 1;
    if (pthread_mutex_init(&r->lock, NULL) != 0) return;
    if (pthread_cond_init(&r->start, NULL) != 0) {
        pthread_mutex_destroy(&r->lock);
        return;
    }
    if (pthread_cond_init(&r->done, NULL) != 0) {
        pthread_cond_destroy(&r->start);
        pthread_mutex_destroy(&r->lock);
        return;
    }
    r->pool_ready = 1;
    for (int i = 1; i < r->nthreads; i++) {
        r->args[i] = (worker_arg){r, i};
        if (pthread_create(&r->threads[i], NULL, pool_thread, &r->args[i]) != 0) break;
        r->active++;
    }
}

static void stop_pool(fb_resnet_runner *r)
{
    if (!r->pool_ready) return;
    pthread_mutex_lock(&r->lock);
    r->quit = 1;
    pthread_cond_broadcast(&r->start);
    pthread_mutex_unlock(&r->lock);
    for (int i = 1; i < r->active; i++) pthread_join(r->threads[i], NULL);
    pthread_cond_destroy(&r->done);
    pthread_cond_destroy(&r->start);
    pthread_mutex_destroy(&r->lock);
}

static int run(fb_resnet_runner *r, const uint8_t *images, int n, float *features, float *logits,
               float *spatial, float *stage4_out, const float *stage4_in)
{
    if (n <= 0) return 0;
    r->images = images;
    r->stage4_out = stage4_out;
    r->stage4_in = stage4_in;
    r->features = features;
    r->logits = logits;
    r->spatial = spatial;
    r->n = n;
    atomic_store(&r->next, 0);
    r->barrier.n = r->active;
    r->barrier.spins = r->active <= sysconf(_SC_NPROCESSORS_ONLN) ? 20000 : 0;
    if (r->active > 1) {
        pthread_mutex_lock(&r->lock);
        r->finished = 0;
        r->job++;
        pthread_cond_broadcast(&r->start);
        pthread_mutex_unlock(&r->lock);
    }
    work(r, 0);
    if (r->active > 1) {
        pthread_mutex_lock(&r->lock);
        while (r->finished < r->active - 1) pthread_cond_wait(&r->done, &r->lock);
        pthread_mutex_unlock(&r->lock);
    }
    r->images_done += n;
    return r->active;
}

int fb_resnet_run(fb_resnet_runner *r, const uint8_t *images, int n, float *features, float *logits)
{
    return run(r, images, n, features, logits, NULL, NULL, NULL);
}

int fb_resnet_run_stage4(fb_resnet_runner *r, const uint8_t *images, int n, float *stage4)
{
    return run(r, images, n, NULL, NULL, NULL, stage4, NULL);
}

int fb_resnet_run_from_stage4(fb_resnet_runner *r, const float *stage4, int n, float *features,
                              float *logits)
{
    return run(r, NULL, n, features, logits, NULL, NULL, stage4);
}

int fb_resnet_run_spatial(fb_resnet_runner *r, const uint8_t *images, int n, float *features,
                          float *spatial)
{
    return run(r, images, n, features, NULL, spatial, NULL, NULL);
}
