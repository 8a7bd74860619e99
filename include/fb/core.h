/* lib/core: what every area may use: seeded random numbers, files written
 * atomically, a monotonic clock, and the small persistent thread pool that
 * splits the head's dense layers.  Nothing here prints or exits. */
#ifndef FB_CORE_H
#define FB_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- random numbers: xoshiro256**, seeded; never the C library's rand() ---- */
typedef struct { uint64_t s[4]; } fb_rng;

void     fb_rng_seed(fb_rng *r, uint64_t seed);
uint64_t fb_rng_u64(fb_rng *r);
/* Uniform in [0, n), unbiased. */
uint64_t fb_rng_below(fb_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double   fb_rng_uniform(fb_rng *r);
/* Standard normal. */
double   fb_rng_normal(fb_rng *r);
/* Fisher-Yates shuffle of n elements of size `size`. */
void     fb_rng_shuffle(fb_rng *r, void *base, size_t n, size_t size);


/* ---- files and time ---- */
/* Seconds on a monotonic clock. */
double fb_now(void);

/* Atomic output file: write to a temporary file beside `path`, then rename.
 * fb_atomic_commit renames (after fsync); fb_atomic_abort removes the temp.
 * A crash never leaves a half-written file where a good one was.  The temp
 * is named PATH.tmp<pid>-<host>.XXXXXX; the first fb_atomic_open into a
 * folder removes what writers killed by SIGKILL left there (named so, their
 * pid no longer alive, on this host), and nothing else (lib/core/files.c). */
typedef struct {
    FILE *f;
    char *path, *tmp;
} fb_atomic;
int  fb_atomic_open(fb_atomic *a, const char *path);      /* 0 ok, -1 errno set */
int  fb_atomic_commit(fb_atomic *a);                      /* 0 ok, -1 errno set */
void fb_atomic_abort(fb_atomic *a);

/* Commits n atomic files as a set: every temp is flushed, synced and closed
 * before the first rename, and when a rename fails the files already
 * renamed are put back as they were (the old file, or none), so the set on
 * disk is all old or all new.  SIGINT, SIGTERM and SIGHUP are held back
 * during the renames.  SIGKILL cannot be: during the renames each member has
 * a TEMP.old (its old file) or TEMP.none (there was none), and the next
 * process's fb_atomic_open into that folder puts the set back to all old
 * (some temp not yet renamed) or leaves it all new (every temp renamed), and
 * removes the leftovers.  (A set spread over two folders is made whole per
 * folder.)  Always ends every a[i].  0 ok; -1 with "path: reason" in err. */
int  fb_atomic_commit_set(fb_atomic *a, int n, char *err, size_t errlen);

/* Removes the temp file of every fb_atomic write in progress; for a tool's
 * SIGINT/SIGTERM handler (async-signal-safe: lock-free loads and unlink).
 * lib installs no handler: the tool decides what a signal does. */
void fb_atomic_unlink_pending(void);

/* Writes len bytes to path through fb_atomic.  0 ok; -1 with "path: reason"
 * in err. */
int  fb_write_file_atomic(const char *path, const void *data, size_t len, char *err,
                          size_t errlen);

/* Opens "-" as stdin, else the named file, for binary reading.  NULL on error. */
FILE *fb_open_input(const char *path);

/* Opens a file named in a list or found in a folder for binary reading,
 * only when it is a regular file: a FIFO would block forever and a device
 * (/dev/zero behind photo.jpg) never end.  The open itself never blocks.
 * NULL with the reason in err ("not a regular file (a FIFO)", or the
 * system's); no path in it. */
FILE *fb_open_regular(const char *path, char *err, size_t errlen);

/* ---- the thread pool ---- */

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
