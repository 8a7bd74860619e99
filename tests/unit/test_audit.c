/* lib/audit by hand: the tiny-image rule, the decision tree behind the
 * shortcut test, and the verdict with its exit status. */
#include "check.h"
#include "fb/audit.h"

#include <math.h>
#include <string.h>

static void test_tiny(void)
{
    CHECK(FB_AUDIT_TINY == 64, "the limit is 64 pixels (man/fb-audit.1)");
    CHECK(fb_audit_is_tiny(63, 1000) && fb_audit_is_tiny(1000, 63) && fb_audit_is_tiny(40, 30),
          "a side under 64 is tiny");
    CHECK(!fb_audit_is_tiny(64, 64) && !fb_audit_is_tiny(64, 5000), "64 on the shorter side is not");
    fb_audit_file f = { .state = FB_FILE_OK, .width = 40, .height = 30 };
    CHECK(fb_audit_file_is_tiny(&f), "a usable 40x30 file is tiny");
    f.state = FB_FILE_UNREADABLE;
    CHECK(!fb_audit_file_is_tiny(&f), "an unusable file is unusable, not tiny");
}

/* rows of FB_NFEATURES, only the columns a case uses set */
static double x[40 * FB_NFEATURES];
static int y[40];

static void set_rows(size_t n, int per_class_0)
{
    memset(x, 0, sizeof x);
    for (size_t i = 0; i < n; i++) y[i] = (int)i >= per_class_0;
}

static void test_tree(void)
{
    const unsigned all = (1u << FB_NFEATURES) - 1, width = 1u << FB_FEAT_LOG_WIDTH;
    int folds;
    /* 5 + 5 rows; width 6 or 7 (log2 64 / 128) tells the classes apart. */
    set_rows(10, 5);
    for (int i = 0; i < 10; i++) x[i * FB_NFEATURES + FB_FEAT_LOG_WIDTH] = y[i] ? 7 : 6;
    double acc = fb_shortcut_cv_accuracy(x, y, 10, 2, all, 1, &folds);
    CHECK(acc == 1.0 && folds == 5, "a separating width: every held-out row right, 5 folds "
          "(got %g, %d)", acc, folds);
    /* Same rows, width hidden by the mask and every other column 0: no split
     * is possible, each fold's tree is one leaf with its training majority.
     * Folds are stratified: each holds out one row of each class, training
     * is 4 + 4, the tie goes to class 0, so the 5 class-0 rows are right. */
    acc = fb_shortcut_cv_accuracy(x, y, 10, 2, all & ~width, 1, &folds);
    CHECK(acc == 0.5 && folds == 5, "nothing to split on: majority leaf, 5 of 10 (got %g)", acc);
    /* A categorical column (format codes 0 / 1) works the same way. */
    for (int i = 0; i < 10; i++) x[i * FB_NFEATURES + FB_FEAT_FORMAT] = y[i];
    acc = fb_shortcut_cv_accuracy(x, y, 10, 2, 1u << FB_FEAT_FORMAT, 1, &folds);
    CHECK(acc == 1.0, "format code separates the classes (got %g)", acc);
    /* 3 + 2 rows: folds = smallest class = 2. */
    set_rows(5, 3);
    for (int i = 0; i < 5; i++) x[i * FB_NFEATURES + FB_FEAT_QUALITY] = y[i] ? 95 : 75;
    acc = fb_shortcut_cv_accuracy(x, y, 5, 2, all, 1, &folds);
    CHECK(folds == 2, "k is the smallest class's size when under 5 (got %d)", folds);
    /* Stratified over 2 folds: one fold holds out 2 class-0 rows and the
     * class-1 row, training on 1 + 1; the other holds out 1 + 1, training on
     * 2 + 1.  A leaf needs 2 rows (MIN_LEAF), so neither tree can split: each
     * is one leaf saying class 0 (a tie, or the majority).  Right: 2 + 1 of 5. */
    CHECK(acc == 0.6, "leaves of fewer than 2 rows are not made: 3 of 5 (got %g)", acc);
    /* 4 + 1 rows: one class has a single row, nothing can be tested. */
    set_rows(5, 4);
    acc = fb_shortcut_cv_accuracy(x, y, 5, 2, all, 1, &folds);
    CHECK(folds == 0 && acc == 0, "a class of one: not tested");
    /* One class only: not tested. */
    for (int i = 0; i < 5; i++) y[i] = 0;
    fb_shortcut_cv_accuracy(x, y, 5, 2, all, 1, &folds);
    CHECK(folds == 0, "one class: not tested");
}

