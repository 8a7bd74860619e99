/* The report's smaller parts: the Wilson interval against published values,
 * the kept epoch fb-plot marks, fb-prep's options read back from provenance,
 * PNG and JPEG encodings, and contact sheets. */
#include "check.h"
#include "fb/photo.h"
#include "fb/plot.h"
#include "fb/report.h"

#include <glib.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

static void wilson(void)
{
    /* Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 */
    static const struct { size_t k, n; double lo, hi; } t[] = {
        { 81, 263, 0.2553, 0.3662 }, { 15, 148, 0.0624, 0.1605 },
        { 0, 20, 0.0, 0.1611 }, { 1, 29, 0.0061, 0.1718 },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        double lo, hi;
        fb_wilson_interval(t[i].k, t[i].n, 1.959964, &lo, &hi);
        CHECK(fabs(lo - t[i].lo) < 6e-5 && fabs(hi - t[i].hi) < 6e-5,
              "Wilson %zu/%zu = [%.4f, %.4f], Newcombe's [%.4f, %.4f]", t[i].k, t[i].n, lo, hi,
              t[i].lo, t[i].hi);
    }
    double lo, hi;
    fb_wilson_interval(10, 10, 1.96, &lo, &hi);
    CHECK(hi == 1 && lo > 0.72 && lo < 0.73, "all right: the upper end is 1, the lower 0.72");
    fb_wilson_interval(0, 0, 1.96, &lo, &hi);
    CHECK(lo == 0 && hi == 1, "no photos: anything is possible");
    char words[512];
    fb_words_accuracy(98, 100, words, sizeof words);
    CHECK(strstr(words, "98 of 100") && strstr(words, "93.0%") && strstr(words, "99.4%"),
          "in words: %s", words);
}

static int read_history(fb_history *h, const char *text)
{
    char err[256];
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    int rc = fb_history_read(h, f, "h.tsv", err, sizeof err);
    fclose(f);
    return rc;
}

static void kept_epoch(void)
{
    fb_history h;
    const char *hdr = "epoch\tloss\taccuracy\tval_loss\tval_accuracy\tseconds\n";
    char text[512];
    snprintf(text, sizeof text, "%s1\t1\t.5\t.9\t.5\t0\n2\t.8\t.6\t.4\t.7\t0\n3\t.6\t.7\t.4\t.7\t0\n"
             "4\t.5\t.8\t.6\t.7\t0\n", hdr);
    CHECK(read_history(&h, text) == 0 && h.kept == 2,
          "kept: the first epoch with the lowest validation loss, as fb-train (%d)", h.kept);
    char *svg = fb_plot_history_svg(&h, 900, 400, NULL);
    CHECK(svg && strstr(svg, "class=\"kept\"") && strstr(svg, "kept: epoch 2"),
          "the plot marks it in both panels");
    CHECK(svg && strstr(strstr(svg, "class=\"kept\"") + 1, "class=\"kept\""), "... the second panel too");
    free(svg);
    fb_history_free(&h);
    snprintf(text, sizeof text, "%s1\t1\t.5\tnan\tnan\t0\n", hdr);
    CHECK(read_history(&h, text) == 0 && h.kept == 0, "no validation: nothing kept, nothing marked");
    svg = fb_plot_history_svg(&h, 900, 400, NULL);
    CHECK(svg && !strstr(svg, "kept"), "no mark");
    free(svg);
    fb_history_free(&h);
}

static void provenance(void)
{
    fb_prep_opts o;
    char err[256];
    CHECK(fb_pic_opts_from_provenance("prep=fb-prep 0.1.0\nresize=pad\nsize=160\nkernel=lanczos3\n"
                                      "background=1,2,3\n", &o, err, sizeof err) == 0 &&
          o.policy == FB_RESIZE_PAD && o.size == 160 && o.kernel == FB_KERNEL_LANCZOS3 &&
          o.background[0] == 1 && o.background[2] == 3, "fb-prep's options from provenance");
    CHECK(fb_pic_opts_from_provenance("resize=squash\nsize=224\n", &o, err, sizeof err) == -1 &&
          strstr(err, "kernel"), "a missing key is named: %s", err);
    CHECK(fb_pic_opts_from_provenance("resize=stretch\nsize=224\nkernel=linear\nbackground=white\n",
                                      &o, err, sizeof err) == -1 && strstr(err, "resize=stretch"),
          "a value fb-prep does not make is named: %s", err);
}

