/* Files written atomically, the clock, opening an input (fb/core.h). */
#include "fb/core.h"

#include <dirent.h>
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

/* ---- leftovers of writers that were killed ----
 * SIGKILL, a crash or a power cut cannot be handled: the temp files of a
 * write in progress stay.  So every temp is named by one rule,
 *     FILE.tmp<pid>-<host>.XXXXXX        the temp (mkstemp's six characters)
 *     FILE.tmp<pid>-<host>.XXXXXX.old    during a set's commit: the old FILE
 *     FILE.tmp<pid>-<host>.XXXXXX.none   during a set's commit: there was none
 * and the next writer into FILE's folder (fb_atomic_open) removes the
 * leftovers of writers on this host whose pid is no longer alive (kill(pid,
 * 0) fails with ESRCH).  It never touches a name the rule did not make, a live
 * writer's files (or those of a process that reused its pid: they stay),
 * or another host's (a folder shared over the network).  Containers that
 * share a folder and a host name but not their pids should not write the
 * same file. */
static void host_tag(char *out, size_t n)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0]) strcpy(host, "host");
    size_t k = 0;
    /* no '-' or '.': the rule is parsed from the right */
    for (const char *c = host; *c && k + 1 < n && k < 32; c++)
        out[k++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ? *c : '_';
    out[k] = 0;
}

static int alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

/* When name follows the rule for this host: its pid, the length of its
 * FILE part and of the temp's own name (without .old or .none); else 0. */
static long leftover_pid(const char *name, const char *host, size_t *base_len, size_t *tmp_len)
{
    size_t len = strlen(name), hl = strlen(host);
    if (len > 4 && strcmp(name + len - 4, ".old") == 0) len -= 4;
    else if (len > 5 && strcmp(name + len - 5, ".none") == 0) len -= 5;
    *tmp_len = len;
    if (len < 7 + hl + 1) return 0;
    for (size_t i = len - 6; i < len; i++)
        if (!alnum(name[i])) return 0;
    size_t dot = len - 7, dash = dot - hl - 1;
    if (name[dot] != '.' || dash < 5 || name[dash] != '-' || strncmp(name + dash + 1, host, hl) != 0) return 0;
    size_t d = dash;
    while (d > 0 && name[d - 1] >= '0' && name[d - 1] <= '9') d--;
    if (d == dash || dash - d > 9 || d < 4 || strncmp(name + d - 4, ".tmp", 4) != 0 || d - 4 == 0) return 0;
    *base_len = d - 4;
    return strtol(name + d, NULL, 10);
}

static int pid_dead(long pid)
{
    return pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* The folder of path ("." when none) and its last component. */
static char *split_path(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!slash) return strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    return strndup(path, n);
}

/* dir/name into buf (n bytes); 0 ok, -1 too long. */
static int in_dir(char *buf, size_t n, const char *dir, const char *name)
{
    int k = snprintf(buf, n, "%s/%s", dir, name);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

/* Puts back what the dead writer `pid` left in dir.  Its files there are
 * one write, or one set being committed (fb_atomic_commit_set: every temp
 * complete, then a .old or .none beside each, then the renames, then the
 * .old and .none removed).  A temp still there means its set was not all
 * renamed: each member already renamed gets its old file back (.old) or is
 * removed (.none), so the set is the old one.  No temp left: every rename
 * was done and the set is the new one.  Either way the leftovers go. */
static void recover_dead_writer(const char *dir, long pid, const char *host)
{
    DIR *d = opendir(dir);
    if (!d) return;
    size_t n = 0, cap = 0;
    char **mine = NULL;
    int temps = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t base, tmp;
        if (leftover_pid(e->d_name, host, &base, &tmp) != pid) continue;
        if (n == cap) {
            char **more = realloc(mine, (cap = cap ? 2 * cap : 8) * sizeof *mine);
            if (!more) break;
            mine = more;
        }
        if (!(mine[n] = strdup(e->d_name))) break;
        n++;
        temps += e->d_name[tmp] == 0;
    }
    closedir(d);
    char p[4096], q[4096];
    for (size_t i = 0; i < n; i++) {
        size_t base, tmp;
        leftover_pid(mine[i], host, &base, &tmp);
        int marker = mine[i][tmp] != 0, none = marker && mine[i][tmp + 1] == 'n';
        if (in_dir(p, sizeof p, dir, mine[i])) continue;
        if (marker && temps) {
            /* Its set was cut off before every rename was done.  This
             * member was renamed when its temp is gone: put back the old
             * FILE (the .old becomes it), or remove a FILE that was new. */
            char tmpname[1024], file[1024];
            snprintf(tmpname, sizeof tmpname, "%.*s", (int)tmp, mine[i]);
            snprintf(file, sizeof file, "%.*s", (int)base, mine[i]);
            int renamed = 1;   /* by the names found, not the folder now: temps are removed below */
            for (size_t j = 0; j < n && renamed; j++) renamed = strcmp(mine[j], tmpname) != 0;
            if (renamed && !in_dir(q, sizeof q, dir, file)) {
                if (none) unlink(q);
                else rename(p, q);
            }
        }
        unlink(p);   /* (after a rename of a link onto its own file, p is still there) */
    }
    for (size_t i = 0; i < n; i++) free(mine[i]);
    free(mine);
}

