/* Unit tests for fb-prep's variants (lib/photo/augment.c) and test-time
 * augmentation's averaging (fb_featset_merge_variants). */
#include "check.h"
#include "fb/head.h"
#include "fb/photo.h"
#include "photo/prep.h"

#include <stdint.h>
#include <string.h>

static void test_draw(void)
{
    const double box[4] = { 10, 20, 410, 320 };   /* 400×300 */
    fb_augment a, b;
    memset(&a, 0, sizeof a);   /* memcmp below: the padding too */
    memset(&b, 0, sizeof b);
    fb_augment_draw("dogs/rex.jpg", 7, 1, box, &a);
    fb_augment_draw("dogs/rex.jpg", 7, 1, box, &b);
    CHECK(memcmp(&a, &b, sizeof a) == 0, "same id, seed and variant: same transform");
    fb_augment_draw("dogs/rex.jpg", 8, 1, box, &b);
    CHECK(memcmp(&a, &b, sizeof a) != 0, "another seed: another transform");
    fb_augment_draw("dogs/rex.jpg", 7, 2, box, &b);
    CHECK(memcmp(&a, &b, sizeof a) != 0, "another variant: another transform");
    int inside = 1, flips = 0, n = 2000;
    double amin = 1, amax = 0, rmin = 99, rmax = -99, jmin = 9, jmax = 0, angmin = 99, angmax = -99;
    for (int v = 1; v <= n; v++) {
        fb_augment_draw("dogs/rex.jpg", 7, v, box, &a);
        inside &= a.box[0] >= box[0] - 1e-9 && a.box[1] >= box[1] - 1e-9 &&
                  a.box[2] <= box[2] + 1e-9 && a.box[3] <= box[3] + 1e-9 &&
                  a.box[2] > a.box[0] && a.box[3] > a.box[1];
        double w = a.box[2] - a.box[0], h = a.box[3] - a.box[1];
        double area = w * h / (400.0 * 300.0), ratio = (w / h) / (400.0 / 300.0);
        if (area < amin) amin = area;
        if (area > amax) amax = area;
        if (ratio < rmin) rmin = ratio;
        if (ratio > rmax) rmax = ratio;
        flips += a.flip;
        if (a.angle < angmin) angmin = a.angle;
        if (a.angle > angmax) angmax = a.angle;
        double j[3] = { a.brightness, a.contrast, a.saturation };
        for (int k = 0; k < 3; k++) {
            if (j[k] < jmin) jmin = j[k];
            if (j[k] > jmax) jmax = j[k];
        }
    }
    CHECK(inside, "every crop lies inside the policy's box");
    /* clipping to the box can only shrink the area below 0.5 */
    CHECK(amin > 0.5 * 0.75 && amin < 0.52 && amax > 0.98 && amax <= 1 + 1e-9,
          "crop area spans 0.5..1 of the box (%.3f..%.3f)", amin, amax);
    CHECK(rmin >= 0.75 - 1e-9 && rmax <= 4.0 / 3 + 1e-9 && rmin < 0.78 && rmax > 1.28,
          "aspect spans 3/4..4/3 of the box's (%.3f..%.3f)", rmin, rmax);
    CHECK(flips > n * 0.45 && flips < n * 0.55, "flips about half the time (%d of %d)", flips, n);
    CHECK(angmin >= -10 && angmax <= 10 && angmin < -9.9 && angmax > 9.9, "rotation spans ±10°");
    CHECK(jmin >= 0.8 && jmax <= 1.2 && jmin < 0.81 && jmax > 1.19, "jitter spans 0.8..1.2");
}

