/*
 * manifest.c: writes the MANIFEST that makes disk state durable.
 *
 * The MANIFEST names every disk segment with its tombstone file generation
 * and the log checkpoint. Changed tombstones are written first, each under a
 * new generation (the old file stays valid until the MANIFEST that names the
 * new one is durable), then the MANIFEST is replaced atomically. Only after
 * that are old tombstone files removed. Segments that failed their checksum
 * at open stay listed, so a restart still reports them and their files are
 * kept for the operator. Each entry records the XXH3-64 of its segment file
 * (the footer's) and of its tombstone file, which is how a restart (and
 * --check) tells the file the MANIFEST made live from another valid one.
 */
#include "engine_int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct idx_tomb_plan {
    uint32_t seg_no;
    uint32_t gen;
    uint32_t ndocs;
    uint32_t ndeleted;
    uint64_t *bits; /* owned copy */
    uint32_t entry; /* its MANIFEST entry, which gets the file's hash once written */
    uint64_t hash;
};

struct idx_plan {
    struct wal_manifest m;
    struct idx_tomb_plan *tombs;
    size_t ntombs;
};

static void idx_plan_free(struct idx_plan *p)
{
    for (size_t i = 0; i < p->ntombs; i++) {
        free(p->tombs[i].bits);
    }
    free(p->tombs);
    wal_manifest_free(&p->m);
}

static int idx_plan_tomb(struct idx_plan *p, const struct idx_live *l, struct wal_seg_entry *e)
{
    struct idx_tomb_plan *t = &p->tombs[p->ntombs];
    uint32_t ndocs = seg_doc_count(l->ref->seg);
    size_t words = ((size_t)ndocs + 63) / 64;
    t->bits = malloc((words ? words : 1) * sizeof *t->bits);
    if (!t->bits) {
        return SD_ENOMEM;
    }
    memcpy(t->bits, l->bits, words * sizeof *t->bits);
    t->seg_no = l->ref->seg_no;
    t->gen = l->del_gen + 1;
    t->ndocs = ndocs;
    t->ndeleted = l->ndeleted;
    t->entry = (uint32_t)(e - p->m.segs);
    e->tomb_gen = t->gen;
    p->ntombs++;
    return SD_OK;
}

/* Builds the MANIFEST content and copies changed tombstones (state_lock). */
static int idx_plan_build(struct idx_index *ix, uint64_t checkpoint, struct idx_plan *p)
{
    wal_manifest_init(&p->m);
    p->m.generation = ix->manifest_gen;
    p->m.checkpoint_seq = checkpoint;
    p->m.next_seg_no = ix->next_seg_no;
    size_t cap = ix->nlive + ix->nbroken;
    p->m.segs = calloc(cap ? cap : 1, sizeof *p->m.segs);
    p->tombs = calloc(ix->nlive ? ix->nlive : 1, sizeof *p->tombs);
    if (!p->m.segs || !p->tombs) {
        return SD_ENOMEM;
    }
    for (size_t i = 0; i < ix->nlive; i++) {
        const struct idx_live *l = &ix->live[i];
        if (!l->ref->seg_no) {
            continue;
        }
        struct wal_seg_entry *e = &p->m.segs[p->m.count++];
        e->seg_no = l->ref->seg_no;
        e->doc_count = seg_doc_count(l->ref->seg);
        e->deleted_count = l->ndeleted;
        e->tomb_gen = l->del_gen;
        e->seg_hash = seg_checksum(l->ref->seg);
        e->tomb_hash = l->del_hash;
        if ((l->is_dirty_disk || (l->ndeleted && !l->del_gen)) && idx_plan_tomb(p, l, e)) {
            return SD_ENOMEM;
        }
    }
    for (size_t i = 0; i < ix->nbroken; i++) {
        p->m.segs[p->m.count++] = ix->broken[i];
    }
    return SD_OK;
}

static void idx_unlink_tomb(const char *dir, uint32_t seg_no, uint32_t gen)
{
    char name[WAL_NAME_MAX], path[PATH_MAX];
    wal_tomb_name(name, seg_no, gen);
    if (sd_path_join(path, sizeof path, dir, name) == SD_OK) {
        unlink(path);
    }
}

/* After the MANIFEST is durable: the live list learns the new generations. */
static void idx_plan_applied(struct idx_index *ix, const struct idx_plan *p)
{
    pthread_mutex_lock(&ix->state_lock);
    ix->manifest_gen = p->m.generation;
    ix->checkpoint_seq = p->m.checkpoint_seq;
    for (size_t t = 0; t < p->ntombs; t++) {
        for (size_t i = 0; i < ix->nlive; i++) {
            struct idx_live *l = &ix->live[i];
            if (l->ref->seg_no != p->tombs[t].seg_no) {
                continue;
            }
            l->del_gen = p->tombs[t].gen;
            atomic_store(&l->ref->del_gen, p->tombs[t].gen);
            l->del_hash = p->tombs[t].hash;
            l->is_dirty_disk = l->ndeleted != p->tombs[t].ndeleted;
        }
    }
    pthread_cond_broadcast(&ix->mem_cond); /* a snapshot may wait for this checkpoint */
    pthread_mutex_unlock(&ix->state_lock);
    for (size_t t = 0; t < p->ntombs; t++) {
        if (p->tombs[t].gen > 1) {
            idx_unlink_tomb(ix->dir, p->tombs[t].seg_no, p->tombs[t].gen - 1);
        }
    }
}

int idx_manifest_commit(struct idx_index *ix, uint64_t checkpoint, struct sd_error *err)
{
    struct idx_plan p = {0};
    pthread_mutex_lock(&ix->state_lock);
    int rc = idx_plan_build(ix, checkpoint, &p);
    pthread_mutex_unlock(&ix->state_lock);
    if (rc) {
        idx_plan_free(&p);
        return sd_errorf(err, rc, "index %s: MANIFEST: out of memory", ix->name);
    }
    for (size_t t = 0; t < p.ntombs && rc == SD_OK; t++) {
        struct idx_tomb_plan *tp = &p.tombs[t];
        rc = wal_tomb_write(ix->dir, tp->seg_no, tp->gen, tp->bits, tp->ndocs, &tp->hash, err);
        p.m.segs[tp->entry].tomb_hash = tp->hash;
    }
    if (rc == SD_OK) {
        rc = wal_manifest_write(ix->dir, &p.m, err);
    }
    if (rc == SD_OK) {
        idx_plan_applied(ix, &p);
    }
    idx_plan_free(&p);
    return rc;
}
