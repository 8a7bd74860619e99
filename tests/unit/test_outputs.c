/* What the tools' outputs are made of: text made valid UTF-8 for --json
 * (cmd/common/json.c), TSV escapes (lib/export/tsv.c), and fb_atomic's
 * set commit and temp registry (lib/core/files.c). */
#include "check.h"
#include "common/json.h"
#include "fb/core.h"
#include "fb/export.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int utf8_is(const char *in, const char *want)
{
    char *got = fb_utf8_text(in);
    int same = strcmp(got, want) == 0;
    if (!same) printf("#   got '%s' want '%s'\n", got, want);
    free(got);
    return same;
}

static void test_utf8(void)
{
    CHECK(utf8_is("plain", "plain"), "ASCII passes through");
    CHECK(utf8_is("caf\xc3\xa9 \xf0\x9f\x90\x88", "caf\xc3\xa9 \xf0\x9f\x90\x88"), "valid UTF-8 (2 and 4 bytes) passes through");
    CHECK(utf8_is("caf\xe9", "caf\xc3\xa9"), "a Latin-1 byte becomes its code point (0xE9 -> U+00E9)");
    CHECK(utf8_is("\xff\x80", "\xc3\xbf\xc2\x80"), "bytes that start nothing are read as Latin-1 one by one");
    CHECK(utf8_is("\xc0\x80", "\xc3\x80\xc2\x80"), "an overlong NUL is not UTF-8");
    CHECK(utf8_is("\xed\xa0\x80", "\xc3\xad\xc2\xa0\xc2\x80"), "a UTF-16 surrogate is not UTF-8");
    CHECK(utf8_is("\xf4\x90\x80\x80", "\xc3\xb4\xc2\x90\xc2\x80\xc2\x80"), "above U+10FFFF is not UTF-8");
    CHECK(utf8_is("\xe2\x82", "\xc3\xa2\xc2\x82"), "a sequence cut short is not UTF-8");
    json_t *s = fb_json_text("caf\xe9");
    CHECK(s && strcmp(json_string_value(s), "caf\xc3\xa9") == 0, "jansson takes what fb_json_text makes");
    json_decref(s);
}

static void test_tsv_escape(void)
{
    char *e = fb_tsv_escape("a\tb\nc\\d\re");
    CHECK(e && strcmp(e, "a\\tb\\nc\\\\d\\re") == 0, "TAB, newline, backslash, CR escaped: %s", e);
    char *f[2];
    char line[64];
    snprintf(line, sizeof line, "%s\tx", e);
    CHECK(fb_tsv_split(line, f, 2) == 2 && strcmp(f[0], "a\tb\nc\\d\re") == 0, "fb_tsv_split reads it back");
    free(e);
}

static char dir[] = "/tmp/fb-outputs-XXXXXX";

static char *path_in(const char *name)
{
    static char p[4][256];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

static int holds(const char *path, const char *text)
{
    char buf[64] = { 0 };
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

static int temps_left(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "ls -A %s | grep -q 'tmp'", dir);
    return system(cmd) == 0;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_commit_set(void)
{
    if (!mkdtemp(dir)) SKIP_ALL("no temporary folder");
    put(path_in("a"), "old a");
    put(path_in("c"), "old c");
    mkdir(path_in("b"), 0700);   /* the second rename fails */
    fb_atomic set[3];
    const char *names[3] = { "a", "b", "c" };
    for (int i = 0; i < 3; i++) {
        CHECK(fb_atomic_open(&set[i], path_in(names[i])) == 0, "open %s", names[i]);
        fputs("new", set[i].f);
    }
    char err[256] = "";
    CHECK(fb_atomic_commit_set(set, 3, err, sizeof err) != 0, "a set with a failing rename fails: %s", err);
    CHECK(strstr(err, "/b: Is a directory") != NULL, "the message names the file");
    CHECK(holds(path_in("a"), "old a") && holds(path_in("c"), "old c"), "the old set is whole");
    CHECK(!temps_left(), "no temp or kept copy remains");

    rmdir(path_in("b"));
    for (int i = 0; i < 3; i++) {
        fb_atomic_open(&set[i], path_in(names[i]));
        fputs("new", set[i].f);
    }
    CHECK(fb_atomic_commit_set(set, 3, err, sizeof err) == 0, "a set commits");
    CHECK(holds(path_in("a"), "new") && holds(path_in("b"), "new") && holds(path_in("c"), "new"),
          "every file is new, one that did not exist too");
    CHECK(!temps_left(), "no temp or kept copy remains");

    /* a signal handler's view: the temp of a write in progress is removed */
    fb_atomic a;
    fb_atomic_open(&a, path_in("d"));
    CHECK(access(a.tmp, F_OK) == 0, "the temp exists while writing");
    fb_atomic_unlink_pending();
    CHECK(access(a.tmp, F_OK) != 0, "fb_atomic_unlink_pending removes it");
    fb_atomic_abort(&a);
    fb_atomic_open(&a, path_in("e"));
    fb_atomic_commit(&a);
    fb_atomic_unlink_pending();
    CHECK(access(path_in("e"), F_OK) == 0, "a committed file is no longer pending");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
}

int main(void)
{
    test_utf8();
    test_tsv_escape();
    test_commit_set();
    return check_done();
}
