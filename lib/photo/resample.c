/* Antialiased resampling of 8-bit RGB, the same method as Pillow's resize
 * (and libvips' reduce): a separable filter whose support is widened by the
 * reduction factor, so every source pixel contributes when shrinking.
 *
 * fb-prep does this itself rather than with vips_resize because, for a
 * 500×375 photo, building and running the vips resize pipeline cost more
 * than decoding the JPEG; this loop costs a fraction of a millisecond. */
#include "fb/photo.h"

/* The two inner loops are the only pixel work fb-prep does itself; let
 * the compiler vectorise them even in a -O2 build. */
#pragma GCC optimize("O3")

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double filter_linear(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Catmull-Rom (a = -0.5), as Pillow's BICUBIC. */
static double filter_cubic(double x)
{
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

static double sinc(double x)
{
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double filter_lanczos3(double x)
{
    return fabs(x) < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0;
}

typedef struct {
    double (*f)(double);
    double support;
} filter;

static filter filter_for(fb_prep_kernel k)
{
    switch (k) {
    case FB_KERNEL_CUBIC: return (filter){ filter_cubic, 2.0 };
    case FB_KERNEL_LANCZOS3: return (filter){ filter_lanczos3, 3.0 };
    default: return (filter){ filter_linear, 1.0 };
    }
}

/* For each of n outputs over the source interval [b0, b1) of a line of
 * `len` pixels: first source index, tap count, normalised weights. */
typedef struct {
    int *first, *count;
    float *w;
    int max_taps;
} taps;

static void taps_free(taps *t)
{
    free(t->first);
    free(t->count);
    free(t->w);
}

static int taps_make(taps *t, int len, double b0, double b1, int n, filter flt)
{
    double scale = (b1 - b0) / n;
    double fscale = scale > 1.0 ? scale : 1.0;
    double support = flt.support * fscale;
    t->max_taps = (int)ceil(support) * 2 + 1;
    t->first = malloc(n * sizeof *t->first);
    t->count = malloc(n * sizeof *t->count);
    t->w = malloc((size_t)n * t->max_taps * sizeof *t->w);
    if (!t->first || !t->count || !t->w) { taps_free(t); return -1; }
    for (int i = 0; i < n; i++) {
        double centre = b0 + (i + 0.5) * scale;
        int lo = (int)floor(centre - support + 0.5), hi = (int)floor(centre + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > len) hi = len;
        if (hi - lo > t->max_taps) hi = lo + t->max_taps;
        if (hi <= lo) { lo = (int)centre; if (lo >= len) lo = len - 1; if (lo < 0) lo = 0; hi = lo + 1; }
        float *w = t->w + (size_t)i * t->max_taps;
        double sum = 0;
        for (int j = lo; j < hi; j++) sum += w[j - lo] = (float)flt.f((j + 0.5 - centre) / fscale);
        if (sum == 0) { w[0] = 1; for (int j = lo + 1; j < hi; j++) w[j - lo] = 0; sum = 1; }
        for (int j = lo; j < hi; j++) w[j - lo] = (float)(w[j - lo] / sum);
        t->first[i] = lo;
        t->count[i] = hi - lo;
    }
    return 0;
}

static uint8_t clamp_u8(float v)
{
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)(v + 0.5f);
}

/* The vertical pass: row[i] = sum over k of w[k] * src_k[i], the sum taken
 * in tap order from 0.0f.  The SIMD versions do the same float multiplies
 * and adds in the same order (never fused), so every variant gives the
 * same bits; they only convert and add more lanes at a time. */
static void vpass_scalar(const uint8_t *const *s, const float *w, int taps, float *row, int n)
{
    for (int i = 0; i < n; i++) {
        float a = 0.0f;
        for (int k = 0; k < taps; k++) a += w[k] * s[k][i];
        row[i] = a;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FB_X86 1

static void vpass_sse2(const uint8_t *const *s, const float *w, int taps, float *row, int n)
{
    const __m128i zero = _mm_setzero_si128();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128 a0 = _mm_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < taps; k++) {
            __m128 wk = _mm_set1_ps(w[k]);
            __m128i v = _mm_loadu_si128((const __m128i *)(s[k] + i));
            __m128i lo = _mm_unpacklo_epi8(v, zero), hi = _mm_unpackhi_epi8(v, zero);
            a0 = _mm_add_ps(a0, _mm_mul_ps(wk, _mm_cvtepi32_ps(_mm_unpacklo_epi16(lo, zero))));
            a1 = _mm_add_ps(a1, _mm_mul_ps(wk, _mm_cvtepi32_ps(_mm_unpackhi_epi16(lo, zero))));
            a2 = _mm_add_ps(a2, _mm_mul_ps(wk, _mm_cvtepi32_ps(_mm_unpacklo_epi16(hi, zero))));
            a3 = _mm_add_ps(a3, _mm_mul_ps(wk, _mm_cvtepi32_ps(_mm_unpackhi_epi16(hi, zero))));
        }
        _mm_storeu_ps(row + i, a0);
        _mm_storeu_ps(row + i + 4, a1);
        _mm_storeu_ps(row + i + 8, a2);
        _mm_storeu_ps(row + i + 12, a3);
    }
    for (; i < n; i++) {
        float a = 0.0f;
        for (int k = 0; k < taps; k++) a += w[k] * s[k][i];
        row[i] = a;
    }
}

__attribute__((target("avx2")))
static void vpass_avx2(const uint8_t *const *s, const float *w, int taps, float *row, int n)
{
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < taps; k++) {
            __m256 wk = _mm256_set1_ps(w[k]);
            const uint8_t *p = s[k] + i;
            __m256 v0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
            __m256 v1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 8))));
            __m256 v2 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 16))));
            __m256 v3 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 24))));
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(wk, v0));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(wk, v1));
            a2 = _mm256_add_ps(a2, _mm256_mul_ps(wk, v2));
            a3 = _mm256_add_ps(a3, _mm256_mul_ps(wk, v3));
        }
        _mm256_storeu_ps(row + i, a0);
        _mm256_storeu_ps(row + i + 8, a1);
        _mm256_storeu_ps(row + i + 16, a2);
        _mm256_storeu_ps(row + i + 24, a3);
    }
    for (; i < n; i++) {
        float a = 0.0f;
        for (int k = 0; k < taps; k++) a += w[k] * s[k][i];
        row[i] = a;
    }
}

