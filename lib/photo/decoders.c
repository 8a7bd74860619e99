/* Decoder processes: any per-file job (fb-prep's pixels, fb-audit's
 * inspection, fb-split's pHash) run in child processes (fb/photo.h).
 *
 * Each decoder is a child process running the job in a loop; the parent
 * hands out paths, collects the fixed-size results, puts them back in input
 * order and calls the sink.  Processes rather than threads because a
 * decoder can abort (libvips 8.14's JPEG 2000 loader corrupts its heap on
 * a file of the test suites) or never return: a process can be killed and
 * replaced, a thread cannot.  The parent must not have initialised libvips
 * (its threads and locks do not survive fork), so forking a new decoder at
 * any time is safe; each decoder starts libvips itself (job->start).
 *
 * Protocol on a socketpair, native byte order:
 *   parent → child  u32 length, path bytes
 *   child → parent  u32 status; status 0: result_size bytes;
 *                   status 1: u32 length, reason bytes
 * The result is plain bytes (no pointers): both ends are one program.
 */
#include "fb/photo.h"
#include "fb/core.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* QUEUE: paths a decoder holds at once.  With two, the next path is
 * already in its socket when it finishes a file, so it never waits for the
 * parent (which meanwhile reads the result and writes the stream). */
enum { REASON_MAX = 512, MAX_JOBS = 64, QUEUE = 2 };

typedef struct {
    pid_t pid;
    int fd;              /* parent's end of the socketpair, -1 when not running */
    size_t q[QUEUE];     /* indices sent, in order; q[0] is being decoded */
    int nq;
    double deadline;     /* for q[0] */
} decoder;

typedef struct {
    int done;            /* 0 pending, 1 has a result */
    int ok;
    unsigned char *result;
    char reason[REASON_MAX];
} result_slot;

typedef struct {
    const fb_decoder_job *job;
    decoder dec[MAX_JOBS];
    int jobs;
    /* Files sent to a decoder that died before starting them: sent again,
     * smallest index first, before any new file. */
    size_t redo[MAX_JOBS * QUEUE];
    int nredo;
} pool;

static int write_full(int fd, const void *buf, size_t n, int flags)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = flags ? send(fd, p, n, flags) : write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 0 when all n bytes were read, -1 on end of file or error. */
static int read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* ---- the child ---- */

static _Noreturn void decoder_main(int fd, const fb_decoder_job *job)
{
    /* Nothing a decoder does may reach the output stream. */
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) { dup2(devnull, STDOUT_FILENO); close(devnull); }
    if (job->start && job->start(job->ctx) != 0) _exit(3);
    unsigned char *result = malloc(job->result_size ? job->result_size : 1);
    if (!result) _exit(4);
    char *path = NULL;
    char err[REASON_MAX];
    for (;;) {
        uint32_t len;
        if (read_full(fd, &len, 4) != 0) break;
        char *p = realloc(path, (size_t)len + 1);
        if (!p) _exit(4);
        path = p;
        if (read_full(fd, path, len) != 0) break;
        path[len] = 0;
        err[0] = 0;
        uint32_t status = job->run(job->ctx, path, result, err, sizeof err) == 0 ? 0 : 1;
        if (write_full(fd, &status, 4, 0)) break;
        if (status == 0) {
            if (write_full(fd, result, job->result_size, 0)) break;
        } else {
            uint32_t n = (uint32_t)strlen(err);
            if (write_full(fd, &n, 4, 0) || write_full(fd, err, n, 0)) break;
        }
    }
    /* _exit, not exit: the parent's unflushed stdio buffers were copied
     * into this process by fork and must not be written twice. */
    _exit(0);
}

/* ---- the parent ---- */

static int decoder_start(pool *p, decoder *d)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    /* Room for a couple of results, so a decoder can start its next file
     * before the parent has read the last one (best effort: the kernel caps
     * it at net.core.wmem_max). */
    size_t size = p->job->result_size;
    int sndbuf = (int)(size < (1u << 28) ? 2 * size + 4096 : (1u << 29));
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        for (int i = 0; i < p->jobs; i++)
            if (p->dec[i].fd >= 0) close(p->dec[i].fd);
        decoder_main(sv[1], p->job);
    }
    close(sv[1]);
    d->pid = pid;
    d->fd = sv[0];
    d->nq = 0;
    return 0;
}