static void test_group_and_names(void)
{
    CHECK(fb_augment_group("a.jpg", 42) == 42, "a photo's own group is kept");
    uint32_t g = fb_augment_group("a.jpg", 0);
    CHECK(g >= 0x80000000u && g == fb_augment_group("a.jpg", 0), "no group: a fixed one from the path");
    CHECK(fb_augment_group("b.jpg", 0) != g, "another path, another group");
    fb_prep_opts o;
    fb_prep_opts_default(&o);
    CHECK(fb_prep_outputs(&o) == 1, "no variants by default");
    o.augment = 3;
    o.tta_flip = 1;
    CHECK(fb_prep_outputs(&o) == 5, "photo + 3 + flip");
    char s[32];
    fb_augment_suffix(&o, 2, s, sizeof s);
    CHECK(strcmp(s, "#aug2") == 0, "variant 2 is #aug2");
    fb_augment_suffix(&o, 4, s, sizeof s);
    CHECK(strcmp(s, "#flip") == 0, "the last is the flip");
}

/* A w×h test picture with structure in both directions and every colour. */
static void picture(uint8_t *p, int w, int h)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + 3 * ((size_t)y * w + x);
            q[0] = (uint8_t)(x * 255 / (w - 1));
            q[1] = (uint8_t)(y * 255 / (h - 1));
            q[2] = (uint8_t)((x * 7 + y * 13) % 256);
        }
}

static void test_render(void)
{
    enum { S = 16 };
    uint8_t src[S * S * 3], plain[S * S * 3], out[S * S * 3];
    picture(src, S, S);
    fb_prep_opts o;
    fb_prep_opts_default(&o);
    o.size = S;
    double box[4];
    int at[4];
    fb_prep_geometry(S, S, S, o.policy, box, at);
    char err[256];
    fb_augment a;
    fb_augment_flip(box, &a);
    a.flip = 0;
    CHECK(fb_augment_render(src, S, S, S * 3, 1, &o, &a, plain, err, sizeof err) == 0 &&
          memcmp(plain, src, sizeof src) == 0, "the identity transform at the source's size copies it");

    fb_augment_flip(box, &a);
    int ok = fb_augment_render(src, S, S, S * 3, 1, &o, &a, out, err, sizeof err) == 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            ok &= memcmp(out + 3 * (y * S + x), src + 3 * (y * S + S - 1 - x), 3) == 0;
    CHECK(ok, "the flip mirrors each row exactly");

    /* 90°, counter-clockwise as seen: the output at (x, y) is the source at
     * (S-1-y, x); bilinear sampling lands on pixel centres, so it is exact. */
    fb_augment_flip(box, &a);
    a.flip = 0;
    a.angle = 90;
    ok = fb_augment_render(src, S, S, S * 3, 1, &o, &a, out, err, sizeof err) == 0;
    int bad = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            bad += memcmp(out + 3 * (y * S + x), src + 3 * (x * S + S - 1 - y), 3) != 0;
    CHECK(ok && bad == 0, "a 90° turn moves every pixel to its place (%d wrong)", bad);

    /* colour: out = c·b·(s·x + (1-s)·luma(x)) + (1-c)·b·mean luma, rounded */
    fb_augment_flip(box, &a);
    a.flip = 0;
    a.brightness = 1.1;
    a.contrast = 0.85;
    a.saturation = 1.15;
    ok = fb_augment_render(src, S, S, S * 3, 1, &o, &a, out, err, sizeof err) == 0;
    double mean = 0;
    for (int i = 0; i < S * S; i++) mean += 0.299 * src[3 * i] + 0.587 * src[3 * i + 1] + 0.114 * src[3 * i + 2];
    mean /= S * S;
    int worst = 0;
    for (int i = 0; i < S * S; i++) {
        double l = 0.299 * src[3 * i] + 0.587 * src[3 * i + 1] + 0.114 * src[3 * i + 2];
        for (int c = 0; c < 3; c++) {
            double v = 0.85 * 1.1 * (1.15 * src[3 * i + c] + (1 - 1.15) * l) + 0.15 * 1.1 * mean;
            int want = v < 0 ? 0 : v > 255 ? 255 : (int)(v + 0.5);
            int d = abs(out[3 * i + c] - want);
            if (d > worst) worst = d;
        }
    }
    /* libvips computes in single precision: a value on a .5 may round the other way */
    CHECK(ok && worst <= 1, "colour jitter matches the naive formula (worst %d)", worst);
}

