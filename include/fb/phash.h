/* Perceptual hashes and duplicate groups, shared by fb-split and fb-audit so
 * both tools agree on what "the same photo" means.
 *
 * The pHash: autorotate (EXIF orientation), shrink to 128x128 grayscale
 * (aspect ignored), area-average to 32x32, 2-D DCT, keep the 8x8 lowest
 * frequencies except row and column 0, one bit per coefficient: above the
 * median or not.  Re-encoding,
 * resizing and small crops change few bits; different photos differ in about
 * half of them.  Callers must have initialised libvips (VIPS_INIT). */
#ifndef FB_PHASH_H
#define FB_PHASH_H

#include <stddef.h>
#include <stdint.h>

/* Hamming distance at or below which two pHashes are near-duplicates.
 * Tuned on dogfacenet (see man/fb-audit.1). */
#define FB_PHASH_DEFAULT_MAXDIST 8

/* After VIPS_INIT: blocks every libvips loader but the photo ones (as
 * fb-prep does), turns the operation cache off and keeps libvips warnings
 * (which name no file) off stderr. */
void fb_phash_vips_setup(void);

/* Short format name ("jpeg", "png", "webp", "tiff", "gif", "heif") when the
 * file's first bytes are an image format fb opens (fb_prep_sniff), else
 * NULL.  Only loaders on this narrow allowlist are ever used: libvips 8.14
 * has loaders that crash or hang on hostile files (JPEG 2000, SVGZ). */
const char *fb_photo_format(const char *path);

/* A photo's hashes: the whole frame, and five crops (centre and corners,
 * FB_PHASH_CROP_SIDE of each side) so that a copy cropped by a few percent
 * still matches.  All from one 128x128 grayscale thumbnail. */
#define FB_PHASH_CROPS 5
#define FB_PHASH_CROP_SIDE 0.92
typedef struct {
    uint64_t full;
    uint64_t crop[FB_PHASH_CROPS];
} fb_phash;

/* Hashes of the image file.  0 ok; -1 with a message in err. */
int fb_phash_file(const char *path, fb_phash *hash, char *err, size_t errlen);
/* Hashes of 128x128 grayscale pixels (row-major, any scale). */
void fb_phash_from_gray128(const double *gray, fb_phash *hash);

/* pHash of 32x32 grayscale pixels (row-major, any scale). */
uint64_t fb_phash_pixels(const double pixels[32 * 32]);

/* The same photo: the whole frames, or a crop of one and the whole of the
 * other, at most maxdist bits apart.  maxdist < 0: never. */
int fb_phash_near(const fb_phash *a, const fb_phash *b, int maxdist);

int fb_hamming(uint64_t a, uint64_t b);

/* Union-find over n items: groups[i] is the representative (smallest index)
 * of item i's group after any sequence of fb_groups_join calls. */
typedef struct { size_t *parent; size_t n; } fb_groups;
int    fb_groups_init(fb_groups *g, size_t n);          /* 0 ok, -1 no memory */
void   fb_groups_free(fb_groups *g);
size_t fb_groups_find(fb_groups *g, size_t i);
void   fb_groups_join(fb_groups *g, size_t a, size_t b);

/* Joins every pair that fb_phash_near calls the same photo.  Items with
 * has_hash[i] == 0 (not decodable) are left alone.  Returns the number of
 * joined pairs. */
size_t fb_groups_join_phash(fb_groups *g, const fb_phash *hash,
                            const unsigned char *has_hash, int maxdist);

/* Content identity: size and a 64-bit FNV-1a digest of the bytes.
 * 0 ok, -1 errno set. */
int fb_file_digest(const char *path, uint64_t *size, uint64_t *digest);
/* 1 when the two files have identical bytes, 0 when not, -1 on error. */
int fb_files_identical(const char *a, const char *b);

/* Joins byte-identical files (digest match confirmed byte by byte).
 * size/digest as from fb_file_digest; has_digest[i] == 0 skips item i.
 * Returns the number of joined pairs. */
size_t fb_groups_join_identical(fb_groups *g, char *const *paths, const uint64_t *size,
                                const uint64_t *digest, const unsigned char *has_digest);

#endif
