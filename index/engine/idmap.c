/*
 * idmap.c: the memtable's map from document id to what happened to it since
 * the last refresh: IDX_IDMAP_DELETED (any older copy goes at the refresh),
 * the local doc number of its copy in the builder, or that number with
 * IDX_IDMAP_GONE when the builder copy was deleted again.
 *
 * Open addressing with linear probing over XXH3 hashes; the id bytes live in
 * one arena buffer, so an insert costs no allocation once the table has grown.
 * Entries are never removed one by one: the whole map is cleared at refresh.
 */
#include "idmap.h"

#include <stdlib.h>

struct idx_idmap_slot {
    uint64_t hash;
    uint32_t off; /* of the id in the arena */
    uint32_t len;
    uint32_t value;
    bool is_used;
};

struct idx_idmap {
    struct idx_idmap_slot *slots;
    size_t cap; /* power of two */
    size_t count;
    struct sd_buf arena;
};

struct idx_idmap *idx_idmap_new(void)
{
    struct idx_idmap *m = calloc(1, sizeof *m);
    if (m) {
        sd_buf_init(&m->arena);
    }
    return m;
}

void idx_idmap_free(struct idx_idmap *m)
{
    if (!m) {
        return;
    }
    free(m->slots);
    sd_buf_free(&m->arena);
    free(m);
}

void idx_idmap_clear(struct idx_idmap *m)
{
    if (m->slots) {
        memset(m->slots, 0, m->cap * sizeof *m->slots);
    }
    m->count = 0;
    sd_buf_reset(&m->arena);
}

size_t idx_idmap_count(const struct idx_idmap *m)
{
    return m->count;
}

static struct idx_idmap_slot *idx_idmap_probe(const struct idx_idmap *m, uint64_t h,
                                              const char *id, size_t len)
{
    size_t mask = m->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct idx_idmap_slot *s = &m->slots[i];
        if (!s->is_used) {
            return s;
        }
        if (s->hash == h && s->len == len && memcmp(m->arena.data + s->off, id, len) == 0) {
            return s;
        }
    }
}

static int idx_idmap_grow(struct idx_idmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    struct idx_idmap_slot *old = m->slots, *slots = calloc(cap, sizeof *slots);
    if (!slots) {
        return SD_ENOMEM;
    }
    size_t old_cap = m->cap;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (!old[i].is_used) {
            continue;
        }
        size_t mask = cap - 1;
        size_t j = (size_t)old[i].hash & mask;
        while (slots[j].is_used) {
            j = (j + 1) & mask;
        }
        slots[j] = old[i];
    }
    free(old);
    return SD_OK;
}

bool idx_idmap_get(const struct idx_idmap *m, const char *id, size_t len, uint32_t *value)
{
    if (m->count == 0) {
        return false;
    }
    struct idx_idmap_slot *s = idx_idmap_probe(m, sd_hash64(id, len), id, len);
    if (!s->is_used) {
        return false;
    }
    *value = s->value;
    return true;
}

int idx_idmap_put(struct idx_idmap *m, const char *id, size_t len, uint32_t value)
{
    if ((m->count + 1) * 4 > m->cap * 3 && idx_idmap_grow(m)) {
        return SD_ENOMEM;
    }
    uint64_t h = sd_hash64(id, len);
    struct idx_idmap_slot *s = idx_idmap_probe(m, h, id, len);
    if (!s->is_used) {
        if (m->arena.len > UINT32_MAX - len) {
            return SD_ELIMIT;
        }
        size_t off = m->arena.len;
        sd_buf_put(&m->arena, id, len);
        if (m->arena.rc) {
            return m->arena.rc;
        }
        s->hash = h;
        s->off = (uint32_t)off;
        s->len = (uint32_t)len;
        s->is_used = true;
        m->count++;
    }
    s->value = value;
    return SD_OK;
}

int idx_idmap_each(const struct idx_idmap *m, int (*fn)(void *, const char *, size_t, uint32_t),
                   void *arg)
{
    for (size_t i = 0; i < m->cap; i++) {
        const struct idx_idmap_slot *s = &m->slots[i];
        if (!s->is_used) {
            continue;
        }
        int rc = fn(arg, (const char *)m->arena.data + s->off, s->len, s->value);
        if (rc) {
            return rc;
        }
    }
    return SD_OK;
}
