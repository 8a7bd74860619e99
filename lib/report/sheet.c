/* Contact sheets: thumbnails with captions in a grid, one PNG
 * (include/fb/report.h, "contact sheets"), for the user at a terminal. */
#include "fb/report.h"
#include "fb/core.h"

#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

enum { CAPTION_LINES = 3, LINE_PX = 14, PAD = 4 };

/* Pango markup needs &, < and > escaped; control characters become spaces. */
static char *markup_escape(const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++) n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : 1;
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    for (const char *p = s; *p; p++) {
        if (*p == '&') { memcpy(o, "&amp;", 5); o += 5; }
        else if (*p == '<') { memcpy(o, "&lt;", 4); o += 4; }
        else if (*p == '>') { memcpy(o, "&gt;", 4); o += 4; }
        else *o++ = (unsigned char)*p < 32 && *p != '\n' ? ' ' : *p;
    }
    *o = 0;
    return out;
}

/* One cell: the picture fitted into tile x tile on white (or a grey square
 * when there is none), the caption in black below it. */
static VipsImage *cell(const fb_sheet_item *it, int tile)
{
    VipsImage *base = vips_image_new();
    VipsImage **t = (VipsImage **)vips_object_local_array(VIPS_OBJECT(base), 12);
    double white[3] = { 255, 255, 255 }, grey[3] = { 200, 200, 200 };
    VipsImage *pic;
    if (it->rgb) {
        t[0] = vips_image_new_from_memory(it->rgb, (size_t)it->w * it->h * 3, it->w, it->h, 3,
                                          VIPS_FORMAT_UCHAR);
        double scale = (double)tile / (it->w > it->h ? it->w : it->h);
        /* The option takes its own reference to the array: ours is dropped. */
        VipsArrayDouble *bg = vips_array_double_new(white, 3);
        int bad = !t[0] || vips_resize(t[0], &t[1], scale, "kernel", VIPS_KERNEL_LINEAR, NULL) ||
                  vips_gravity(t[1], &t[2], VIPS_COMPASS_DIRECTION_CENTRE, tile, tile,
                               "extend", VIPS_EXTEND_BACKGROUND, "background", bg, NULL);
        vips_area_unref(VIPS_AREA(bg));
        if (bad) goto fail;
        pic = t[2];
    } else {
        /* no picture: grey with its caption; no caption either: a blank cell */
        if (vips_black(&t[0], tile, tile, "bands", 3, NULL) ||
            vips_linear(t[0], &t[1], (double[]){ 1, 1, 1 }, it->caption ? grey : white, 3,
                        "uchar", TRUE, NULL))
            goto fail;
        pic = t[1];
    }
    int cap_h = CAPTION_LINES * LINE_PX + PAD;
    char *markup = markup_escape(it->caption ? it->caption : "");
    if (!markup) goto fail;
    /* The text is a mask (255 = ink): 255 - mask is black on white. */
    int have_text = *markup &&
        vips_text(&t[3], markup, "width", tile, "font", "sans 9", "dpi", 72, NULL) == 0;
    free(markup);
    if (have_text) {
        if (vips_crop(t[3], &t[4], 0, 0, t[3]->Xsize, VIPS_MIN(t[3]->Ysize, cap_h - PAD), NULL) ||
            vips_invert(t[4], &t[5], NULL))
            goto fail;
        VipsImage *g[3] = { t[5], t[5], t[5] };
        if (vips_bandjoin(g, &t[7], 3, NULL) ||
            vips_embed(t[7], &t[8], 0, PAD, tile, cap_h, "extend", VIPS_EXTEND_WHITE, NULL))
            goto fail;
    } else {
        vips_error_clear();   /* no text renderer: the cell keeps an empty caption */
        if (vips_black(&t[7], tile, cap_h, "bands", 3, NULL) ||
            vips_linear(t[7], &t[8], (double[]){ 1, 1, 1 }, white, 3, "uchar", TRUE, NULL))
            goto fail;
    }
    VipsImage *out;
    if (vips_join(pic, t[8], &out, VIPS_DIRECTION_VERTICAL, NULL)) goto fail;
    g_object_unref(base);
    return out;
fail:
    g_object_unref(base);
    return NULL;
}

int fb_sheet_write(const fb_sheet_item *items, size_t n, int columns, int tile, const char *path,
                   char *err, size_t errlen)
{
    if (n == 0) {
        snprintf(err, errlen, "%s: nothing to put on the sheet", path);
        return -1;
    }
    VipsImage **cells = calloc(n, sizeof *cells), *sheet = NULL;
    int rc = -1;
    if (!cells) { snprintf(err, errlen, "out of memory"); return -1; }
    for (size_t i = 0; i < n; i++)
        if (!(cells[i] = cell(&items[i], tile))) goto vips_fail;
    double white[3] = { 255, 255, 255 };
    VipsArrayDouble *bg = vips_array_double_new(white, 3);
    int joined = vips_arrayjoin(cells, &sheet, (int)n, "across", columns < (int)n ? columns : (int)n,
                                "shim", 8, "background", bg, NULL) == 0;
    vips_area_unref(VIPS_AREA(bg));
    if (!joined) goto vips_fail;
    VipsImage *framed;
    if (vips_embed(sheet, &framed, 8, 8, sheet->Xsize + 16, sheet->Ysize + 16,
                   "extend", VIPS_EXTEND_WHITE, NULL))
        goto vips_fail;
    void *buf;
    size_t len;
    int bad = vips_pngsave_buffer(framed, &buf, &len, "compression", 6, NULL);
    g_object_unref(framed);
    if (bad) goto vips_fail;
    rc = fb_write_file_atomic(path, buf, len, err, errlen);
    g_free(buf);
    goto done;
vips_fail:
    snprintf(err, errlen, "%s: drawing the sheet: %.200s", path, vips_error_buffer());
    vips_error_clear();
done:
    if (sheet) g_object_unref(sheet);
    for (size_t i = 0; i < n; i++) if (cells[i]) g_object_unref(cells[i]);
    free(cells);
    return rc;
}

