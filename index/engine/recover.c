/*
 * recover.c: opening and closing one index directory.
 *
 * Open, in this order (docs/DATA.md, Recovery). Nothing is deleted or moved
 * before every check that can refuse the open has passed (issue 15):
 *  1. read the MANIFEST (verify.c: a damaged one refuses the open, naming the
 *     file; a missing one is a new index only if no segment or tombstone file
 *     is there, else the open is refused and nothing touched);
 *  2. map every segment the MANIFEST lists and verify it and its tombstone
 *     file against the entry (verify.c: checksum, document count, footer and
 *     tombstone hashes). A file that fails is not served: the index is
 *     degraded (writes, flushes and merges refused; the entry is kept). A
 *     segment written under later settings than SETTINGS holds (read before
 *     this) refuses the open: the settings in force are lost;
 *  3. (step 4's check first, wal_gc_check: a file it could not remove or
 *     move, such as lost+found/ being a file or a link, refuses the open
 *     here) open the log (wal_open: the chain from the checkpoint,
 *     wal.synced, a torn tail dropped and shown in stats) and replay what is
 *     past the checkpoint through the same apply path as live writes;
 *  4. only now clean up: files the MANIFEST does not name are removed when
 *     provably obsolete and otherwise moved to lost+found/ (wal_gc);
 *  5. refresh, publish, start the writer and merge threads.
 * Close: the writer drains its queue and refreshes, a final flush makes the
 * log redundant (not for a degraded index), the threads stop, all is freed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "engine_int.h"

static struct idx_index *idx_index_alloc(struct idx_db *db, const char *name)
{
    struct idx_index *ix = calloc(1, sizeof *ix);
    if (!ix) {
        return NULL;
    }
    ix->db = db;
    ix->name = strdup(name);
    size_t n = strlen(db->dir) + strlen(name) + 2;
    ix->dir = malloc(n);
    if (!ix->name || !ix->dir ||
        idx_mem_init(&ix->mem, idx_memcap_stem_words(&db->memcap), &db->memcap)) {
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
    idx_ana_init(&ix->ana, &db->memcap);
    idx_hist_init(&ix->flush_time, IDX_HIST_JOB);
    idx_hist_init(&ix->merge_time, IDX_HIST_JOB);
    idx_hist_init(&ix->fsync_time, IDX_HIST_FSYNC);
    ix->next_seg_no = 1;
    return ix;
}

static void idx_index_free(struct idx_index *ix)
{
    struct idx_memcap *c = &ix->db->memcap;
    idx_memcap_charge(c, -(int64_t)ix->mem_bytes);
    idx_memcap_fix(c, -(int64_t)ix->stem_charged, false);
    for (size_t i = 0; i < ix->nlive; i++) {
        idx_segref_unref(ix->live[i].ref);
        free(ix->live[i].bits);
        if (ix->live[i].published) {
            idx_bits_free_unused(ix->live[i].published);
        }
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
    if (!p) {
        return SD_ENOMEM;
    }
    ix->broken = p;
    ix->broken[ix->nbroken++] = *e;
    ix->is_degraded = true;
    if (!ix->degraded_reason[0]) {
        snprintf(ix->degraded_reason, sizeof ix->degraded_reason, "%s", why->msg);
    }
    idx_event(ix->db, IDX_LOG_WARN, "event=degraded index=%s seg=%u msg=\"%s\"", ix->name,
              e->seg_no, why->msg);
    return SD_OK;
}

/* Step 2 for one MANIFEST entry. */
static int idx_load_segment(struct idx_index *ix, const struct wal_seg_entry *e,
                            struct sd_error *err)
{
    struct sd_error why = {0};
    struct seg *s = NULL;
    uint64_t *bits = NULL;
    uint32_t ndeleted = 0;
    int rc = idx_entry_verify(ix->dir, e, &s, &bits, &ndeleted, &why);
    if (rc == SD_ENOMEM) {
        return sd_errorf(err, rc, "%s", why.msg);
    }
    if (rc) {
        return idx_keep_broken(ix, e, &why);
    }
    rc = idx_settings_cover(ix->dir, atomic_load(&ix->settings_version), s, e->seg_no, err);
    if (rc) {
        seg_close(s);
        free(bits);
        return rc;
    }
    struct idx_segref *ref = idx_segref_new(s, e->seg_no, ix->dir, &ix->db->memcap);
    if (!ref || idx_live_append(ix, ref, bits, ndeleted, e->tomb_gen)) {
        if (ref) {
            idx_segref_unref(ref);
        } else {
            seg_close(s);
        }
        free(bits);
        return sd_errorf(err, SD_ENOMEM, "%s: out of memory", ix->dir);
    }
    ix->live[ix->nlive - 1].del_hash = e->tomb_hash;
    return SD_OK;
}

static int idx_replay_record(void *arg, const struct wal_record *rec, struct sd_error *err)
{
    struct idx_index *ix = arg;
    struct seg_field fields[SEG_MAX_FIELDS];
    struct idx_op op;
    struct idx_write_result res = {0};
    int rc = idx_op_decode_checked(rec->type, rec->payload, rec->len, &op, fields, err);
    if (rc == SD_OK) {
        rc = idx_mem_apply(ix, &op, NULL, &res, err); /* the writer's own analysis */
    }
    ix->applied_seq = rec->seq;
    return rc;
}

static void idx_gc_report(void *arg, const char *name, enum wal_gc_action action)
{
    const struct idx_index *ix = arg;
    if (action == WAL_GC_LOST) {
        idx_event(ix->db, IDX_LOG_WARN, "event=lost_file index=%s file=%s moved_to=%s/%s/",
                  ix->name, name, ix->dir, WAL_LOST_DIR);
    }
}

