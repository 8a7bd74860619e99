/* Leftovers of killed writers (lib/core/files.c): a writer killed by SIGKILL
 * leaves FILE.tmp<pid>-<host>.XXXXXX (and, during a set's commit, .old and
 * .none beside each temp).  The next writer of FILE removes exactly those
 * of dead writers and puts an interrupted set back to all old or all new. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "fb/core.h"

static char top[64] = "/tmp/fb-test-atomic-XXXXXX";
static char dir[200];     /* the folder of the current case: a new one each (clear) */
static char host[40];

/* The host part of the naming rule, as files.c makes it. */
static void host_tag(void)
{
    char h[256] = "";
    if (gethostname(h, sizeof h - 1) != 0 || !h[0]) strcpy(h, "host");
    size_t k = 0;
    for (const char *c = h; *c && k < 32; c++)
        host[k++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ? *c : '_';
    host[k] = 0;
}

/* A pid that is not alive: a child that has exited and been reaped. */
static long dead_pid(void)
{
    pid_t p = fork();
    if (p == 0) _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

static const char *at(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void put(const char *name, const char *text)
{
    FILE *f = fopen(at(name), "w");
    fputs(text, f);
    fclose(f);
}

/* The content of name, "(none)" when it does not exist. */
static const char *get(const char *name)
{
    static char buf[4][64];
    static int k;
    k = (k + 1) % 4;
    FILE *f = fopen(at(name), "r");
    if (!f) return "(none)";
    size_t n = fread(buf[k], 1, sizeof buf[k] - 1, f);
    buf[k][n] = 0;
    fclose(f);
    return buf[k];
}

static int exists(const char *name) { return access(at(name), F_OK) == 0; }

/* The temp name of FILE for writer pid, with suffix ("", ".old", ".none"). */
static const char *temp(const char *file, long pid, const char *x6, const char *suffix)
{
    static char buf[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s.tmp%ld-%s.%s%s", file, pid, host, x6, suffix);
    return buf[k];
}

/* Writes FILE through fb_atomic with text: the next writer. */
static int write_file(const char *file, const char *text)
{
    char err[256];
    return fb_write_file_atomic(at(file), text, strlen(text), err, sizeof err);
}

static int count_entries(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
    return n;
}

/* A new, empty folder for the next case: a process cleans a folder once,
 * before its first write there. */
static void clear(void)
{
    static int k;
    snprintf(dir, sizeof dir, "%s/case%d", top, k++);
    if (mkdir(dir, 0777) != 0) printf("# could not make %s\n", dir);
}

/* A dead writer's temps go (whichever file they were for), a live one's
 * stay, and nothing not named by the rule, or another host's, is touched. */
static void test_dead_temps_removed(void)
{
    clear();
    long dead = dead_pid(), live = (long)getppid();
    put("head.bin", "old");
    put(temp("head.bin", dead, "Ab12Cd", ""), "half");
    put(temp("head.bin", dead, "Zz99zz", ".old"), "old");
    put(temp("head.bin", live, "Qw34Er", ""), "live");
    put("head.bin.tmpAb12Cd", "older naming");                       /* not the rule */
    char other_host[256];
    snprintf(other_host, sizeof other_host, "head.bin.tmp%ld-%sX.Ab12Cd", dead, host);
    put(other_host, "another host");
    char no_x6[256];
    snprintf(no_x6, sizeof no_x6, "head.bin.tmp%ld-%s.Ab12C", dead, host);
    put(no_x6, "five characters");
    long dead_other = dead_pid();
    put(temp("other.bin", dead_other, "Ab12Cd", ""), "another file's");
    put("head.bin.tmp", "plain");
    CHECK(write_file("head.bin", "new") == 0 && strcmp(get("head.bin"), "new") == 0, "the next write of head.bin");
    CHECK(!exists(temp("head.bin", dead, "Ab12Cd", "")) && !exists(temp("head.bin", dead, "Zz99zz", ".old")),
          "the dead writer's temp and .old are gone");
    CHECK(strcmp(get(temp("head.bin", live, "Qw34Er", "")), "live") == 0, "a live writer's temp stays");
    CHECK(exists("head.bin.tmpAb12Cd") && exists(other_host) && exists(no_x6) && exists("head.bin.tmp"),
          "names outside the rule, and another host's, stay");
    CHECK(!exists(temp("other.bin", dead_other, "Ab12Cd", "")), "another file's dead temp is gone too");
    int left = count_entries();
    CHECK(left == 6, "6 entries left (head.bin, the live temp, 4 others): %d", left);
    put(temp("head.bin", dead, "Ab12Cd", ""), "died later");
    CHECK(write_file("head.bin", "again") == 0 && exists(temp("head.bin", dead, "Ab12Cd", "")),
          "the folder is cleaned once a process: a second write there reads it no more");
}

/* A set (train, val, test) cut off by SIGKILL at each step of its commit,
 * as its files are left then; the next write of one member makes the set
 * all old or all new. */
static void test_set_interrupted(void)
{
    static const char *const L[3] = { "train.tsv", "val.tsv", "test.tsv" };
    static const char *const X[3] = { "aaaaa1", "bbbbb2", "ccccc3" };
    for (int step = 0; step < 6; step++) {
        /* step 0: temps written; 1: .old of the first only; 2: all .old,
         * no rename; 3: one renamed; 4: two renamed; 5: all renamed, the
         * last .old not yet removed.  test.tsv is new in this set (.none). */
        clear();
        long dead = dead_pid();
        put(L[0], "old0");
        put(L[1], "old1");
        for (int i = 0; i < 3; i++) put(temp(L[i], dead, X[i], ""), i == 0 ? "new0" : i == 1 ? "new1" : "new2");
        int marks = step == 0 ? 0 : step == 1 ? 1 : 3;
        for (int i = 0; i < marks; i++) {
            if (i < 2) link(at(L[i]), at(temp(L[i], dead, X[i], ".old")));
            else put(temp(L[i], dead, X[i], ".none"), "");
        }
        int renamed = step < 3 ? 0 : step - 2;
        for (int i = 0; i < renamed; i++) rename(at(temp(L[i], dead, X[i], "")), at(L[i]));
        if (step == 5) {
            unlink(at(temp(L[0], dead, X[0], ".old")));
            unlink(at(temp(L[1], dead, X[1], ".old")));
        }
        fb_atomic a[3];   /* the next run opens every member, as fb-split does */
        int rc = fb_atomic_open(&a[0], at(L[1])) | fb_atomic_open(&a[1], at(L[0])) | fb_atomic_open(&a[2], at(L[2]));
        const char *v0 = get(L[0]), *v1 = get(L[1]), *v2 = get(L[2]);
        int all_old = strcmp(v0, "old0") == 0 && strcmp(v1, "old1") == 0 && strcmp(v2, "(none)") == 0;
        int all_new = strcmp(v0, "new0") == 0 && strcmp(v1, "new1") == 0 && strcmp(v2, "new2") == 0;
        int want_new = step == 5;
        CHECK(rc == 0 && (want_new ? all_new : all_old), "a set cut off at step %d is all %s: %s %s %s", step,
              want_new ? "new" : "old", v0, v1, v2);
        int left = count_entries();
        CHECK(left == (want_new ? 6 : 5), "and only the next run's temps are left: %d entries", left);
        if (left != (want_new ? 6 : 5)) {
            char cmd[600];
            fflush(stdout);
            snprintf(cmd, sizeof cmd, "ls -A %s | sed 's/^/# /'", dir);
            if (system(cmd) != 0) printf("# ls failed\n");
        }
        for (int i = 0; i < 3; i++) fb_atomic_abort(&a[i]);
    }
}

/* The real thing: fb_atomic_commit_set leaves no .old or .none, and its
 * temps follow the rule with this process's pid. */
static void test_commit_set_names(void)
{
    clear();
    put("a.tsv", "old");
    fb_atomic s[2];
    fb_atomic_open(&s[0], at("a.tsv"));
    fb_atomic_open(&s[1], at("b.tsv"));
    char want[64];
    snprintf(want, sizeof want, ".tmp%ld-%s.", (long)getpid(), host);
    CHECK(strstr(s[0].tmp, want) && strlen(strstr(s[0].tmp, want)) == strlen(want) + 6,
          "the temp is named by the rule: %s", s[0].tmp);
    fputs("new a", s[0].f);
    fputs("new b", s[1].f);
    char err[256];
    CHECK(fb_atomic_commit_set(s, 2, err, sizeof err) == 0 && strcmp(get("a.tsv"), "new a") == 0 &&
          strcmp(get("b.tsv"), "new b") == 0 && count_entries() == 2, "a set committed leaves only its files");
}

int main(void)
{
    if (!mkdtemp(top)) SKIP_ALL("cannot make a temporary folder");
    host_tag();
    test_dead_temps_removed();
    test_set_interrupted();
    test_commit_set_names();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", top);
    if (system(cmd) != 0) printf("# could not remove %s\n", top);
    return check_done();
}
