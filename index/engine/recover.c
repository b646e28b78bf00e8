/*
 * recover.c: opening and closing one index directory.
 *
 * Open, in this order (docs/DATA.md):
 *  1. read MANIFEST (none: a new index; damaged: the index refuses to open,
 *     naming the file, because without it no segment can be trusted);
 *  2. remove files the MANIFEST does not name (a flush or merge that died
 *     before its MANIFEST was durable left them; they hold nothing that the
 *     log does not also hold);
 *  3. map every segment and verify its checksum, load its tombstones; a
 *     segment or tombstone file that fails is not served: the index is
 *     marked degraded with the file named, the entry is kept in MANIFEST;
 *  4. replay the log after the checkpoint through the same apply path as live
 *     writes (a torn tail, never acknowledged, is dropped by wal_open);
 *  5. refresh, publish, start the writer and merge threads.
 * Close: the writer drains its queue and refreshes, a final flush makes the
 * log redundant, the threads stop, everything is freed.
 */
#include "engine_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static struct idx_index *idx_index_alloc(struct idx_db *db, const char *name)
{
    struct idx_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return NULL;
    ix->db = db;
    ix->name = strdup(name);
    size_t n = strlen(db->dir) + strlen(name) + 2;
    ix->dir = malloc(n);
    if (!ix->name || !ix->dir || idx_mem_init(&ix->mem)) {
        idx_mem_free(&ix->mem);
        free(ix->name);
        free(ix->dir);
        free(ix);
        return NULL;
    }
    snprintf(ix->dir, n, "%s/%s", db->dir, name);
    pthread_mutex_init(&ix->settings_lock, NULL);
    pthread_mutex_init(&ix->settings_write_lock, NULL);
    pthread_mutex_init(&ix->snap_lock, NULL);
    pthread_mutex_init(&ix->state_lock, NULL);
    pthread_mutex_init(&ix->manifest_lock, NULL);
    pthread_mutex_init(&ix->queue_lock, NULL);
    pthread_cond_init(&ix->queue_cond, NULL);
    pthread_mutex_init(&ix->merge_lock, NULL);
    pthread_cond_init(&ix->merge_cond, NULL);
    pthread_cond_init(&ix->mem_cond, NULL);
    idx_ana_init(&ix->ana);
    ix->next_seg_no = 1;
    return ix;
}

static void idx_index_free(struct idx_index *ix)
{
    for (size_t i = 0; i < ix->nlive; i++) {
        idx_segref_unref(ix->live[i].ref);
        free(ix->live[i].bits);
        if (ix->live[i].published)
            idx_bits_free_unused(ix->live[i].published);
    }
    free(ix->live);
    idx_snap_release(ix->snap);
    free(ix->broken);
    idx_mem_free(&ix->mem);
    idx_ana_free(&ix->ana);
    wal_close(ix->wal);
    idx_settings_free_all(ix);
    pthread_mutex_destroy(&ix->settings_lock);
    pthread_mutex_destroy(&ix->settings_write_lock);
    pthread_mutex_destroy(&ix->snap_lock);
    pthread_mutex_destroy(&ix->state_lock);
    pthread_mutex_destroy(&ix->manifest_lock);
    pthread_mutex_destroy(&ix->queue_lock);
    pthread_cond_destroy(&ix->queue_cond);
    pthread_mutex_destroy(&ix->merge_lock);
    pthread_cond_destroy(&ix->merge_cond);
    pthread_cond_destroy(&ix->mem_cond);
    free(ix->name);
    free(ix->dir);
    free(ix);
}

static int idx_keep_broken(struct idx_index *ix, const struct wal_seg_entry *e,
                           const struct sd_error *why)
{
    struct wal_seg_entry *p = realloc(ix->broken, (ix->nbroken + 1) * sizeof *p);
    if (!p)
        return SD_ENOMEM;
    ix->broken = p;
    ix->broken[ix->nbroken++] = *e;
    if (!ix->degraded_reason[0])
        snprintf(ix->degraded_reason, sizeof ix->degraded_reason, "%s", why->msg);
    fprintf(stderr, "searchd: index %s: segment not served: %s\n", ix->name, why->msg);
    return SD_OK;
}

/* Step 3 for one MANIFEST entry. */
static int idx_load_segment(struct idx_index *ix, const struct wal_seg_entry *e,
                            struct sd_error *err)
{
    char name[WAL_NAME_MAX], path[PATH_MAX];
    wal_seg_name(name, e->seg_no);
    if (sd_path_join(path, sizeof path, ix->dir, name))
        return sd_errorf(err, SD_EINVAL, "%s: path too long", ix->dir);
    struct sd_error why = {0};
    struct seg *s = NULL;
    uint64_t *bits = NULL;
    uint32_t ndeleted = 0;
    int rc = seg_open_file(path, &s, &why);
    if (rc == SD_OK && seg_doc_count(s) != e->doc_count)
        rc = sd_errorf(&why, SD_ECORRUPT, "%s: %u documents, MANIFEST says %u", path,
                       seg_doc_count(s), e->doc_count);
    if (rc == SD_OK && e->tomb_gen)
        rc = wal_tomb_read(ix->dir, e->seg_no, e->tomb_gen, e->doc_count, &bits, &ndeleted,
                           &why);
    if (rc == SD_ENOMEM)
        return sd_errorf(err, rc, "%s", why.msg);
    if (rc) {
        seg_close(s);
        return idx_keep_broken(ix, e, &why);
    }
    struct idx_segref *ref = idx_segref_new(s, e->seg_no, ix->dir);
    if (!ref || idx_live_append(ix, ref, bits, ndeleted, e->tomb_gen)) {
        if (ref)
            idx_segref_unref(ref);
        else
            seg_close(s);
        free(bits);
        return sd_errorf(err, SD_ENOMEM, "%s: out of memory", path);
    }
    return SD_OK;
}

