/*
 * seg_memo.c: values a caller derives from a segment's immutable data, remembered with the
 * segment, so that the next search pays a lookup instead of the derivation.
 *
 * The first user is the proximity bonus (index/query/prox.c): a query word's exact forms in a
 * field are found by a dictionary range scan that stems a few dozen terms, the same answer for
 * every search of that word in that segment; on 2-3 word queries the scan cost a third of the
 * bonus. The segment cannot compute such a value itself (it does not know the stemmer's rules),
 * so the memo holds opaque bytes under opaque keys: the caller says what the key means (its
 * first bytes name the kind of value) and must derive the value from the segment alone.
 *
 * Layout: an open-addressing table of SEG_MEMO_SLOTS atomic pointers, allocated on the first
 * put; each entry is one allocation holding its hash, key and value. Entries are never changed
 * or removed before seg_close, so readers need no lock: a put publishes its entry with a
 * compare-and-swap on an empty slot (release), a get loads the slots (acquire) and stops at
 * the first empty one. Two threads putting the same key at once both find the slot taken by
 * the other's entry on the probe: the loser frees its copy (each copy is equal). The table
 * fills to SEG_MEMO_MAX entries and then refuses new ones (SD_ELIMIT; the caller derives the
 * value each time, as without a memo): a segment's memory stays bounded whatever the queries.
 * Every byte (table and entries) is told to the segment's charge function (seg_set_charge),
 * the engine's memory limit, as the exact forms' trie is (seg_terms.c), before it is kept:
 * when the limit refuses, nothing is kept (SD_ELIMIT: the caller derives the value each time).
 */
#include <stdlib.h>
#include <string.h>

#include "seg_int.h"

#define SEG_MEMO_SLOTS 4096 /* a power of two */
#define SEG_MEMO_MAX   3072 /* entries: 3/4 of the slots keeps probes short */

struct memo_entry {
    uint64_t hash;
    uint32_t key_len;
    uint32_t val_len;
    unsigned char bytes[]; /* key, then value */
};

struct seg_memo {
    _Atomic(struct memo_entry *) slots[SEG_MEMO_SLOTS];
    atomic_uint count;       /* entries published */
    atomic_size_t mem_bytes; /* this table and its entries */
};

static bool entry_is(const struct memo_entry *m, uint64_t hash, const void *key, size_t key_len)
{
    return m->hash == hash && m->key_len == key_len && memcmp(m->bytes, key, key_len) == 0;
}

bool seg_memo_get(const struct seg *s, const void *key, size_t key_len, const void **val,
                  size_t *val_len)
{
    struct seg_memo *t = atomic_load_explicit(&((struct seg *)s)->memo, memory_order_acquire);
    if (!t) {
        return false;
    }
    uint64_t hash = sd_hash64(key, key_len);
    for (size_t i = 0; i < SEG_MEMO_SLOTS; i++) {
        size_t slot = (hash + i) & (SEG_MEMO_SLOTS - 1);
        struct memo_entry *m = atomic_load_explicit(&t->slots[slot], memory_order_acquire);
        if (!m) {
            return false;
        }
        if (entry_is(m, hash, key, key_len)) {
            *val = m->bytes + m->key_len;
            *val_len = m->val_len;
            return true;
        }
    }
    return false;
}

/* The segment's table, allocated (and charged) by the first put. NULL: out of memory, or
 * the charge was refused. */
static struct seg_memo *memo_table(struct seg *w)
{
    struct seg_memo *t = atomic_load_explicit(&w->memo, memory_order_acquire);
    if (t) {
        return t;
    }
    if (w->charge && !w->charge(w->charge_arg, (int64_t)sizeof *t)) {
        return NULL; /* not paid for */
    }
    t = calloc(1, sizeof *t);
    if (!t) {
        if (w->charge) {
            (void)w->charge(w->charge_arg, -(int64_t)sizeof *t);
        }
        return NULL;
    }
    atomic_init(&t->mem_bytes, sizeof *t);
    struct seg_memo *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&w->memo, &expected, t, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(t); /* another thread published one first */
        if (w->charge) {
            (void)w->charge(w->charge_arg, -(int64_t)sizeof *t);
        }
        return expected;
    }
    return t;
}

/* An entry that was charged and not kept: freed, and its charge given back. */
static void memo_unput(struct seg *w, struct memo_entry *m, size_t bytes)
{
    free(m);
    if (w->charge) {
        (void)w->charge(w->charge_arg, -(int64_t)bytes);
    }
}

int seg_memo_put(const struct seg *s, const void *key, size_t key_len, const void *val,
                 size_t val_len)
{
    /* The memo is no part of what the segment holds: a const segment still fills it. */
    struct seg *w = (struct seg *)s;
    if (key_len > SEG_MEMO_MAX_BYTES || val_len > SEG_MEMO_MAX_BYTES) {
        return SD_ELIMIT;
    }
    struct seg_memo *t = memo_table(w);
    if (!t) {
        return w->charge ? SD_ELIMIT : SD_ENOMEM; /* refused, or (without a charge) no memory */
    }
    if (atomic_load_explicit(&t->count, memory_order_relaxed) >= SEG_MEMO_MAX) {
        return SD_ELIMIT;
    }
    size_t bytes = sizeof(struct memo_entry) + key_len + val_len;
    if (w->charge && !w->charge(w->charge_arg, (int64_t)bytes)) {
        return SD_ELIMIT; /* not paid for: derived again next time */
    }
    struct memo_entry *m = malloc(bytes);
    if (!m) {
        if (w->charge) {
            (void)w->charge(w->charge_arg, -(int64_t)bytes);
        }
        return SD_ENOMEM;
    }
    m->hash = sd_hash64(key, key_len);
    m->key_len = (uint32_t)key_len;
    m->val_len = (uint32_t)val_len;
    memcpy(m->bytes, key, key_len);
    if (val_len) {
        memcpy(m->bytes + key_len, val, val_len);
    }
    for (size_t i = 0; i < SEG_MEMO_SLOTS; i++) {
        size_t slot = (m->hash + i) & (SEG_MEMO_SLOTS - 1);
        struct memo_entry *expected = NULL;
        if (atomic_compare_exchange_strong_explicit(&t->slots[slot], &expected, m,
                                                    memory_order_acq_rel,
                                                    memory_order_acquire)) {
            atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&t->mem_bytes, bytes, memory_order_relaxed);
            return SD_OK;
        }
        if (entry_is(expected, m->hash, key, key_len)) {
            memo_unput(w, m, bytes); /* put by another thread (or before): that copy stays */
            return SD_OK;
        }
    }
    memo_unput(w, m, bytes); /* no empty slot (only racing puts past SEG_MEMO_MAX fill them) */
    return SD_ELIMIT;
}

size_t seg_memo_bytes(const struct seg *s)
{
    struct seg_memo *t = atomic_load_explicit(&((struct seg *)s)->memo, memory_order_acquire);
    return t ? atomic_load_explicit(&t->mem_bytes, memory_order_relaxed) : 0;
}

void seg_memo_free(struct seg *s)
{
    struct seg_memo *t = atomic_load_explicit(&s->memo, memory_order_acquire);
    if (!t) {
        return;
    }
    if (s->charge) {
        (void)s->charge(s->charge_arg, -(int64_t)atomic_load(&t->mem_bytes));
    }
    for (size_t i = 0; i < SEG_MEMO_SLOTS; i++) {
        free(atomic_load_explicit(&t->slots[i], memory_order_relaxed));
    }
    free(t);
    atomic_store(&s->memo, NULL);
}
