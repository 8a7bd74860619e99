/* THE list format (fb/dataset.h): "label<TAB>path" lines, byte for byte,
 * no escapes; names it cannot hold are refused, never mangled. */
#include "check.h"
#include "fb/dataset.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/fb-lists-XXXXXX";

/* Reads text through fb_list_read. */
static int read_text(const char *text, fb_list *l)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    char err[128];
    int rc = f ? fb_list_read(f, l, err, sizeof err) : -1;
    if (f) fclose(f);
    return rc;
}

static int entry_is(const fb_list *l, size_t i, const char *label, const char *path, unsigned long line)
{
    const fb_list_entry *e = &l->entries[i];
    int same_label = label ? e->label && strcmp(e->label, label) == 0 : e->label == NULL;
    return i < l->n && same_label && strcmp(e->path, path) == 0 && e->line == line;
}

static void test_read(void)
{
    fb_list l = { 0 };
    /* line 1 labelled; 2 blank; 3 path only; 4 CRLF; 5 a second TAB belongs to
     * the path; 6 empty label; 7 no newline at the end */
    CHECK(read_text("cat\ta/1.jpg\n\ndog.jpg\nbird\tb 2.png\r\nx\ty\tz\n\tq.jpg\nowl\tlast", &l) == 0,
          "reads");
    CHECK(l.n == 6, "6 entries, the blank line skipped (got %zu)", l.n);
    CHECK(entry_is(&l, 0, "cat", "a/1.jpg", 1), "label<TAB>path");
    CHECK(entry_is(&l, 1, NULL, "dog.jpg", 3), "a path alone has no label, line 3");
    CHECK(entry_is(&l, 2, "bird", "b 2.png", 4), "CR LF: the CR is dropped, the space kept");
    CHECK(entry_is(&l, 3, "x", "y\tz", 5), "the label ends at the first TAB");
    CHECK(entry_is(&l, 4, "", "q.jpg", 6), "empty label is \"\" (callers decide)");
    CHECK(entry_is(&l, 5, "owl", "last", 7), "last line without a newline");
    fb_list_free(&l);
    CHECK(l.n == 0 && l.entries == NULL, "free empties the list");
}

static void test_writable(void)
{
    CHECK(fb_list_writable("cat", "a b/é\\x.jpg", 0), "spaces, UTF-8 and backslashes are fine");
    CHECK(fb_list_writable(NULL, "plain.jpg", 0), "no label is fine");
    CHECK(!fb_list_writable("c\tat", "a.jpg", 0), "a TAB in the label is refused");
    CHECK(fb_list_writable("cat", "a\tb.jpg", 0), "a TAB in a labelled path reads back (label ends at the first)");
    CHECK(!fb_list_writable(NULL, "a\tb.jpg", 0), "a TAB in an unlabelled path would read as a label");
    CHECK(!fb_list_writable("cat", "a\nb.jpg", 0) && !fb_list_writable("cat", "a\rb.jpg", 0) &&
          !fb_list_writable("c\nat", "a.jpg", 0), "CR or LF anywhere is refused");
    CHECK(!fb_list_writable("", "a.jpg", 0) && !fb_list_writable("cat", "", 0), "empty label or path refused");
    char buf[64] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    errno = 0;
    CHECK(fb_list_write(f, "cat", "a\nb", 0) == -1 && errno == EINVAL, "write refuses with EINVAL");
    CHECK(fb_list_write(f, "cat", "a b", 0) == 0 && fb_list_write(f, NULL, "c", 0) == 0, "write");
    fclose(f);
    CHECK(strcmp(buf, "cat\ta b\nc\n") == 0, "written bytes: \"cat<TAB>a b\\nc\\n\"");
}

