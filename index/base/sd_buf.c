/*
 * sd_buf.c: growable arrays, the growable write buffer and the bounds-checked
 * read cursor.
 *
 * Every array that grows by pushing goes through sd_grow, so the doubling and
 * its overflow check are written once.
 *
 * Writers (segment serializer, WAL records, JSON encoders) append through
 * sd_buf with a sticky rc, so a long serializer checks for ENOMEM once.
 * Readers of bytes that came from disk or a socket use sd_rd, which checks
 * the remaining length before every read: `len > left`, never `p + len > end`
 * (the sum may overflow).
 */
#include "sd_base.h"

#include <stdlib.h>

void *sd_grow_slow(void *data, size_t *cap, size_t need, size_t elem, size_t first)
{
    size_t n = *cap ? *cap : (first ? first : 1);
    while (n < need) {
        if (n > SIZE_MAX / 2) {
            return NULL;
        }
        n *= 2;
    }
    if (elem && n > SIZE_MAX / elem) {
        return NULL;
    }
    void *p = realloc(data, n * elem);
    if (!p) {
        return NULL;
    }
    *cap = n;
    return p;
}

void sd_buf_init(struct sd_buf *b)
{
    memset(b, 0, sizeof *b);
}

void sd_buf_free(struct sd_buf *b)
{
    free(b->data);
    sd_buf_init(b);
}

void sd_buf_reset(struct sd_buf *b)
{
    b->len = 0;
    b->rc = SD_OK;
}

int sd_buf_reserve(struct sd_buf *b, size_t extra)
{
    if (b->rc) {
        return b->rc;
    }
    if (extra <= b->cap - b->len) {
        return SD_OK;
    }
    uint8_t *p =
        extra <= SIZE_MAX - b->len ? sd_grow(b->data, &b->cap, b->len + extra, 1, 256) : NULL;
    if (!p) {
        return b->rc = SD_ENOMEM;
    }
    b->data = p;
    return SD_OK;
}

void sd_buf_put(struct sd_buf *b, const void *p, size_t len)
{
    if (len == 0 || sd_buf_reserve(b, len)) {
        return;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
}

void sd_buf_put_le16(struct sd_buf *b, uint16_t v)
{
    uint8_t t[2];
    sd_put_le16(t, v);
    sd_buf_put(b, t, 2);
}

void sd_buf_put_le32(struct sd_buf *b, uint32_t v)
{
    uint8_t t[4];
    sd_put_le32(t, v);
    sd_buf_put(b, t, 4);
}

void sd_buf_put_le64(struct sd_buf *b, uint64_t v)
{
    uint8_t t[8];
    sd_put_le64(t, v);
    sd_buf_put(b, t, 8);
}

uint8_t *sd_buf_detach(struct sd_buf *b, size_t *len)
{
    uint8_t *p = b->data;
    *len = b->len;
    sd_buf_init(b);
    return p;
}

int sd_rd_bytes(struct sd_rd *rd, size_t len, const uint8_t **out)
{
    if (len > sd_rd_left(rd)) {
        return SD_ECORRUPT;
    }
    *out = rd->p;
    rd->p += len;
    return SD_OK;
}

int sd_rd_skip(struct sd_rd *rd, size_t len)
{
    const uint8_t *unused;
    return sd_rd_bytes(rd, len, &unused);
}

int sd_rd_u8(struct sd_rd *rd, uint8_t *v)
{
    if (sd_rd_left(rd) < 1) {
        return SD_ECORRUPT;
    }
    *v = *rd->p++;
    return SD_OK;
}

int sd_rd_le16(struct sd_rd *rd, uint16_t *v)
{
    if (sd_rd_left(rd) < 2) {
        return SD_ECORRUPT;
    }
    *v = sd_get_le16(rd->p);
    rd->p += 2;
    return SD_OK;
}

int sd_rd_le32(struct sd_rd *rd, uint32_t *v)
{
    if (sd_rd_left(rd) < 4) {
        return SD_ECORRUPT;
    }
    *v = sd_get_le32(rd->p);
    rd->p += 4;
    return SD_OK;
}

int sd_rd_le64(struct sd_rd *rd, uint64_t *v)
{
    if (sd_rd_left(rd) < 8) {
        return SD_ECORRUPT;
    }
    *v = sd_get_le64(rd->p);
    rd->p += 8;
    return SD_OK;
}

int sd_rd_varint_long(struct sd_rd *rd, uint64_t *v)
{
    uint64_t x = 0;
    const uint8_t *p = rd->p;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (p == rd->end) {
            return SD_ECORRUPT;
        }
        uint8_t c = *p++;
        if (shift == 63 && c > 1) {
            return SD_ECORRUPT; /* more than 64 bits */
        }
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            rd->p = p;
            *v = x;
            return SD_OK;
        }
    }
    return SD_ECORRUPT;
}

