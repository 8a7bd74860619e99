/* fb-plot's library: reading a history TSV, the SVG drawn from it, and the
 * PNG written atomically (nothing left behind when it cannot be). */
#include "check.h"
#include "fb/plot.h"

#include <dirent.h>
#include <string.h>
#include <unistd.h>

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

static int read_text(fb_history *h, const char *text, char *err, size_t errlen)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    int rc = fb_history_read(h, f, "h.tsv", err, errlen);
    fclose(f);
    return rc;
}

int main(void)
{
    fb_history h;
    char err[256];
    const char *tsv = "epoch\tloss\taccuracy\tval_loss\tval_accuracy\tseconds\n"
                      "1\t0.9\t0.5\t1.0\t0.4\t0.1\n"
                      "\n"
                      "2\t0.5\t0.75\tnan\tnan\t0.1\n";
    CHECK(read_text(&h, tsv, err, sizeof err) == 0, "a history with a blank line reads");
    CHECK(h.n == 2 && h.epoch[1] == 2 && h.loss[1] == 0.5 && h.acc[1] == 0.75, "two epochs, values kept");
    CHECK(h.val_loss[0] == 1.0 && isnan(h.val_loss[1]) && isnan(h.val_acc[1]), "nan where absent");

    char *svg = fb_plot_history_svg(&h, 1100, 450, "a <b> & c");
    CHECK(svg != NULL, "svg");
    CHECK(count(svg, "<polyline") == 4, "four polylines: train and validation in two panels");
    CHECK(strstr(svg, "a &lt;b&gt; &amp; c") != NULL, "the title escaped for XML");
    CHECK(strstr(svg, "width=\"1100\" height=\"450\"") != NULL, "the size asked for");
    free(svg);
    fb_history_free(&h);

    const char *train_only = "epoch\tloss\taccuracy\tval_loss\tval_accuracy\tseconds\n"
                             "1\t0.9\t0.5\tnan\tnan\t0.1\n";
    CHECK(read_text(&h, train_only, err, sizeof err) == 0, "no validation");
    svg = fb_plot_history_svg(&h, 600, 300, NULL);
    CHECK(svg && count(svg, "<polyline") == 2 && !strstr(svg, ">validation<"),
          "without validation: two polylines, no validation legend");
    free(svg);
    fb_history_free(&h);

    /* Losses so large that adding the tick step leaves them unchanged: the
     * tick loop once never ended (and grew its buffer without bound); the
     * alarm fails the test instead of hanging it. */
    const char *huge = "epoch\tloss\taccuracy\tval_loss\tval_accuracy\tseconds\n"
                       "1\t1e17\t0.5\t1.00000000000000016e17\t0.4\t0.1\n"
                       "2\t1e17\t0.5\t1e17\t0.4\t0.1\n";
    CHECK(read_text(&h, huge, err, sizeof err) == 0, "a history of huge losses reads");
    alarm(10);
    svg = fb_plot_history_svg(&h, 600, 300, NULL);
    alarm(0);
    CHECK(svg && strlen(svg) < 100000 && count(svg, "<polyline") == 4,
          "huge losses: drawn, with a bounded number of ticks");
    free(svg);
    fb_history_free(&h);

    CHECK(read_text(&h, "id\tclass\n", err, sizeof err) == -1 &&
          strstr(err, "h.tsv: line 1: not an fb-train history"), "a wrong header: %s", err);
    CHECK(read_text(&h, "epoch\tloss\n", err, sizeof err) == -1 && strstr(err, "no epochs"),
          "no epochs: %s", err);
    CHECK(read_text(&h, "epoch\tloss\n1\t2\n", err, sizeof err) == -1 && strstr(err, "line 2"),
          "a short line: %s", err);

    /* a PNG into a folder that does not exist: an error, and nothing written */
    char dir[] = "/tmp/fb-test-plot-XXXXXX", path[512];
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    snprintf(path, sizeof path, "%s/none/p.png", dir);
    CHECK(read_text(&h, tsv, err, sizeof err) == 0, "reads again");
    svg = fb_plot_history_svg(&h, 400, 300, NULL);
    CHECK(fb_plot_svg_to_png(svg, path, err, sizeof err) == -1 && strstr(err, path),
          "an unwritable path: %s", err);
    snprintf(path, sizeof path, "%s/p.png", dir);
    CHECK(fb_plot_svg_to_png(svg, path, err, sizeof err) == 0, "a PNG written");
    FILE *f = fopen(path, "rb");
    unsigned char sig[8] = { 0 };
    CHECK(f && fread(sig, 1, 8, f) == 8 && memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0, "PNG signature");
    if (f) fclose(f);
    int entries = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) entries += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECK(entries == 1, "only p.png in the folder: no temp file left");
    unlink(path);
    rmdir(dir);
    free(svg);
    fb_history_free(&h);
    return check_done();
}