/* A set written by fb_dataset_write_lists reads back the same. */
static void test_round_trip(void)
{
    char *classes[3] = { "chat noir", "Hund", "鳥" };
    fb_item items[6] = {
        { "photos/chat noir/a 1.jpg", 0, FB_TRAIN, 2 },
        { "photos/chat noir/back\\slash.jpg", 0, FB_TEST, 0 },
        { "photos/Hund/Größe.jpg", 1, FB_TRAIN, 4294967295u },
        { "photos/Hund/  two  spaces .png", 1, FB_VAL, 0 },
        { "photos/鳥/写真.webp", 2, FB_TRAIN, 0 },
        { "photos/鳥/'quote\".jpg", 2, FB_TEST, 0 },
    };
    fb_dataset ds = { classes, 3, items, 6 };
    char out[300], err[256] = "";
    snprintf(out, sizeof out, "%s/lists", dir);
    CHECK(fb_dataset_write_lists(&ds, out, err, sizeof err) == 0, "write the set: %s", err);
    fb_dataset back;
    CHECK(fb_dataset_read_lists(&back, out, NULL) == 0, "read the set back, no problems");
    /* Read back sorted by class (in order of appearance: train.tsv first,
     * so chat noir, Hund, 鳥), then path. */
    int same = back.nitems == 6 && back.nclasses == 3;
    for (int c = 0; same && c < 3; c++) same = strcmp(back.classes[c], classes[c]) == 0;
    const int order[6] = { 0, 1, 3, 2, 5, 4 };   /* byte order within each class */
    for (int i = 0; same && i < 6; i++) {
        const fb_item *a = &items[order[i]], *b = &back.items[i];
        same = strcmp(a->path, b->path) == 0 && a->label == b->label && a->split == b->split &&
               a->group == b->group;
        if (!same) printf("# item %d: '%s' %d %d\n", i, b->path, b->label, b->split);
    }
    CHECK(same, "every path, label, split and group comes back byte for byte");
    fb_dataset_free(&back);

    /* A name the format cannot hold: nothing is written, the old lists stay. */
    fb_item bad[1] = { { "photos/new\nline.jpg", 0, FB_TRAIN, 0 } };
    fb_dataset ds_bad = { classes, 3, bad, 1 };
    CHECK(fb_dataset_write_lists(&ds_bad, out, err, sizeof err) == -1 && strstr(err, "cannot be listed"),
          "a newline in a path is refused, nothing written");
    CHECK(fb_dataset_read_lists(&back, out, NULL) == 0 && back.nitems == 6,
          "the earlier lists are left in place");
    fb_dataset_free(&back);
}

static int notes_seen;
static char last_note[512];
static void count_note(void *ctx, const char *msg)
{
    (void)ctx;
    notes_seen++;
    snprintf(last_note, sizeof last_note, "%s", msg);
}

static void test_bad_lines(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/bad", dir);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/bad/train.tsv", dir);
    FILE *f = fopen(path, "w");
    fputs("cat\ta.jpg\nno-tab.jpg\n\tb.jpg\ncat\t\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/bad", dir);
    fb_notes notes = { count_note, NULL };
    fb_dataset ds;
    int problems = fb_dataset_read_lists(&ds, path, &notes);
    CHECK(problems == 3 && notes_seen == 3 && ds.nitems == 1,
          "lines 2-4 lack a label or a path: 3 problems noted, 1 item kept (got %d, %d, %zu)",
          problems, notes_seen, ds.nitems);
    CHECK(strstr(last_note, "train.tsv:4: expected 'label<TAB>path'") != NULL, "named by line: %s", last_note);
    fb_dataset_free(&ds);
}

static void test_parent_dir(void)
{
    char *a = fb_parent_dir_name("photos/cats/1.jpg"), *b = fb_parent_dir_name("/x//y//z.png");
    CHECK(a && strcmp(a, "cats") == 0, "photos/cats/1.jpg -> cats");
    CHECK(b && strcmp(b, "y") == 0, "/x//y//z.png -> y");
    CHECK(fb_parent_dir_name("/z.png") == NULL, "a file in / has no parent folder name");
    free(a);
    free(b);
}

/* Same-photo groups ride at the end of a labelled line. */
static void test_groups(void)
{
    fb_list l = { 0 };
    CHECK(read_text("cat\ta.jpg\tgroup=7\ncat\tb.jpg\ncat\tc\tgroup=x\ncat\td\tgroup=0\n"
                    "e.jpg\tgroup=3\ncat\tf\tgroup=4294967296\n", &l) == 0, "read");
    CHECK(l.n == 6 && entry_is(&l, 0, "cat", "a.jpg", 1) && l.entries[0].group == 7,
          "'cat<TAB>a.jpg<TAB>group=7': path a.jpg, group 7");
    CHECK(entry_is(&l, 1, "cat", "b.jpg", 2) && l.entries[1].group == 0, "no group: 0");
    CHECK(entry_is(&l, 2, "cat", "c\tgroup=x", 3) && l.entries[2].group == 0 &&
          entry_is(&l, 3, "cat", "d\tgroup=0", 4) && entry_is(&l, 5, "cat", "f\tgroup=4294967296", 6),
          "not a number from 1 to 2^32-1: part of the path, as before groups existed");
    CHECK(entry_is(&l, 4, "e.jpg", "group=3", 5) && l.entries[4].group == 0,
          "one TAB: label and path, never a group");
    fb_list_free(&l);
    CHECK(!fb_list_writable(NULL, "a.jpg", 3), "a group needs a label");
    CHECK(!fb_list_writable("cat", "a\tb.jpg", 3), "a grouped path may not hold a TAB");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fb_list_write(f, "cat", "x y.jpg", 12);
    fclose(f);
    CHECK(strcmp(text, "cat\tx y.jpg\tgroup=12\n") == 0, "written as 'cat<TAB>x y.jpg<TAB>group=12'");
    free(text);
}

int main(void)
{
    test_groups();
    if (!mkdtemp(dir)) SKIP_ALL("mkdtemp");
    test_read();
    test_writable();
    test_round_trip();
    test_bad_lines();
    test_parent_dir();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) CHECK(0, "cleanup");
    return check_done();
}
