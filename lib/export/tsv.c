/* TSV fields with escapes (see fb/export.h): ids are file paths and class
 * names are folder names, and either may hold a TAB, a newline or a
 * backslash; escaping keeps one record per line and one value per column. */
#include "fb/export.h"

#include <stdlib.h>
#include <string.h>

/* The one table of escapes: c's two-character escape, or NULL. */
static const char *escape_of(char c)
{
    switch (c) {
    case '\t': return "\\t";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\\': return "\\\\";
    }
    return NULL;
}

int fb_tsv_put(FILE *f, const char *s)
{
    for (; *s; s++) {
        const char *esc = escape_of(*s);
        if (esc ? fputs(esc, f) < 0 : putc(*s, f) == EOF) return -1;
    }
    return 0;
}

char *fb_tsv_escape(const char *s)
{
    char *out = malloc(2 * strlen(s) + 1), *o = out;   /* each byte grows to 2 at most */
    if (!out) return NULL;
    for (; *s; s++) {
        const char *esc = escape_of(*s);
        if (esc) {
            *o++ = esc[0];
            *o++ = esc[1];
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
    return out;
}

/* Unescapes s in place; -1 on a backslash not followed by t, n, r or \. */
static int unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s != '\\') {
            *o++ = *s;
            continue;
        }
        switch (*++s) {
        case 't': *o++ = '\t'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case '\\': *o++ = '\\'; break;
        default: return -1;
        }
    }
    *o = 0;
    return 0;
}

int fb_tsv_split(char *line, char **fields, int max)
{
    int n = 0;
    while (n < max) {
        fields[n++] = line;
        char *tab = n < max ? strchr(line, '\t') : NULL;
        if (!tab) break;
        *tab = 0;
        line = tab + 1;
    }
    for (int i = 0; i < n; i++)
        if (unescape(fields[i]) != 0) return -1;
    return n;
}
