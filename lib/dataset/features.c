/* Same-photo groups by backbone features: the second half of THE rule for
 * "the same photo" (the first, bytes and pHash, is fb_same_photo_join in
 * groups.c).  fb-split and fb-audit both call fb_same_photo_join_features, so
 * a split made with -f keeps together exactly what the audit with -f flags. */
#include "fb/dataset.h"
#include "fb/core.h"
#include "fb/stream.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Unit-length feature vectors of the files a stream names. */
typedef struct {
    float *vec;                /* rows x d */
    size_t *which;             /* file index per row */
    size_t rows, d;
} feature_rows;

/* Reads the stream at path into fr: one row per record whose id is the path
 * of a key (the first record of a path counts).  0 ok; 1 unusable (noted);
 * -1 out of memory. */
static int read_features(feature_rows *fr, const fb_photo_key *keys, size_t n, const char *path,
                         const fb_notes *notes)
{
    memset(fr, 0, sizeof *fr);
    FILE *f = fb_open_input(path);
    if (!f) { fb_note(notes, "%s: %s", path, strerror(errno)); return 1; }
    char err[256];
    fb_reader *r = fb_reader_open(f, path, err, sizeof err);
    if (!r) { fb_note(notes, "%s", err); if (f != stdin) fclose(f); return 1; }
    const fb_header *h = fb_reader_header(r);
    int rc = 0;
    unsigned char *seen = NULL;
    if (h->dtype != FB_F32 || h->rank != 1) {
        fb_note(notes, "%s: expected feature vectors (float32, one dimension, from fb-feat), got %s rank %d",
                path, fb_dtype_name(h->dtype), h->rank);
        rc = 1;
        goto done;
    }
    size_t d = fr->d = h->dims[0];
    fr->vec = calloc((n ? n : 1) * d, sizeof *fr->vec);
    fr->which = malloc((n ? n : 1) * sizeof *fr->which);
    seen = calloc(n ? n : 1, 1);
    if (!fr->vec || !fr->which || !seen) { rc = -1; goto done; }
    long unmatched = 0;
    fb_record rec;
    int got;
    while ((got = fb_reader_next(r, &rec)) == 1) {
        size_t i;
        for (i = 0; i < n && (seen[i] || strcmp(keys[i].path, rec.id) != 0); i++) {}
        if (i == n) { unmatched++; continue; }
        seen[i] = 1;
        const float *x = rec.data;
        double norm = 0;
        for (size_t k = 0; k < d; k++) norm += (double)x[k] * x[k];
        norm = norm > 0 ? 1 / sqrt(norm) : 0;
        for (size_t k = 0; k < d; k++) fr->vec[fr->rows * d + k] = (float)(x[k] * norm);
        fr->which[fr->rows++] = i;
    }
    if (got < 0) fb_note(notes, "%s: %s (using the %zu records before)", path, fb_reader_error(r), fr->rows);
    if (unmatched)
        fb_note(notes, "%s: %ld record%s name%s no file of this set (record ids are the paths "
                "fb-prep read: give the photos the same way)", path, unmatched,
                unmatched == 1 ? "" : "s", unmatched == 1 ? "s" : "");
done:
    free(seen);
    fb_reader_close(r);
    if (f != stdin) fclose(f);
    return rc;
}

/* Joins the photos whose features are nearly parallel.  -1 out of memory. */
static int join_by_features(fb_groups *g, const feature_rows *fr, double cosine)
{
    /* All cosines, a block of rows at a time: X_block * X^T. */
    enum { BLOCK = 256 };
    size_t rows = fr->rows, d = fr->d;
    float *sim = malloc((size_t)BLOCK * (rows ? rows : 1) * sizeof *sim);
    if (!sim) return -1;
    for (size_t b = 0; b < rows; b += BLOCK) {
        size_t m = rows - b < BLOCK ? rows - b : BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)rows, (int)d, 1.0f,
                    fr->vec + b * d, (int)d, fr->vec, (int)d, 0.0f, sim, (int)rows);
        for (size_t i = 0; i < m; i++)
            for (size_t j = b + i + 1; j < rows; j++)
                if (sim[i * rows + j] >= cosine) fb_groups_join(g, fr->which[b + i], fr->which[j]);
    }
    free(sim);
    return 0;
}

int fb_same_photo_join_features(fb_groups *g, const fb_photo_key *keys, size_t n, const char *features,
                                double cosine, size_t *rows_used, const fb_notes *notes)
{
    feature_rows fr;
    *rows_used = 0;
    int rc = read_features(&fr, keys, n, features, notes);
    if (rc == 0 && join_by_features(g, &fr, cosine) != 0) rc = -1;
    if (rc == 0) *rows_used = fr.rows;
    free(fr.vec);
    free(fr.which);
    return rc;
}
