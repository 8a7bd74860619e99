/* The metadata shortcut test's decision tree and its stratified k-fold
 * cross-validation (fb/audit.h). */
#include "fb/audit.h"
#include "fb/core.h"

#include <stdlib.h>
#include <string.h>

const fb_feature_group fb_feature_groups[] = {
    { "image size", 1u << FB_FEAT_LOG_WIDTH | 1u << FB_FEAT_LOG_HEIGHT },
    { "aspect ratio", 1u << FB_FEAT_LOG_ASPECT },
    { "file format", 1u << FB_FEAT_FORMAT },
    { "JPEG quality", 1u << FB_FEAT_QUALITY },
    { "camera EXIF", 1u << FB_FEAT_HAS_EXIF },
    { "camera make/model", 1u << FB_FEAT_CAMERA },
};
const int fb_nfeature_groups = sizeof fb_feature_groups / sizeof fb_feature_groups[0];

/* Deep enough for "wide AND small AND no EXIF", shallow enough not to
 * memorise: a leak-free metadata classifier should stay near chance. */
#define TREE_DEPTH 4
#define MIN_LEAF 2
#define MAX_FOLDS 5

static int is_categorical(int feature)
{
    return feature == FB_FEAT_FORMAT || feature == FB_FEAT_CAMERA;
}

typedef struct tree_node {
    int feature;               /* -1 = leaf */
    double value;              /* threshold (numeric: x <= value) or code (x == value) */
    int label;                 /* majority label (prediction at a leaf) */
    struct tree_node *left, *right;
} tree_node;

typedef struct {
    const double *x;
    const int *y;
    int nclasses;
    unsigned mask;
    long *left, *total;        /* class counts, scratch */
    int sort_feature;
} tree_ctx;

static tree_ctx *sort_ctx;     /* qsort has no user pointer in C11 */

