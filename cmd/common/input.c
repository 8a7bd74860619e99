/* Streams as arguments, stream kinds and the text guard (input.h). */
#include "common/input.h"
#include "common/common.h"
#include "fb/head.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- several sources read as one FILE ----
 * A prefix already read (the text guard's first block), then each FILE in
 * turn.  glibc's fopencookie turns it into a FILE, so lib's readers, which
 * take a FILE, read a concatenation without knowing it. */
typedef struct {
    char *prefix;
    size_t plen, ppos;
    FILE **files;
    int n, i, owned;              /* owned: fclose them (not a caller's FILE) */
} chain;

static ssize_t chain_read(void *cookie, char *buf, size_t size)
{
    chain *c = cookie;
    if (c->ppos < c->plen) {
        size_t k = c->plen - c->ppos < size ? c->plen - c->ppos : size;
        memcpy(buf, c->prefix + c->ppos, k);
        c->ppos += k;
        return (ssize_t)k;
    }
    for (; c->i < c->n; c->i++) {
        size_t k = fread(buf, 1, size, c->files[c->i]);
        if (k > 0) return (ssize_t)k;
        if (ferror(c->files[c->i])) return -1;
    }
    return 0;
}

static int chain_close(void *cookie)
{
    chain *c = cookie;
    for (int i = 0; c->owned && i < c->n; i++)
        if (c->files[i] != stdin) fclose(c->files[i]);
    free(c->files);
    free(c->prefix);
    free(c);
    return 0;
}

static FILE *chain_open(chain *c)
{
    cookie_io_functions_t io = { .read = chain_read, .close = chain_close };
    FILE *f = fopencookie(c, "rb", io);
    if (!f) fb_die(FB_EXIT_FAILURE, "out of memory");
    return f;
}

/* ---- streams as arguments ---- */
static int is_stdin(const char *path) { return strcmp(path, "-") == 0; }

void fb_input_limits(void)
{
    static int done;
    if (done) return;
    done = 1;
    const char *spec = getenv("FB_LIMITS");
    if (!spec) return;
    fb_stream_limits lim = fb_stream_limits_default();
    char err[512];
    if (fb_stream_limits_parse(spec, &lim, err, sizeof err) != 0)
        fb_die(FB_EXIT_USAGE, "FB_LIMITS: %s (see fb-stream(5))", err);
    fb_stream_set_limits(&lim);
}

void fb_input_refuse_tty(const char *usage)
{
    fb_input_limits();
    if (isatty(STDIN_FILENO))
        fb_die(FB_EXIT_USAGE, "standard input is a terminal, not an fb stream; try: %s", usage);
}

static void input_name(fb_input *in, int n, char *const *paths)
{
    size_t len = 0;
    in->name[0] = 0;
    for (int i = 0; i < n; i++) {
        const char *p = is_stdin(paths[i]) ? "stdin" : paths[i];
        int w = snprintf(in->name + len, sizeof in->name - len, "%s%s", i ? " + " : "", p);
        if (w < 0 || (size_t)w >= sizeof in->name - len) {
            /* too long for one message: the first and how many more */
            snprintf(in->name, sizeof in->name, "%.200s + %d more", is_stdin(paths[0]) ? "stdin" : paths[0],
                     n - 1);
            return;
        }
        len += (size_t)w;
    }
}

void fb_input_open(fb_input *in, int n, char *const *paths, const char *usage)
{
    static char *const dash[] = { "-" };
    fb_input_limits();
    if (n == 0) {
        n = 1;
        paths = dash;
    }
    for (int i = 0; i < n; i++)
        if (is_stdin(paths[i])) {
            fb_input_refuse_tty(usage);
            struct stat st;
            if (fstat(STDIN_FILENO, &st) == 0 && S_ISFIFO(st.st_mode)) fb_progress_leave_to_upstream();
        }
    input_name(in, n, paths);
    FILE **files = fb_xcalloc((size_t)n, sizeof *files);
    for (int i = 0; i < n; i++)
        if (!(files[i] = is_stdin(paths[i]) ? stdin : fopen(paths[i], "rb")))
            fb_die(FB_EXIT_FAILURE, "%s: %s", paths[i], strerror(errno));
    if (n == 1) {
        in->f = files[0];
        free(files);
        return;
    }
    chain *c = fb_xcalloc(1, sizeof *c);
    c->files = files;
    c->n = n;
    c->owned = 1;
    in->f = chain_open(c);
}

void fb_input_close(fb_input *in)
{
    if (in->f && in->f != stdin) fclose(in->f);
    in->f = NULL;
}

/* ---- what a stream holds ---- */
fb_stream_kind fb_stream_kind_of(const fb_header *h)
{
    if (h->dtype == FB_U8 && h->rank == 3 && h->dims[2] == 3) return FB_KIND_IMAGES;
    if (h->dtype == FB_F32 && h->rank == 1) return FB_KIND_FEATURES;
    char why[8];
    if (fb_stage4_check(h, "-", why, sizeof why) == 0) return FB_KIND_STAGE4;
    return FB_KIND_OTHER;
}

const char *fb_stream_kind_name(fb_stream_kind k)
{
    static const char *names[] = { "images", "feature vectors", "stage-4 maps", "tensors" };
    return names[k];
}

const char *fb_stream_kind_reader(fb_stream_kind k)
{
    static const char *readers[] = { "fb-feat", "fb-train, fb-eval, fb-predict or fb-report",
                                     "fb-train --fine-tune (and the heads it makes)",
                                     "fb-info or fb-export" };
    return readers[k];
}

void fb_input_expect(const fb_header *h, const char *name, fb_stream_kind want)
{
    fb_stream_kind k = fb_stream_kind_of(h);
    if (k == want) return;
    char shape[64] = "";
    for (int i = 0; i < h->rank; i++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%u", i ? "x" : "", h->dims[i]);
    fb_die(FB_EXIT_FAILURE, "%s: a stream of %s (%s %s), not %s; it goes to %s%s", name,
           fb_stream_kind_name(k), fb_dtype_name(h->dtype), shape, fb_stream_kind_name(want),
           fb_stream_kind_reader(k),
           k == FB_KIND_STAGE4 && want == FB_KIND_FEATURES
               ? "; for this, make features with fb-feat (without --layer stage4)" : "");
}

/* ---- a text input ---- */
enum { SNIFF = 4096 };

/* The kind of the stream whose first bytes are buf[0..len), when its header
 * lies within them; -1 when it does not. */
static int sniff_kind(char *buf, size_t len)
{
    FILE *m = fmemopen(buf, len, "rb");
    if (!m) return -1;
    char err[256];
    fb_reader *r = fb_reader_open(m, "-", err, sizeof err);
    int k = r ? (int)fb_stream_kind_of(fb_reader_header(r)) : -1;
    if (r) fb_reader_close(r);
    fclose(m);
    return k;
}

/* A byte no list of file names has: NUL and the control characters other
 * than tab, line feed and carriage return. */
static int binary_byte(unsigned char b) { return b < 0x20 && b != '\t' && b != '\n' && b != '\r'; }

int fb_input_stream_note(const char *buf, size_t len, const char *name, const char *what, char *msg,
                         size_t msglen)
{
    static const unsigned char magic[] = { 0x89, 'F', 'B', 'T' };
    if (len < sizeof magic || memcmp(buf, magic, sizeof magic) != 0) return 0;
    int k = sniff_kind((char *)buf, len);
    if (k < 0) snprintf(msg, msglen, "%s is an fb stream, not %s; fb-info tells what it holds", name, what);
    else snprintf(msg, msglen, "%s is an fb stream of %s, not %s; it goes to %s", name,
                  fb_stream_kind_name((fb_stream_kind)k), what, fb_stream_kind_reader((fb_stream_kind)k));
    return 1;
}

/* What makes the first bytes of a list not text: a message in msg, or 0. */
static int not_text(const char *buf, size_t len, const char *name, const char *what, char *msg, size_t msglen)
{
    if (fb_input_stream_note(buf, len, name, what, msg, msglen)) return 1;
    for (size_t i = 0; i < len; i++)
        if (binary_byte((unsigned char)buf[i])) {
            snprintf(msg, msglen, "%s is binary data (byte %zu is 0x%02x), not %s", name, i,
                     (unsigned char)buf[i], what);
            return 1;
        }
    return 0;
}

FILE *fb_input_text(FILE *f, const char *name, const char *what)
{
    char *prefix = fb_xmalloc(SNIFF), msg[1024];
    size_t plen = fread(prefix, 1, SNIFF, f);
    if (not_text(prefix, plen, name, what, msg, sizeof msg)) {
        free(prefix);   /* nothing left behind for a leak checker */
        fb_die(FB_EXIT_FAILURE, "%s", msg);
    }
    chain *c = fb_xcalloc(1, sizeof *c);
    c->prefix = prefix;
    c->plen = plen;
    c->files = fb_xmalloc(sizeof *c->files);
    c->files[0] = f;
    c->n = 1;
    return chain_open(c);
}
