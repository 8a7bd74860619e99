/* Minimal test harness for fb's C unit tests: TAP output, numeric checks.
 * A test program exits 0 when all passed, 1 when any failed, 77 when it
 * skipped as a whole (say why with SKIP_ALL). */
#ifndef FB_CHECK_H
#define FB_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_count, check_failed;

/* cond is evaluated exactly once. */
#define CHECK(cond, ...) do {                                              \
    int ok_ = !!(cond);                                                    \
    check_count++;                                                         \
    if (ok_) { printf("ok %d - ", check_count); }                          \
    else { check_failed++; printf("not ok %d - ", check_count); }          \
    printf(__VA_ARGS__); printf("\n");                                     \
    if (!ok_) printf("#   failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
} while (0)

/* |got - want| <= tol, printing both on failure. */
#define CHECK_NEAR(got, want, tol, ...) do {                               \
    double g_ = (got), w_ = (want), t_ = (tol);                            \
    CHECK(fabs(g_ - w_) <= t_, __VA_ARGS__);                               \
    if (!(fabs(g_ - w_) <= t_)) printf("#   got %.9g want %.9g tol %g\n", g_, w_, t_); \
} while (0)

#define SKIP_ALL(...) do { printf("1..0 # SKIP "); printf(__VA_ARGS__); printf("\n"); exit(77); } while (0)

static inline int check_done(void)
{
    printf("1..%d\n", check_count);
    if (check_failed) printf("# %d of %d checks failed\n", check_failed, check_count);
    return check_failed ? 1 : 0;
}

/* Max |a[i]-b[i]| over n floats. */
static inline double check_max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || d != d) m = d;
    }
    return m;
}

/* The folder `up` levels above this test binary: 1 its tests/ folder, 2 the
 * build (build/ or build-asan/), 3 the checkout.  "." when unknown. */
static inline void check_exe_ancestor(char *out, size_t len, int up)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) { snprintf(out, len, "."); return; }
    exe[n] = 0;
    for (int i = 0; i < up; i++) {
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
    }
    snprintf(out, len, "%s", exe);
}

/* The backbone's weights for tests that need them: $FB_WEIGHTS, else the
 * weights of the build this test binary belongs to, so make test-asan's
 * build-asan tests its own copy and a fresh clone needs no build/ beside it. */
static inline void check_weights_path(char *out, size_t len)
{
    const char *env = getenv("FB_WEIGHTS");
    if (env && *env) { snprintf(out, len, "%s", env); return; }
    char build[4096];
    check_exe_ancestor(build, sizeof build, 2);
    snprintf(out, len, "%s/share/fb/resnet50.fbw", build);
}

#endif