static int compare_by_feature(const void *a, const void *b)
{
    double x = sort_ctx->x[*(const size_t *)a * FB_NFEATURES + sort_ctx->sort_feature];
    double y = sort_ctx->x[*(const size_t *)b * FB_NFEATURES + sort_ctx->sort_feature];
    if (x != y) return x < y ? -1 : 1;
    return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

/* Sum over classes of count^2 / n: higher = purer (Gini impurity = 1 - this/n). */
static double purity(const long *counts, int nclasses, long n)
{
    if (n <= 0) return 0;
    double s = 0;
    for (int c = 0; c < nclasses; c++) s += (double)counts[c] * counts[c];
    return s / n;
}

static int majority(const long *counts, int nclasses)
{
    int best = 0;
    for (int c = 1; c < nclasses; c++) if (counts[c] > counts[best]) best = c;
    return best;
}

/* Best split of rows[0..n) over allowed features; returns its purity gain. */
static double best_split(tree_ctx *t, size_t *rows, size_t n, int *feature, double *value)
{
    double base = purity(t->total, t->nclasses, (long)n), best_gain = 1e-9;
    *feature = -1;
    for (int f = 0; f < FB_NFEATURES; f++) {
        if (!(t->mask & 1u << f)) continue;
        t->sort_feature = f;
        sort_ctx = t;
        qsort(rows, n, sizeof *rows, compare_by_feature);
        const double *x = t->x;
        for (size_t i = 0; i < n; ) {
            size_t j = i;
            double v = x[rows[i] * FB_NFEATURES + f];
            while (j < n && x[rows[j] * FB_NFEATURES + f] == v) j++;
            if (is_categorical(f)) {   /* rows [i,j) have value v: "x == v" vs the rest */
                memset(t->left, 0, t->nclasses * sizeof *t->left);
                for (size_t k = i; k < j; k++) t->left[t->y[rows[k]]]++;
            } else {                   /* rows [0,j) have x <= v */
                if (i == 0) memset(t->left, 0, t->nclasses * sizeof *t->left);
                for (size_t k = i; k < j; k++) t->left[t->y[rows[k]]]++;
            }
            long nl = is_categorical(f) ? (long)(j - i) : (long)j, nr = (long)n - nl;
            if (nl >= MIN_LEAF && nr >= MIN_LEAF) {
                double pl = purity(t->left, t->nclasses, nl), sr = 0;
                for (int c = 0; c < t->nclasses; c++) {
                    double r = (double)(t->total[c] - t->left[c]);
                    sr += r * r;
                }
                double gain = pl + sr / nr - base;
                if (gain > best_gain) {
                    best_gain = gain;
                    *feature = f;
                    /* Numeric threshold halfway to the next value. */
                    *value = is_categorical(f) || j >= n ? v
                           : (v + x[rows[j] * FB_NFEATURES + f]) / 2;
                }
            }
            i = j;
        }
    }
    return *feature >= 0 ? best_gain : 0;
}

static int goes_left(const tree_node *node, const double *row)
{
    double v = row[node->feature];
    return is_categorical(node->feature) ? v == node->value : v <= node->value;
}

static tree_node *grow(tree_ctx *t, size_t *rows, size_t n, int depth)
{
    tree_node *node = calloc(1, sizeof *node);
    if (!node) return NULL;
    node->feature = -1;
    memset(t->total, 0, t->nclasses * sizeof *t->total);
    for (size_t i = 0; i < n; i++) t->total[t->y[rows[i]]]++;
    node->label = majority(t->total, t->nclasses);
    if (depth >= TREE_DEPTH || (long)n == t->total[node->label]) return node;
    int feature;
    double value;
    if (best_split(t, rows, n, &feature, &value) <= 0) return node;
    node->feature = feature;
    node->value = value;
    /* Partition rows in place: left first. */
    size_t nl = 0;
    for (size_t i = 0; i < n; i++)
        if (goes_left(node, t->x + rows[i] * FB_NFEATURES)) {
            size_t tmp = rows[nl]; rows[nl] = rows[i]; rows[i] = tmp; nl++;
        }
    node->left = grow(t, rows, nl, depth + 1);
    node->right = grow(t, rows + nl, n - nl, depth + 1);
    if (!node->left || !node->right) node->feature = -1;   /* out of memory: stay a leaf */
    return node;
}

static int predict(const tree_node *node, const double *row)
{
    while (node->feature >= 0) node = goes_left(node, row) ? node->left : node->right;
    return node->label;
}

static void free_tree(tree_node *node)
{
    if (!node) return;
    free_tree(node->left);
    free_tree(node->right);
    free(node);
}

/* fold[i] for stratified k-fold: each class's rows shuffled, dealt round-robin. */
static void assign_folds(const int *labels, size_t n, int nclasses, int k, uint64_t seed, int *fold)
{
    fb_rng rng;
    fb_rng_seed(&rng, seed);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) { for (size_t i = 0; i < n; i++) fold[i] = (int)(i % k); return; }
    for (int c = 0; c < nclasses; c++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) if (labels[i] == c) idx[m++] = i;
        fb_rng_shuffle(&rng, idx, m, sizeof *idx);
        for (size_t j = 0; j < m; j++) fold[idx[j]] = (int)(j % k);
    }
    free(idx);
}

double fb_shortcut_cv_accuracy(const double *features, const int *labels, size_t n,
                               int nclasses, unsigned mask, uint64_t seed, int *folds)
{
    *folds = 0;
    long *count = calloc(nclasses ? nclasses : 1, sizeof *count);
    if (!count || n == 0) { free(count); return 0; }
    for (size_t i = 0; i < n; i++) count[labels[i]]++;
    long smallest = -1;
    int present = 0;
    for (int c = 0; c < nclasses; c++)
        if (count[c] > 0) { present++; if (smallest < 0 || count[c] < smallest) smallest = count[c]; }
    free(count);
    /* Each fold needs every class in training; fewer than 2 folds is no test. */
    int k = smallest < MAX_FOLDS ? (int)smallest : MAX_FOLDS;
    if (present < 2 || k < 2) return 0;

    int *fold = malloc(n * sizeof *fold);
    size_t *rows = malloc(n * sizeof *rows);
    long *left = malloc(nclasses * sizeof *left), *total = malloc(nclasses * sizeof *total);
    if (!fold || !rows || !left || !total) { free(fold); free(rows); free(left); free(total); return 0; }
    assign_folds(labels, n, nclasses, k, seed, fold);
    tree_ctx t = { features, labels, nclasses, mask, left, total, 0 };
    size_t correct = 0;
    for (int f = 0; f < k; f++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) if (fold[i] != f) rows[m++] = i;
        tree_node *tree = grow(&t, rows, m, 0);
        if (!tree) continue;
        for (size_t i = 0; i < n; i++)
            if (fold[i] == f && predict(tree, features + i * FB_NFEATURES) == labels[i]) correct++;
        free_tree(tree);
    }
    free(fold); free(rows); free(left); free(total);
    *folds = k;
    return (double)correct / n;
}
