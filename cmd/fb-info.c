/* fb-info: what is in an fb stream — the head and wc of fb — or in a head
 * (head.bin): told apart by the file's magic. */
#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "fb/photo.h"
#include "fb/report.h"
#include "fb/stream.h"
#include "common/common.h"
#include "common/input.h"
#include "common/head_info.h"
#include "common/stream_info.h"

static const char *usage =
    "usage: fb-info [-r | -c | --json] [FILE...]\n"
    "Reads fb streams (standard input when no FILE or FILE is -), checks every\n"
    "record, and prints the header, record count per class and value range.\n"
    "Given a head (fb-train's head.bin), describes it: classes, layers,\n"
    "normalisation, regularisation, threshold, unknown test, training notes.\n"
    "      --json     the summary or the head's description as JSON\n"
    "  -r, --records  print one line per record instead: index, id, class, CRC-32,\n"
    "                 same-photo group\n"
    "                 of the tensor (to compare two runs record by record)\n"
    "  -c, --count    print only the number of records\n"
    "      --png DIR  also write each image record (fb-prep's output) as a PNG,\n"
    "                 DIR/INDEX-NAME.png: what the network saw\n"
    "      --sheet FILE  also the first 100 image records as one contact sheet (PNG)\n"
    "      --help     this text;  --version  the version\n";

/* Pictures of an image stream's records (--png, --sheet). */
enum { SHEET_MAX = 100 };
typedef struct {
    const char *dir, *sheet;
    unsigned long long index;     /* across every stream read */
    fb_sheet_item items[SHEET_MAX];
    size_t nitems;
    int failed;
} pictures;

/* DIR/000012-cat.4008.png: the record's index and its id's file name, without
 * the extension, in characters safe in any file name. */
static void png_name(char *buf, size_t n, const char *dir, unsigned long long index, const char *id)
{
    const char *base = strrchr(id, '/');
    base = base ? base + 1 : id;
    char safe[64];
    size_t k = 0;
    const char *dot = strrchr(base, '.');
    for (const char *p = base; *p && (!dot || dot == base || p < dot) && k < sizeof safe - 1; p++)
        safe[k++] = (isalnum((unsigned char)*p) || strchr("._-", *p)) ? *p : '_';
    safe[k] = 0;
    snprintf(buf, n, "%s/%06llu%s%s.png", dir, index, k ? "-" : "", safe);
}

static void picture_record(pictures *p, const fb_header *h, const fb_record *rec, const char *name)
{
    unsigned long long index = p->index++;
    if (p->failed) return;
    if (h->dtype != FB_U8 || h->rank != 3 || h->dims[2] != 3) {
        fb_warn("%s: --png and --sheet need an image stream (fb-prep's output), not %s records",
                name, fb_dtype_name(h->dtype));
        p->failed = 1;
        return;
    }
    int w = (int)h->dims[1], ht = (int)h->dims[0];
    char err[1024];
    if (p->dir) {
        char path[4096];
        png_name(path, sizeof path, p->dir, index, rec->id);
        if (fb_pic_write_png(rec->data, w, ht, path, err, sizeof err)) {
            fb_warn("%s", err);
            p->failed = 1;
        }
    }
    if (p->sheet && p->nitems < SHEET_MAX) {
        fb_sheet_item *it = &p->items[p->nitems++];
        it->rgb = fb_xmalloc(rec->nbytes);
        memcpy((void *)it->rgb, rec->data, rec->nbytes);
        it->w = w;
        it->h = ht;
        const char *base = strrchr(rec->id, '/');
        char cap[512];
        snprintf(cap, sizeof cap, "%llu %s\n%s", index,
                 rec->label == FB_NO_LABEL ? "-" : h->classes[rec->label], base ? base + 1 : rec->id);
        it->caption = fb_xstrdup(cap);
    }
}

enum mode { SUMMARY, RECORDS, COUNT };
static int json_output;    /* --json */

static void print_json(json_t *o)
{
    /* Seven digits: what a float32 holds, so 0.3 reads 0.3. */
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(7));
    putchar('\n');
    json_decref(o);
}

/* A head.bin on f (already known by its first byte): read whole, checked
 * (its own magic, version and CRC), described.  0 ok, -1 told. */
static int head_info(FILE *f, const char *name, enum mode mode)
{
    if (mode != SUMMARY) {
        fb_warn("%s: a head (head.bin), not a stream: -r and -c count records of streams", name);
        return -1;
    }
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) buf = fb_xrealloc(buf, cap = cap ? cap * 2 : 1 << 16);
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    if (ferror(f)) {
        fb_warn("%s: %s", name, strerror(errno));
        free(buf);
        return -1;
    }
    fb_head h;
    char err[512];
    if (fb_head_deserialize(&h, buf, len, err, sizeof err) != 0) {
        fb_warn("%s: %s", name, err);
        free(buf);
        return -1;
    }
    fb_head_file file = { name, len >= 12 ? (unsigned)buf[8] | (unsigned)buf[9] << 8 |
                                            (unsigned)buf[10] << 16 | (unsigned)buf[11] << 24 : 0, len };
    free(buf);
    if (json_output) print_json(fb_head_info_json(&h, &file));
    else fb_head_info_print(&h, &file);
    fb_head_free(&h);
    return 0;
}

