/* Files written atomically, the clock, opening an input (fb/core.h). */
#include "fb/core.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

double fb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- temp files in progress ----
 * A tool interrupted by a signal removes the temp files of its writes in
 * progress from its handler (fb_atomic_unlink_pending).  The handler may
 * run at any instant, in any thread: the slots are claimed and released
 * with lock-free atomics, and a path is complete before its slot holds it
 * and freed only after the slot is empty again. */
#define PENDING_SLOTS 64
static _Atomic(const char *) pending[PENDING_SLOTS];

static void pending_add(const char *tmp)
{
    for (int i = 0; i < PENDING_SLOTS; i++) {
        const char *empty = NULL;
        if (atomic_compare_exchange_strong(&pending[i], &empty, tmp)) return;
    }
    /* 64 writes at once: this one is not removed on a signal (none does that). */
}

static void pending_remove(const char *tmp)
{
    for (int i = 0; i < PENDING_SLOTS; i++) {
        const char *mine = tmp;
        if (atomic_compare_exchange_strong(&pending[i], &mine, NULL)) return;
    }
}

void fb_atomic_unlink_pending(void)
{
    for (int i = 0; i < PENDING_SLOTS; i++) {
        const char *tmp = atomic_load(&pending[i]);
        if (tmp) unlink(tmp);
    }
}

int fb_atomic_open(fb_atomic *a, const char *path)
{
    memset(a, 0, sizeof *a);
    size_t n = strlen(path) + 16;
    a->path = strdup(path);
    a->tmp = malloc(n);
    if (!a->path || !a->tmp) goto fail;
    snprintf(a->tmp, n, "%s.tmpXXXXXX", path);
    /* Registered before the file exists, so no instant has a temp that a
     * signal would leave behind. */
    pending_add(a->tmp);
    int fd = mkstemp(a->tmp);
    if (fd < 0) goto fail;
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        errno = e;
        goto fail;
    }
    return 0;
fail:;
    int e = errno;
    if (a->tmp) pending_remove(a->tmp);
    free(a->path);
    free(a->tmp);
    a->path = a->tmp = NULL;
    errno = e;
    return -1;
}

/* Flushes, syncs and closes the temp, with the mode of an ordinary file:
 * everything but the rename.  0 ok; -1 with errno (the temp is left). */
static int finish_temp(fb_atomic *a)
{
    int rc = 0;
    errno = 0;
    /* ferror: a write that failed earlier (its bytes dropped) may leave
     * nothing for fflush to fail on. */
    if (fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0) rc = -1;
    int e = errno ? errno : EIO;
    if (fclose(a->f) != 0 && rc == 0) { rc = -1; e = errno; }
    a->f = NULL;
    /* mkstemp makes 0600; a model or list is an ordinary file for the user. */
    mode_t mask = umask(0);
    umask(mask);
    if (rc == 0 && chmod(a->tmp, 0666 & ~mask) != 0) { rc = -1; e = errno; }
    errno = e;
    return rc;
}

static void release(fb_atomic *a)
{
    if (a->tmp) pending_remove(a->tmp);
    free(a->path);
    free(a->tmp);
    a->path = a->tmp = NULL;
}

int fb_atomic_commit(fb_atomic *a)
{
    int rc = finish_temp(a);
    int e = errno;
    if (rc == 0 && rename(a->tmp, a->path) != 0) { rc = -1; e = errno; }
    if (rc != 0) unlink(a->tmp);
    release(a);
    errno = e;
    return rc;
}

void fb_atomic_abort(fb_atomic *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    release(a);
    memset(a, 0, sizeof *a);
}

/* Keeps the old file at a->path as *old (a hard link named after the temp)
 * until the whole set is in place: 1 when there was one, 0 when not, -1
 * with errno. */
static int keep_old(const fb_atomic *a, char **old)
{
    struct stat st;
    if (lstat(a->path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) { errno = EISDIR; return -1; }
    size_t n = strlen(a->tmp) + 5;
    if (!(*old = malloc(n))) return -1;
    snprintf(*old, n, "%s.old", a->tmp);
    return link(a->path, *old) == 0 ? 1 : -1;
}

int fb_atomic_commit_set(fb_atomic *a, int n, char *err, size_t errlen)
{
    int rc = 0, bad = -1, e = 0;
    for (int i = 0; i < n && rc == 0; i++)
        if (finish_temp(&a[i]) != 0) { rc = -1; e = errno; bad = i; }
    char **old = calloc((size_t)n, sizeof *old);
    int *had = calloc((size_t)n, sizeof *had);
    if (rc == 0 && (!old || !had)) { rc = -1; e = ENOMEM; bad = 0; }
    /* Every temp is complete and on disk.  The renames must happen all or
     * none: an interruption in between would leave a mixed set, so the
     * signals that end a tool wait (blocked, not handled: this lasts a few
     * system calls).  A failed rename puts the old files back. */
    sigset_t stop, before;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, &before);
    for (int i = 0; i < n && rc == 0; i++)
        if ((had[i] = keep_old(&a[i], &old[i])) < 0) { rc = -1; e = errno; bad = i; }
    int renamed = 0;
    while (rc == 0 && renamed < n) {
        if (rename(a[renamed].tmp, a[renamed].path) == 0) renamed++;
        else { rc = -1; e = errno; bad = renamed; }
    }
    for (int j = 0; j < renamed && rc != 0; j++) {
        if (had[j] > 0) rename(old[j], a[j].path);
        else unlink(a[j].path);
    }
    if (rc != 0) snprintf(err, errlen, "%s: %s", a[bad].path, strerror(e));
    for (int j = 0; j < n; j++) {
        if (had && had[j] > 0) unlink(old[j]);
        if (old) free(old[j]);
        if (rc != 0) unlink(a[j].tmp);
        if (a[j].f) fclose(a[j].f);
        release(&a[j]);
    }
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    free(old);
    free(had);
    return rc;
}

int fb_write_file_atomic(const char *path, const void *data, size_t len, char *err,
                         size_t errlen)
{
    fb_atomic a;
    if (fb_atomic_open(&a, path) != 0) goto fail;
    if (fwrite(data, 1, len, a.f) != len) {
        int e = errno;
        fb_atomic_abort(&a);
        errno = e;
        goto fail;
    }
    if (fb_atomic_commit(&a) == 0) return 0;
fail:
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
}

FILE *fb_open_input(const char *path)
{
    if (!path || strcmp(path, "-") == 0) return stdin;
    return fopen(path, "rb");
}

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m) ? "a folder" : S_ISFIFO(m) ? "a FIFO" : S_ISCHR(m) ? "a character device" :
           S_ISBLK(m) ? "a block device" : S_ISSOCK(m) ? "a socket" : "not a plain file";
}

FILE *fb_open_regular(const char *path, char *err, size_t errlen)
{
    /* O_NONBLOCK: opening a FIFO for reading waits for a writer otherwise. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "not a regular file (%s)", file_kind(st.st_mode));
        close(fd);
        return NULL;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        snprintf(err, errlen, "%s", strerror(errno));
        close(fd);
    }
    return f;
}
