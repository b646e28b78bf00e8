/*
 * memo.c: the dictionary lookups of one reading of a query, kept for the next readings.
 *
 * WHY. A query with a word that no document has is read up to three times in one engine
 * search (index/engine/search.c): as typed, with the other keyboard layout, and with typos.
 * The typo reading is the typed query with QN_FUZZY leaves added, so it looks the same
 * words' stems and forms up in the same segments and fields again (stats.c, term_idf), each
 * a binary search of the block index and a dictionary block decoded (seg_term_find, about
 * 2.5k instructions). Kept, such a lookup is a hash probe. A search box's query that finds
 * few documents is then read once more with most of its words (index/engine/most_words.c),
 * every way again: the engine ends the memo only after those readings.
 *
 * WHAT. qry_memo_keep, right after a qry_search, keeps what that search looked up for its
 * words (scratch.sterms and scratch.found: each word's terms that have their statistics, in
 * every segment and field of their scope, found or not found); until qry_memo_end,
 * qry_memo_find answers those (segment, field, kind, term) from it and reads the dictionary
 * for the rest (not kept: a search that is not second-guessed, the common case, pays
 * nothing for the memo, and a later reading's own new terms are rarely asked twice). The
 * caller holds one snapshot of segments throughout: a segment is immutable, so an answer
 * cannot change while it lives. The key holds the segment's address, so the same term in two
 * segments is two entries, and qry_memo_end forgets everything (a later search may see other
 * segments at those addresses). At most QRY_MEMO_MAX entries.
 *
 * HOW. An open-addressing table of entry numbers (linear probing, at most half full, grown by
 * doubling) over a vector of entries; the terms' bytes sit in one pool. Its arrays are the
 * context's scratch, so a worker allocates only while they grow.
 */
#include <stdlib.h>
#include <string.h>

#include "eval_int.h"

/* Enough for the words of a long query (two terms each, per field and segment); the table
 * for it stays a few tens of KB. */
#define QRY_MEMO_MAX 4096

struct qry_memo_entry {
    const struct seg *seg; /* borrowed: the key's segment (compared, never read) */
    size_t off;            /* the term's bytes in memo.pool */
    uint32_t len;
    uint8_t field;
    uint8_t kind;
    bool is_found;
    struct seg_term t; /* when found */
};

void qry_memo_end(struct qry_ctx *ctx)
{
    struct qry_memo *m = &ctx->scratch->memo;
    if (!m->is_on) {
        return;
    }
    m->is_on = false;
    m->entries.count = 0;
    m->pool.count = 0;
    if (m->slots.count) {
        memset(m->slots.data, 0, m->slots.count * sizeof(uint32_t));
    }
}

void qry_memo_free(struct qry_memo *m)
{
    qry_vec_free(&m->entries);
    qry_vec_free(&m->pool);
    qry_vec_free(&m->slots);
}

static uint64_t memo_hash(const struct seg *seg, unsigned field, enum seg_kind kind,
                          const char *term, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)(uintptr_t)seg;
    h = (h ^ field) * 1099511628211ull;
    h = (h ^ (unsigned)kind) * 1099511628211ull;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)term[i]) * 1099511628211ull;
    }
    return h ^ (h >> 29);
}

/* The table's slot for the key: the one holding its entry, or the empty one where it would
 * go. The table is never full (at most half). */
static uint32_t *memo_slot(struct qry_memo *m, uint64_t h, const struct seg *seg, unsigned field,
                           enum seg_kind kind, const char *term, size_t len)
{
    uint32_t *slots = m->slots.data;
    size_t mask = m->slots.count - 1;
    const struct qry_memo_entry *e = m->entries.data;
    const char *pool = m->pool.data;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        if (slots[i] == 0) {
            return &slots[i];
        }
        const struct qry_memo_entry *x = &e[slots[i] - 1];
        if (x->seg == seg && x->field == field && x->kind == (uint8_t)kind && x->len == len &&
            memcmp(pool + x->off, term, len) == 0) {
            return &slots[i];
        }
    }
}

/* Makes room for one more entry (the table at most half full after it); false when out of
 * memory or at QRY_MEMO_MAX, and then nothing is remembered. */
static bool memo_grow(struct qry_memo *m)
{
    size_t n = m->entries.count + 1;
    if (n > QRY_MEMO_MAX) {
        return false;
    }
    if (2 * n <= m->slots.count) {
        return true;
    }
    size_t cap = m->slots.count ? 2 * m->slots.count : 64;
    if (qry_vec_reserve(&m->slots, cap, sizeof(uint32_t))) {
        return false;
    }
    m->slots.count = cap;
    uint32_t *slots = m->slots.data;
    memset(slots, 0, cap * sizeof *slots);
    const struct qry_memo_entry *e = m->entries.data;
    const char *pool = m->pool.data;
    for (size_t k = 0; k < m->entries.count; k++) { /* rehash */
        const struct qry_memo_entry *x = &e[k];
        uint64_t h = memo_hash(x->seg, x->field, x->kind, pool + x->off, x->len);
        *memo_slot(m, h, x->seg, x->field, x->kind, pool + x->off, x->len) = (uint32_t)k + 1;
    }
    return true;
}

