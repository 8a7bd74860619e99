/* What the tools share and lib must not do: options checked or the tool
 * exits, and set-up that reads the environment.  (Messages, allocation that
 * dies and progress lines: fb/core.h holds what lib may use as well.) */
#ifndef FB_CMD_COMMON_H
#define FB_CMD_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include "fb/core.h"

/* ---- messages, memory that dies, terminals, progress ---- */
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
/* s with TAB, newline, CR and backslash escaped as \t \n \r \\ (lib's
 * fb_tsv_escape: the one owner), for ids and class names in the tools' TSV
 * and text; malloc'd, dies when memory runs out. */
char *fb_xescape(const char *s);

/* Exit statuses shared by all tools (documented in each man page). */
enum { FB_EXIT_OK = 0, FB_EXIT_FAILURE = 1, FB_EXIT_USAGE = 2 };

/* Refuses (dies with status 2 and a message) when f is a terminal: tools
 * never write binary streams to a terminal. */
void fb_refuse_binary_tty(FILE *f);

/* True when stderr is a terminal (progress lines are shown only then). */
int fb_stderr_is_tty(void);
/* True when colour may be used on stderr: a terminal, NO_COLOR unset and
 * TERM not dumb. */
int fb_use_color(void);
/* True when TERM is "dumb": no escape codes at all. */
int fb_term_dumb(void);

/* Progress on stderr, only when it is a terminal; rate-limited; one line
 * redrawn in place (cleared first: ESC [K, or spaces with TERM=dumb), and
 * cleared before any message.  total may be 0 when unknown. */
typedef struct {
    double start, last;
    int enabled;
    const char *what;             /* "images" */
} fb_progress;
void fb_progress_init(fb_progress *p, const char *what);
void fb_progress_update(fb_progress *p, unsigned long done, unsigned long total);
void fb_progress_done(fb_progress *p, unsigned long done);
/* The rule for pipes: a tool whose fb stream comes through a pipe draws no
 * progress line; the tool upstream draws the one line (fb_input_open calls
 * this).  Call before fb_progress_init. */
void fb_progress_leave_to_upstream(void);

/* The word for a count in a message: one when n is 1, else many --
 * fb_plural(n, "image", "images"), so no tool says "1 images". */
const char *fb_plural(unsigned long long n, const char *one, const char *many);

/* Every tool calls this first thing in main (after fb_set_progname):
 * SIGXFSZ is ignored, so writing past `ulimit -f` fails with EFBIG and is
 * reported like any write error; SIGINT, SIGTERM and SIGHUP remove the temp
 * file of every atomic write in progress (fb_atomic_unlink_pending), say
 * "interrupted"/"terminated"/"hung up" and end the tool by that signal (a
 * shell reports 130, 143, 129).  A signal ignored on entry stays ignored. */
void fb_catch_signals(void);

/* Standard --help/--version handling: prints and exits when argv has them.
 * Also sets argv[0] to the tool's bare name for getopt's messages. */
void fb_handle_help_version(int argc, char **argv, const char *usage);


#include <stdint.h>

/* ---- numeric options: one checked parser for every tool ----
 * `name` is the option as the user spells it ("--mistakes", "-j").  A value
 * that is not a number, has anything after it, is not finite or lies outside
 * [lo, hi] is a usage error: a message naming the option and the range on
 * stderr, exit 2 (FB_EXIT_USAGE). */
long   fb_opt_long(const char *name, const char *arg, long lo, long hi);
double fb_opt_double(const char *name, const char *arg, double lo, double hi);
/* A seed: any whole number from 0 to 2^64-1. */
uint64_t fb_opt_seed(const char *name, const char *arg);
/* "WxH" with both sides in [lo, hi]. */
void   fb_opt_size(const char *name, const char *arg, int lo, int hi, int *w, int *h);
/* A pixel count (--max-pixels): a number from 1 to 1e12, or one ending in M
 * for millions ("100M"). */
double fb_opt_pixels(const char *name, const char *arg);
/* The decoder-process options every tool that decodes photos takes, with
 * the same ranges: -j/--jobs N (1..64; default the number of cores),
 * --timeout SECONDS (0.001..1e6), --max-pixels N (fb_opt_pixels). */
int    fb_opt_jobs(const char *name, const char *arg);
double fb_opt_timeout(const char *name, const char *arg);
int    fb_default_jobs(void);

/* ---- OpenBLAS on CPUs it does not recognise ----
 * OpenBLAS 0.3.21 does not recognise some recent Xeons (e.g. a VM's
 * "Intel(R) Xeon(R) Processor" with AVX-512) and falls back to its Prescott
 * (SSE3) kernels, ~10x slower.  Its core type can only be chosen through
 * OPENBLAS_CORETYPE before the library initialises, i.e. before main(): so
 * when detection fell back and the CPU has AVX-512, this sets
 * OPENBLAS_CORETYPE=SkylakeX and re-executes the program with the same
 * argv.  Call it first thing in main(), before reading any input.  Does
 * nothing when OPENBLAS_CORETYPE is already set (the user's choice wins). */
void fb_tune_blas(char **argv);

#endif
