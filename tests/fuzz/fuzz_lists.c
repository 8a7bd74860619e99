/* libFuzzer target: the list parser (fb_list_read, "label<TAB>path" lines).
 * Every entry the writer accepts must read back the same: what fb-split
 * writes, fb-prep and fb-audit read. */
#include "fb/dataset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fmemopen((void *)(size ? data : (const uint8_t *)""), size ? size : 1, "rb");
    if (!f) return 0;
    if (!size) getc(f);
    fb_list l;
    memset(&l, 0, sizeof l);
    char err[512] = "";
    int rc = fb_list_read(f, &l, err, sizeof err);
    fclose(f);
    if (rc != 0 && !err[0]) abort();
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const fb_list_entry *e = &l.entries[i];
        if (!e->path) abort();
        if (!fb_list_writable(e->label, e->path, e->group)) continue;
        char *text = NULL;
        size_t len = 0;
        FILE *w = open_memstream(&text, &len);
        if (!w) break;
        if (fb_list_write(w, e->label, e->path, e->group) != 0) abort();
        fclose(w);
        FILE *back = fmemopen(text, len, "rb");
        fb_list again;
        memset(&again, 0, sizeof again);
        if (!back || fb_list_read(back, &again, err, sizeof err) != 0 || again.n != 1 ||
            !same(again.entries[0].label, e->label) || !same(again.entries[0].path, e->path) ||
            again.entries[0].group != e->group)
            abort();
        fclose(back);
        fb_list_free(&again);
        free(text);
    }
    fb_list_free(&l);
    return 0;
}
