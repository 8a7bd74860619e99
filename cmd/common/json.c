/* Strings made valid UTF-8 and checked insertions for --json (json.h). */
#include "common/json.h"
#include "common/common.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. */
static int utf8_sequence(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (n == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F))) return 0;
    if (n == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))) return 0;
    return n;
}

char *fb_utf8_text(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text);
    char *out = fb_xmalloc(2 * len + 1), *o = out;   /* a byte grows to 2 at most */
    while (*s) {
        int n = utf8_sequence(s);
        if (n > 0) {
            memcpy(o, s, (size_t)n);
            o += n;
            s += n;
        } else {   /* Latin-1: U+0080..U+00FF in two bytes */
            *o++ = (char)(0xC0 | *s >> 6);
            *o++ = (char)(0x80 | (*s & 0x3F));
            s++;
        }
    }
    *o = 0;
    return out;
}

json_t *fb_json_ok(json_t *v)
{
    if (!v) fb_die(FB_EXIT_FAILURE, "cannot build the JSON report: out of memory, or a value JSON cannot hold");
    return v;
}

json_t *fb_json_text(const char *s)
{
    char *u = fb_utf8_text(s);
    json_t *v = fb_json_ok(json_string(u));
    free(u);
    return v;
}

void fb_json_set(json_t *obj, const char *key, json_t *v)
{
    char *u = fb_utf8_text(key);
    if (json_object_set_new(obj, u, fb_json_ok(v)) != 0)
        fb_die(FB_EXIT_FAILURE, "cannot build the JSON report: out of memory, or a value JSON cannot hold");
    free(u);
}

void fb_json_push(json_t *arr, json_t *v)
{
    if (json_array_append_new(arr, fb_json_ok(v)) != 0)
        fb_die(FB_EXIT_FAILURE, "cannot build the JSON report: out of memory, or a value JSON cannot hold");
}