/* Remembers the answer rc (SD_OK with *t, or SD_ENOTFOUND) in the empty slot for the key. */
static void memo_put(struct qry_memo *m, uint32_t *slot, const struct seg *seg, unsigned field,
                     enum seg_kind kind, const char *term, size_t len, int rc,
                     const struct seg_term *t)
{
    size_t off = m->pool.count;
    if (qry_vec_reserve(&m->pool, off + len, 1)) {
        return; /* not remembered: the next lookup reads the dictionary again */
    }
    struct qry_memo_entry *e = qry_vec_push(&m->entries, sizeof *e);
    if (!e) {
        return;
    }
    memcpy((char *)m->pool.data + off, term, len);
    m->pool.count = off + len;
    *e = (struct qry_memo_entry){.seg = seg,
                                 .off = off,
                                 .len = (uint32_t)len,
                                 .field = (uint8_t)field,
                                 .kind = (uint8_t)kind,
                                 .is_found = rc == SD_OK};
    if (rc == SD_OK) {
        e->t = *t;
    }
    *slot = (uint32_t)m->entries.count;
}

/* Keeps the answer of every segment and field of sterm `term`'s scope, as the search that
 * just ran found them; false when the memo is full or out of memory. */
static bool keep_term(struct qry_scratch *s, const struct qry *q, const struct qry_segment *segs,
                      size_t nsegs, size_t term)
{
    struct qry_memo *m = &s->memo;
    const struct qry_sterm *t = (const struct qry_sterm *)s->sterms.data + term;
    const char *str = qry_sterm_str(s, q, t);
    unsigned fields[SEG_MAX_SEG_FIELDS];
    for (size_t i = 0; i < nsegs; i++) {
        size_t nf = qry_scope_fields(s, i, segs[i].seg, t->scope, fields);
        for (size_t k = 0; k < nf; k++) {
            if (t->len > UINT32_MAX || !memo_grow(m)) {
                return false;
            }
            uint64_t h = memo_hash(segs[i].seg, fields[k], t->kind, str, t->len);
            uint32_t *slot = memo_slot(m, h, segs[i].seg, fields[k], t->kind, str, t->len);
            const struct seg_term *st = qry_found(s, term, i, fields[k]);
            if (*slot == 0) { /* (df 0: not found; the dictionary has no entry of df 0) */
                memo_put(m, slot, segs[i].seg, fields[k], t->kind, str, t->len,
                         st->df ? SD_OK : SD_ENOTFOUND, st);
            }
        }
    }
    return true;
}

void qry_memo_keep(struct qry_ctx *ctx, const struct qry *q, const struct qry_segment *segs,
                   size_t nsegs)
{
    struct qry_scratch *s = ctx->scratch;
    s->memo.is_on = true;
    if (s->map_off.count != nsegs) {
        return; /* the scratch is not set up for these segments (a search that stopped early) */
    }
    const struct qry_sterm *st = s->sterms.data;
    for (size_t i = 0; i < q->node_count; i++) {
        const struct qry_node *n = &q->nodes[i];
        for (uint32_t k = 0; n->type == QN_WORD && k < n->term_count; k++) {
            size_t term = (size_t)n->term + k;
            const struct qry_term *qt = &q->terms[term];
            /* (the sterms are q's, as qry_search set them up, or nothing is kept) */
            bool is_q = term < s->sterms.count && st[term].str_off == qt->str_off &&
                        st[term].len == qt->len && st[term].kind == qt->kind &&
                        !st[term].is_expansion;
            if (is_q && st[term].has_idf && !keep_term(s, q, segs, nsegs, term)) {
                return; /* full: the rest is looked up again */
            }
        }
    }
}

int qry_memo_find(struct qry_scratch *s, const struct seg *seg, unsigned field, enum seg_kind kind,
                  const char *term, size_t len, struct seg_term *out, struct sd_error *err)
{
    struct qry_memo *m = &s->memo;
    if (m->is_on && m->entries.count > 0) {
        uint64_t h = memo_hash(seg, field, kind, term, len);
        const uint32_t *slot = memo_slot(m, h, seg, field, kind, term, len);
        if (*slot) {
            const struct qry_memo_entry *e =
                (const struct qry_memo_entry *)m->entries.data + *slot - 1;
            m->hits++;
            if (!e->is_found) {
                return SD_ENOTFOUND;
            }
            *out = e->t;
            return SD_OK;
        }
        m->misses++;
    }
    return seg_term_find(seg, field, kind, term, len, out, err);
}
