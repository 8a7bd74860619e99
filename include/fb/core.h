/* lib/core: what every area may use.  Today: the small persistent thread
 * pool that splits the head's dense layers.  (The stream format has its own
 * door, fb/stream.h; random numbers fb/rng.h; atomic files fb/util.h.) */
#ifndef FB_CORE_H
#define FB_CORE_H

/* Starts nthreads-1 workers (nthreads 1..8) and fixes OpenBLAS to one thread:
 * parallelism comes from splitting each layer's work over output rows or
 * columns, never a reduction, so results do not depend on the count.  Also sets
 * flush-to-zero for denormals on the calling thread and the workers. */
void fb_par_init(int nthreads);
int  fb_par_threads(void);
void fb_par_shutdown(void);
/* Runs fn(ctx, part, nparts) for part = 0..nparts-1, each part claimed by
 * whichever pool thread is running (the caller too); returns when all are
 * done.  A part must compute the same thing whoever runs it. */
void fb_par_run(void (*fn)(void *ctx, int part, int nparts), void *ctx, int nparts);

#endif
