/* Ratio parsing, largest-remainder targets and group-aware assignment. */
#include "check.h"
#include "fb/core.h"
#include "fb/dataset.h"
#include "common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_ratios(void)
{
    double r[3];
    char err[256];
    CHECK(fb_parse_ratios("70:15:15", r, err, sizeof err) == 0 && fabs(r[0] - 0.7) < 1e-12 &&
          fabs(r[2] - 0.15) < 1e-12, "70:15:15");
    CHECK(fb_parse_ratios("2:1:1", r, err, sizeof err) == 0 && fabs(r[0] - 0.5) < 1e-12, "2:1:1 normalised");
    CHECK(fb_parse_ratios("0.8:0:0.2", r, err, sizeof err) == 0 && r[1] == 0, "zero val allowed");
    const char *bad[] = { "", "70", "70:30", "70:15:15:1", "a:1:1", "-1:1:1", "0:1:1", "1::1",
                          "1:1:", " 1:1:1", "1:1:1x", "nan:1:1", "inf:1:1" };
    int rejected = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        rejected += fb_parse_ratios(bad[i], r, err, sizeof err) == -1 && strstr(err, "bad ratio");
    CHECK(rejected == (int)(sizeof bad / sizeof bad[0]), "%d of %zu malformed ratios rejected",
          rejected, sizeof bad / sizeof bad[0]);
}

static void test_targets(void)
{
    double r[3] = { 0.7, 0.15, 0.15 };
    size_t t[3];
    CHECK(fb_split_targets(10, r, t) == 0 && t[0] == 7 && t[1] == 2 && t[2] == 1,
          "10 -> 7/2/1 (remainder tie to val) got %zu/%zu/%zu", t[0], t[1], t[2]);
    CHECK(fb_split_targets(20, r, t) == 0 && t[0] == 14 && t[1] == 3 && t[2] == 3, "20 -> 14/3/3");
    CHECK(fb_split_targets(3, r, t) == 0 && t[0] == 1 && t[1] == 1 && t[2] == 1,
          "3 -> 1/1/1 (every split non-empty) got %zu/%zu/%zu", t[0], t[1], t[2]);
    CHECK(fb_split_targets(4, r, t) == 0 && t[0] == 2 && t[1] == 1 && t[2] == 1, "4 -> 2/1/1");
    CHECK(fb_split_targets(2, r, t) == -1, "2 files cannot fill 3 splits");
    double r2[3] = { 0.8, 0, 0.2 };
    CHECK(fb_split_targets(2, r2, t) == 0 && t[0] == 1 && t[1] == 0 && t[2] == 1, "80:0:20 of 2 -> 1/0/1");
    double r3[3] = { 1, 0, 0 };
    CHECK(fb_split_targets(1, r3, t) == 0 && t[0] == 1, "100:0:0 of 1");
    /* sums and closeness for many sizes and ratios */
    fb_rng rng;
    fb_rng_seed(&rng, 5);
    int ok = 0, total = 0;
    for (int k = 0; k < 200; k++) {
        double a = 0.1 + fb_rng_uniform(&rng), b = fb_rng_uniform(&rng), c = fb_rng_uniform(&rng);
        double s = a + b + c, rr[3] = { a / s, b / s, c / s };
        size_t n = 3 + fb_rng_below(&rng, 500);
        total++;
        if (fb_split_targets(n, rr, t) != 0) continue;
        int good = t[0] + t[1] + t[2] == n;
        for (int i = 0; i < 3; i++) good &= fabs((double)t[i] - n * rr[i]) < 2 && t[i] >= 1;
        ok += good;
    }
    CHECK(ok == total, "200 random cases: sums exact, each within 2 of exact share (%d ok)", ok);
}

static void test_assign(void)
{
    fb_set_progname("test_split");
    fb_dataset ds = { 0 };
    char *classes[2] = { "a", "b" };
    ds.classes = classes;
    ds.nclasses = 2;
    ds.nitems = 60;
    ds.items = calloc(ds.nitems, sizeof *ds.items);
    size_t group[60];
    for (size_t i = 0; i < ds.nitems; i++) {
        ds.items[i].label = i < 40 ? 0 : 1;
        ds.items[i].split = FB_NO_SPLIT;
        group[i] = i;
    }
    double r[3] = { 0.7, 0.15, 0.15 };
    CHECK(fb_split_assign(&ds, group, r, 1, NULL) == 0, "assign singletons");
    size_t count[2][3] = { { 0 } };
    for (size_t i = 0; i < ds.nitems; i++) count[ds.items[i].label][ds.items[i].split]++;
    CHECK(count[0][0] == 28 && count[0][1] == 6 && count[0][2] == 6, "class a: 28/6/6");
    CHECK(count[1][0] == 14 && count[1][1] == 3 && count[1][2] == 3, "class b: 14/3/3");
    int first[60];
    for (size_t i = 0; i < ds.nitems; i++) first[i] = ds.items[i].split;
    fb_split_assign(&ds, group, r, 1, NULL);
    int same = 1;
    for (size_t i = 0; i < ds.nitems; i++) same &= first[i] == ds.items[i].split;
    CHECK(same, "same seed, same assignment");

    /* groups of 5 in class a: 0-4, 5-9 (and one spanning classes: 38 with 45) */
    for (size_t i = 0; i < 10; i++) group[i] = i < 5 ? 0 : 5;
    group[45] = 38;
    int together = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        fb_split_assign(&ds, group, r, seed, NULL);
        int ok = ds.items[45].split == ds.items[38].split;
        for (size_t i = 0; i < 10; i++) ok &= ds.items[i].split == ds.items[group[i]].split;
        together += ok;
    }
    CHECK(together == 20, "groups stay in one split for 20 seeds (%d)", together);
    free(ds.items);
}

int main(void)
{
    test_ratios();
    test_targets();
    test_assign();
    return check_done();
}
