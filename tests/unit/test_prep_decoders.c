/* The decoder-process pool (fb_decoders_run) with jobs of its own: results
 * come back in input order whatever the number of processes; a job that
 * hangs is killed at the deadline and named; one that kills its process is
 * named with the signal; the files queued behind either still come out
 * right; a process that cannot start fails its file and the run goes on.
 * The "decoding" here is a function of the path, so every case is exact. */
#include "check.h"
#include "fb/photo.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* The result of a path: its length and a checksum of its bytes. */
typedef struct { uint32_t len, sum; char tag[8]; } result;

static result expected(const char *path)
{
    result r = { (uint32_t)strlen(path), 0, "ok" };
    for (const char *p = path; *p; p++) r.sum = r.sum * 31 + (unsigned char)*p;
    return r;
}

/* "hang..." sleeps past any deadline, "crash..." aborts, "fail..." gives a
 * reason, anything else is worked out. */
static int job(void *ctx, const char *path, void *out, char *reason, size_t len)
{
    (void)ctx;
    if (strncmp(path, "hang", 4) == 0) for (;;) pause();
    if (strncmp(path, "crash", 5) == 0) abort();
    if (strncmp(path, "fail", 4) == 0) {
        snprintf(reason, len, "cannot use %s", path);
        return -1;
    }
    *(result *)out = expected(path);
    return 0;
}

static int start_fails(void *ctx) { (void)ctx; return 1; }

typedef struct {
    size_t n, next;
    int in_order;
    result got[32];
    char reason[32][512];
    int ok[32];
} collected;

static int sink(void *ctx, size_t i, const void *res, const char *reason)
{
    collected *c = ctx;
    c->in_order &= i == c->next++;
    c->ok[i] = res != NULL;
    if (res) c->got[i] = *(const result *)res;
    else snprintf(c->reason[i], sizeof c->reason[i], "%s", reason);
    return 0;
}

static void run(const char *const *paths, size_t n, int jobs, double timeout, int (*start)(void *),
                collected *c, int *rc)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    c->in_order = 1;
    fb_decoder_job j = { .start = start, .run = job, .result_size = sizeof(result),
                         .jobs = jobs, .timeout = timeout };
    char err[256];
    *rc = fb_decoders_run(&j, paths, n, sink, c, err, sizeof err);
}

static void test_faults(int jobs)
{
    const char *paths[] = { "a.jpg", "hang1", "b.jpg", "crash1", "c/d.png", "fail1", "e",
                            "f.gif", "hang2", "g.tif", "h", "i" };
    size_t n = sizeof paths / sizeof paths[0];
    collected c;
    int rc;
    run(paths, n, jobs, 1, NULL, &c, &rc);
    CHECK(rc == 0 && c.next == n && c.in_order, "-j %d: every file reaches the sink once, in input order",
          jobs);
    int good = 1;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(paths[i], "hang", 4) == 0)
            good &= !c.ok[i] && strcmp(c.reason[i], "gave up after 1 s (--timeout): the decoder hung") == 0;
        else if (strncmp(paths[i], "crash", 5) == 0)
            good &= !c.ok[i] && strstr(c.reason[i], "the decoder crashed on this file (signal 6") != NULL;
        else if (strncmp(paths[i], "fail", 4) == 0)
            good &= !c.ok[i] && strcmp(c.reason[i], "cannot use fail1") == 0;
        else {
            result want = expected(paths[i]);
            good &= c.ok[i] && memcmp(&c.got[i], &want, sizeof want) == 0;
        }
        if (!good) { printf("# file %zu (%s): %s\n", i, paths[i], c.ok[i] ? "ok" : c.reason[i]); break; }
    }
    CHECK(good, "-j %d: hung and crashed files are named, every other result is exact", jobs);
}

static void test_cannot_start(void)
{
    const char *paths[] = { "a", "b", "c" };
    collected c;
    int rc;
    run(paths, 3, 2, 5, start_fails, &c, &rc);
    int named = 1;
    for (int i = 0; i < 3; i++) named &= !c.ok[i] && strstr(c.reason[i], "could not start") != NULL;
    CHECK(rc == 0 && c.next == 3 && c.in_order && named,
          "a decoder that cannot start fails each file with a reason, without looping");
}

static void test_empty(void)
{
    collected c;
    int rc;
    run(NULL, 0, 4, 1, NULL, &c, &rc);
    CHECK(rc == 0 && c.next == 0, "no files: nothing to do, no processes needed");
}

int main(void)
{
    test_faults(1);
    test_faults(3);
    test_cannot_start();
    test_empty();
    return check_done();
}
