/* What a tool does on the signals that end it early (common.h). */
#include "common/common.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static pid_t tool_pid;

/* Async-signal-safe throughout: unlink, write, signal, raise. */
static void on_stop(int sig)
{
    /* fb-prep's decoder processes are forks and inherit this handler; the
     * tool's own process alone cleans up and speaks. */
    if (getpid() == tool_pid) {
        fb_atomic_unlink_pending();
        const char *name = fb_progname();
        const char *what = sig == SIGINT ? ": interrupted\n"
                         : sig == SIGTERM ? ": terminated\n" : ": hung up\n";
        if (write(STDERR_FILENO, "\n", 1) < 0) {}   /* ends a progress line */
        if (write(STDERR_FILENO, name, strlen(name)) < 0) {}
        if (write(STDERR_FILENO, what, strlen(what)) < 0) {}
    }
    /* Die of the signal itself: the parent sees how the tool ended, and a
     * shell reports 128 + the signal number (130, 143, 129). */
    signal(sig, SIG_DFL);
    raise(sig);
}

void fb_catch_signals(void)
{
    tool_pid = getpid();
    /* A write past a file-size limit (ulimit -f) then fails with EFBIG, and
     * the tool's own error path names the file and removes its temp, instead
     * of the default: killed on the spot, temp left, nothing said. */
    signal(SIGXFSZ, SIG_IGN);
    static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
    for (size_t i = 0; i < sizeof stops / sizeof *stops; i++) {
        struct sigaction sa, old;
        /* A signal ignored on entry stays ignored (a background job of a
         * shell without job control must not die on the terminal's ^C). */
        if (sigaction(stops[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop;
        sigfillset(&sa.sa_mask);   /* one handler at a time */
        sigaction(stops[i], &sa, NULL);
    }
}
