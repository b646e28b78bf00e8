/*
 * facet_map.c: the buckets of value and interval facets, an open-addressing hash map
 * (linear probing, at most half full) from a number, or from keyword bytes kept in the
 * map's own pool, to a count. It only grows, and is cleared (not freed) for the next
 * search, so a thread's facet searches stop allocating once its maps are big enough.
 */
#include <stdlib.h>
#include <string.h>

#include "facet_int.h"

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    return x ^ (x >> 33);
}

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (uint8_t)s[i]) * UINT64_C(1099511628211);
    }
    return mix64(h);
}

void qry_fmap_clear(struct qry_fmap *m)
{
    if (m->cap) {
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    }
    m->used = 0;
    m->pool.count = 0;
}

static int qry_fmap_grow(struct qry_fmap *m)
{
    size_t cap = m->cap ? 2 * m->cap : 64;
    struct qry_fslot *slots = calloc(cap, sizeof *slots);
    if (!slots) {
        return SD_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].is_used) {
            size_t j = m->slots[i].hash & (cap - 1);
            while (slots[j].is_used) {
                j = (j + 1) & (cap - 1);
            }
            slots[j] = m->slots[i];
        }
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return SD_OK;
}

struct qry_fslot *qry_fmap_num(struct qry_fmap *m, uint64_t key)
{
    if (2 * (m->used + 1) > m->cap && qry_fmap_grow(m)) {
        return NULL;
    }
    uint64_t h = mix64(key);
    size_t j = h & (m->cap - 1);
    while (m->slots[j].is_used && m->slots[j].key != key) {
        j = (j + 1) & (m->cap - 1);
    }
    if (!m->slots[j].is_used) {
        m->slots[j] = (struct qry_fslot){.key = key, .hash = h, .is_used = true};
        m->used++;
    }
    return &m->slots[j];
}

struct qry_fslot *qry_fmap_bytes(struct qry_fmap *m, const char *s, size_t len)
{
    if (2 * (m->used + 1) > m->cap && qry_fmap_grow(m)) {
        return NULL;
    }
    uint64_t h = hash_bytes(s, len);
    size_t j = h & (m->cap - 1);
    for (; m->slots[j].is_used; j = (j + 1) & (m->cap - 1)) {
        const struct qry_fslot *e = &m->slots[j];
        if (e->hash == h && e->len == len &&
            memcmp((const char *)m->pool.data + e->key, s, len) == 0) {
            return &m->slots[j];
        }
    }
    size_t off = m->pool.count;
    if (qry_vec_reserve(&m->pool, off + len + 1, 1)) {
        return NULL;
    }
    memcpy((char *)m->pool.data + off, s, len);
    m->pool.count += len;
    m->slots[j] = (struct qry_fslot){.key = off, .hash = h, .len = (uint32_t)len, .is_used = true};
    m->used++;
    return &m->slots[j];
}
