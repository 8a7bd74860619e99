/* The small persistent thread pool that splits the head's dense layers
 * (include/fb/core.h).  Built with -O3 -march=native (KERNEL_SRC in the Makefile). */
#include "fb/core.h"

#include <cblas.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
/* Flush denormals to zero: Adam's second moments and the gradients of a
 * well-fitted head decay into the denormal range, where every multiply costs
 * ~100 cycles.  MXCSR is per thread, so each pool thread sets it. */
static void flush_denormals(void) { _mm_setcsr(_mm_getcsr() | 0x8040); }
#else
static void flush_denormals(void) {}
#define cpu_relax() ((void)0)
#endif

/* ------------------------------------------------------------------ pool */

#define FB_PAR_MAX 8
/* A batch-32 GEMM takes tens of microseconds: too short to put a thread to
 * sleep in between every time.  A waiting thread (a worker waiting for work,
 * or the caller waiting for the workers) spins for about FB_PAR_SPIN_NS,
 * yielding the core now and then, and then sleeps on a futex.  The bound
 * matters on a busy machine: when the partner thread is descheduled, an
 * unbounded spin burns the very core it needs (measured before this pool:
 * 2 epochs of bench-train on 2 threads took 18-23 s of CPU against 2.8-3.3 s
 * on 1, at load 5-6). */
#define FB_PAR_SPIN_NS 50000

/* Work is handed out in parts that any running thread claims, so a thread
 * that is descheduled simply claims fewer: the caller never waits for a
 * worker that has not started, only for a part already under way.  A part
 * computes the same fixed slice whoever runs it, hence the same bits. */
static struct {
    int n;
    pthread_t th[FB_PAR_MAX];
    void (*fn)(void *, int, int);
    void *ctx;
    /* job << 32 | nparts << 16 | next part to claim */
    _Atomic uint64_t claim;
    atomic_uint gen;          /* bumped once per fb_par_run; futex word */
    atomic_uint done;         /* parts finished in this job; futex word */
    atomic_int sleepers;      /* workers asleep (or about to be) on gen */
    atomic_int caller_asleep; /* the caller asleep (or about to be) on done */
    atomic_int quit;
} pool = { .n = 1 };

static void futex_wait(atomic_uint *addr, unsigned val)
{
    syscall(SYS_futex, (unsigned *)addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}
static void futex_wake(atomic_uint *addr, int n)
{
    syscall(SYS_futex, (unsigned *)addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spins while *word == val for up to FB_PAR_SPIN_NS; 1 if it changed. */
static int spin_while(atomic_uint *word, unsigned val)
{
    uint64_t t0 = 0;
    for (unsigned i = 1;; i++) {
        if (atomic_load_explicit(word, memory_order_acquire) != val) return 1;
        cpu_relax();
        if ((i & 255) == 0) {
            uint64_t t = now_ns();
            if (!t0) t0 = t;
            else if (t - t0 > FB_PAR_SPIN_NS) return 0;
            sched_yield();
        }
    }
}

/* Claims and runs parts of the current job until none is left. */
static void run_parts(void)
{
    for (;;) {
        uint64_t c = atomic_load(&pool.claim);
        int next = (int)(c & 0xffff), np = (int)((c >> 16) & 0xffff);
        if (next >= np) return;
        if (!atomic_compare_exchange_weak(&pool.claim, &c, c + 1)) continue;
        /* the job cannot change while a claimed part is unfinished */
        pool.fn(pool.ctx, next, np);
        if (atomic_fetch_add(&pool.done, 1) + 1 == (unsigned)np && atomic_load(&pool.caller_asleep))
            futex_wake(&pool.done, 1);
    }
}

static void *pool_worker(void *arg)
{
    (void)arg;
    unsigned seen = 0;
    flush_denormals();
    for (;;) {
        while (atomic_load(&pool.gen) == seen && !spin_while(&pool.gen, seen)) {
            atomic_fetch_add(&pool.sleepers, 1);
            /* seq_cst: either the caller sees sleepers > 0 and wakes us, or
             * gen has moved and futex_wait returns at once */
            futex_wait(&pool.gen, seen);
            atomic_fetch_sub(&pool.sleepers, 1);
        }
        seen = atomic_load(&pool.gen);
        if (atomic_load(&pool.quit)) return NULL;
        run_parts();
    }
}

void fb_par_init(int nthreads)
{
    fb_par_shutdown();
    if (nthreads < 1) nthreads = 1;
    if (nthreads > FB_PAR_MAX) nthreads = FB_PAR_MAX;
    openblas_set_num_threads(1);
    flush_denormals();
    atomic_store(&pool.quit, 0);
    pool.n = 1;
    for (int t = 1; t < nthreads; t++) {
        if (pthread_create(&pool.th[t], NULL, pool_worker, (void *)(size_t)t) != 0) break;
        pool.n++;
    }
}

int fb_par_threads(void) { return pool.n; }

static void kick_workers(void)
{
    atomic_fetch_add(&pool.gen, 1);
    if (atomic_load(&pool.sleepers) > 0) futex_wake(&pool.gen, INT_MAX);
}

void fb_par_shutdown(void)
{
    if (pool.n <= 1) return;
    atomic_store(&pool.quit, 1);
    kick_workers();
    for (int t = 1; t < pool.n; t++) pthread_join(pool.th[t], NULL);
    pool.n = 1;
}

void fb_par_run(void (*fn)(void *, int, int), void *ctx, int nparts)
{
    if (nparts < 1) nparts = 1;
    if (nparts > 0xffff) nparts = 0xffff;
    if (pool.n <= 1 || nparts == 1) {
        for (int p = 0; p < nparts; p++) fn(ctx, p, nparts);
        return;
    }
    static uint32_t job;
    pool.fn = fn;
    pool.ctx = ctx;
    atomic_store(&pool.done, 0);
    atomic_store(&pool.claim, (uint64_t)++job << 32 | (uint64_t)nparts << 16);
    kick_workers();
    run_parts();
    unsigned d;
    while ((d = atomic_load(&pool.done)) != (unsigned)nparts) {
        if (spin_while(&pool.done, d)) continue;
        atomic_store(&pool.caller_asleep, 1);
        if ((d = atomic_load(&pool.done)) != (unsigned)nparts) futex_wait(&pool.done, d);
        atomic_store(&pool.caller_asleep, 0);
    }
}
