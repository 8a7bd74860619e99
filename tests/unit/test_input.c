/* The tools' inputs (cmd/common/input.h): several stream files read as one
 * FILE byte for byte; the text guard hands back every byte it looked at;
 * stream kinds and the tools that read them; fb_plural. */
#include "check.h"
#include "common/common.h"
#include "common/input.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/fb-input-XXXXXX";

/* n pseudo-random bytes (any value, NUL included) into path; returns them. */
static unsigned char *write_bytes(const char *path, size_t n, unsigned seed)
{
    unsigned char *b = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)((seed = seed * 1103515245u + 12345u) >> 16);
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
    return b;
}

/* Everything f gives, read in uneven pieces; its length into *n. */
static unsigned char *read_all(FILE *f, size_t *n)
{
    size_t cap = 1024, len = 0, piece = 1;
    unsigned char *b = malloc(cap);
    for (;;) {
        if (len + piece > cap) b = realloc(b, cap = 2 * (len + piece));
        size_t k = fread(b + len, 1, piece, f);
        len += k;
        if (k < piece) break;
        piece = piece * 3 % 9001 + 1;
    }
    *n = len;
    return b;
}

static void test_concatenation(void)
{
    char a[64], b[64], c[64];
    snprintf(a, sizeof a, "%s/a.fbt", dir);
    snprintf(b, sizeof b, "%s/b.fbt", dir);
    snprintf(c, sizeof c, "%s/empty.fbt", dir);
    size_t na = 70001, nb = 12345;
    unsigned char *ba = write_bytes(a, na, 1), *bb = write_bytes(b, nb, 2);
    free(write_bytes(c, 0, 3));
    char *paths[] = { a, c, b };
    fb_input in;
    fb_input_open(&in, 3, paths, "unused");
    size_t n;
    unsigned char *got = read_all(in.f, &n);
    CHECK(n == na + nb, "three files (one empty) read as one: %zu bytes, want %zu", n, na + nb);
    CHECK(n == na + nb && memcmp(got, ba, na) == 0 && memcmp(got + na, bb, nb) == 0,
          "byte for byte their concatenation");
    CHECK(strstr(in.name, "a.fbt + ") && strstr(in.name, " + ") && strstr(in.name, "b.fbt"),
          "named by all of them: %s", in.name);
    fb_input_close(&in);
    free(got);

    char *one[] = { a };
    fb_input_open(&in, 1, one, "unused");
    got = read_all(in.f, &n);
    CHECK(n == na && memcmp(got, ba, na) == 0 && strcmp(in.name, a) == 0, "one file: itself, by its name");
    fb_input_close(&in);
    free(got);
    free(ba);
    free(bb);
}

static void test_text_guard(void)
{
    /* a list longer than the block the guard looks at */
    size_t n = 10000;
    char *text = malloc(n + 1);
    for (size_t i = 0; i < n; i++) text[i] = i % 37 == 36 ? '\n' : (i % 5 == 0 ? '\t' : 'a' + (char)(i % 26));
    text[n] = 0;
    FILE *m = fmemopen(text, n, "rb");
    FILE *f = fb_input_text(m, "list", "a list of photo paths");
    size_t got_n;
    unsigned char *got = read_all(f, &got_n);
    CHECK(got_n == n && memcmp(got, text, n) == 0, "a 10000-byte text list reads back whole (%zu bytes)", got_n);
    fclose(f);
    fclose(m);
    free(got);
    free(text);
}

static void test_kinds(void)
{
    fb_header h;
    uint32_t img[3] = { 224, 224, 3 }, small[3] = { 160, 160, 3 }, feat[1] = { 2048 }, mat[2] = { 4, 4 };
    fb_header_init(&h, FB_U8, 3, img);
    CHECK(fb_stream_kind_of(&h) == FB_KIND_IMAGES, "uint8 224x224x3: images");
    CHECK(strcmp(fb_stream_kind_reader(fb_stream_kind_of(&h)), "fb-feat") == 0, "images go to fb-feat");
    fb_header_free(&h);
    fb_header_init(&h, FB_U8, 3, small);
    CHECK(fb_stream_kind_of(&h) == FB_KIND_IMAGES, "uint8 160x160x3: images too (fb-feat says which size)");
    fb_header_free(&h);
    fb_header_init(&h, FB_F32, 1, feat);
    CHECK(fb_stream_kind_of(&h) == FB_KIND_FEATURES, "float32 2048: features");
    CHECK(strstr(fb_stream_kind_reader(FB_KIND_FEATURES), "fb-train") &&
          strstr(fb_stream_kind_reader(FB_KIND_FEATURES), "fb-eval") &&
          strstr(fb_stream_kind_reader(FB_KIND_FEATURES), "fb-predict"), "features go to fb-train, fb-eval, fb-predict");
    fb_header_free(&h);
    fb_header_init(&h, FB_F32, 2, mat);
    CHECK(fb_stream_kind_of(&h) == FB_KIND_OTHER, "float32 4x4: other");
    fb_header_free(&h);
}

static void test_plural(void)
{
    CHECK(strcmp(fb_plural(1, "image", "images"), "image") == 0, "1 image");
    CHECK(strcmp(fb_plural(0, "image", "images"), "images") == 0, "0 images");
    CHECK(strcmp(fb_plural(2, "class", "classes"), "classes") == 0, "2 classes");
}

int main(void)
{
    if (!mkdtemp(dir)) SKIP_ALL("no temporary folder");
    fb_set_progname("test_input");
    test_concatenation();
    test_text_guard();
    test_kinds();
    test_plural();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return check_done();
}
