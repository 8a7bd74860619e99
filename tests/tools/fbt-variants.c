/* Test fixture for test-time augmentation: rewrites a stream as photos with
 * variants, the way fb-prep --augment/--tta lays them out.
 *   fbt-variants [-k K] [-u] < in.fbt > out.fbt
 * Records are taken K at a time (default 2): the first becomes photo
 * "p<i>", the others its variants "p<i>#aug<j>", all with the first's label
 * and group i+1.  -u writes group 0 instead (no group: every record scored
 * on its own), with the same ids and data. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fb/stream.h"
#include "common/common.h"

int main(int argc, char **argv)
{
    fb_set_progname(argv[0]);
    int k = 2, ungrouped = 0, c;
    while ((c = getopt(argc, argv, "k:u")) != -1) {
        if (c == 'k') k = atoi(optarg);
        else if (c == 'u') ungrouped = 1;
        else return 2;
    }
    char err[256];
    fb_reader *r = fb_reader_open(stdin, "stdin", err, sizeof err);
    if (!r) fb_die(1, "%s", err);
    fb_writer *w = fb_writer_open(stdout, fb_reader_header(r), 0, err, sizeof err);
    if (!w) fb_die(1, "%s", err);
    fb_record rec;
    int rc;
    int32_t label = FB_NO_LABEL;
    for (uint64_t i = 0; (rc = fb_reader_next(r, &rec)) == 1; i++) {
        uint64_t photo = i / (uint64_t)k, j = i % (uint64_t)k;
        char id[64];
        if (j == 0) {
            snprintf(id, sizeof id, "p%llu", (unsigned long long)photo);
            label = rec.label;
        } else {
            snprintf(id, sizeof id, "p%llu#aug%llu", (unsigned long long)photo, (unsigned long long)j);
        }
        uint32_t group = ungrouped ? FB_NO_GROUP : (uint32_t)photo + 1;
        if (fb_writer_put_grouped(w, id, label, group, rec.data)) fb_die(1, "%s", fb_writer_error(w));
    }
    if (rc < 0) fb_die(1, "%s", fb_reader_error(r));
    if (fb_writer_close(w)) fb_die(1, "%s", fb_writer_error(w));
    fb_reader_close(r);
    return 0;
}
