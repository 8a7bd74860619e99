/* Messages, allocation that dies, terminals, progress and --help for the
 * tools (common.h); never linked into lib. */
#include "common/common.h"
#include "fb/export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *progname = "fb";

void fb_set_progname(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    progname = slash ? slash + 1 : argv0;
}

const char *fb_progname(void) { return progname; }

static void vwarn(const char *fmt, va_list ap)
{
    /* On a terminal the tool's name stands out in bold, as compilers do;
     * never in a pipe or file, never with NO_COLOR set. */
    if (fb_use_color())
        fprintf(stderr, "\033[1m%s:\033[0m ", progname);
    else
        fprintf(stderr, "%s: ", progname);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void fb_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn(fmt, ap);
    va_end(ap);
}

void fb_die(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vwarn(fmt, ap);
    va_end(ap);
    exit(status ? status : FB_EXIT_FAILURE);
}

void *fb_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) fb_die(FB_EXIT_FAILURE, "out of memory (%zu bytes)", n);
    return p;
}

void *fb_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) fb_die(FB_EXIT_FAILURE, "out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void *fb_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) fb_die(FB_EXIT_FAILURE, "out of memory (%zu bytes)", n);
    return p;
}

char *fb_xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) fb_die(FB_EXIT_FAILURE, "out of memory");
    return d;
}

char *fb_xescape(const char *s)
{
    char *e = fb_tsv_escape(s);
    if (!e) fb_die(FB_EXIT_FAILURE, "out of memory");
    return e;
}

void fb_refuse_binary_tty(FILE *f)
{
    if (isatty(fileno(f)))
        fb_die(FB_EXIT_USAGE, "refusing to write a binary stream to a terminal; "
               "redirect it to a file or a pipe");
}

int fb_stderr_is_tty(void) { return isatty(STDERR_FILENO); }

int fb_use_color(void)
{
    const char *no = getenv("NO_COLOR");
    return fb_stderr_is_tty() && !(no && *no);
}

void fb_progress_init(fb_progress *p, const char *what)
{
    p->start = p->last = fb_now();
    p->enabled = fb_stderr_is_tty();
    p->what = what;
}

void fb_progress_update(fb_progress *p, unsigned long done, unsigned long total)
{
    if (!p->enabled) return;
    double now = fb_now();
    if (now - p->last < 0.25) return;     /* a terminal needs no more than 4 updates/s */
    p->last = now;
    double rate = done / (now - p->start);
    if (total > done && rate > 0)
        fprintf(stderr, "\r%s: %lu/%lu %s, %.1f/s, %.0f s left   ", progname, done, total,
                p->what, rate, (total - done) / rate);
    else
        fprintf(stderr, "\r%s: %lu %s, %.1f/s   ", progname, done, p->what, rate);
}

void fb_progress_done(fb_progress *p, unsigned long done)
{
    if (!p->enabled) return;
    double secs = fb_now() - p->start;
    fprintf(stderr, "\r%s: %lu %s in %.1f s (%.1f/s)        \n", progname, done, p->what,
            secs, secs > 0 ? done / secs : 0.0);
}

void fb_handle_help_version(int argc, char **argv, const char *usage)
{
    /* getopt's own messages start with argv[0]: make it the bare tool name,
     * so every message a tool prints is prefixed alike. */
    if (argc > 0) argv[0] = (char *)progname;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            exit(FB_EXIT_OK);
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s (fb) %s\n", progname, FB_VERSION);
            exit(FB_EXIT_OK);
        }
    }
}