/* Before the first write into a folder: the leftovers of every dead writer
 * in it are recovered (all are named by the rule; which file they were for
 * does not matter).  Once per folder and process, so that writing many
 * files into one folder (fb-info --png) reads it once, not once a file.
 * Best effort: a folder that cannot be read is left as it is. */
static void clean_leftovers(const char *path, const char *host)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static char *cleaned[64];
    static int ncleaned;
    const char *base;
    char *dir = split_path(path, &base);
    if (!dir) return;
    pthread_mutex_lock(&lock);
    int seen_dir = 0;
    for (int i = 0; i < ncleaned && !seen_dir; i++) seen_dir = strcmp(cleaned[i], dir) == 0;
    if (!seen_dir && ncleaned < 64) cleaned[ncleaned++] = strdup(dir);   /* kept for the process */
    pthread_mutex_unlock(&lock);
    if (seen_dir) {
        free(dir);
        return;
    }
    long done[16];
    int ndone = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t b, t;
        long pid = leftover_pid(e->d_name, host, &b, &t);
        if (!pid || !pid_dead(pid)) continue;
        int seen = 0;
        for (int i = 0; i < ndone; i++) seen |= done[i] == pid;
        if (seen || ndone == 16) continue;
        done[ndone++] = pid;
    }
    if (d) closedir(d);
    for (int i = 0; i < ndone; i++) recover_dead_writer(dir, done[i], host);
    free(dir);
}

int fb_atomic_open(fb_atomic *a, const char *path)
{
    memset(a, 0, sizeof *a);
    char host[40];
    host_tag(host, sizeof host);
    clean_leftovers(path, host);
    size_t n = strlen(path) + strlen(host) + 40;
    a->path = strdup(path);
    a->tmp = malloc(n);
    if (!a->path || !a->tmp) goto fail;
    snprintf(a->tmp, n, "%s.tmp%ld-%s.XXXXXX", path, (long)getpid(), host);
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

/* Keeps the old file at a->path as *old, a hard link named after the temp
 * (TEMP.old), until the whole set is in place: 1.  When there is no old
 * file, *old is an empty TEMP.none, so that whoever finds this set cut off
 * by SIGKILL knows the file was new (see recover_dead_writer): 0.  -1 with
 * errno. */
static int keep_old(const fb_atomic *a, char **old)
{
    struct stat st;
    int had = lstat(a->path, &st) == 0;
    if (!had && errno != ENOENT) return -1;
    if (had && S_ISDIR(st.st_mode)) { errno = EISDIR; return -1; }
    size_t n = strlen(a->tmp) + 6;
    if (!(*old = malloc(n))) return -1;
    snprintf(*old, n, "%s.%s", a->tmp, had ? "old" : "none");
    if (had) return link(a->path, *old) == 0 ? 1 : -1;
    int fd = open(*old, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

int fb_atomic_commit_set(fb_atomic *a, int n, char *err, size_t errlen)
{
    if (n < 1) {
        snprintf(err, errlen, "no files to commit");
        return -1;
    }
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
        if (old && old[j]) unlink(old[j]);   /* the .old or .none */
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