static void encodings(void)
{
    enum { W = 40, H = 30 };
    uint8_t rgb[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) rgb[i] = (uint8_t)(i * 7 % 251);
    char err[512], path[] = "/tmp/fb-test-report-XXXXXX";
    CHECK(mkdtemp(path) != NULL, "scratch folder");
    char png[600], sheet[600];
    snprintf(png, sizeof png, "%s/a.png", path);
    CHECK(fb_pic_write_png(rgb, W, H, png, err, sizeof err) == 0, "PNG written");
    VipsImage *back = vips_image_new_from_file(png, NULL);
    size_t len = 0;
    void *pix = back ? vips_image_write_to_memory(back, &len) : NULL;
    CHECK(pix && len == sizeof rgb && memcmp(pix, rgb, len) == 0 && back->Xsize == W,
          "PNG reads back pixel for pixel");
    g_free(pix);
    if (back) g_object_unref(back);

    char *uri = fb_pic_data_uri(rgb, W, H, 20, 80, err, sizeof err);
    CHECK(uri && strncmp(uri, "data:image/jpeg;base64,", 23) == 0, "a JPEG data URI");
    gsize n = 0;
    guchar *jpeg = uri ? g_base64_decode(uri + 23, &n) : NULL;
    VipsImage *j = jpeg ? vips_image_new_from_buffer(jpeg, n, "", NULL) : NULL;
    CHECK(j && j->Xsize == 20 && j->Ysize == 15, "it decodes, shrunk to fit 20 pixels: %dx%d",
          j ? j->Xsize : 0, j ? j->Ysize : 0);
    if (j) g_object_unref(j);
    g_free(jpeg);
    free(uri);

    fb_sheet_item items[3] = { { rgb, W, H, "one & <two>" }, { NULL, 0, 0, "missing" },
                               { rgb, W, H, "three\nlines\nhere" } };
    snprintf(sheet, sizeof sheet, "%s/sheet.png", path);
    CHECK(fb_sheet_write(items, 3, 2, 64, sheet, err, sizeof err) == 0, "sheet written: %s", err);
    VipsImage *s = vips_image_new_from_file(sheet, NULL);
    /* 2 across: 8 + 64 + 8 + 64 + 8 wide; two rows of 64 + captions */
    CHECK(s && s->Xsize == 8 + 64 + 8 + 64 + 8 && s->Ysize > 2 * 64 + 8 + 16,
          "two across, two rows: %dx%d", s ? s->Xsize : 0, s ? s->Ysize : 0);
    if (s) g_object_unref(s);
    CHECK(fb_sheet_write(items, 0, 2, 64, sheet, err, sizeof err) == -1, "an empty sheet is refused");

    /* photo files: one read, one missing (grey, with the reason), one blank cell */
    for (int i = 0; i < W * H; i++) { rgb[3 * i] = 10; rgb[3 * i + 1] = 120; rgb[3 * i + 2] = 30; }
    CHECK(fb_pic_write_png(rgb, W, H, png, err, sizeof err) == 0, "a plain green PNG");
    err[0] = 0;
    const char *paths[3] = { png, "/nonexistent/fb.jpg", NULL };
    const char *caps[3] = { "a", "b", NULL };
    CHECK(fb_sheet_photos(paths, caps, 3, 3, 64, sheet, err, sizeof err) == 0, "sheet of photos: %s", err);
    s = vips_image_new_from_file(sheet, NULL);
    double grey = -1, blank = -1, photo[3] = { -1, -1, -1 };
    if (s) {
        double *v; int nv;
        if (!vips_getpoint(s, &v, &nv, 8 + 72 + 32, 8 + 32, NULL)) { grey = v[0]; g_free(v); }
        if (!vips_getpoint(s, &v, &nv, 8 + 144 + 32, 8 + 32, NULL)) { blank = v[0]; g_free(v); }
        if (!vips_getpoint(s, &v, &nv, 8 + 32, 8 + 32, NULL)) {
            memcpy(photo, v, sizeof photo);
            g_free(v);
        }
        g_object_unref(s);
    }
    CHECK(grey == 200 && blank == 255, "the missing photo is grey (%g), the blank cell white (%g)",
          grey, blank);
    CHECK(fabs(photo[0] - 10) <= 2 && fabs(photo[1] - 120) <= 2 && fabs(photo[2] - 30) <= 2,
          "the photo is itself: %g,%g,%g", photo[0], photo[1], photo[2]);
    unlink(png);
    unlink(sheet);
    rmdir(path);
}

int main(int argc, char **argv)
{
    (void)argc;
    char err[256];
    if (fb_photo_vips_start(argv[0], err, sizeof err)) SKIP_ALL("libvips: %s", err);
    wilson();
    kept_epoch();
    provenance();
    encodings();
    return check_done();
}
