/* Stratified folds and cross-validation against counts worked out by hand. */
#include "check.h"
#include "fb/core.h"
#include "fb/head.h"

#include <string.h>

/* fold sizes per class: count[c][f] */
static void tally(const int *y, const int *fold, size_t n, int k, int count[2][8])
{
    memset(count, 0, sizeof(int[2][8]));
    for (size_t i = 0; i < n; i++)
        if (y[i] >= 0) count[y[i]][fold[i]]++;
    (void)k;
}

static void test_folds(void)
{
    /* 10 of class 0, 5 of class 1, one unlabelled (row 15).  Round-robin
     * dealing that continues where the last class stopped:
     * k = 5: class 0 deals 0..4 twice (2 each), class 1 starts at fold 0 (1
     *   each): every fold 3 records.
     * k = 3: class 0 deals 0 1 2 0 1 2 0 1 2 0 -> (4 3 3); class 1 goes on
     *   from fold 1: 1 2 0 1 2 -> (1 2 2); fold sizes 5 5 5. */
    int y[16], fold[16], again[16], other[16], count[2][8];
    for (int i = 0; i < 16; i++) y[i] = i < 10 ? 0 : 1;
    y[3] = 1; y[12] = 0;          /* mix the order: classes need not be contiguous */
    y[15] = -1;
    CHECK(fb_stratified_folds(y, 16, 2, 5, 7, fold) == 0, "5 folds");
    tally(y, fold, 16, 5, count);
    int even = 1;
    for (int f = 0; f < 5; f++) even &= count[0][f] == 2 && count[1][f] == 1;
    CHECK(even, "k=5: 2 of class 0 and 1 of class 1 in every fold");
    CHECK(fold[15] == -1, "the unlabelled row is in no fold");
    CHECK(fb_stratified_folds(y, 16, 2, 3, 7, fold) == 0, "3 folds");
    tally(y, fold, 16, 3, count);
    CHECK(count[0][0] == 4 && count[0][1] == 3 && count[0][2] == 3, "k=3: class 0 (4 3 3)");
    CHECK(count[1][0] == 1 && count[1][1] == 2 && count[1][2] == 2, "k=3: class 1 (1 2 2)");
    fb_stratified_folds(y, 16, 2, 3, 7, again);
    fb_stratified_folds(y, 16, 2, 3, 8, other);
    CHECK(memcmp(fold, again, sizeof fold) == 0, "the same seed deals the same folds");
    CHECK(memcmp(fold, other, sizeof fold) != 0, "another seed deals others");
}

static fb_featset separable(size_t per_class)
{
    /* class 0 at x = -1 - i/n, class 1 at x = +1 + i/n: a linear head
     * separates them with margin 2 */
    size_t n = 2 * per_class;
    fb_featset ds = { .n = n, .cap = n, .dim = 1, .nclasses = 2 };
    ds.x = malloc(n * sizeof(float));
    ds.y = malloc(n * sizeof(int));
    ds.ids = calloc(n, sizeof(char *));
    ds.classes = calloc(3, sizeof(char *));
    ds.classes[0] = strdup("neg");
    ds.classes[1] = strdup("pos");
    ds.provenance = strdup("");
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 2);
        ds.y[i] = c;
        ds.x[i] = (float)((c ? 1 : -1) * (1.0 + (double)(i / 2) / per_class));
        ds.ids[i] = strdup("r");
    }
    return ds;
}

static int folds_seen;
static void count_fold(void *ctx, int f, int k, const fb_fold *r)
{
    (void)r;
    folds_seen += *(int *)ctx == k && f == folds_seen;
}

static void test_cross_validate(void)
{
    fb_featset ds = separable(20);
    char err[256];
    CHECK(fb_folds_check(&ds, 20, err, sizeof err) == 0, "20 folds of 20 records per class");
    CHECK(fb_folds_check(&ds, 21, err, sizeof err) == -1 && strstr(err, "class 'neg' has only 20 records"),
          "21 folds refused: %s", err);
    ds.y[0] = 1;                  /* neg now has 19: the smallest class is named */
    CHECK(fb_folds_check(&ds, 20, err, sizeof err) == -1 && strstr(err, "'neg' has only 19"),
          "the smallest class decides: %s", err);
    ds.y[0] = 0;

    fb_train_opts o;
    fb_train_opts_default(&o);
    o.lr = 0.1;
    o.epochs = 20;
    o.batch = 8;
    fb_fold folds[4];
    double mean = -1, sd = -1;
    int k = 4;
    folds_seen = 0;
    CHECK(fb_cross_validate(&ds, k, 0, NULL, 0, &o, folds, count_fold, &k, &mean, &sd, err,
                            sizeof err) == 0, "4-fold cross-validation: %s", err);
    int sizes = 1, perfect = 1;
    for (int f = 0; f < 4; f++) {
        sizes &= folds[f].ntrain == 30 && folds[f].ntest == 10;
        perfect &= folds[f].acc == 1.0;
    }
    CHECK(sizes, "each fold: train 30, test 10");
    CHECK(perfect, "a separable problem: every fold scores 1.0");
    CHECK(mean == 1.0 && sd == 0.0, "mean 1, sd 0");
    CHECK(folds_seen == 4, "on_fold called for folds 1..4 in order");
    CHECK(fb_cross_validate(&ds, 41, 0, NULL, 0, &o, folds, NULL, NULL, &mean, &sd, err,
                            sizeof err) == -1 && strstr(err, "41 folds"), "too many folds: %s", err);
    fb_featset_free(&ds);
}

int main(void)
{
    fb_par_init(1);
    test_folds();
    test_cross_validate();
    fb_par_shutdown();
    return check_done();
}
