/* Same-photo groups (fb/dataset.h): union-find, joined by identical bytes
 * and by pHash.  fb-split keeps each group in one split; fb-audit reports
 * groups that span splits.  Both call fb_same_photo_join, so they agree. */
#include "fb/dataset.h"
#include "fb/core.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- union-find ---- */

int fb_groups_init(fb_groups *g, size_t n)
{
    g->n = n;
    g->parent = malloc((n ? n : 1) * sizeof *g->parent);
    if (!g->parent) return -1;
    for (size_t i = 0; i < n; i++) g->parent[i] = i;
    return 0;
}

void fb_groups_free(fb_groups *g)
{
    free(g->parent);
    g->parent = NULL;
    g->n = 0;
}

size_t fb_groups_find(fb_groups *g, size_t i)
{
    size_t root = i;
    while (g->parent[root] != root) root = g->parent[root];
    while (g->parent[i] != root) {   /* path compression */
        size_t next = g->parent[i];
        g->parent[i] = root;
        i = next;
    }
    return root;
}

void fb_groups_join(fb_groups *g, size_t a, size_t b)
{
    size_t ra = fb_groups_find(g, a), rb = fb_groups_find(g, b);
    /* The smaller index stays the root, so representatives do not depend on
     * the order pairs were found in. */
    if (ra < rb) g->parent[rb] = ra;
    else if (rb < ra) g->parent[ra] = rb;
}

size_t fb_groups_join_phash(fb_groups *g, const fb_phash *hash,
                            const unsigned char *has_hash, int maxdist)
{
    size_t pairs = 0;
    if (maxdist < 0) return 0;
    /* All pairs: 1e4 photos are 5e7 comparisons of up to 11 popcounts. */
    for (size_t i = 0; i < g->n; i++) {
        if (!has_hash[i]) continue;
        for (size_t j = i + 1; j < g->n; j++)
            if (has_hash[j] && fb_phash_near(&hash[i], &hash[j], maxdist)) {
                fb_groups_join(g, i, j);
                pairs++;
            }
    }
    return pairs;
}

/* ---- byte identity ---- */

int fb_file_digest(const char *path, uint64_t *size, uint64_t *digest, char *err, size_t errlen)
{
    FILE *f = fb_open_regular(path, err, errlen);
    if (!f) return -1;
    uint64_t h = 0xcbf29ce484222325ULL, n = 0;
    unsigned char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < got; i++) {
            h ^= buf[i];
            h *= 0x100000001b3ULL;
        }
        n += got;
    }
    int bad = ferror(f);
    int e = errno;
    fclose(f);
    if (bad) {
        snprintf(err, errlen, "%s", strerror(e ? e : EIO));
        return -1;
    }
    *size = n;
    *digest = h;
    return 0;
}

int fb_files_identical(const char *a, const char *b)
{
    char why[200];
    FILE *fa = fb_open_regular(a, why, sizeof why), *fb = fb_open_regular(b, why, sizeof why);
    int result = -1;
    if (!fa || !fb) goto done;
    unsigned char ba[65536], bb[65536];
    for (;;) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        if (ferror(fa) || ferror(fb)) goto done;
        if (na != nb || memcmp(ba, bb, na) != 0) { result = 0; goto done; }
        if (na == 0) { result = 1; goto done; }
    }
done:
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return result;
}

typedef struct { uint64_t size, digest; size_t index; } digest_entry;

