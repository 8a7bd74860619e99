/* Choosing a class, against values worked out by hand: fb_argmax and its tie
 * rule, classes by name (index, map, relabelling a feature set, fb-eval's
 * tally), class weights, and what training asks of a feature set. */
#include "check.h"
#include "fb/head.h"

#include <string.h>

/* A labelled feature set of n one-dimensional records (x = 0) in memory. */
static fb_featset make_set(const char *const *classes, int nclasses, const int *y, size_t n)
{
    fb_featset ds = { .n = n, .cap = n, .dim = 1, .nclasses = nclasses };
    ds.x = calloc(n ? n : 1, sizeof(float));
    ds.y = malloc((n ? n : 1) * sizeof(int));
    ds.ids = calloc(n ? n : 1, sizeof(char *));
    ds.classes = calloc((size_t)nclasses + 1, sizeof(char *));
    ds.provenance = strdup("");
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "r%zu", i);
        ds.y[i] = y[i];
        ds.ids[i] = strdup(id);
    }
    for (int c = 0; c < nclasses; c++) ds.classes[c] = strdup(classes[c]);
    return ds;
}

static void test_argmax(void)
{
    float a[4] = { 0.1f, 0.5f, 0.5f, 0.2f };
    CHECK(fb_argmax(a, 4) == 1, "argmax of {.1 .5 .5 .2} is 1: a tie goes to the lower index");
    float b[3] = { 0.3f, 0.3f, 0.3f };
    CHECK(fb_argmax(b, 3) == 0, "all equal: index 0");
    float c[3] = { 0.2f, 0.3f, 0.5f };
    CHECK(fb_argmax(c, 3) == 2, "the largest last: index 2");
    float d[1] = { -4 };
    CHECK(fb_argmax(d, 1) == 0, "one value: index 0");
    float e[3] = { 1, NAN, 2 };
    CHECK(fb_argmax(e, 3) == 2, "a NaN in the middle never takes the lead");
    float f[3] = { -1, -0.5f, -3 };
    CHECK(fb_argmax(f, 3) == 1, "negative values: the largest, -0.5 at index 1");
}

static void test_names(void)
{
    char *head[3] = { "lucy", "other", "Lucy" };
    CHECK(fb_class_index(head, 3, "lucy") == 0, "class_index finds 'lucy' at 0");
    CHECK(fb_class_index(head, 3, "Lucy") == 2, "names are case-sensitive: 'Lucy' at 2");
    CHECK(fb_class_index(head, 3, "bruno") == -1, "an absent name is -1");
    CHECK(fb_class_index(head, 3, "") == -1, "the empty name is absent");
    char *stream[4] = { "other", "bruno", "lucy", "Lucy" };
    int map[4];
    fb_class_map(stream, 4, head, 3, map);
    CHECK(map[0] == 1 && map[1] == -1 && map[2] == 0 && map[3] == 2,
          "map {other bruno lucy Lucy} onto {lucy other Lucy} = {1 -1 0 2}");
}

static void test_relabel(void)
{
    /* val classes {c a z}, train classes {a b c}; y {0 1 2 -1 0} = c a z - c
     * -> {2 0 -1 -1 2}: one of an unknown class (z), one unlabelled */
    const char *vc[3] = { "c", "a", "z" };
    int y[5] = { 0, 1, 2, -1, 0 };
    fb_featset val = make_set(vc, 3, y, 5);
    char *train[3] = { "a", "b", "c" };
    size_t unknown = 9, unlabelled = 9;
    CHECK(fb_featset_relabel(&val, train, 3, &unknown, &unlabelled) == 0, "relabel");
    CHECK(val.y[0] == 2 && val.y[1] == 0 && val.y[2] == -1 && val.y[3] == -1 && val.y[4] == 2,
          "labels become {2 0 -1 -1 2}");
    CHECK(unknown == 1 && unlabelled == 1, "one unknown, one unlabelled");
    CHECK(val.nclasses == 3 && strcmp(val.classes[0], "a") == 0 && strcmp(val.classes[2], "c") == 0,
          "the set's class table is now the training one");
    fb_featset_free(&val);
}