/* The horizontal pass on RGB floats, one output pixel per 4-lane vector
 * (R, G, B and a lane that is ignored); row must have one float of slack
 * after its last pixel. */
static void hpass_sse2(const float *row, const taps *tx, uint8_t *d, int ow)
{
    for (int x = 0; x < ow; x++) {
        const float *wx = tx->w + (size_t)x * tx->max_taps;
        const float *r = row + (size_t)tx->first[x] * 3;
        __m128 a = _mm_setzero_ps();
        for (int k = 0; k < tx->count[x]; k++, r += 3)
            a = _mm_add_ps(a, _mm_mul_ps(_mm_set1_ps(wx[k]), _mm_loadu_ps(r)));
        /* clamp_u8: truncate v + 0.5, saturate to 0..255 */
        __m128i q = _mm_cvttps_epi32(_mm_add_ps(a, _mm_set1_ps(0.5f)));
        q = _mm_packus_epi16(_mm_packs_epi32(q, q), q);
        uint32_t px = (uint32_t)_mm_cvtsi128_si32(q);
        memcpy(d + 3 * x, &px, 3);
    }
}

/* The horizontal pass two output pixels at a time in 8 lanes (R G B _ of
 * each).  Every pixel runs the same number of taps, the longest: the extra
 * taps have weight 0 and read zeros past the row's end, and adding 0 * x
 * leaves a sum as it was, so the bytes are those of the other passes. */
typedef struct {
    float *w;        /* per pixel pair, per tap: 4 × weight of the even pixel, 4 × the odd one */
    int taps;
} hpairs;