int fb_sheet_photos(const char *const *paths, const char *const *captions, size_t n, int columns,
                    int tile, const char *path, char *err, size_t errlen)
{
    fb_sheet_item *items = calloc(n ? n : 1, sizeof *items);
    uint8_t *pixels = malloc((n ? n : 1) * (size_t)tile * tile * 3);
    char **notes = calloc(n ? n : 1, sizeof *notes);
    if (!items || !pixels || !notes) {
        free(items); free(pixels); free(notes);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fb_prep_opts o;
    fb_prep_opts_default(&o);
    o.size = tile;
    o.policy = FB_RESIZE_PAD;   /* the whole photo, its shape kept */
    for (size_t i = 0; i < n; i++) {
        items[i].caption = captions[i];
        if (!paths[i]) continue;   /* a blank cell */
        uint8_t *px = pixels + i * (size_t)tile * tile * 3;
        char why[256];
        if (fb_prep_image(paths[i], &o, px, why, sizeof why) == 0) {
            items[i].rgb = px;
            items[i].w = items[i].h = tile;
        } else if ((notes[i] = malloc(strlen(captions[i] ? captions[i] : "") + strlen(why) + 2))) {
            /* the reason goes under the grey square */
            sprintf(notes[i], "%s\n%s", captions[i] ? captions[i] : "", why);
            items[i].caption = notes[i];
        }
    }
    int rc = fb_sheet_write(items, n, columns, tile, path, err, errlen);
    for (size_t i = 0; i < n; i++) free(notes[i]);
    free(notes);
    free(pixels);
    free(items);
    return rc;
}

/* The file name of a path, for captions. */
static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int fb_sheet_mistakes(const fb_head *h, const fb_featset *ds, const fb_score *s, size_t max,
                      const char *path, char *err, size_t errlen)
{
    size_t n = s->nmistakes < max ? s->nmistakes : max;
    if (n == 0) {
        /* a perfect score is not an error: the sheet says so */
        fb_sheet_item none = { NULL, 0, 0, "no mistakes" };
        return fb_sheet_write(&none, 1, 1, 160, path, err, errlen);
    }
    const char **paths = calloc(n, sizeof *paths);
    char **caps = calloc(n, sizeof *caps);
    int rc = -1;
    if (!paths || !caps) { snprintf(err, errlen, "out of memory"); goto done; }
    for (size_t i = 0; i < n; i++) {
        const fb_mistake *m = &s->mistakes[i];
        paths[i] = ds->ids[m->row];
        size_t len = strlen(h->classes[m->truth]) + strlen(h->classes[m->pred]) + strlen(paths[i]) + 64;
        if (!(caps[i] = malloc(len))) { snprintf(err, errlen, "out of memory"); goto done; }
        /* most confident first, as fb-eval lists them */
        snprintf(caps[i], len, "%zu. true %s\nsaid %s (p %.2f)\n%s", i + 1, h->classes[m->truth],
                 h->classes[m->pred], m->prob, base_name(paths[i]));
    }
    rc = fb_sheet_photos(paths, (const char *const *)caps, n, 6, 160, path, err, errlen);
done:
    for (size_t i = 0; caps && i < n; i++) free(caps[i]);
    free(caps);
    free(paths);
    return rc;
}

int fb_sheet_groups(const fb_audit_file *files, const fb_photo_group *groups, size_t ngroups,
                    char *const *classes, const char *path, char *err, size_t errlen)
{
    if (ngroups == 0) {
        fb_sheet_item none = { NULL, 0, 0, "no near-duplicates" };
        return fb_sheet_write(&none, 1, 1, 160, path, err, errlen);
    }
    /* one group per row, side by side; a larger group wraps onto more rows */
    size_t columns = 2, cells = 0;
    for (size_t g = 0; g < ngroups; g++) if (groups[g].n > columns) columns = groups[g].n;
    if (columns > 6) columns = 6;
    for (size_t g = 0; g < ngroups; g++) cells += (groups[g].n + columns - 1) / columns * columns;
    const char **paths = calloc(cells, sizeof *paths);
    char **caps = calloc(cells, sizeof *caps);
    int rc = -1;
    if (!paths || !caps) { snprintf(err, errlen, "out of memory"); goto done; }
    size_t k = 0;
    for (size_t g = 0; g < ngroups; g++) {
        const fb_photo_group *gr = &groups[g];
        for (size_t i = 0; i < gr->n; i++, k++) {
            const fb_audit_file *f = &files[gr->members[i]];
            const char *split = f->split >= 0 ? fb_split_names[f->split] : "no split";
            const char *cls = f->label >= 0 ? classes[f->label] : "-";
            size_t len = strlen(split) + strlen(cls) + strlen(f->path) + 64;
            if (!(caps[k] = malloc(len))) { snprintf(err, errlen, "out of memory"); goto done; }
            snprintf(caps[k], len, "group %zu%s: %s\n%s\n%s", g + 1,
                     fb_photo_group_is_leak(gr) ? " LEAK" : "", split, cls, base_name(f->path));
            paths[k] = f->path;
        }
        while (k % columns) k++;   /* blank cells to the end of the row */
    }
    rc = fb_sheet_photos(paths, (const char *const *)caps, cells, (int)columns, 160, path, err, errlen);
done:
    for (size_t i = 0; caps && i < cells; i++) free(caps[i]);
    free(caps);
    free(paths);
    return rc;
}
