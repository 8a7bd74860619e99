/* THE list format: "label<TAB>path" or "path" lines (fb/dataset.h has the
 * rule).  fb-split writes it, fb-prep and fb-audit read it, through here. */
#include "fb/dataset.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "…<TAB>group=N" at the end of a labelled path: cuts it off and returns N;
 * 0 when the path does not end so (then it is left whole). */
static uint32_t take_group(char *path)
{
    char *tab = strrchr(path, '\t');
    if (!tab || strncmp(tab + 1, "group=", 6) != 0) return 0;
    const char *digits = tab + 7;
    if (*digits < '1' || *digits > '9' || strspn(digits, "0123456789") != strlen(digits) ||
        strlen(digits) > 10)
        return 0;
    unsigned long long g = strtoull(digits, NULL, 10);
    if (g > UINT32_MAX) return 0;
    *tab = 0;
    return (uint32_t)g;
}

/* Takes label and path (malloc'd; label may be NULL); -1 when out of
 * memory (both freed). */
static int add_entry(fb_list *l, char *label, char *path, unsigned long line)
{
    if (l->n == l->cap) {
        size_t more = l->cap ? 2 * l->cap : 256;
        fb_list_entry *e = realloc(l->entries, more * sizeof *e);
        if (!e) { free(label); free(path); return -1; }
        l->entries = e;
        l->cap = more;
    }
    l->entries[l->n++] = (fb_list_entry){ label, path, 0, line };
    return 0;
}

int fb_list_read(FILE *f, fb_list *l, char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long lineno = 0;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        char *tab = strchr(line, '\t'), *label = NULL, *path;
        if (tab) {
            *tab = 0;
            label = strdup(line);
            path = strdup(tab + 1);
            if (!label) { free(path); path = NULL; }
        } else {
            path = strdup(line);
        }
        uint32_t group = label && path ? take_group(path) : 0;
        if (!path || add_entry(l, label, path, lineno) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else {
            l->entries[l->n - 1].group = group;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "read error: %s", strerror(errno));
        rc = -1;
    }
    free(line);
    return rc;
}

int fb_list_add(fb_list *l, const char *label, const char *path)
{
    char *p = strdup(path), *lab = label ? strdup(label) : NULL;
    if (!p || (label && !lab)) { free(p); free(lab); return -1; }
    return add_entry(l, lab, p, 0);
}

void fb_list_free(fb_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->entries[i].label);
        free(l->entries[i].path);
    }
    free(l->entries);
    memset(l, 0, sizeof *l);
}

int fb_list_writable(const char *label, const char *path, uint32_t group)
{
    if (group && !label) return 0;
    if (!path || !*path || strpbrk(path, label && !group ? "\n\r" : "\t\n\r")) return 0;
    /* An empty label would read back as "no label". */
    return !label || (*label && !strpbrk(label, "\t\n\r"));
}

int fb_list_write(FILE *f, const char *label, const char *path, uint32_t group)
{
    if (!fb_list_writable(label, path, group)) {
        errno = EINVAL;
        return -1;
    }
    int n = group ? fprintf(f, "%s\t%s\tgroup=%u\n", label, path, (unsigned)group)
            : label ? fprintf(f, "%s\t%s\n", label, path) : fprintf(f, "%s\n", path);
    return n < 0 ? -1 : 0;
}

char *fb_parent_dir_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd - 2)) return NULL;
        return fb_parent_dir_name(strcat(cwd, "/x"));
    }
    const char *end = slash;
    while (end > path && end[-1] == '/') end--;
    const char *start = end;
    while (start > path && start[-1] != '/') start--;
    if (start == end) return NULL;
    return strndup(start, (size_t)(end - start));
}
