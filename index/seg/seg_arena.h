/*
 * seg_arena.h: the builder's memory (private to index/seg/).
 *
 * An arena hands out 8-aligned pieces of large blocks and frees them all at once, so the
 * inverter never calls malloc per term or per posting. A chunked stream is an append-only
 * byte sequence made of arena chunks that double in size (32 bytes, then 64 ... up to 4 KiB),
 * so a word seen once costs one 32-byte chunk and a frequent word a few large ones.
 */
#ifndef SEARCHD_SEG_ARENA_H
#define SEARCHD_SEG_ARENA_H

#include <stddef.h>
#include <stdint.h>

struct seg_arena_block;

struct seg_arena {
    struct seg_arena_block *head; /* owned list of blocks, newest first */
    uint8_t *p;                   /* free space of the newest block: [p, end) */
    uint8_t *end;
    size_t bytes; /* total malloc'd, for seg_builder_mem_bytes */
    size_t block; /* bytes of a block (an allocation larger than that gets its own) */
};

/* An empty arena of 1 MiB blocks. */
void seg_arena_init(struct seg_arena *a);
/* Blocks of `block` bytes from the next one on (a builder under a small memory bound, where
 * the first 1 MiB block would be most of it). */
void seg_arena_set_block(struct seg_arena *a, size_t block);
void seg_arena_free(struct seg_arena *a);
/* Returns len bytes (8-aligned) valid until seg_arena_free, or NULL when malloc fails. */
void *seg_arena_alloc(struct seg_arena *a, size_t len);
/* Makes sure the next allocations totalling len bytes (each rounded up to 8) cannot fail.
 * Returns 0 or -1 when malloc fails. */
int seg_arena_reserve(struct seg_arena *a, size_t len);

/* A chunk: next pointer and capacity (16 bytes), then data. */
struct seg_chunk {
    struct seg_chunk *next;
    uint32_t cap; /* bytes of data[] */
    uint32_t unused;
    uint8_t data[];
};

struct seg_stream {
    struct seg_chunk *first;
    struct seg_chunk *tail;
    uint32_t tail_used; /* bytes used in tail->data */
    uint32_t tail_cap;
    uint32_t len; /* total bytes */
};

/* Where a stream ended, to roll an append back (seg_stream_truncate). */
struct seg_stream_mark {
    struct seg_chunk *tail;
    uint32_t tail_used;
    uint32_t tail_cap;
    uint32_t len;
};

#define SEG_CHUNK_MAX 4096 /* bytes of the largest chunk, header included */

/* Appends len bytes; 0 or -1 when the arena cannot grow (the stream may then hold part of
 * the bytes: callers roll back with a mark). */
int seg_stream_put(struct seg_stream *s, struct seg_arena *a, const uint8_t *p, size_t len);
/* Appends the LEB128 varint of v: the hot path of the inverter, inlined. */
static inline int seg_stream_put_varint(struct seg_stream *s, struct seg_arena *a, uint32_t v)
{
    uint8_t tmp[5];
    uint8_t *p = s->tail_cap - s->tail_used >= 5 ? s->tail->data + s->tail_used : tmp;
    uint32_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    if (p == tmp) {
        return seg_stream_put(s, a, tmp, n);
    }
    s->tail_used += n;
    s->len += n;
    return 0;
}

/* Bytes a chunk allocation needs before up to `len` more bytes can be appended (0 when they
 * fit in the tail): feed the sum to seg_arena_reserve to make appends infallible. */
size_t seg_stream_need(const struct seg_stream *s, size_t len);
void seg_stream_mark(const struct seg_stream *s, struct seg_stream_mark *m);
void seg_stream_truncate(struct seg_stream *s, const struct seg_stream_mark *m);
/* Copies the whole stream to out (s->len bytes). */
void seg_stream_copy(const struct seg_stream *s, uint8_t *out);

#endif