static void test_merge(void)
{
    /* photo a (+2 variants), near-duplicate b in a's group, c alone, d (+1) */
    const char *ids[] = { "a", "a#aug1", "a#aug2", "b", "c", "d", "d#flip" };
    uint32_t group[] = { 5, 5, 5, 5, 0, 9, 9 };
    int y[] = { 0, 0, 0, 0, 1, 1, 1 };
    float probs[] = { 0.9f, 0.1f, 0.6f, 0.4f, 0.3f, 0.7f, 0.2f, 0.8f,
                      0.5f, 0.5f, 0.25f, 0.75f, 0.75f, 0.25f };
    fb_featset ds = { .n = 7, .dim = 1, .nclasses = 2 };
    ds.x = malloc(7 * sizeof(float));
    ds.y = malloc(7 * sizeof(int));
    ds.ids = malloc(7 * sizeof(char *));
    ds.group = malloc(7 * sizeof(uint32_t));
    for (int i = 0; i < 7; i++) {
        ds.x[i] = (float)i;
        ds.y[i] = y[i];
        ds.ids[i] = strdup(ids[i]);
        ds.group[i] = group[i];
    }
    size_t merged = fb_featset_merge_variants(&ds, probs, 2);
    CHECK(merged == 3 && ds.n == 4, "7 records are 4 photos (%zu merged)", merged);
    CHECK(strcmp(ds.ids[0], "a") == 0 && strcmp(ds.ids[1], "b") == 0 &&
          strcmp(ds.ids[2], "c") == 0 && strcmp(ds.ids[3], "d") == 0, "the photos' ids, in order");
    CHECK(ds.x[0] == 0 && ds.x[1] == 3 && ds.x[2] == 4 && ds.x[3] == 5, "each photo keeps its own features");
    CHECK(probs[0] == (float)(((double)0.9f + 0.6f + 0.3f) / 3) && probs[1] == (float)(((double)0.1f + 0.4f + 0.7f) / 3),
          "a: the mean over it and its two variants");
    CHECK(probs[2] == 0.2f && probs[3] == 0.8f, "b, a near-duplicate in a's group, stays itself");
    CHECK(probs[6] == 0.5f && probs[7] == 0.5f, "d: the mean with its flip");
    CHECK(fb_featset_merge_variants(&ds, probs, 2) == 0 && ds.n == 4, "merging again changes nothing");
    ds.nclasses = 0;
    fb_featset_free(&ds);
}

/* fb-prep --augment 3 on 40 photos, one in four with a group from the list
 * (two photos to a group): every fold holds a photo with all its variants. */
static void test_folds(void)
{
    enum { PHOTOS = 40, N = 3, R = PHOTOS * (N + 1) };
    int y[R], fold[R];
    uint32_t group[R];
    for (int p = 0; p < PHOTOS; p++) {
        char path[32];
        snprintf(path, sizeof path, "photos/%d.jpg", p);
        uint32_t g = fb_augment_group(path, p % 4 == 0 ? (uint32_t)(p / 8 + 1) : 0);
        for (int v = 0; v <= N; v++) {
            y[p * (N + 1) + v] = p % 3 == 0;
            group[p * (N + 1) + v] = g;
        }
    }
    int ok = fb_group_folds(y, group, R, 2, 5, 1, fold) == 0, used[5] = { 0 };
    for (int r = 0; r < R; r++) {
        used[fold[r]] = 1;
        for (int q = 0; q < R; q++)
            if (group[q] == group[r] && fold[q] != fold[r]) ok = 0;
    }
    CHECK(ok && used[0] && used[1] && used[2] && used[3] && used[4],
          "5 grouped folds: every photo's variants in its fold");
}

int main(int argc, char **argv)
{
    (void)argc;
    char err[256];
    test_draw();
    test_group_and_names();
    test_merge();
    test_folds();
    if (fb_photo_vips_start(argv[0], err, sizeof err) != 0) {
        printf("# %s\n", err);
        CHECK(0, "libvips starts");
    } else {
        test_render();
    }
    return check_done();
}
