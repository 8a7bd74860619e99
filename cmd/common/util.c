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

static void clear_progress_line(void);

static void vwarn(const char *fmt, va_list ap)
{
    clear_progress_line();   /* a message never lands in the middle of a progress line */
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

/* TERM=dumb: a terminal that takes no escape codes (Emacs's shell, say). */
int fb_term_dumb(void)
{
    const char *t = getenv("TERM");
    return t && strcmp(t, "dumb") == 0;
}

int fb_use_color(void)
{
    const char *no = getenv("NO_COLOR");
    return fb_stderr_is_tty() && !(no && *no) && !fb_term_dumb();
}

/* ---- progress ----
 * One line, redrawn in place: \r and erase-to-end (ESC [K) before each
 * drawing, so a shorter line leaves nothing of a longer one; with TERM=dumb,
 * spaces over the old line instead.  In a pipe only one tool draws: a tool
 * whose fb stream comes through a pipe leaves the line to the tool upstream
 * (fb-prep, which knows the total), so two tools never draw over each other
 * (fb(7), DIAGNOSTICS). */
static int progress_width;        /* columns of the progress line on screen; 0: none */
static int upstream_draws;

void fb_progress_leave_to_upstream(void) { upstream_draws = 1; }

static void clear_progress_line(void)
{
    if (!progress_width) return;
    if (fb_term_dumb()) fprintf(stderr, "\r%*s\r", progress_width, "");
    else fputs("\r\033[K", stderr);
    progress_width = 0;
}

static void __attribute__((format(printf, 2, 3))) draw(int final, const char *fmt, ...)
{
    clear_progress_line();
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (final) fputc('\n', stderr);
    else progress_width = n > 0 ? n : 0;
    fflush(stderr);
}

void fb_progress_init(fb_progress *p, const char *what)
{
    p->start = p->last = fb_now();
    p->enabled = fb_stderr_is_tty() && !upstream_draws;
    p->what = what;
}

/* The progress noun for a count: "images", or without its s for one. */
static const char *progress_noun(const fb_progress *p, unsigned long n, char *buf, size_t len)
{
    size_t k = strlen(p->what);
    if (n != 1 || k == 0 || p->what[k - 1] != 's') return p->what;
    snprintf(buf, len, "%.*s", (int)(k - 1), p->what);
    return buf;
}

void fb_progress_update(fb_progress *p, unsigned long done, unsigned long total)
{
    if (!p->enabled) return;
    double now = fb_now();
    if (now - p->last < 0.25) return;     /* a terminal needs no more than 4 updates/s */
    p->last = now;
    double rate = done / (now - p->start);
    char noun[64];
    if (total > done && rate > 0)
        draw(0, "%s: %lu/%lu %s, %.1f/s, %.0f s left", progname, done, total, p->what, rate,
             (total - done) / rate);
    else
        draw(0, "%s: %lu %s, %.1f/s", progname, done, progress_noun(p, done, noun, sizeof noun), rate);
}

void fb_progress_done(fb_progress *p, unsigned long done)
{
    if (!p->enabled) return;
    double secs = fb_now() - p->start;
    char noun[64];
    draw(1, "%s: %lu %s in %.1f s (%.1f/s)", progname, done, progress_noun(p, done, noun, sizeof noun), secs,
         secs > 0 ? done / secs : 0.0);
}

const char *fb_plural(unsigned long long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
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
