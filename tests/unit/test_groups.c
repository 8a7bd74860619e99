/* Same-photo groups (fb/dataset.h): THE rule fb-split and fb-audit share,
 * fb_same_photo_join, and what fb_photo_groups says of each group.  Every
 * expectation is worked out by hand from the keys below. */
#include "check.h"
#include "fb/dataset.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/fb-groups-XXXXXX";

static void write_file(const char *name, const char *bytes, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) { fputs(bytes, f); fclose(f); }
}

/* A pHash with the given whole frame and crops far from any test value. */
static fb_phash hash_of(uint64_t full)
{
    fb_phash h = { .full = full };
    for (int k = 0; k < FB_PHASH_CROPS; k++) h.crop[k] = 0x5555555555555555ULL;
    return h;
}

static void test_join_and_describe(void)
{
    /* Files (index: bytes, label, split, pHash full frame):
     *   0 "AAAA" cat train 0x0     \  0 and 3 have identical bytes
     *   1 "BBBB" cat train 0xFF       (8 bits from 0: near at maxdist 8)
     *   2 "CCCC" dog test  0xF0F0F0F0F0F0F0F0 (32 bits from 0: far)
     *   3 "AAAA" dog test  0xFFFF0000 (16 bits from 0: joined only by bytes)
     *   4 "AAAB" cat val   0xFFFF0001 (same size and, here, a forged equal
     *                      digest as 0: the byte check must refuse it; 1 bit
     *                      from 3 by pHash)
     *   5 "DDDD" dog val   no pHash (undecodable), digest only
     * At maxdist 8: bytes join {0,3}; pHash joins 0-1 (8 bits) and 3-4 (1
     * bit); 2 and 5 stay alone.  One group {0,1,3,4}. */
    char path[6][256];
    const char *bytes[6] = { "AAAA", "BBBB", "CCCC", "AAAA", "AAAB", "DDDD" };
    int label[6] = { 0, 0, 1, 1, 0, 1 }, split[6] = { FB_TRAIN, FB_TRAIN, FB_TEST, FB_TEST, FB_VAL, FB_VAL };
    uint64_t full[6] = { 0, 0xFF, 0xF0F0F0F0F0F0F0F0ULL, 0xFFFF0000ULL, 0xFFFF0001ULL, 0 };
    fb_photo_key keys[6];
    for (int i = 0; i < 6; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        write_file(name, bytes[i], path[i], sizeof path[i]);
        keys[i] = (fb_photo_key){ .path = path[i], .label = label[i], .split = split[i] };
        char err[256];
        CHECK(fb_photo_key_read(&keys[i], 0, err, sizeof err) == 0 && keys[i].has_digest &&
              keys[i].size == 4, "file %d: digest read, size 4", i);
        keys[i].phash = hash_of(full[i]);
        keys[i].has_phash = i != 5;
    }
    CHECK(keys[0].digest == keys[3].digest && keys[0].digest != keys[1].digest,
          "identical bytes, identical digest; different bytes, different digest");
    keys[4].digest = keys[0].digest;   /* a digest collision */

    fb_groups g;
    CHECK(fb_groups_init(&g, 6) == 0 && fb_same_photo_join(&g, keys, 6, 8) == 0, "join at 8 bits");
    size_t rep[6];
    for (size_t i = 0; i < 6; i++) rep[i] = fb_groups_find(&g, i);
    CHECK(rep[0] == 0 && rep[1] == 0 && rep[3] == 0 && rep[4] == 0 && rep[2] == 2 && rep[5] == 5,
          "groups {0,1,3,4} {2} {5} (got %zu %zu %zu %zu %zu %zu)", rep[0], rep[1], rep[2], rep[3],
          rep[4], rep[5]);
    size_t n;
    fb_photo_group *gr = fb_photo_groups(&g, keys, 6, &n);
    CHECK(gr && n == 1, "one group of two or more (got %zu)", n);
    if (gr && n == 1) {
        CHECK(gr[0].n == 4 && gr[0].members[0] == 0 && gr[0].members[1] == 1 &&
              gr[0].members[2] == 3 && gr[0].members[3] == 4, "members 0 1 3 4, ascending");
        CHECK(!gr[0].identical, "not all byte-identical");
        CHECK(gr[0].max_bits == 17, "largest whole-frame distance to member 0: 17 bits (4), got %d",
              gr[0].max_bits);
        CHECK(gr[0].splits == (1u << FB_TRAIN | 1u << FB_VAL | 1u << FB_TEST), "in all three splits");
        CHECK(gr[0].nclasses == 2, "labelled as 2 classes");
        CHECK(fb_photo_group_is_leak(&gr[0]), "spanning splits is a leak");
    }
    fb_photo_groups_free(gr, n);
    fb_groups_free(&g);

    /* --no-near-dups (maxdist -1): only the identical pair 0-3. */
    fb_groups_init(&g, 6);
    fb_same_photo_join(&g, keys, 6, -1);
    gr = fb_photo_groups(&g, keys, 6, &n);
    CHECK(gr && n == 1 && gr[0].n == 2 && gr[0].members[1] == 3 && gr[0].identical &&
          gr[0].max_bits == 16, "bytes only: {0,3}, byte-identical, pHash 16 bits apart");
    if (gr && n == 1) {
        gr[0].splits = 1u << FB_TEST;
        CHECK(!fb_photo_group_is_leak(&gr[0]), "a group within one split is no leak");
    }
    fb_photo_groups_free(gr, n);
    fb_groups_free(&g);

    /* Member 5 has no pHash: a group with it has max_bits -1 (unknown). */
    fb_groups_init(&g, 6);
    fb_groups_join(&g, 2, 5);
    gr = fb_photo_groups(&g, keys, 6, &n);
    CHECK(gr && n == 1 && gr[0].max_bits == -1 && gr[0].nclasses == 1 &&
          gr[0].splits == (1u << FB_TEST | 1u << FB_VAL), "without a pHash the distance is unknown");
    fb_photo_groups_free(gr, n);
    fb_groups_free(&g);

    fb_photo_key missing = { .path = "/nonexistent/fb-groups" };
    char err[256] = "";
    CHECK(fb_photo_key_read(&missing, 1, err, sizeof err) == -1 && strstr(err, "cannot read") &&
          !missing.has_digest, "a missing file cannot be read: %s", err);
}

static void test_no_groups(void)
{
    fb_groups g;
    fb_groups_init(&g, 0);
    size_t n = 99;
    fb_photo_group *gr = fb_photo_groups(&g, NULL, 0, &n);
    CHECK(gr && n == 0, "no files, no groups (an empty array, not an error)");
    fb_photo_groups_free(gr, n);
    fb_groups_free(&g);
}

int main(void)
{
    if (!mkdtemp(dir)) SKIP_ALL("mkdtemp");
    test_join_and_describe();
    test_no_groups();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) CHECK(0, "cleanup");
    return check_done();
}
