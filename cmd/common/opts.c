/* The one checked parser for numeric options (common.h). */
#include "common/common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* strtol/strtod accept leading blanks; an option value never has them. */
static int starts_like_number(const char *s)
{
    return s && *s && *s != ' ' && *s != '\t' && *s != '\n';
}

long fb_opt_long(const char *name, const char *arg, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = starts_like_number(arg) ? strtol(arg, &end, 10) : 0;
    if (!starts_like_number(arg) || *end || errno == ERANGE || v < lo || v > hi)
        fb_die(FB_EXIT_USAGE, "%s: '%s' is not a whole number from %ld to %ld", name,
               arg ? arg : "", lo, hi);
    return v;
}

/* strtod reads C99 hex floats ("0x10" is 16); a user who typed that meant
 * something else. */
static int is_hex(const char *s)
{
    if (*s == '-' || *s == '+') s++;
    return s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

double fb_opt_double(const char *name, const char *arg, double lo, double hi)
{
    char *end;
    errno = 0;
    int ok = starts_like_number(arg) && !is_hex(arg);
    double v = ok ? strtod(arg, &end) : NAN;
    if (!ok || *end || errno == ERANGE || !isfinite(v) || v < lo || v > hi)
        fb_die(FB_EXIT_USAGE, "%s: '%s' is not a number from %g to %g", name, arg ? arg : "",
               lo, hi);
    return v;
}

uint64_t fb_opt_seed(const char *name, const char *arg)
{
    char *end;
    errno = 0;
    unsigned long long v = starts_like_number(arg) && arg[0] != '-' ? strtoull(arg, &end, 10) : 0;
    if (!starts_like_number(arg) || arg[0] == '-' || arg[0] == '+' || *end || errno == ERANGE)
        fb_die(FB_EXIT_USAGE, "%s: '%s' is not a whole number from 0 to 18446744073709551615",
               name, arg ? arg : "");
    return (uint64_t)v;
}

void fb_opt_size(const char *name, const char *arg, int lo, int hi, int *w, int *h)
{
    char *x, *end;
    long a = 0, b = 0;
    int ok = starts_like_number(arg);
    if (ok) {
        errno = 0;
        a = strtol(arg, &x, 10);
        ok = errno == 0 && x != arg && (*x == 'x' || *x == 'X') && starts_like_number(x + 1);
        if (ok) {
            b = strtol(x + 1, &end, 10);
            ok = errno == 0 && end != x + 1 && !*end;
        }
    }
    if (!ok || a < lo || a > hi || b < lo || b > hi)
        fb_die(FB_EXIT_USAGE, "%s: '%s' is not WIDTHxHEIGHT with each side from %d to %d", name,
               arg ? arg : "", lo, hi);
    *w = (int)a;
    *h = (int)b;
}

double fb_opt_pixels(const char *name, const char *arg)
{
    char buf[64];
    size_t len = arg ? strlen(arg) : 0;
    double scale = 1;
    if (len > 1 && len < sizeof buf && (arg[len - 1] == 'M' || arg[len - 1] == 'm')) {
        snprintf(buf, sizeof buf, "%.*s", (int)(len - 1), arg);
        arg = buf;
        scale = 1e6;
    }
    return fb_opt_double(name, arg, 1 / scale, 1e12 / scale) * scale;
}

int fb_opt_jobs(const char *name, const char *arg)
{
    return (int)fb_opt_long(name, arg, 1, 64);
}

double fb_opt_timeout(const char *name, const char *arg)
{
    return fb_opt_double(name, arg, 0.001, 1e6);
}

int fb_default_jobs(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 64 ? 64 : cores > 0 ? (int)cores : 1;
}
