/*
 * snap.c: refcounted snapshots of an index.
 *
 * A query calls idx_snap_acquire() once and sees the same segments and the
 * same tombstones until idx_snap_release(), whatever refreshes, flushes and
 * merges do meanwhile. Publishing builds a new struct idx_snap from the live
 * list and swaps one pointer under snap_lock. Segments and bitmaps are
 * refcounted separately, so a new snapshot shares every unchanged piece with
 * the old one; a segment's mapping is closed (and its files unlinked, once a
 * durable MANIFEST has dropped it) when its last reference goes.
 */
#include "engine_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A segment's search caches (exact forms, memo): kept only if the memory limit has room for
 * them (idx_memcap_cache); refused, the segment keeps nothing (seg_set_charge). */
static bool idx_segref_charge(void *arg, int64_t delta)
{
    return idx_memcap_cache(arg, delta);
}

struct idx_segref *idx_segref_new(struct seg *seg, uint32_t seg_no, const char *dir,
                                  struct idx_memcap *memcap)
{
    struct idx_segref *r = calloc(1, sizeof *r);
    char *d = strdup(dir);
    if (!r || !d) {
        free(r);
        free(d);
        return NULL;
    }
    atomic_init(&r->refs, 1);
    atomic_init(&r->is_obsolete, false);
    atomic_init(&r->del_gen, 0);
    r->seg = seg;
    if (memcap) {
        seg_set_charge(seg, idx_segref_charge, memcap);
    }
    r->seg_no = seg_no;
    r->dir = d;
    return r;
}

/* A segment a durable MANIFEST dropped: its file and its tombstone file (older generations
 * went as each next one became durable, manifest.c). */
static void idx_segref_unlink(struct idx_segref *r)
{
    char name[WAL_NAME_MAX], path[PATH_MAX];
    wal_seg_name(name, r->seg_no);
    if (sd_path_join(path, sizeof path, r->dir, name) == SD_OK) {
        unlink(path);
    }
    unsigned gen = atomic_load(&r->del_gen);
    wal_tomb_name(name, r->seg_no, gen);
    if (gen > 0 && sd_path_join(path, sizeof path, r->dir, name) == SD_OK) {
        unlink(path);
    }
}

void idx_segref_unref(struct idx_segref *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1) {
        return;
    }
    seg_close(r->seg);
    if (r->seg_no && atomic_load(&r->is_obsolete)) {
        idx_segref_unlink(r);
    }
    free(r->dir);
    free(r);
}

bool idx_bits_test(const uint64_t *bits, uint32_t doc)
{
    return bits && (bits[doc / 64] >> (doc % 64)) & 1;
}

static void idx_bits_unref(struct idx_bits *b)
{
    if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
        free(b);
    }
}

void idx_bits_free_unused(struct idx_bits *b)
{
    idx_bits_unref(b);
}

struct idx_snap *idx_snap_acquire(struct idx_index *ix)
{
    pthread_mutex_lock(&ix->snap_lock);
    struct idx_snap *s = ix->snap;
    if (s) {
        atomic_fetch_add(&s->refs, 1);
    }
    pthread_mutex_unlock(&ix->snap_lock);
    return s;
}

void idx_snap_release(struct idx_snap *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1) {
        return;
    }
    for (size_t i = 0; i < s->nsegs; i++) {
        idx_segref_unref(s->segs[i].ref);
        idx_bits_unref(s->segs[i].bits);
    }
    free(s);
}

/* Returns the published copy of l's tombstones, making a new one if they
 * changed since the last publish. */
static struct idx_bits *idx_live_bits(struct idx_live *l)
{
    if (!l->bits || l->ndeleted == 0) {
        return NULL;
    }
    if (l->is_dirty_snap || !l->published) {
        uint32_t ndocs = seg_doc_count(l->ref->seg);
        size_t words = ((size_t)ndocs + 63) / 64;
        struct idx_bits *b = malloc(sizeof *b + words * sizeof(uint64_t));
        if (!b) {
            return NULL;
        }
        atomic_init(&b->refs, 1);
        b->ndocs = ndocs;
        b->ndeleted = l->ndeleted;
        memcpy(b->words, l->bits, words * sizeof(uint64_t));
        idx_bits_unref(l->published);
        l->published = b;
        l->is_dirty_snap = false;
    }
    atomic_fetch_add(&l->published->refs, 1);
    return l->published;
}

int idx_publish(struct idx_index *ix)
{
    struct idx_snap *s = malloc(sizeof *s + ix->nlive * sizeof s->segs[0]);
    if (!s) {
        return SD_ENOMEM;
    }
    atomic_init(&s->refs, 1);
    s->nsegs = ix->nlive;
    for (size_t i = 0; i < ix->nlive; i++) {
        struct idx_live *l = &ix->live[i];
        struct idx_bits *b = idx_live_bits(l);
        if (!b && l->ndeleted > 0) {
            s->nsegs = i;
            idx_snap_release(s);
            return SD_ENOMEM;
        }
        atomic_fetch_add(&l->ref->refs, 1);
        s->segs[i].ref = l->ref;
        s->segs[i].bits = b;
    }
    pthread_mutex_lock(&ix->snap_lock);
    struct idx_snap *old = ix->snap;
    ix->snap = s;
    pthread_mutex_unlock(&ix->snap_lock);
    idx_snap_release(old);
    return SD_OK;
}