/* The shortcut test on files: 6 + 6 usable JPEGs alike but for their size. */
static void test_shortcut(void)
{
    fb_audit_file files[12];
    memset(files, 0, sizeof files);
    for (int i = 0; i < 12; i++) {
        files[i].label = i >= 6;
        files[i].state = FB_FILE_OK;
        files[i].format = "jpeg";
        files[i].jpeg_quality = 90;
        files[i].width = files[i].height = i >= 6 ? 500 : 250;
    }
    fb_shortcut_result r;
    CHECK(fb_audit_test_shortcut(files, 12, 2, 1, &r) == 0, "runs");
    CHECK(r.tested && r.folds == 5 && r.rows == 12, "tested, 5 folds, 12 rows");
    CHECK(r.chance == 0.5 && r.accuracy == 1.0, "chance 50%%, all metadata 100%% (got %g)", r.accuracy);
    CHECK(r.strong && r.notice, "skill (1 - .5) / (1 - .5) = 1 >= 0.5: strong");
    CHECK(r.best_group == 0 && strcmp(fb_feature_groups[0].name, "image size") == 0 &&
          r.group_accuracy[0] == 1.0, "the most telling: image size, 100%%");
    CHECK(r.group_accuracy[1] == 0.5, "aspect (all 1:1) alone: the majority leaf, 50%% (got %g)",
          r.group_accuracy[1]);
    /* Same sizes in both classes: skill 0. */
    for (int i = 0; i < 12; i++) files[i].width = files[i].height = 300;
    fb_audit_test_shortcut(files, 12, 2, 1, &r);
    CHECK(r.tested && !r.strong && !r.notice && r.accuracy == 0.5, "no difference, no shortcut");
}

static fb_audit_verdict judge(int leak, int strong, int unusable, int input_problems, int tiny)
{
    static fb_audit_file files[3];
    memset(files, 0, sizeof files);
    for (int i = 0; i < 3; i++) {
        files[i].state = FB_FILE_OK;
        files[i].width = files[i].height = 100;
    }
    if (unusable) files[0].state = FB_FILE_NOT_IMAGE;
    if (tiny) files[1].width = 10;
    static size_t members[2] = { 1, 2 };
    fb_photo_group g = { members, 2, 1, 0, leak ? 1u << FB_TRAIN | 1u << FB_TEST : 1u << FB_TRAIN, 2 };
    fb_shortcut_result s = { .tested = 1, .strong = strong };
    return fb_audit_judge(files, 3, &g, 1, &s, input_problems);
}

static void test_verdict(void)
{
    /* leak, shortcut, unusable file, input problem -> status, words */
    static const struct { int leak, strong, unusable, input; int status; const char *words; } t[] = {
        { 0, 0, 0, 0, 0, "clean" },
        { 0, 0, 1, 0, 1, "UNUSABLE-FILES" },
        { 0, 0, 0, 1, 1, "INPUT-PROBLEMS" },
        { 1, 0, 0, 0, 3, "LEAK" },
        { 1, 0, 1, 1, 3, "LEAK UNUSABLE-FILES INPUT-PROBLEMS" },
        { 0, 1, 0, 0, 4, "SHORTCUT" },
        { 0, 1, 1, 0, 4, "SHORTCUT UNUSABLE-FILES" },
        { 1, 1, 0, 0, 5, "LEAK SHORTCUT" },
        { 1, 1, 1, 0, 5, "LEAK SHORTCUT UNUSABLE-FILES" },
        { 1, 1, 1, 1, 5, "LEAK SHORTCUT UNUSABLE-FILES INPUT-PROBLEMS" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        fb_audit_verdict v = judge(t[i].leak, t[i].strong, t[i].unusable, t[i].input, 0);
        CHECK(v.status == t[i].status && strcmp(v.words, t[i].words) == 0,
              "leak %d shortcut %d unusable %d input %d -> exit %d \"%s\" (got %d \"%s\")", t[i].leak,
              t[i].strong, t[i].unusable, t[i].input, t[i].status, t[i].words, v.status, v.words);
    }
    fb_audit_verdict v = judge(0, 0, 0, 0, 1);
    CHECK(v.status == 0 && v.tiny == 1 && v.conflicts == 1 && v.leaks == 0,
          "a tiny file and a two-class group in one split: counted, status 0");
    v = judge(1, 0, 1, 0, 0);
    CHECK(v.leaks == 1 && v.unusable == 1, "counts: 1 leak, 1 unusable");
}

int main(void)
{
    test_tiny();
    test_tree();
    test_shortcut();
    test_verdict();
    return check_done();
}