static void test_score(void)
{
    /* head {lucy other}; stream {other lucy bruno}; (truth, p(lucy), p(other)):
     *   r0 lucy  .8 .2 right     r1 other .3 .7 right    r2 bruno: unknown
     *   r3 unlabelled            r4 lucy  .4 .6 wrong    r5 other .9 .1 wrong
     *   r6 lucy  .5 .5 right (a tie goes to lucy, index 0)
     * scored 5, correct 3; mistakes most confident first: r5 (.9), r4 (.6) */
    const char *sc[3] = { "other", "lucy", "bruno" };
    int y[7] = { 1, 0, 2, -1, 1, 0, 1 };
    fb_featset ds = make_set(sc, 3, y, 7);
    const char *hc[2] = { "lucy", "other" };
    fb_head h;
    CHECK(fb_head_init(&h, 1, 2, hc, 0, NULL, 0, "") == 0, "head init");
    float probs[14] = { .8f, .2f, .3f, .7f, .5f, .5f, .5f, .5f, .4f, .6f, .9f, .1f, .5f, .5f };
    fb_score s;
    char err[128];
    CHECK(fb_score_init(&s, &h, &ds, probs, err, sizeof err) == 0, "score");
    CHECK(s.m.n == 5 && s.m.correct == 3, "5 scored, 3 right");
    CHECK(s.unlabelled == 1 && s.unknown_total == 1 && s.unknown[2] == 1 && s.unknown[0] == 0,
          "one unlabelled; one unknown, of stream class 2 (bruno)");
    CHECK(s.nmistakes == 2 && s.mistakes[0].row == 5 && s.mistakes[1].row == 4,
          "mistakes: r5 then r4");
    CHECK(s.mistakes[0].truth == 1 && s.mistakes[0].pred == 0 && fabs(s.mistakes[0].prob - 0.9) < 1e-6,
          "r5: true other (1), predicted lucy (0) with .9");
    CHECK(s.m.confusion[0] == 2 && s.m.confusion[1] == 1 && s.m.confusion[2] == 1 && s.m.confusion[3] == 1,
          "confusion [[2,1],[1,1]]");
    fb_score_free(&s);
    fb_head_free(&h);
    fb_featset_free(&ds);
}

static void test_weights(void)
{
    /* y {0 0 0 1}, classes {a b c}; c absent.  balanced: n / (k n_c) with k = 2
     * present: a 4/6, b 4/2 = 2, c 0 */
    const char *cl[3] = { "a", "b", "c" };
    int y[4] = { 0, 0, 0, 1 };
    fb_featset ds = make_set(cl, 3, y, 4);
    char err[256];
    float *w = fb_class_weights("balanced", &ds, err, sizeof err);
    CHECK(w != NULL, "balanced");
    if (w) {
        CHECK_NEAR(w[0], 4.0 / 6, 1e-6, "balanced a: 4/(2*3)");
        CHECK_NEAR(w[1], 2.0, 1e-6, "balanced b: 4/(2*1)");
        CHECK_NEAR(w[2], 0.0, 0, "balanced c (absent): 0");
        /* every present class carries the same total weight: 3 * 2/3 = 1 * 2 */
        CHECK_NEAR(3 * w[0], 1 * w[1], 1e-6, "equal total weight per class");
    }
    free(w);
    w = fb_class_weights("b=2.5,a=0", &ds, err, sizeof err);
    CHECK(w && w[0] == 0 && w[1] == 2.5f && w[2] == 1, "b=2.5,a=0: a 0, b 2.5, unlisted c 1");
    free(w);
    const char *bad[] = { "x=1", "a", "a=abc", "a=-1", "a=2e6", "a= 1", "a=", NULL };
    const char *why[] = { "no class 'x'", "want 'balanced'", "'abc' is not a number", "'-1' is not",
                          "'2e6' is not", "' 1' is not", "'' is not" };
    for (int i = 0; bad[i]; i++) {
        err[0] = 0;
        w = fb_class_weights(bad[i], &ds, err, sizeof err);
        CHECK(w == NULL && strstr(err, why[i]), "'%s' refused: %s", bad[i], err);
        free(w);
    }
    fb_featset_free(&ds);
}

static void test_trainable(void)
{
    const char *cl[2] = { "a", "b" };
    char err[256];
    int ok[3] = { 0, 1, 0 }, one_class[3] = { 1, 1, 1 }, unlabelled[3] = { 0, -1, 1 };
    fb_featset ds = make_set(cl, 2, ok, 3);
    CHECK(fb_featset_check_trainable(&ds, "s", 4, err, sizeof err) == 0, "two classes, all labelled");
    fb_featset_free(&ds);
    ds = make_set(cl, 2, one_class, 3);
    CHECK(fb_featset_check_trainable(&ds, "s", 0, err, sizeof err) == -1 &&
          strstr(err, "s: records of 1 class;"), "one class present: %s", err);
    fb_featset_free(&ds);
    ds = make_set(cl, 2, unlabelled, 3);
    CHECK(fb_featset_check_trainable(&ds, "s", 0, err, sizeof err) == -1 &&
          strstr(err, "record 'r1' has no label"), "an unlabelled record: %s", err);
    fb_featset_free(&ds);
    ds = make_set(cl, 2, ok, 0);
    CHECK(fb_featset_check_trainable(&ds, "s", 0, err, sizeof err) == -1 &&
          strstr(err, "no records"), "no records: %s", err);
    fb_featset_free(&ds);
    size_t count[2];
    ds = make_set(cl, 2, unlabelled, 3);
    fb_featset_class_counts(&ds, count);
    CHECK(count[0] == 1 && count[1] == 1, "class counts skip the unlabelled record");
    fb_featset_free(&ds);
}

int main(void)
{
    test_argmax();
    test_names();
    test_relabel();
    test_score();
    test_weights();
    test_trainable();
    return check_done();
}