static int compare_digest_entry(const void *a, const void *b)
{
    const digest_entry *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? -1 : 1;
    if (x->digest != y->digest) return x->digest < y->digest ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

long fb_groups_join_identical(fb_groups *g, const char *const *paths, const uint64_t *size,
                              const uint64_t *digest, const unsigned char *has_digest)
{
    digest_entry *e = malloc((g->n ? g->n : 1) * sizeof *e);
    if (!e) return -1;
    size_t m = 0;
    long pairs = 0;
    for (size_t i = 0; i < g->n; i++)
        if (has_digest[i]) e[m++] = (digest_entry){ size[i], digest[i], i };
    qsort(e, m, sizeof *e, compare_digest_entry);
    for (size_t i = 0; i < m; ) {
        size_t j = i + 1;
        while (j < m && e[j].size == e[i].size && e[j].digest == e[i].digest) j++;
        /* Same digest: confirm byte by byte against the run's first file. */
        for (size_t k = i + 1; k < j; k++)
            if (fb_files_identical(paths[e[i].index], paths[e[k].index]) == 1) {
                fb_groups_join(g, e[i].index, e[k].index);
                pairs++;
            }
        i = j;
    }
    free(e);
    return pairs;
}

/* ---- the same photo ---- */

/* fb_photo_key_read under a pixel limit. */
static int key_read(fb_photo_key *k, int with_phash, double max_pixels, char *err, size_t errlen)
{
    k->has_digest = k->has_phash = 0;
    char why[200];
    if (fb_file_digest(k->path, &k->size, &k->digest, why, sizeof why) != 0) {
        snprintf(err, errlen, "cannot read: %s", why);
        return -1;
    }
    k->has_digest = 1;
    if (!with_phash) return 0;
    if (fb_phash_file(k->path, max_pixels, &k->phash, err, errlen) != 0) return 1;
    k->has_phash = 1;
    return 0;
}

int fb_photo_key_read(fb_photo_key *k, int with_phash, char *err, size_t errlen)
{
    return key_read(k, with_phash, FB_PHOTO_MAX_PIXELS, err, errlen);
}

/* ---- many keys, in decoder processes ---- */

/* What a decoder process sends back for one file, as plain bytes. */
typedef struct {
    int32_t rc, has_digest, has_phash;
    uint64_t size, digest;
    fb_phash phash;
    char err[256];
} key_facts;

typedef struct {
    fb_photo_key *keys;
    int with_phash;
    const fb_decode_limits *limits;
    fb_photo_key_done each;
    void *ctx;
} keys_run;

static int keys_start(void *ctx)
{
    const keys_run *r = ctx;
    char err[256];
    return fb_photo_vips_start(r->limits->argv0, err, sizeof err);
}

/* In the decoder process. */
static int key_one(void *ctx, const char *path, void *out, char *reason, size_t len)
{
    const keys_run *r = ctx;
    (void)reason; (void)len;   /* never fails: rc and err say how it went */
    key_facts *x = out;
    memset(x, 0, sizeof *x);
    fb_photo_key k = { .path = path };
    x->rc = key_read(&k, r->with_phash, r->limits->max_pixels, x->err, sizeof x->err);
    x->has_digest = k.has_digest;
    x->has_phash = k.has_phash;
    x->size = k.size;
    x->digest = k.digest;
    x->phash = k.phash;
    return 0;
}

/* In the parent, in input order. */
static int key_done(void *ctx, size_t i, const void *result, const char *reason)
{
    const keys_run *r = ctx;
    fb_photo_key *k = &r->keys[i];
    const key_facts *x = result;
    int rc;
    char err[sizeof x->err + 64];
    if (x) {
        k->has_digest = x->has_digest;
        k->has_phash = x->has_phash;
        k->size = x->size;
        k->digest = x->digest;
        k->phash = x->phash;
        rc = x->rc;
        snprintf(err, sizeof err, "%.*s", (int)sizeof x->err, x->err);
    } else {
        /* The decoder hung or died on this file: its bytes can still be
         * read here (no decoding), so byte-identical copies still group. */
        char why[200];
        k->has_phash = 0;
        k->has_digest = fb_file_digest(k->path, &k->size, &k->digest, why, sizeof why) == 0;
        rc = k->has_digest ? 1 : -1;
        snprintf(err, sizeof err, "%s", reason);
    }
    if (r->each) r->each(r->ctx, i, k, rc, err);
    return 0;
}

int fb_photo_keys_read(fb_photo_key *keys, size_t n, int with_phash, const fb_decode_limits *limits,
                       fb_photo_key_done each, void *ctx, char *err, size_t errlen)
{
    const char **paths = malloc((n ? n : 1) * sizeof *paths);
    if (!paths) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) paths[i] = keys[i].path;
    keys_run r = { keys, with_phash, limits, each, ctx };
    fb_decoder_job job = { .start = keys_start, .run = key_one, .ctx = &r,
                           .result_size = sizeof(key_facts), .jobs = limits->jobs,
                           .timeout = limits->timeout };
    int rc = fb_decoders_run(&job, paths, n, key_done, &r, err, errlen);
    free(paths);
    return rc < 0 ? -1 : 0;
}