static int idx_replay_record(void *arg, const struct wal_record *rec, struct sd_error *err)
{
    struct idx_index *ix = arg;
    struct seg_field fields[SEG_MAX_FIELDS];
    struct idx_op op;
    struct idx_write_result res = {0};
    int rc = idx_op_decode(rec->type, rec->payload, rec->len, &op, fields, err);
    if (rc == SD_OK)
        rc = idx_mem_apply(ix, &op, NULL, &res, err); /* the writer's own analysis */
    ix->applied_seq = rec->seq;
    return rc;
}

static int idx_load(struct idx_index *ix, struct sd_error *err)
{
    struct wal_manifest m;
    int rc = wal_manifest_read(ix->dir, &m, err);
    if (rc == SD_ENOTFOUND) {
        wal_manifest_init(&m);
        rc = SD_OK;
    }
    if (rc == SD_OK)
        rc = wal_gc(ix->dir, &m, err) < 0 ? SD_EIO : SD_OK;
    if (rc == SD_OK) {
        ix->checkpoint_seq = m.checkpoint_seq;
        ix->next_seg_no = m.next_seg_no;
        ix->manifest_gen = m.generation;
        ix->applied_seq = m.checkpoint_seq;
    }
    for (uint32_t i = 0; i < m.count && rc == SD_OK; i++)
        rc = idx_load_segment(ix, &m.segs[i], err);
    wal_manifest_free(&m);
    if (rc)
        return rc;
    struct wal_open_info info;
    rc = wal_open(ix->dir, ix->checkpoint_seq, idx_replay_record, ix, &ix->wal, &info, err);
    if (rc)
        return rc;
    if (info.torn_bytes)
        fprintf(stderr, "searchd: index %s: dropped a torn log tail of %llu bytes\n", ix->name,
                (unsigned long long)info.torn_bytes);
    ix->applied_seq = info.last_seq;
    atomic_store(&ix->durable_seq, info.last_seq);
    atomic_store(&ix->wal_bytes, wal_bytes(ix->wal));
    pthread_mutex_lock(&ix->state_lock);
    rc = idx_publish(ix);
    pthread_mutex_unlock(&ix->state_lock);
    if (rc == SD_OK)
        rc = idx_mem_refresh(ix, err);
    return rc;
}

int idx_index_open(struct idx_db *db, const char *name, bool create, struct idx_index **out,
                   struct sd_error *err)
{
    struct idx_index *ix = idx_index_alloc(db, name);
    if (!ix)
        return sd_errorf(err, SD_ENOMEM, "index %s: out of memory", name);
    struct stat st;
    int rc = SD_OK;
    if (stat(ix->dir, &st) != 0) {
        if (!create)
            rc = sd_errorf(err, SD_ENOTFOUND, "unknown index '%s'", name);
        else if (mkdir(ix->dir, 0755) != 0)
            rc = sd_errorf(err, sd_status_from_errno(errno), "mkdir %s: %s", ix->dir,
                           strerror(errno));
        else
            rc = sd_fsync_dir(db->dir, err);
    }
    if (rc == SD_OK)
        rc = idx_settings_load(ix, err); /* settings.c: before any write can be checked */
    if (rc == SD_OK)
        rc = idx_load(ix, err);
    if (rc == SD_OK)
        rc = idx_writer_start(ix, err);
    if (rc == SD_OK && (rc = idx_merger_start(ix, err)) != SD_OK)
        idx_writer_stop(ix);
    if (rc) {
        idx_index_free(ix);
        return rc;
    }
    *out = ix;
    return SD_OK;
}

void idx_index_close(struct idx_index *ix)
{
    idx_writer_stop(ix); /* drains the queue, refreshes */
    pthread_mutex_lock(&ix->state_lock);
    bool has_mem = false;
    for (size_t i = 0; i < ix->nlive; i++)
        has_mem |= ix->live[i].ref->seg_no == 0;
    pthread_mutex_unlock(&ix->state_lock);
    if (has_mem && !wal_is_broken(ix->wal))
        idx_request_flush(ix); /* the writer is gone: this thread owns the log */
    idx_merger_stop(ix);       /* the memory merger runs the requested flush first */
    struct sd_error err;
    uint64_t removable = atomic_load(&ix->removable_seq);
    if (removable)
        wal_remove_upto(ix->wal, removable, &err);
    idx_index_free(ix);
}