static void idx_note_torn(struct idx_index *ix, const struct wal_open_info *info)
{
    if (!info->torn_bytes) {
        return;
    }
    ix->torn.count = 1;
    ix->torn.bytes = info->torn_bytes;
    ix->torn.at = (uint64_t)time(NULL);
    ix->torn.offset = info->torn_offset;
    wal_log_name(ix->torn.file, info->torn_file);
    idx_event(ix->db, IDX_LOG_WARN, "event=torn_tail index=%s bytes=%llu file=%s offset=%llu",
              ix->name, (unsigned long long)info->torn_bytes, ix->torn.file,
              (unsigned long long)info->torn_offset);
}

/* Steps 1 to 4; m is the MANIFEST read in step 1. */
static int idx_load_files(struct idx_index *ix, struct wal_manifest *m, struct sd_error *err)
{
    bool is_new = false;
    int rc = idx_manifest_load(ix->dir, m, &is_new, err);
    if (rc) {
        return rc;
    }
    ix->checkpoint_seq = m->checkpoint_seq;
    ix->next_seg_no = m->next_seg_no;
    ix->manifest_gen = m->generation;
    ix->applied_seq = m->checkpoint_seq;
    for (uint32_t i = 0; i < m->count && rc == SD_OK; i++) {
        rc = idx_load_segment(ix, &m->segs[i], err);
    }
    if (rc) {
        return rc;
    }
    /* A file the collection below could not move or remove refuses the open before
     * wal_open() changes anything (truncates a torn tail, deletes covered logs). */
    rc = wal_gc_check(ix->dir, m, err);
    if (rc) {
        return rc;
    }
    struct wal_open_info info;
    rc = wal_open(ix->dir, ix->checkpoint_seq, idx_replay_record, ix, &ix->wal, &info, err);
    if (rc) {
        return idx_log_error(ix->dir, is_new, rc, err);
    }
    idx_note_torn(ix, &info);
    ix->applied_seq = info.last_seq;
    atomic_store(&ix->durable_seq, info.last_seq);
    atomic_store(&ix->wal_bytes, wal_bytes(ix->wal));
    if (is_new && (rc = wal_manifest_write(ix->dir, m, err)) != SD_OK) {
        return rc;
    }
    ix->manifest_gen = m->generation;
    rc = wal_gc(ix->dir, m, false, idx_gc_report, ix, err);
    return rc < 0 ? rc : SD_OK;
}

static int idx_load(struct idx_index *ix, struct sd_error *err)
{
    uint64_t t0 = sd_now_ns();
    struct wal_manifest m;
    int rc = idx_load_files(ix, &m, err);
    wal_manifest_free(&m);
    if (rc) {
        return rc;
    }
    pthread_mutex_lock(&ix->state_lock);
    rc = idx_publish(ix);
    pthread_mutex_unlock(&ix->state_lock);
    if (rc == SD_OK) {
        rc = idx_mem_refresh(ix, err);
    }
    if (rc == SD_OK) {
        /* the log from the checkpoint on was replayed into the in-memory segment */
        idx_event(ix->db, ix->is_degraded ? IDX_LOG_WARN : IDX_LOG_INFO,
                  "event=recovered index=%s segments=%zu not_served=%zu checkpoint_seq=%llu "
                  "last_seq=%llu degraded=%d ms=%llu",
                  ix->name, ix->nlive, ix->nbroken, (unsigned long long)ix->checkpoint_seq,
                  (unsigned long long)ix->applied_seq, (int)ix->is_degraded,
                  (unsigned long long)((sd_now_ns() - t0) / 1000000));
    }
    return rc;
}

int idx_index_open(struct idx_db *db, const char *name, bool is_new, struct idx_index **out,
                   struct sd_error *err)
{
    struct idx_index *ix = idx_index_alloc(db, name);
    if (!ix) {
        return sd_errorf(err, SD_ENOMEM, "index %s: out of memory", name);
    }
    /* The writer's and the analysis thread's stem caches, charged full (memcap.c). A new
     * index is refused when they do not fit the memory limit now, as a write would be. */
    size_t stems = 2 * idx_memcap_stem_bytes(&db->memcap);
    if (!idx_memcap_fix(&db->memcap, (int64_t)stems, is_new)) {
        idx_index_free(ix);
        return sd_errorf(err, SD_EBUSY,
                         "memory limit: no room for the caches of a new index '%s' (%zu "
                         "bytes); retry once flushes have caught up",
                         name, stems);
    }
    ix->stem_charged = stems;
    struct stat st;
    int rc = SD_OK;
    if (stat(ix->dir, &st) != 0) {
        rc = sd_errorf(err, SD_ENOTFOUND, "unknown index '%s'", name);
    }
    if (rc == SD_OK) {
        rc = idx_settings_load(ix, err); /* settings.c: before any write can be checked */
    }
    if (rc == SD_OK) {
        rc = idx_load(ix, err);
    }
    if (rc == SD_OK) {
        rc = idx_writer_start(ix, err);
    }
    if (rc == SD_OK && (rc = idx_merger_start(ix, err)) != SD_OK) {
        idx_writer_stop(ix);
    }
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
    for (size_t i = 0; i < ix->nlive; i++) {
        has_mem |= ix->live[i].ref->seg_no == 0;
    }
    pthread_mutex_unlock(&ix->state_lock);
    if (has_mem && !wal_is_broken(ix->wal) && !ix->is_degraded) {
        idx_request_flush(ix); /* the writer is gone: this thread owns the log */
    }
    idx_merger_stop(ix);       /* the memory merger runs the requested flush first */
    struct sd_error err;
    uint64_t removable = atomic_load(&ix->removable_seq);
    if (removable) {
        wal_remove_upto(ix->wal, removable, &err);
    }
    idx_index_free(ix);
}
