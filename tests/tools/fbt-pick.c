/* Bench helper (scripts/bench-augment): the records of chosen photos and
 * of some of their variants, header, ids, labels and groups kept.
 *   fbt-pick [-a N] [-f] IDS < in.fbt > out.fbt
 * IDS lists photo ids one a line (a record "<id>#..." is a variant of
 * photo <id>), each optionally followed by a tab and a new label for the
 * photo and its variants (then the output's classes are those labels).
 * Kept: the listed photos, their variants "#aug1".."#augN" (-a N; default
 * none) and "#flip" (-f). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fb/stream.h"
#include "common/common.h"

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The photo id key against a line "id" or "id\tlabel". */
static int by_id(const void *a, const void *b)
{
    const char *k = *(char *const *)a, *line = *(char *const *)b;
    size_t len = strcspn(line, "\t");
    int c = strncmp(k, line, len);
    return c ? c : k[len] != 0;
}

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    int naug = 0, flip = 0, c;
    while ((c = getopt(argc, argv, "a:f")) != -1) {
        if (c == 'a') naug = atoi(optarg);
        else if (c == 'f') flip = 1;
        else return 2;
    }
    if (optind != argc - 1) fb_die(2, "usage: fbt-pick [-a N] [-f] IDS < in.fbt > out.fbt");
    FILE *f = fopen(argv[optind], "r");
    if (!f) fb_die(1, "%s: cannot open", argv[optind]);
    char **ids = NULL, line[8192];
    int relabel = 0;
    size_t n = 0, cap = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        relabel |= strchr(line, '\t') != NULL;
        if (n == cap) ids = realloc(ids, (cap = cap ? 2 * cap : 256) * sizeof *ids);
        ids[n++] = fb_xstrdup(line);
    }
    fclose(f);
    qsort(ids, n, sizeof *ids, cmp);   /* "id\tlabel" sorts by id: '\t' is below every path byte */
    char err[256];
    fb_reader *r = fb_reader_open(stdin, "stdin", err, sizeof err);
    if (!r) fb_die(1, "%s", err);
    fb_header h;
    if (fb_header_copy(&h, fb_reader_header(r))) fb_die(1, "out of memory");
    if (relabel) {
        for (int c = 0; c < h.nclasses; c++) free(h.classes[c]);
        h.nclasses = 0;
        fb_header hh;
        fb_header_init(&hh, h.dtype, h.rank, h.dims);
        hh.provenance = fb_xstrdup(h.provenance ? h.provenance : "");
        for (size_t i = 0; i < n; i++) {
            const char *tab = strchr(ids[i], '\t');
            if (tab && fb_header_class_index(&hh, tab + 1) < 0) fb_header_add_class(&hh, tab + 1);
        }
        fb_header_free(&h);
        h = hh;
    }
    fb_writer *w = fb_writer_open(stdout, &h, 0, err, sizeof err);
    if (!w) fb_die(1, "%s", err);
    fb_record rec;
    int rc;
    while ((rc = fb_reader_next(r, &rec)) == 1) {
        char *id = fb_xstrdup(rec.id), *hash = strrchr(id, '#'), *key = id;
        int keep = 1;
        if (hash) {
            int k;
            char tail;
            *hash = 0;
            if (strcmp(hash + 1, "flip") == 0) keep = flip;
            else if (sscanf(hash + 1, "aug%d%c", &k, &tail) == 1) keep = k >= 1 && k <= naug;
            else { *hash = '#'; }   /* a '#' of the path itself */
        }
        char **hit = keep ? bsearch(&key, ids, n, sizeof *ids, by_id) : NULL;
        int32_t label = rec.label;
        if (hit && relabel) {
            const char *tab = strchr(*hit, '\t');
            label = tab ? fb_header_class_index(&h, tab + 1) : FB_NO_LABEL;
        }
        if (hit && fb_writer_put_grouped(w, rec.id, label, rec.group, rec.data))
            fb_die(1, "%s", fb_writer_error(w));
        free(id);
    }
    if (rc < 0) fb_die(1, "%s", fb_reader_error(r));
    if (fb_writer_close(w)) fb_die(1, "%s", fb_writer_error(w));
    fb_reader_close(r);
    fb_header_free(&h);
    return 0;
}