__attribute__((target("avx2")))
static void hpass_avx2(const float *row, const taps *tx, const hpairs *hp, uint8_t *d, int ow)
{
    const __m256 half = _mm256_set1_ps(0.5f);
    const int T = hp->taps;
    int x = 0;
    /* Four pairs at once: four independent sums hide the add latency. */
    for (; x + 8 <= ow; x += 8) {
        const float *r[8];
        for (int j = 0; j < 8; j++) r[j] = row + (size_t)tx->first[x + j] * 3;
        const float *w = hp->w + (size_t)(x / 2) * T * 8;
        const size_t ws = (size_t)T * 8;   /* from one pair's weights to the next's */
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < T; k++, w += 8) {
            size_t o = (size_t)k * 3;
            __m256 v0 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[0] + o)), _mm_loadu_ps(r[1] + o), 1);
            __m256 v1 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[2] + o)), _mm_loadu_ps(r[3] + o), 1);
            __m256 v2 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[4] + o)), _mm_loadu_ps(r[5] + o), 1);
            __m256 v3 = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r[6] + o)), _mm_loadu_ps(r[7] + o), 1);
            a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(w), v0));
            a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_loadu_ps(w + ws), v1));
            a2 = _mm256_add_ps(a2, _mm256_mul_ps(_mm256_loadu_ps(w + 2 * ws), v2));
            a3 = _mm256_add_ps(a3, _mm256_mul_ps(_mm256_loadu_ps(w + 3 * ws), v3));
        }
        __m256i q0 = _mm256_cvttps_epi32(_mm256_add_ps(a0, half));
        __m256i q1 = _mm256_cvttps_epi32(_mm256_add_ps(a1, half));
        __m256i q2 = _mm256_cvttps_epi32(_mm256_add_ps(a2, half));
        __m256i q3 = _mm256_cvttps_epi32(_mm256_add_ps(a3, half));
        /* per 128-bit lane: bytes 0-3 q0, 4-7 q1, 8-11 q2, 12-15 q3 */
        __m256i q = _mm256_packus_epi16(_mm256_packs_epi32(q0, q1), _mm256_packs_epi32(q2, q3));
        uint32_t px[8];
        _mm_storeu_si128((__m128i *)px, _mm256_castsi256_si128(q));
        _mm_storeu_si128((__m128i *)(px + 4), _mm256_extracti128_si256(q, 1));
        /* px: even pixels of pairs 0..3, then odd pixels of pairs 0..3 */
        uint8_t *o8 = d + 3 * x;
        for (int j = 0; j < 4; j++) {
            memcpy(o8 + 6 * j, &px[j], 3);
            memcpy(o8 + 6 * j + 3, &px[4 + j], 3);
        }
    }
    for (; x < ow; x += 2) {
        int x1 = x + 1 < ow ? x + 1 : x;
        const float *r0 = row + (size_t)tx->first[x] * 3, *r1 = row + (size_t)tx->first[x1] * 3;
        const float *w = hp->w + (size_t)(x / 2) * T * 8;
        __m256 a = _mm256_setzero_ps();
        for (int k = 0; k < T; k++, r0 += 3, r1 += 3, w += 8) {
            __m256 v = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(r0)), _mm_loadu_ps(r1), 1);
            a = _mm256_add_ps(a, _mm256_mul_ps(_mm256_loadu_ps(w), v));
        }
        __m256i q = _mm256_cvttps_epi32(_mm256_add_ps(a, half));
        q = _mm256_packus_epi16(_mm256_packs_epi32(q, q), q);
        uint32_t p0 = (uint32_t)_mm_cvtsi128_si32(_mm256_castsi256_si128(q));
        uint32_t p1 = (uint32_t)_mm_cvtsi128_si32(_mm256_extracti128_si256(q, 1));
        memcpy(d + 3 * x, &p0, 3);
        if (x + 1 < ow) memcpy(d + 3 * x + 3, &p1, 3);
    }
}

static int hpairs_make(hpairs *hp, const taps *tx, int ow)
{
    int T = 1;
    for (int x = 0; x < ow; x++) if (tx->count[x] > T) T = tx->count[x];
    hp->taps = T;
    size_t n = (size_t)((ow + 1) / 2) * T * 8;
    if (!(hp->w = calloc(n, sizeof *hp->w))) return -1;
    for (int x = 0; x < ow; x++)
        for (int k = 0; k < tx->count[x]; k++)
            for (int l = 0; l < 4; l++)
                hp->w[((size_t)(x / 2) * T + k) * 8 + (x % 2) * 4 + l] = tx->w[(size_t)x * tx->max_taps + k];
    return 0;
}
#endif

static void hpass_scalar(const float *row, const taps *tx, uint8_t *d, int ow)
{
    for (int x = 0; x < ow; x++) {
        const float *wx = tx->w + (size_t)x * tx->max_taps;
        const float *r = row + (size_t)tx->first[x] * 3;
        float a = 0, b = 0, c = 0;
        for (int k = 0; k < tx->count[x]; k++, r += 3) {
            a += wx[k] * r[0];
            b += wx[k] * r[1];
            c += wx[k] * r[2];
        }
        d[3 * x] = clamp_u8(a);
        d[3 * x + 1] = clamp_u8(b);
        d[3 * x + 2] = clamp_u8(c);
    }
}

/* The caller's cap on the variant (fb_prep_simd_cap): -1 none, 0 scalar,
 * 1 SSE2, 2 AVX2. */
static int simd_cap = -1;

void fb_prep_simd_cap(int level)
{
    simd_cap = level;
}

int fb_prep_simd_parse(const char *s)
{
    if (!s) return -1;
    if (strcmp(s, "0") == 0) return 0;
    if (strcmp(s, "sse2") == 0) return 1;
    if (strcmp(s, "avx2") == 0) return 2;
    return -1;
}

