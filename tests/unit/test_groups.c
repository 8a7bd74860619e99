/* Same-photo groups (fb/dataset.h): THE rule fb-split and fb-audit share,
 * fb_same_photo_join, and what fb_photo_groups says of each group.  Every
 * expectation is worked out by hand from the keys below. */
#include "check.h"
#include "fb/dataset.h"
#include "fb/stream.h"

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

/* An fb_notes that keeps the last message in ctx (512 bytes). */
static void note_into(void *ctx, const char *msg)
{
    snprintf(ctx, 512, "%s", msg);
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

/* Writes a 3-d feature stream at path: one record per (id, vector). */
static void write_features(const char *path, const char *const *ids, const float (*v)[3], int n)
{
    FILE *f = fopen(path, "wb");
    uint32_t dims[1] = { 3 };
    fb_header h;
    fb_header_init(&h, FB_F32, 1, dims);
    char err[256];
    fb_writer *w = f ? fb_writer_open(f, &h, 0, err, sizeof err) : NULL;
    for (int i = 0; w && i < n; i++) fb_writer_put(w, ids[i], FB_NO_LABEL, v[i]);
    if (w) fb_writer_close(w);
    fb_header_free(&h);
    if (f) fclose(f);
}

static void test_join_features(void)
{
    /* Four photos a, b, c, d and a stream with records for a, b, c and a
     * stranger x; d has no record.  Lengths do not matter (b is twice unit
     * length).  Worked by hand:
     *   a = (1, 0, 0)
     *   b = 2 * (0.96, 0.28, 0)        cos(a,b) = 0.96
     *   c = (0.94, 0, 0.3411744)       |c| = 1, cos(a,c) = 0.94,
     *                                  cos(b,c) = 0.96 * 0.94 = 0.9024
     * At the default 0.95: only {a, b}.  At 0.93: a-b and a-c, so {a, b, c}.
     * At 0.97: nothing. */
    char path[512];
    snprintf(path, sizeof path, "%s/feats.fbt", dir);
    const char *ids[] = { "p/a.jpg", "p/b.jpg", "p/c.jpg", "elsewhere/x.jpg" };
    const float v[4][3] = { { 1, 0, 0 }, { 1.92f, 0.56f, 0 }, { 0.94f, 0, 0.3411744f }, { 0, 1, 0 } };
    write_features(path, ids, v, 4);
    fb_photo_key keys[4] = { { .path = "p/a.jpg" }, { .path = "p/b.jpg" }, { .path = "p/c.jpg" },
                             { .path = "p/d.jpg" } };
    char said[512] = "";
    double cuts[3] = { FB_FEATURE_SAME_COSINE, 0.93, 0.97 };
    const size_t want_ab[3] = { 0, 0, 1 }, want_ac[3] = { 2, 0, 2 };
    for (int t = 0; t < 3; t++) {
        fb_groups g;
        fb_groups_init(&g, 4);
        size_t rows = 99;
        said[0] = 0;
        int rc = fb_same_photo_join_features(&g, keys, 4, path, cuts[t], &rows,
                                             &(fb_notes){ note_into, said });
        CHECK(rc == 0 && rows == 3, "cosine %.2f: 3 of 4 records name a photo (rc %d, rows %zu)",
              cuts[t], rc, rows);
        CHECK(strstr(said, "1 record names no file of this set") != NULL, "the stranger is noted: %s", said);
        size_t ab = fb_groups_find(&g, 1) == fb_groups_find(&g, 0) ? 0 : 1;
        size_t ac = fb_groups_find(&g, 2) == fb_groups_find(&g, 0) ? 0 : 2;
        CHECK(ab == want_ab[t] && ac == want_ac[t] && fb_groups_find(&g, 3) == 3,
              "cosine %.2f: a-b %s, a-c %s, d alone", cuts[t], ab ? "apart" : "joined",
              ac ? "apart" : "joined");
        fb_groups_free(&g);
    }
    /* Not a feature stream: told, nothing joined. */
    fb_groups g;
    fb_groups_init(&g, 4);
    size_t rows = 99;
    said[0] = 0;
    int rc = fb_same_photo_join_features(&g, keys, 4, "/nonexistent/f.fbt", 0.95, &rows,
                                         &(fb_notes){ note_into, said });
    CHECK(rc == 1 && rows == 0 && strstr(said, "/nonexistent/f.fbt"), "a missing stream: rc 1, noted: %s", said);
    fb_groups_free(&g);
}

static void test_check_classes(void)
{
    char *one[] = { "lucy" }, *two[] = { "lucy", "other" };
    fb_dataset ds = { .classes = one, .nclasses = 1 };
    char err[256];
    CHECK(fb_dataset_check_classes(&ds, "photos", err, sizeof err) == -1 &&
          strcmp(err, "photos: only one class ('lucy'): one class is not a classification problem; "
                      "give photos of two or more classes") == 0, "one class refused: %s", err);
    ds.nclasses = 0;
    CHECK(fb_dataset_check_classes(&ds, "photos", err, sizeof err) == -1, "no class refused: %s", err);
    ds.classes = two;
    ds.nclasses = 2;
    CHECK(fb_dataset_check_classes(&ds, "photos", err, sizeof err) == 0, "two classes pass");
}

int main(void)
{
    if (!mkdtemp(dir)) SKIP_ALL("mkdtemp");
    test_join_and_describe();
    test_no_groups();
    test_join_features();
    test_check_classes();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) CHECK(0, "cleanup");
    return check_done();
}
