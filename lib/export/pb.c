/* Protocol buffers wire format writer (see pb.h). */
#include "pb.h"

#include <stdlib.h>
#include <string.h>

void pb_init(pb_buf *b)
{
    memset(b, 0, sizeof *b);
}

void pb_free(pb_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Room for n more bytes; 0 ok, -1 (and failed set) when out of memory. */
static int reserve(pb_buf *b, size_t n)
{
    if (b->failed) return -1;
    if (b->len + n <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) {
        if (cap > SIZE_MAX / 2) goto fail;
        cap *= 2;
    }
    unsigned char *p = realloc(b->data, cap);
    if (!p) goto fail;
    b->data = p;
    b->cap = cap;
    return 0;
fail:
    b->failed = 1;
    return -1;
}

void pb_raw(pb_buf *b, const void *p, size_t n)
{
    if (n == 0 || reserve(b, n) != 0) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

size_t pb_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void pb_varint(pb_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (unsigned char)(v & 0x7f) | 0x80;
        v >>= 7;
    }
    tmp[n++] = (unsigned char)v;
    pb_raw(b, tmp, n);
}

void pb_key(pb_buf *b, int field, int wire_type)
{
    pb_varint(b, ((uint64_t)field << 3) | (uint64_t)wire_type);
}

void pb_int(pb_buf *b, int field, int64_t v)
{
    pb_key(b, field, PB_VARINT);
    pb_varint(b, (uint64_t)v);   /* two's complement: 10 bytes when negative */
}

/* The 4 little-endian bytes of a float, whatever the host's byte order. */
static void float_le(float v, unsigned char out[4])
{
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int i = 0; i < 4; i++) out[i] = (unsigned char)(u >> (8 * i));
}

void pb_float(pb_buf *b, int field, float v)
{
    unsigned char le[4];
    float_le(v, le);
    pb_key(b, field, PB_FIXED32);
    pb_raw(b, le, 4);
}

void pb_bytes(pb_buf *b, int field, const void *p, size_t n)
{
    pb_key(b, field, PB_LEN);
    pb_varint(b, n);
    pb_raw(b, p, n);
}

void pb_string(pb_buf *b, int field, const char *s)
{
    pb_bytes(b, field, s, strlen(s));
}

void pb_message(pb_buf *b, int field, const pb_buf *msg)
{
    if (msg->failed) b->failed = 1;
    pb_bytes(b, field, msg->data, msg->len);
}

void pb_floats_le(pb_buf *b, const float *v, size_t n)
{
    if (n == 0 || reserve(b, 4 * n) != 0) return;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(b->data + b->len, v, 4 * n);
#else
    for (size_t i = 0; i < n; i++) float_le(v[i], b->data + b->len + 4 * i);
#endif
    b->len += 4 * n;
}

void pb_packed_floats(pb_buf *b, int field, const float *v, size_t n)
{
    pb_key(b, field, PB_LEN);
    pb_varint(b, 4 * (uint64_t)n);
    pb_floats_le(b, v, n);
}
