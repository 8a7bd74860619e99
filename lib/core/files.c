/* Files written atomically, the clock, opening an input (fb/core.h). */
#include "fb/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

double fb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int fb_atomic_open(fb_atomic *a, const char *path)
{
    memset(a, 0, sizeof *a);
    size_t n = strlen(path) + 16;
    a->path = strdup(path);
    a->tmp = malloc(n);
    if (!a->path || !a->tmp) goto fail;
    snprintf(a->tmp, n, "%s.tmpXXXXXX", path);
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
    free(a->path);
    free(a->tmp);
    a->path = a->tmp = NULL;
    errno = e;
    return -1;
}

int fb_atomic_commit(fb_atomic *a)
{
    int rc = 0;
    if (fflush(a->f) != 0 || fsync(fileno(a->f)) != 0) rc = -1;
    int e = errno;
    if (fclose(a->f) != 0 && rc == 0) { rc = -1; e = errno; }
    a->f = NULL;
    /* mkstemp makes 0600; a model or list is an ordinary file for the user. */
    mode_t mask = umask(0);
    umask(mask);
    if (rc == 0 && chmod(a->tmp, 0666 & ~mask) != 0) { rc = -1; e = errno; }
    if (rc == 0 && rename(a->tmp, a->path) != 0) { rc = -1; e = errno; }
    if (rc != 0) unlink(a->tmp);
    free(a->path);
    free(a->tmp);
    a->path = a->tmp = NULL;
    errno = e;
    return rc;
}

void fb_atomic_abort(fb_atomic *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    free(a->path);
    free(a->tmp);
    memset(a, 0, sizeof *a);
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