static int simd_level(void)
{
#ifdef FB_X86
    if (simd_cap == 0 || simd_cap == 1) return simd_cap;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 2 : 1;
#else
    return 0;
#endif
}

int fb_prep_resample(const uint8_t *src, int w, int h, size_t stride,
                     const double box[4], uint8_t *dst, int ow, int oh, size_t dst_stride,
                     fb_prep_kernel kernel)
{
    filter flt = filter_for(kernel);
    taps tx = { 0 }, ty = { 0 };
    float *row = NULL;
    const uint8_t **srow = NULL;
    int level = simd_level(), rc = -1;
#ifdef FB_X86
    hpairs hp = { 0 };
#endif
    if (taps_make(&tx, w, box[0], box[2], ow, flt) || taps_make(&ty, h, box[1], box[3], oh, flt))
        goto out;
    /* Slack after the row: the SIMD horizontal passes read up to max_taps
     * pixels and one float past the last pixel; it stays zero. */
    size_t slack = (size_t)tx.max_taps * 3 + 4;
    if (!(row = calloc((size_t)w * 3 + slack, sizeof *row)) ||
        !(srow = malloc((size_t)ty.max_taps * sizeof *srow)))
        goto out;
#ifdef FB_X86
    if (level == 2 && hpairs_make(&hp, &tx, ow)) goto out;
#endif
    /* Vertical first: it runs along whole rows, which vectorises. */
    for (int y = 0; y < oh; y++) {
        for (int k = 0; k < ty.count[y]; k++) srow[k] = src + (size_t)(ty.first[y] + k) * stride;
        const float *wy = ty.w + (size_t)y * ty.max_taps;
        uint8_t *d = dst + (size_t)y * dst_stride;
        switch (level) {
#ifdef FB_X86
        case 2:
            vpass_avx2(srow, wy, ty.count[y], row, w * 3);
            hpass_avx2(row, &tx, &hp, d, ow);
            break;
        case 1:
            vpass_sse2(srow, wy, ty.count[y], row, w * 3);
            hpass_sse2(row, &tx, d, ow);
            break;
#endif
        default:
            vpass_scalar(srow, wy, ty.count[y], row, w * 3);
            hpass_scalar(row, &tx, d, ow);
        }
    }
    rc = 0;
out:
#ifdef FB_X86
    free(hp.w);
#endif
    taps_free(&tx);
    taps_free(&ty);
    free(row);
    free(srow);
    return rc;
}

/* Where the source goes in the size×size output, by policy. */
void fb_prep_geometry(int w, int h, int size, fb_resize_policy policy,
                      double box[4], int place[4])
{
    box[0] = 0; box[1] = 0; box[2] = w; box[3] = h;
    place[0] = 0; place[1] = 0; place[2] = size; place[3] = size;
    if (policy == FB_RESIZE_CROP) {
        /* Shorter side to size; the centred square of the source. */
        double side = w < h ? w : h;
        box[0] = (w - side) / 2; box[2] = box[0] + side;
        box[1] = (h - side) / 2; box[3] = box[1] + side;
    } else if (policy == FB_RESIZE_PAD) {
        /* Longer side to size; the rest is background, split evenly. */
        double scale = (double)size / (w > h ? w : h);
        int pw = (int)lround(w * scale), ph = (int)lround(h * scale);
        if (pw < 1) pw = 1;
        if (ph < 1) ph = 1;
        place[0] = (size - pw) / 2; place[1] = (size - ph) / 2;
        place[2] = pw; place[3] = ph;
    }
}

/* Applies EXIF orientation 2..8 to a size×size RGB square in place. */
void fb_prep_orient(uint8_t *img, int size, int orientation)
{
    if (orientation < 2 || orientation > 8) return;
    size_t n = (size_t)size * size * 3;
    uint8_t *tmp = malloc(n);
    if (!tmp) return;
    memcpy(tmp, img, n);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            /* (sx, sy): the stored pixel that shows at (x, y). */
            int sx, sy, m = size - 1;
            switch (orientation) {
            case 2: sx = m - x; sy = y; break;          /* mirror horizontal */
            case 3: sx = m - x; sy = m - y; break;      /* rotate 180 */
            case 4: sx = x; sy = m - y; break;          /* mirror vertical */
            case 5: sx = y; sy = x; break;              /* transpose */
            case 6: sx = y; sy = m - x; break;          /* rotate 90 clockwise */
            case 7: sx = m - y; sy = m - x; break;      /* transverse */
            default: sx = m - y; sy = x; break;         /* 8: rotate 270 clockwise */
            }
            memcpy(img + ((size_t)y * size + x) * 3, tmp + ((size_t)sy * size + sx) * 3, 3);
        }
    free(tmp);
}
