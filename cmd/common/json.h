/* The tools' --json outputs: every string goes through fb_json_text, every
 * insertion is checked.  JSON text is UTF-8 and jansson refuses anything
 * else (json_string returns NULL and the append that takes it fails without
 * a word), but class names are folder names and ids are file paths: any
 * bytes.  So a byte that does not start a valid UTF-8 sequence is read as
 * Latin-1 (byte 0xE9 becomes U+00E9, "\u00e9" or é in the output): the name
 * stays, readable, and valid UTF-8 passes through unchanged.  (The TSV and
 * text outputs keep the bytes as they are.)  Documented in fb-eval(1) and
 * fb-audit(1). */
#ifndef FB_CMD_JSON_H
#define FB_CMD_JSON_H

#include <jansson.h>

/* s as valid UTF-8 (malloc'd; dies when memory runs out). */
char   *fb_utf8_text(const char *s);
/* A JSON string of s, never NULL. */
json_t *fb_json_text(const char *s);
/* v, or dies when it is NULL (a json_pack or constructor that failed). */
json_t *fb_json_ok(json_t *v);
/* obj[key] = v, the key made UTF-8 like a value; dies on failure. */
void    fb_json_set(json_t *obj, const char *key, json_t *v);
/* arr += v; dies on failure. */
void    fb_json_push(json_t *arr, json_t *v);

#endif
