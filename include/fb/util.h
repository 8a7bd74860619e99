/* Small helpers every fb tool shares: messages, memory, atomic files,
 * terminal checks, progress. */
#ifndef FB_UTIL_H
#define FB_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdarg.h>

/* The tool's name for messages ("fb-prep"); set once from argv[0]. */
void fb_set_progname(const char *argv0);
const char *fb_progname(void);

/* "fb-prep: <message>\n" on stderr. */
void fb_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fb_warn, then exit(status).  status must be non-zero. */
_Noreturn void fb_die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocation that dies with a message on failure (for tools, not lib code
 * that must report errors). */
void *fb_xmalloc(size_t n);
void *fb_xcalloc(size_t n, size_t size);
void *fb_xrealloc(void *p, size_t n);
char *fb_xstrdup(const char *s);

/* Exit statuses shared by all tools (documented in each man page). */
enum { FB_EXIT_OK = 0, FB_EXIT_FAILURE = 1, FB_EXIT_USAGE = 2 };

/* Refuses (dies with status 2 and a message) when f is a terminal: tools
 * never write binary streams to a terminal. */
void fb_refuse_binary_tty(FILE *f);

/* True when stderr is a terminal (progress lines are shown only then). */
int fb_stderr_is_tty(void);
/* True when colour may be used on stderr: a terminal and NO_COLOR unset. */
int fb_use_color(void);

/* Progress on stderr, only when it is a terminal; rate-limited.
 * total may be 0 when unknown. */
typedef struct {
    double start, last;
    int enabled;
    const char *what;             /* "images" */
} fb_progress;
void fb_progress_init(fb_progress *p, const char *what);
void fb_progress_update(fb_progress *p, unsigned long done, unsigned long total);
void fb_progress_done(fb_progress *p, unsigned long done);

/* Seconds on a monotonic clock. */
double fb_now(void);

/* Atomic output file: write to a temporary file beside `path`, then rename.
 * fb_atomic_commit renames (after fsync); fb_atomic_abort removes the temp.
 * A crash never leaves a half-written file where a good one was. */
typedef struct {
    FILE *f;
    char *path, *tmp;
} fb_atomic;
int  fb_atomic_open(fb_atomic *a, const char *path);      /* 0 ok, -1 errno set */
int  fb_atomic_commit(fb_atomic *a);                      /* 0 ok, -1 errno set */
void fb_atomic_abort(fb_atomic *a);

/* Writes len bytes to path through fb_atomic.  0 ok; -1 with "path: reason"
 * in err. */
int  fb_write_file_atomic(const char *path, const void *data, size_t len, char *err,
                          size_t errlen);

/* Opens "-" as stdin, else the named file, for binary reading.  NULL on error. */
FILE *fb_open_input(const char *path);

/* Standard --help/--version handling: prints and exits when argv has them.
 * Also sets argv[0] to the tool's bare name for getopt's messages. */
void fb_handle_help_version(int argc, char **argv, const char *usage);

#endif