static int info(FILE *f, const char *name, enum mode mode, pictures *pics)
{
    /* A stream starts with \x89, a head with 'f' ("fbhead"): one byte tells
     * them apart, and pushing one byte back works on a pipe too. */
    int first = getc(f);
    if (first != EOF) ungetc(first, f);
    if (first == FB_HEAD_MAGIC[0]) return head_info(f, strcmp(name, "-") ? name : "stdin", mode);
    char err[512];
    fb_reader *r = fb_reader_open(f, name, err, sizeof err);
    if (!r) {
        fb_warn("%s", err);
        return -1;
    }
    fb_stream_tally t = {0};
    fb_record rec;
    int rc;
    while ((rc = fb_reader_next(r, &rec)) == 1) {
        const fb_header *h = fb_reader_header(r);
        if (pics->dir || pics->sheet) picture_record(pics, h, &rec, name);
        if (mode == RECORDS)
            fb_stream_info_record(r, h, &rec);
        else if (mode == SUMMARY)
            fb_stream_tally_add(&t, h, &rec);
    }
    if (rc < 0) fb_warn("%s", fb_reader_error(r));
    else if (mode == SUMMARY && json_output)
        print_json(fb_stream_info_json(strcmp(name, "-") ? name : "stdin", fb_reader_header(r), &t,
                                (unsigned long)fb_reader_count(r)));
    else if (mode == SUMMARY)
        fb_stream_info_print(strcmp(name, "-") ? name : "stdin", fb_reader_header(r), &t,
                      (unsigned long)fb_reader_count(r));
    else if (mode == COUNT)
        printf("%llu\n", (unsigned long long)fb_reader_count(r));
    fb_stream_tally_free(&t);
    fb_reader_close(r);
    return rc < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    fb_catch_signals();
    fb_handle_help_version(argc, argv, usage);
    static const struct option longopts[] = {
        {"records", no_argument, 0, 'r'}, {"count", no_argument, 0, 'c'},
        {"png", required_argument, 0, 'P'}, {"sheet", required_argument, 0, 'S'},
        {"json", no_argument, 0, 'J'}, {0, 0, 0, 0}};
    enum mode mode = SUMMARY;
    pictures pics = {0};
    int c;
    while ((c = getopt_long(argc, argv, "rc", longopts, NULL)) != -1) {
        if (c == 'r') mode = RECORDS;
        else if (c == 'c') mode = COUNT;
        else if (c == 'P') pics.dir = optarg;
        else if (c == 'S') pics.sheet = optarg;
        else if (c == 'J') json_output = 1;
        else {
            fputs(usage, stderr);
            return FB_EXIT_USAGE;
        }
    }
    if (json_output && mode != SUMMARY) fb_die(FB_EXIT_USAGE, "--json is the summary's form: not with -r or -c");
    char err[1024];
    if (pics.dir && mkdir(pics.dir, 0777) != 0 && errno != EEXIST)
        fb_die(FB_EXIT_FAILURE, "%s: %s", pics.dir, strerror(errno));
    if ((pics.dir || pics.sheet) && fb_photo_vips_start(argv[0], err, sizeof err))
        fb_die(FB_EXIT_FAILURE, "%s", err);
    int failed = 0;
    fb_input_limits();
    /* each FILE is described on its own (as wc counts each file) */
    static const char tty_usage[] = "fb-info images.fbt, or fb-prep ... | fb-info";
    if (optind == argc) {
        fb_input_refuse_tty(tty_usage);
        failed = info(stdin, "-", mode, &pics) != 0;
    }
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0) fb_input_refuse_tty(tty_usage);
        FILE *f = fb_open_input(argv[i]);
        if (!f) {
            fb_warn("%s: %s", argv[i], strerror(errno));
            failed++;
            continue;
        }
        if (i > optind && mode == SUMMARY && !json_output) printf("\n");
        failed += info(f, argv[i], mode, &pics) != 0;
        if (f != stdin) fclose(f);
    }
    if (pics.sheet && pics.nitems && !pics.failed &&
        fb_sheet_write(pics.items, pics.nitems, 10, 160, pics.sheet, err, sizeof err)) {
        fb_warn("%s", err);
        failed++;
    }
    for (size_t i = 0; i < pics.nitems; i++) {
        free((void *)pics.items[i].rgb);
        free((void *)pics.items[i].caption);
    }
    return failed || pics.failed ? FB_EXIT_FAILURE : FB_EXIT_OK;
}
