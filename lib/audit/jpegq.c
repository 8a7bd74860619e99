/* JPEG quality estimate from the luminance quantisation table.  libvips
 * 8.14 does not expose the table, so the file's markers are read here. */
#include "fb/audit.h"
#include "fb/core.h"

#include <stdio.h>
#include <stdlib.h>

/* Annex K luminance table, natural order: the base libjpeg scales. */
static const uint16_t ijg_luminance[64] = {
    16, 11, 10, 16, 24, 40, 51, 61,     12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,     14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,   24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99 };

/* Natural-order position of the k-th coefficient in a DQT (zigzag order). */
static const unsigned char zigzag_to_natural[64] = {
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63 };

void fb_jpeg_ijg_table(int quality, uint16_t table[64])
{
    if (quality < 1) quality = 1;
    if (quality > 100) quality = 100;
    long scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;   /* jpeg_quality_scaling */
    for (int i = 0; i < 64; i++) {
        long v = (ijg_luminance[i] * scale + 50) / 100;
        table[i] = (uint16_t)(v < 1 ? 1 : v > 255 ? 255 : v);   /* baseline tables */
    }
}

int fb_jpeg_quality_from_table(const uint16_t table[64])
{
    /* Closest standard table; scanning from 100 down makes ties go to the
     * higher quality.  Cameras use their own tables: the result is then the
     * IJG quality of similar coarseness, which is what matters here. */
    int best = -1;
    long best_err = 0;
    for (int q = 100; q >= 1; q--) {
        uint16_t t[64];
        fb_jpeg_ijg_table(q, t);
        long err = 0;
        for (int i = 0; i < 64; i++) err += labs((long)t[i] - (long)table[i]);
        if (best < 0 || err < best_err) { best = q; best_err = err; }
    }
    return best;
}

static int read_u16(FILE *f, unsigned *v)
{
    int a = getc(f), b = getc(f);
    if (a == EOF || b == EOF) return -1;
    *v = (unsigned)a << 8 | (unsigned)b;
    return 0;
}

/* Parses one DQT segment body of `len` bytes; 1 when table 0 was found. */
static int parse_dqt(FILE *f, long len, uint16_t table[64])
{
    while (len > 0) {
        int pq_tq = getc(f);
        if (pq_tq == EOF) return -1;
        len--;
        int wide = pq_tq >> 4, id = pq_tq & 15;
        if (wide > 1) return -1;
        uint16_t t[64];
        for (int k = 0; k < 64; k++) {
            unsigned v;
            if (wide) { if (read_u16(f, &v)) return -1; len -= 2; }
            else { int c = getc(f); if (c == EOF) return -1; v = (unsigned)c; len--; }
            t[zigzag_to_natural[k]] = (uint16_t)v;
        }
        if (id == 0) {
            for (int i = 0; i < 64; i++) table[i] = t[i];
            return 1;
        }
    }
    return 0;
}

int fb_jpeg_quality(const char *path)
{
    char why[200];
    FILE *f = fb_open_regular(path, why, sizeof why);
    if (!f) return -1;
    int quality = fb_jpeg_quality_stream(f);
    fclose(f);
    return quality;
}

int fb_jpeg_quality_stream(FILE *f)
{
    int quality = -1;
    if (getc(f) != 0xFF || getc(f) != 0xD8) goto done;
    for (;;) {
        int c = getc(f);
        if (c != 0xFF) goto done;                  /* markers must follow each other */
        int marker;
        while ((marker = getc(f)) == 0xFF) {}      /* fill bytes */
        if (marker == EOF || marker == 0xDA || marker == 0xD9) goto done;  /* SOS, EOI */
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  /* no length */
        unsigned len;
        if (read_u16(f, &len) || len < 2) goto done;
        if (marker == 0xDB) {
            uint16_t table[64];
            long start = ftell(f);
            int found = parse_dqt(f, (long)len - 2, table);
            if (found < 0) goto done;
            if (found) { quality = fb_jpeg_quality_from_table(table); goto done; }
            if (fseek(f, start + (long)len - 2, SEEK_SET)) goto done;
        } else if (fseek(f, (long)len - 2, SEEK_CUR)) {
            goto done;
        }
    }
done:
    return quality;
}