int fb_same_photo_join(fb_groups *g, const fb_photo_key *keys, size_t n, int maxdist)
{
    size_t m = n ? n : 1;
    const char **paths = malloc(m * sizeof *paths);
    uint64_t *size = malloc(m * sizeof *size), *digest = malloc(m * sizeof *digest);
    fb_phash *hash = malloc(m * sizeof *hash);
    unsigned char *has_digest = malloc(m), *has_hash = malloc(m);
    int rc = -1;
    if (!paths || !size || !digest || !hash || !has_digest || !has_hash) goto done;
    for (size_t i = 0; i < n; i++) {
        paths[i] = keys[i].path;
        size[i] = keys[i].size;
        digest[i] = keys[i].digest;
        has_digest[i] = (unsigned char)keys[i].has_digest;
        hash[i] = keys[i].phash;
        has_hash[i] = (unsigned char)keys[i].has_phash;
    }
    if (fb_groups_join_identical(g, paths, size, digest, has_digest) < 0) goto done;
    fb_groups_join_phash(g, hash, has_hash, maxdist);
    rc = 0;
done:
    free(paths); free(size); free(digest); free(hash); free(has_digest); free(has_hash);
    return rc;
}

/* Fills the facts of group dg, whose members are set. */
static void describe_group(fb_photo_group *dg, const fb_photo_key *keys)
{
    const fb_photo_key *a = &keys[dg->members[0]];
    dg->identical = 1;
    dg->max_bits = 0;
    dg->splits = 0;
    for (size_t k = 0; k < dg->n; k++) {
        const fb_photo_key *b = &keys[dg->members[k]];
        dg->identical &= a->has_digest && b->has_digest && a->size == b->size &&
                         a->digest == b->digest;
        int bits = a->has_phash && b->has_phash ? fb_hamming(a->phash.full, b->phash.full) : -1;
        if (bits < 0) dg->max_bits = -1;
        else if (dg->max_bits >= 0 && bits > dg->max_bits) dg->max_bits = bits;
        if (b->split >= 0 && b->split < FB_NSPLITS) dg->splits |= 1u << b->split;
    }
    dg->nclasses = 1;
    for (size_t k = 1; k < dg->n; k++) {
        int fresh = 1;
        for (size_t l = 0; l < k; l++)
            if (keys[dg->members[l]].label == keys[dg->members[k]].label) fresh = 0;
        dg->nclasses += fresh;
    }
}

fb_photo_group *fb_photo_groups(fb_groups *g, const fb_photo_key *keys, size_t n, size_t *ngroups)
{
    *ngroups = 0;
    size_t *count = calloc(n ? n : 1, sizeof *count);
    if (!count) return NULL;
    for (size_t i = 0; i < n; i++) count[fb_groups_find(g, i)]++;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) m += count[i] > 1;
    fb_photo_group *groups = calloc(m ? m : 1, sizeof *groups);
    if (!groups) { free(count); return NULL; }
    m = 0;
    for (size_t r = 0; r < n; r++) {
        if (count[r] < 2) continue;
        fb_photo_group *dg = &groups[m++];
        if (!(dg->members = malloc(count[r] * sizeof *dg->members))) {
            fb_photo_groups_free(groups, m);
            free(count);
            return NULL;
        }
        for (size_t i = r; i < n; i++)
            if (fb_groups_find(g, i) == r) dg->members[dg->n++] = i;
        describe_group(dg, keys);
    }
    free(count);
    *ngroups = m;
    return groups;
}

void fb_photo_groups_free(fb_photo_group *groups, size_t ngroups)
{
    if (!groups) return;
    for (size_t k = 0; k < ngroups; k++) free(groups[k].members);
    free(groups);
}

int fb_photo_group_is_leak(const fb_photo_group *g) { return __builtin_popcount(g->splits) > 1; }

void fb_dataset_number_groups(fb_dataset *ds, const fb_photo_group *groups, size_t ngroups)
{
    for (size_t g = 0; g < ngroups; g++)
        for (size_t m = 0; m < groups[g].n; m++)
            if (groups[g].members[m] < ds->nitems)
                ds->items[groups[g].members[m]].group = (uint32_t)(g + 1);
}
