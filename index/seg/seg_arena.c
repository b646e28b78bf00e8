/*
 * seg_arena.c: bump allocation and chunked streams for the builder (see seg_arena.h).
 *
 * Blocks are 1 MiB (or what seg_arena_set_block says) unless one allocation needs more. A stream's
 * chunk sizes double from 32 to SEG_CHUNK_MAX bytes, chosen from the stream's length so far: a
 * term's memory stays within about 2x of its encoded size, and a hapax costs one 32-byte chunk.
 */
#include "seg_arena.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK (1u << 20)

struct seg_arena_block {
    struct seg_arena_block *next;
    size_t len;
    _Alignas(8) uint8_t data[];
};

void seg_arena_init(struct seg_arena *a)
{
    memset(a, 0, sizeof *a);
    a->block = ARENA_BLOCK;
}

void seg_arena_set_block(struct seg_arena *a, size_t block)
{
    a->block = block;
}

void seg_arena_free(struct seg_arena *a)
{
    struct seg_arena_block *b = a->head;
    size_t block = a->block;
    while (b) {
        struct seg_arena_block *next = b->next;
        free(b);
        b = next;
    }
    seg_arena_init(a);
    a->block = block;
}

static size_t round8(size_t len)
{
    return (len + 7) & ~(size_t)7;
}

static int arena_grow(struct seg_arena *a, size_t len)
{
    size_t size = len > a->block ? len : a->block;
    struct seg_arena_block *b = malloc(sizeof *b + size);
    if (!b) {
        return -1;
    }
    b->next = a->head;
    b->len = size;
    a->head = b;
    a->p = b->data;
    a->end = b->data + size;
    a->bytes += sizeof *b + size;
    return 0;
}

int seg_arena_reserve(struct seg_arena *a, size_t len)
{
    if (round8(len) <= (size_t)(a->end - a->p)) {
        return 0;
    }
    return arena_grow(a, round8(len));
}

void *seg_arena_alloc(struct seg_arena *a, size_t len)
{
    len = round8(len);
    if (len > (size_t)(a->end - a->p) && arena_grow(a, len) != 0) {
        return NULL;
    }
    void *p = a->p;
    a->p += len;
    return p;
}

/* Total size (header included) of the next chunk of a stream holding len bytes. */
static size_t next_chunk_size(uint32_t len)
{
    size_t size = 32;
    while (size < SEG_CHUNK_MAX && size <= len) {
        size *= 2;
    }
    return size;
}

static int stream_add_chunk(struct seg_stream *s, struct seg_arena *a)
{
    size_t size = next_chunk_size(s->len);
    struct seg_chunk *c = seg_arena_alloc(a, size);
    if (!c) {
        return -1;
    }
    c->next = NULL;
    c->cap = (uint32_t)(size - sizeof *c);
    if (s->tail) {
        s->tail->next = c;
    } else {
        s->first = c;
    }
    s->tail = c;
    s->tail_used = 0;
    s->tail_cap = c->cap;
    return 0;
}

int seg_stream_put(struct seg_stream *s, struct seg_arena *a, const uint8_t *p, size_t len)
{
    while (len > 0) {
        if (s->tail_used == s->tail_cap && stream_add_chunk(s, a) != 0) {
            return -1;
        }
        size_t n = s->tail_cap - s->tail_used;
        if (n > len) {
            n = len;
        }
        memcpy(s->tail->data + s->tail_used, p, n);
        s->tail_used += (uint32_t)n;
        s->len += (uint32_t)n;
        p += n;
        len -= n;
    }
    return 0;
}

size_t seg_stream_need(const struct seg_stream *s, size_t len)
{
    /* One new chunk always suffices (the smallest holds 16 bytes and callers ask for <= 16);
     * its size is taken at the longest the stream can be when it is added, since chunk sizes
     * grow with the stream's length. */
    if (len <= (size_t)(s->tail_cap - s->tail_used)) {
        return 0;
    }
    return round8(next_chunk_size(s->len + (uint32_t)len));
}

void seg_stream_mark(const struct seg_stream *s, struct seg_stream_mark *m)
{
    m->tail = s->tail;
    m->tail_used = s->tail_used;
    m->tail_cap = s->tail_cap;
    m->len = s->len;
}

void seg_stream_truncate(struct seg_stream *s, const struct seg_stream_mark *m)
{
    s->tail = m->tail;
    s->tail_used = m->tail_used;
    s->tail_cap = m->tail_cap;
    s->len = m->len;
    if (s->tail) {
        s->tail->next = NULL; /* later chunks stay in the arena, unused */
    } else {
        s->first = NULL;
    }
}

void seg_stream_copy(const struct seg_stream *s, uint8_t *out)
{
    uint32_t left = s->len;
    for (const struct seg_chunk *c = s->first; c && left > 0; c = c->next) {
        uint32_t n = c == s->tail ? s->tail_used : c->cap; /* chunks before the tail are full */
        n = n < left ? n : left;
        memcpy(out, c->data, n);
        out += n;
        left -= n;
    }
}
