/* The inputs of the tools: fb streams named as arguments or piped in, the
 * kind of records a stream holds and the tool that reads that kind, and
 * fb-prep's text list guarded against binary data.  Problems end the program
 * (fb_die): exit 2 for a terminal where a stream belongs, 1 otherwise. */
#ifndef FB_CMD_INPUT_H
#define FB_CMD_INPUT_H

#include <stdio.h>

#include "fb/stream.h"

/* ---- streams as arguments ---- */
typedef struct {
    FILE *f;          /* reads every named stream, one after another */
    char name[256];   /* for messages: "stdin", the path, or "a.fbt + b.fbt" */
} fb_input;

/* Opens the streams paths[0..n) as their concatenation (the stream format
 * allows it: each file is a segment); "-" is standard input, and so is no
 * path at all (n == 0).  Dies naming a file it cannot open.  When it would
 * read standard input and that is a terminal, refuses at once (exit 2) with
 * `usage`, a one-line example of the pipe to use, e.g.
 * "fb-eval head.bin < test.fbt". */
void fb_input_open(fb_input *in, int n, char *const *paths, const char *usage);
void fb_input_close(fb_input *in);

/* The terminal check of fb_input_open alone, for a tool that reads its
 * files one by one (fb-info). */
void fb_input_refuse_tty(const char *usage);

/* ---- limits ----
 * The stream limits of this process (fb_stream_set_limits) from the
 * environment variable FB_LIMITS, e.g. "classes=5M,id=1024": one setting for
 * a whole pipeline (man/fb-stream.5).  The one place a tool takes them from:
 * fb_input_open, fb_input_refuse_tty and the head tools' stream readers call
 * it; a tool that opens streams another way calls it before the first.  Reads
 * the variable once; a bad value is a usage error (exit 2) naming the key and
 * its range. */
void fb_input_limits(void);

/* ---- what a stream holds, and who reads it ---- */
typedef enum { FB_KIND_IMAGES, FB_KIND_FEATURES, FB_KIND_STAGE4, FB_KIND_OTHER } fb_stream_kind;

/* Images: uint8 H x W x 3 (fb-prep's output); features: float32 vectors
 * (fb-feat's, fb-export --from-npy's); anything else: other. */
fb_stream_kind fb_stream_kind_of(const fb_header *h);
/* "images", "feature vectors", "tensors". */
const char *fb_stream_kind_name(fb_stream_kind k);
/* The tools that take that kind in: "fb-feat", "fb-train, fb-eval, fb-predict
 * or fb-report", "fb-info or fb-export". */
const char *fb_stream_kind_reader(fb_stream_kind k);

/* Dies (exit 1) unless the stream `name` with header h holds `want`, with a
 * message that says what it holds and which tool reads that:
 * "stdin: a stream of images (uint8 224x224x3), not feature vectors; it goes to
 * fb-feat".  (The tool's own name starts the line, as in every message.) */
void fb_input_expect(const fb_header *h, const char *name, fb_stream_kind want);

/* ---- a text input ---- */
/* Guards a text input (fb-prep's list of photos) that comes from f, called
 * name in messages: when its first block starts like an fb stream, or holds a
 * NUL or another control byte no text file has, dies at once (exit 1) saying
 * so -- for a stream, which tool reads it -- instead of reading binary as
 * lines.  `what` is what was expected ("a list of photo paths").  Otherwise
 * returns a FILE that reads the input from its first byte; fclose it when
 * done (f itself is not closed). */
FILE *fb_input_text(FILE *f, const char *name, const char *what);
/* When the first bytes buf[0..len) of `name` are an fb stream: 1 and the
 * message fb_input_text gives for it in msg ("NAME is an fb stream of
 * images, not WHAT; it goes to fb-feat"); else 0. */
int fb_input_stream_note(const char *buf, size_t len, const char *name, const char *what, char *msg,
                         size_t msglen);

#endif