/* Ends a decoder: kill it when it must not finish its work. */
static int decoder_stop(decoder *d, int kill_it)
{
    int status = 0;
    if (d->fd < 0) return 0;
    if (kill_it) kill(d->pid, SIGKILL);
    close(d->fd);
    d->fd = -1;
    while (waitpid(d->pid, &status, 0) < 0 && errno == EINTR) {}
    return status;
}

static void describe_death(int status, char *reason, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(reason, len, "the decoder crashed on this file (signal %d, %s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
        snprintf(reason, len, "the decoder could not start libvips");
    else
        snprintf(reason, len, "the decoder stopped unexpectedly on this file (exit status %d)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Queues one more file on a running decoder. */
static int decoder_send(decoder *d, size_t job, const char *path, double timeout)
{
    size_t n = strlen(path);
    uint32_t len = (uint32_t)n;
    if (write_full(d->fd, &len, 4, MSG_NOSIGNAL) || write_full(d->fd, path, n, MSG_NOSIGNAL))
        return -1;
    if (d->nq == 0) d->deadline = fb_now() + timeout;
    d->q[d->nq++] = job;
    return 0;
}

/* Takes q[0] off the queue; the next file's time starts now. */
static void decoder_pop(decoder *d, double timeout)
{
    for (int i = 1; i < d->nq; i++) d->q[i - 1] = d->q[i];
    d->nq--;
    if (d->nq > 0) d->deadline = fb_now() + timeout;
}

/* Reads the reply for q[0] into slot.  -1 when the decoder died instead. */
static int decoder_receive(decoder *d, result_slot *slot, size_t size, double timeout)
{
    uint32_t status, n;
    if (read_full(d->fd, &status, 4)) return -1;
    if (status == 0) {
        if (read_full(d->fd, slot->result, size)) return -1;
        slot->ok = 1;
    } else {
        if (read_full(d->fd, &n, 4)) return -1;
        if (n >= REASON_MAX) n = REASON_MAX - 1;
        if (read_full(d->fd, slot->reason, n)) return -1;
        slot->reason[n] = 0;
        slot->ok = 0;
    }
    slot->done = 1;
    decoder_pop(d, timeout);
    return 0;
}

static void redo_add(pool *p, size_t job)
{
    int i = p->nredo++;
    while (i > 0 && p->redo[i - 1] < job) { p->redo[i] = p->redo[i - 1]; i--; }
    p->redo[i] = job;   /* kept in descending order: the smallest is last */
}

/* Records a decoder's death as the failure of the file it was decoding
 * (q[0]), queues the files it had not started for another decoder, and
 * starts a new one. */
static int decoder_replace(pool *p, decoder *d, result_slot *slot, int killed, double timeout)
{
    int status = decoder_stop(d, 1);
    if (killed)
        snprintf(slot->reason, REASON_MAX, "gave up after %g s (--timeout): the decoder hung", timeout);
    else
        describe_death(status, slot->reason, REASON_MAX);
    slot->ok = 0;
    slot->done = 1;
    for (int i = 1; i < d->nq; i++) redo_add(p, d->q[i]);
    d->nq = 0;
    return decoder_start(p, d);
}

static int earliest_wait_ms(const pool *p)
{
    double now = fb_now(), first = -1;
    for (int i = 0; i < p->jobs; i++)
        if (p->dec[i].nq > 0 && (first < 0 || p->dec[i].deadline < first))
            first = p->dec[i].deadline;
    if (first < 0) return -1;
    double ms = (first - now) * 1000.0 + 1;
    return ms < 0 ? 0 : ms > 1e6 ? 1000000 : (int)ms;
}

int fb_decoders_run(const fb_decoder_job *job, const char *const *paths, size_t n,
                    fb_decoder_sink sink, void *ctx, char *err, size_t errlen)
{
    int jobs = job->jobs;
    double timeout = job->timeout;
    pool p = { .job = job, .jobs = jobs < 1 ? 1 : jobs > MAX_JOBS ? MAX_JOBS : jobs };
    size_t size = job->result_size ? job->result_size : 1;
    if (n == 0) return 0;
    if ((size_t)p.jobs > n) p.jobs = (int)n;
    /* Results wait here until every earlier file is written; the window
     * bounds memory and keeps every decoder busy while one file is slow.
     * Files in flight are always within [next_sink, next_sink + window). */
    size_t window = (QUEUE + 2) * (size_t)p.jobs;
    result_slot *slots = calloc(window, sizeof *slots);
    int rc = -1;
    for (int i = 0; i < p.jobs; i++) p.dec[i].fd = -1;
    if (!slots) goto out;
    for (size_t i = 0; i < window; i++)
        if (!(slots[i].result = malloc(size))) goto out;
    for (int i = 0; i < p.jobs; i++)
        if (decoder_start(&p, &p.dec[i])) goto out;

    size_t next_send = 0, next_sink = 0;
    rc = 0;
    while (next_sink < n && rc == 0) {
        /* Fill the queues: one file per decoder per round, so that files
         * spread over all decoders. */
        for (int depth = 0; depth < QUEUE && rc == 0; depth++) {
            for (int i = 0; i < p.jobs; i++) {
                decoder *d = &p.dec[i];
                if (d->nq > depth) continue;
                size_t job;
                if (p.nredo > 0) job = p.redo[--p.nredo];
                else if (next_send < n && next_send < next_sink + window) job = next_send++;
                else break;
                result_slot *slot = &slots[job % window];
                slot->done = 0;
                if (decoder_send(d, job, paths[job], timeout) == 0) continue;
                if (d->nq == 0) {
                    /* It died before taking a file: fail this one (never
                     * retry it, so a decoder that cannot start cannot loop). */
                    int status = decoder_stop(d, 1);
                    describe_death(status, slot->reason, REASON_MAX);
                    slot->ok = 0;
                    slot->done = 1;
                    if (decoder_start(&p, d)) { rc = -1; break; }
                } else {
                    /* It died on the file it was decoding: that one fails,
                     * this one and the rest of its queue go elsewhere. */
                    redo_add(&p, job);
                    if (decoder_replace(&p, d, &slots[d->q[0] % window], 0, timeout)) { rc = -1; break; }
                }
            }
        }
        if (rc) break;

        struct pollfd pfd[MAX_JOBS];
        int busy[MAX_JOBS], nbusy = 0;
        for (int i = 0; i < p.jobs; i++)
            if (p.dec[i].nq > 0) {
                pfd[nbusy] = (struct pollfd){ .fd = p.dec[i].fd, .events = POLLIN };
                busy[nbusy++] = i;
            }
        if (nbusy > 0 && poll(pfd, nbusy, earliest_wait_ms(&p)) < 0 && errno != EINTR) {
            rc = -1;
            break;
        }
        double now = fb_now();
        for (int k = 0; k < nbusy && rc == 0; k++) {
            decoder *d = &p.dec[busy[k]];
            result_slot *slot = &slots[d->q[0] % window];
            if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                if (decoder_receive(d, slot, job->result_size, timeout) != 0 &&
                    decoder_replace(&p, d, slot, 0, timeout) != 0) rc = -1;
            } else if (now >= d->deadline) {
                if (decoder_replace(&p, d, slot, 1, timeout) != 0) rc = -1;
            }
        }
        while (rc == 0 && next_sink < n && slots[next_sink % window].done) {
            result_slot *slot = &slots[next_sink % window];
            slot->done = 0;
            if (sink(ctx, next_sink, slot->ok ? slot->result : NULL, slot->ok ? NULL : slot->reason))
                rc = 1;
            next_sink++;
        }
    }
out:
    if (rc < 0) snprintf(err, errlen, "cannot run decoder processes: %s", strerror(errno));
    for (int i = 0; i < p.jobs; i++) decoder_stop(&p.dec[i], rc != 0);
    if (slots)
        for (size_t i = 0; i < window; i++) free(slots[i].result);
    free(slots);
    return rc;
}
