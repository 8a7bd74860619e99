/* A minimal writer of the protocol buffers wire format: just what an ONNX
 * model needs (varints, 64-bit signed integers, fixed32 floats, strings,
 * bytes, packed floats, nested messages).  No reader, no schema: the callers
 * (lib/export/onnx.c) know ONNX's field numbers.
 *
 * Wire format (https://protobuf.dev/programming-guides/encoding/): every
 * field is a key varint (field_number << 3 | wire_type) then its value:
 *   wire type 0 varint: 7 bits per byte, low group first, high bit = more
 *   wire type 2 length-delimited: varint length, then the bytes (strings,
 *               bytes, nested messages, packed repeated scalars)
 *   wire type 5 fixed32: 4 bytes little-endian (float)
 * A negative int64 is its two's complement as a 10-byte varint.
 *
 * A buffer that fails to grow remembers it (failed = 1) and ignores further
 * writes, so a caller checks once at the end. */
#ifndef FB_EXPORT_PB_H
#define FB_EXPORT_PB_H

#include <stddef.h>
#include <stdint.h>

enum { PB_VARINT = 0, PB_LEN = 2, PB_FIXED32 = 5 };

typedef struct {
    unsigned char *data;
    size_t len, cap;
    int failed;                   /* out of memory at some point */
} pb_buf;

void pb_init(pb_buf *b);
void pb_free(pb_buf *b);

void pb_raw(pb_buf *b, const void *p, size_t n);          /* bytes as they are */
void pb_varint(pb_buf *b, uint64_t v);
void pb_key(pb_buf *b, int field, int wire_type);
/* Size of v as a varint (1..10 bytes). */
size_t pb_varint_size(uint64_t v);

/* One field each. */
void pb_int(pb_buf *b, int field, int64_t v);                       /* int32/int64/enum */
void pb_float(pb_buf *b, int field, float v);                       /* fixed32 */
void pb_bytes(pb_buf *b, int field, const void *p, size_t n);       /* bytes */
void pb_string(pb_buf *b, int field, const char *s);                /* string */
void pb_message(pb_buf *b, int field, const pb_buf *msg);           /* nested message */
/* A packed repeated float field: one length, then n little-endian floats. */
void pb_packed_floats(pb_buf *b, int field, const float *v, size_t n);
/* n floats as little-endian bytes, without key or length (raw_data bodies). */
void pb_floats_le(pb_buf *b, const float *v, size_t n);

#endif
