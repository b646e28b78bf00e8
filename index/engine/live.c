/*
 * live.c: the writer's list of live segments and their master tombstones.
 *
 * The live list is what the next snapshot will show. Segments are kept
 * oldest first; an id is live in at most one segment (an upsert deletes the
 * old copy before the new one becomes visible, in the same publish), so an id
 * lookup can stop at the first live hit searching newest first.
 * Callers hold ix->state_lock.
 */
#include "engine_int.h"

#include <stdlib.h>

int idx_live_reserve(struct idx_index *ix)
{
    struct idx_live *p = sd_grow(ix->live, &ix->live_cap, ix->nlive + 1, sizeof *p, 16);
    if (!p) {
        return SD_ENOMEM;
    }
    ix->live = p;
    return SD_OK;
}

int idx_live_append(struct idx_index *ix, struct idx_segref *ref, uint64_t *bits,
                    uint32_t ndeleted, uint32_t del_gen)
{
    if (idx_live_reserve(ix)) {
        return SD_ENOMEM;
    }
    if (!bits) {
        /* Allocated up front so that marking a delete can never fail. */
        size_t words = ((size_t)seg_doc_count(ref->seg) + 63) / 64;
        bits = calloc(words ? words : 1, sizeof(uint64_t));
        if (!bits) {
            return SD_ENOMEM;
        }
    }
    struct idx_live *l = &ix->live[ix->nlive++];
    memset(l, 0, sizeof *l);
    l->ref = ref;
    l->bits = bits;
    l->ndeleted = ndeleted;
    l->del_gen = del_gen;
    atomic_store(&ref->del_gen, del_gen);
    l->is_dirty_snap = ndeleted > 0;
    return SD_OK;
}

void idx_live_set_deleted(struct idx_live *l, uint32_t doc)
{
    uint64_t mask = (uint64_t)1 << (doc % 64);
    if (l->bits[doc / 64] & mask) {
        return;
    }
    l->bits[doc / 64] |= mask;
    l->ndeleted++;
    l->is_dirty_snap = true;
    l->is_dirty_disk = true;
}

bool idx_live_delete_id(struct idx_index *ix, const char *id, size_t len)
{
    uint64_t h = seg_id_hash(id, len); /* once, not once per segment */
    for (size_t i = ix->nlive; i-- > 0;) {
        struct idx_live *l = &ix->live[i];
        uint32_t doc;
        if (seg_doc_find_hashed(l->ref->seg, id, len, h, &doc) != SD_OK) {
            continue;
        }
        if (idx_bits_test(l->bits, doc)) {
            continue;
        }
        idx_live_set_deleted(l, doc);
        return true;
    }
    return false;
}

uint64_t idx_live_docs(const struct idx_index *ix, uint64_t *deleted)
{
    uint64_t docs = 0, del = 0;
    for (size_t i = 0; i < ix->nlive; i++) {
        docs += seg_doc_count(ix->live[i].ref->seg);
        del += ix->live[i].ndeleted;
    }
    if (deleted) {
        *deleted = del;
    }
    return docs - del;
}
