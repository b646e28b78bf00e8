/*
 * writer.c: the writer thread of an index: group commit, apply, refresh.
 *
 * Loop: take every queued write; append their records to the log; one
 * wal_sync() for all of them (group commit: N concurrent writers, one
 * fsync); apply them to the memtable; publish them (refresh); call each
 * done callback (the ack), so an acknowledged write is already visible.
 * The analysis thread (analyze.c) analyses queued upserts meanwhile, so
 * applying one is mostly inverting its analysis into the builder.
 * A failed append or sync rolls the log back to the last sync point and
 * fails every write of the batch: none was acknowledged, none is applied,
 * none reappears after a restart. Each batch becomes an in-memory segment
 * before its acks (a refresh that failed is retried every refresh_ms), or
 * several under a memory limit, where the builder is refreshed once it holds
 * its share and a new one waits for room (mem.c, idx_writer_make_room);
 * when in-memory segments pass flush_bytes or their oldest
 * write is flush_ms old, the log is rotated and the memory merger is asked to
 * flush up to the rotation point. Logs the mergers have made redundant
 * (removable_seq) are deleted here, because only this thread owns the log.
 *
 * WHY THE REFRESH STAYS HERE, ONCE PER BATCH. The refresh (seg_builder_finish:
 * term sort and serialization; then publish) is the visibility contract: a
 * write is acknowledged only once searches see it (idx.h), so every batch is
 * published before its acks whatever refresh_ms says (it only paces retries
 * of a failed refresh). Refreshing less often needs larger batches, which
 * only the clients' pipelining gives. Finishing on another thread would not
 * bring the acks sooner, since they wait for it; and the next batch cannot
 * be applied before it either: an upsert asks `live` whether its id exists
 * (added or replaced), the next refresh deletes older copies through `live`,
 * and a flush must not rotate the log past a batch that is not in a
 * segment. What could leave this thread did: analysis and the compression
 * of stored blocks run on the analysis thread (analyze.c).
 */
#include "engine_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void idx_write_free(struct idx_write *w)
{
    if (w->memcap) {
        idx_memcap_charge(w->memcap, -(int64_t)w->charged);
    }
    sd_buf_free(&w->records);
    free(w->prep);
    free(w);
}

/* Walks the records of one queued write: u8 type, varint len, payload. */
struct idx_rec_iter {
    struct sd_rd rd;
};

static bool idx_rec_next(struct idx_rec_iter *it, uint8_t *type, const uint8_t **p,
                         size_t *len)
{
    uint64_t n;
    if (sd_rd_left(&it->rd) == 0 || sd_rd_u8(&it->rd, type) || sd_rd_varint(&it->rd, &n) ||
        sd_rd_bytes(&it->rd, (size_t)n, p)) {
        return false;
    }
    *len = (size_t)n;
    return true;
}

static void idx_set_write_error(struct idx_index *ix, const struct sd_error *err)
{
    pthread_mutex_lock(&ix->queue_lock);
    ix->writes_refused = err != NULL;
    if (err) {
        snprintf(ix->write_error, sizeof ix->write_error, "%s", err->msg);
    } else {
        ix->write_error[0] = 0;
    }
    pthread_mutex_unlock(&ix->queue_lock);
}

static void idx_fail_batch(struct idx_index *ix, struct idx_write *batch, int rc,
                           const struct sd_error *err)
{
    while (batch) {
        struct idx_write *next = batch->next;
        idx_ana_forget(ix, batch);
        batch->done(batch->arg, rc, NULL, err);
        idx_write_free(batch);
        batch = next;
    }
}

static int idx_append_batch(struct idx_index *ix, struct idx_write *batch, struct sd_error *err)
{
    for (struct idx_write *w = batch; w; w = w->next) {
        struct idx_rec_iter it;
        sd_rd_init(&it.rd, w->records.data, w->records.len);
        uint8_t type;
        const uint8_t *p;
        size_t len;
        uint64_t seq;
        while (idx_rec_next(&it, &type, &p, &len)) {
            int rc = wal_append(ix->wal, type, p, len, &seq, err);
            if (rc) {
                return rc;
            }
        }
    }
    return wal_sync(ix->wal, err);
}

/* Applies one write's records; they are durable, so a failure here (only
 * ENOMEM: every op was validated before it was logged) is fatal for the
 * acknowledgement but the op will be replayed on restart. Each op's analysis
 * comes from the analysis thread when it got there first (analyze.c); every
 * op is taken, applied or not, so the analysis queue moves in step. */
static int idx_apply_write(struct idx_index *ix, struct idx_write *w,
                           struct idx_write_result *res, struct sd_error *err)
{
    struct idx_rec_iter it;
    sd_rd_init(&it.rd, w->records.data, w->records.len);
    struct seg_field fields[SEG_MAX_FIELDS];
    uint8_t type;
    const uint8_t *p;
    size_t len;
    int rc = SD_OK;
    memset(res, 0, sizeof *res);
    for (uint32_t i = 0; idx_rec_next(&it, &type, &p, &len); i++) {
        struct idx_op op;
        struct seg_analysis *an = idx_ana_take(ix, w, i);
        if (rc == SD_OK && (rc = idx_op_decode(type, p, len, &op, fields, err)) == SD_OK) {
            rc = idx_mem_apply(ix, &op, an, res, err);
        }
        idx_ana_recycle(ix, an);
        ix->applied_seq++; /* every logged record counts, so seqs stay in step with the log */
    }
    res->seq = ix->applied_seq;
    return rc;
}

/* A group commit made records durable: its fsync time and what it wrote, for idx_stats. */
static void idx_count_commit(struct idx_index *ix, uint64_t seq0, uint64_t bytes0)
{
    uint64_t seq = wal_synced_seq(ix->wal);
    if (seq == seq0) {
        return; /* nothing new was made durable: no fsync to count */
    }
    idx_hist_record(&ix->fsync_time, wal_last_sync_ns(ix->wal));
    atomic_fetch_add_explicit(&ix->wal_records, seq - seq0, memory_order_relaxed);
    atomic_fetch_add_explicit(&ix->wal_synced_bytes, wal_bytes(ix->wal) - bytes0,
                              memory_order_relaxed);
}

static void idx_commit_batch(struct idx_index *ix, struct idx_write *batch)
{
    struct sd_error err = {0};
    uint64_t seq0 = wal_synced_seq(ix->wal), bytes0 = wal_bytes(ix->wal);
    int rc = idx_append_batch(ix, batch, &err);
    if (rc) {
        idx_set_write_error(ix, &err);
        idx_fail_batch(ix, batch, rc, &err);
        return;
    }
    if (ix->writes_refused) {
        idx_set_write_error(ix, NULL);
    }
    idx_count_commit(ix, seq0, bytes0);
    atomic_store(&ix->durable_seq, wal_synced_seq(ix->wal));
    atomic_store(&ix->wal_bytes, wal_bytes(ix->wal));
    atomic_store(&ix->last_write_ns, sd_now_ns());
    /* Apply all, publish once, then acknowledge: what a client was told is
     * stored is also what its next search or get sees. */
    struct idx_write *w;
    for (w = batch; w; w = w->next) {
        w->rc = idx_apply_write(ix, w, &w->res, &w->err);
    }
    struct sd_error rerr;
    if (idx_mem_refresh(ix, &rerr) != SD_OK) {
        idx_event(ix->db, IDX_LOG_ERROR, "event=refresh_failed index=%s msg=\"%s\"", ix->name,
                  rerr.msg);
    }
    while (batch) {
        struct idx_write *next = batch->next;
        batch->done(batch->arg, batch->rc, batch->rc ? NULL : &batch->res,
                    batch->rc ? &batch->err : NULL);
        idx_write_free(batch);
        batch = next;
    }
}

static uint64_t idx_ms(uint32_t ms)
{
    return (uint64_t)ms * 1000000u;
}

static bool idx_flush_due(struct idx_index *ix, uint64_t now)
{
    const struct idx_config *cfg = &ix->db->cfg;
    pthread_mutex_lock(&ix->state_lock);
    uint64_t bytes = ix->mem_bytes;
    bool has_mem = false;
    for (size_t i = 0; i < ix->nlive && !has_mem; i++) {
        has_mem = ix->live[i].ref->seg_no == 0;
    }
    pthread_mutex_unlock(&ix->state_lock);
    pthread_mutex_lock(&ix->merge_lock);
    bool pending = ix->flush_seq > ix->checkpoint_seq;
    pthread_mutex_unlock(&ix->merge_lock);
    if (!has_mem || pending) {
        return false;
    }
    if (idx_memcap_level(&ix->db->memcap) >= IDX_MEM_FLUSH) {
        return true; /* near the memory limit: now (memcap.c) */
    }
    uint64_t first = ix->mem.first_flush_ns;
    return bytes >= cfg->flush_bytes || !first || now - first >= idx_ms(cfg->flush_ms);
}

/* Rotates the log and hands the flush of everything up to here to the
 * memory merger. */
void idx_request_flush(struct idx_index *ix)
{
    struct sd_error err;
    uint64_t first;
    /* A degraded index keeps its checkpoint: the log's records past it must
     * be replayed again once the missing file is back, so that they apply
     * their deletes to it (docs/DATA.md). */
    if (ix->is_degraded) {
        return;
    }
    if (wal_rotate(ix->wal, &first, &err) != SD_OK) {
        idx_event(ix->db, IDX_LOG_ERROR, "event=log_rotation_failed index=%s msg=\"%s\"", ix->name,
                  err.msg);
        /* A flush that cannot start has failed: whoever waits for one (the back-pressure
         * wait, a snapshot) must hear of it rather than wait on. */
        pthread_mutex_lock(&ix->state_lock);
        snprintf(ix->flush_error, sizeof ix->flush_error, "log rotation: %.200s", err.msg);
        ix->merge_failures++;
        pthread_cond_broadcast(&ix->mem_cond);
        pthread_mutex_unlock(&ix->state_lock);
        return;
    }
    ix->mem.first_flush_ns = 0;
    pthread_mutex_lock(&ix->merge_lock);
    ix->flush_seq = first - 1;
    atomic_store(&ix->flush_asked, true);
    pthread_mutex_unlock(&ix->merge_lock);
    idx_merger_wake(ix, IDX_MERGER_MEMORY);
}

static void idx_deadline(struct timespec *ts, uint64_t wait_ns)
{
    clock_gettime(CLOCK_REALTIME, ts);
    uint64_t ns = (uint64_t)ts->tv_nsec + wait_ns;
    ts->tv_sec += (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
}

/* Back-pressure: while in-memory segments hold more than twice flush_bytes,
 * or the engine is at 2/3 of its memory limit and this index has in-memory
 * segments (memcap.c; housekeeping has asked for their flush), the writer
 * takes no new batch until a flush has shrunk them (writes wait in the queue,
 * their acks come later). Without it, writes faster than flushes grow memory
 * without bound. A failed merge job ends the wait: the writer must not hang
 * on a full disk; writes then go on (and fail) as before.
 * The same, for up to IDX_BACKLOG_WAIT_MS, while the in-memory segments have piled up
 * (idx_memory_backlog: each group commit makes one). The memory merger runs at nice 10, and a
 * writer with searches that kept both cores busy starved it until every search looked its
 * words up in hundreds of small segments (took_ms p50 29 ms on 3,000 documents; bench/RESULTS.md
 * "Searches beside a steady writer"). Waiting gives the merger the core, and the writes that
 * queue meanwhile make one segment, as RocksDB slows writes when its level 0 fills. */
#define IDX_BACKLOG_WAIT_MS 1000u

static bool idx_memory_is_tight(struct idx_index *ix, uint64_t limit)
{
    return ix->mem_bytes > limit ||
           (ix->mem_bytes > 0 && idx_memcap_level(&ix->db->memcap) >= IDX_MEM_SLOW);
}

static void idx_wait_for_memory(struct idx_index *ix)
{
    uint64_t limit = 2 * (uint64_t)ix->db->cfg.flush_bytes;
    uint64_t backlog_until = sd_now_ns() + idx_ms(IDX_BACKLOG_WAIT_MS);
    pthread_mutex_lock(&ix->state_lock);
    uint64_t failures = ix->merge_failures;
    while (ix->merge_failures == failures && sd_now_ns() < backlog_until &&
           idx_memory_backlog(ix)) {
        struct timespec ts;
        idx_deadline(&ts, idx_ms(50)); /* each merge's commit wakes it (mem_cond) */
        pthread_cond_timedwait(&ix->mem_cond, &ix->state_lock, &ts);
    }
    while (idx_memory_is_tight(ix, limit) && ix->merge_failures == failures) {
        /* The flush it waits for is asked for here, not only by housekeeping: the memory
         * limit may have been reached by writes queued since (test_memcap hung without). */
        pthread_mutex_unlock(&ix->state_lock);
        if (idx_flush_due(ix, sd_now_ns())) {
            idx_request_flush(ix);
        }
        pthread_mutex_lock(&ix->state_lock);
        if (!idx_memory_is_tight(ix, limit) || ix->merge_failures != failures) {
            break;
        }
        struct timespec ts;
        idx_deadline(&ts, idx_ms(1000));
        pthread_cond_timedwait(&ix->mem_cond, &ix->state_lock, &ts);
    }
    pthread_mutex_unlock(&ix->state_lock);
}

/* How long idx_writer_make_room waits at most. Room comes back as flushes end (a fraction of a
 * second each under a small limit); the wait is bounded for a flush that never comes (an index
 * whose in-memory segments cannot be flushed holding the counter over the ceiling): the writer
 * then goes on past the ceiling rather than stop for good, and says so in the log. */
#define IDX_ROOM_WAIT_MS 30000u

/* Asks the memory merger to flush every in-memory segment with checkpoint applied_seq, without
 * rotating the log: the writer is inside a batch whose records are logged past applied_seq, and
 * idx_request_flush would count them as flushed (its checkpoint is the rotation point). Every
 * op up to applied_seq is in a segment or the live tombstones (the caller has refreshed). A
 * flush already asked for is not asked again. */
static void idx_request_flush_applied(struct idx_index *ix)
{
    if (ix->is_degraded) {
        return; /* its checkpoint stays (idx_request_flush) */
    }
    pthread_mutex_lock(&ix->merge_lock);
    bool is_asked = ix->flush_seq > ix->checkpoint_seq || ix->applied_seq <= ix->checkpoint_seq;
    if (!is_asked) {
        ix->flush_seq = ix->applied_seq;
        atomic_store(&ix->flush_asked, true);
    }
    pthread_mutex_unlock(&ix->merge_lock);
    if (!is_asked) {
        ix->mem.first_flush_ns = 0;
        idx_merger_wake(ix, IDX_MERGER_MEMORY);
    }
}

void idx_writer_make_room(struct idx_index *ix)
{
    struct idx_memcap *c = &ix->db->memcap;
    if (idx_memcap_has_room(c)) {
        return;
    }
    uint64_t t0 = sd_now_ns();
    struct sd_error err;
    if (ix->mem.has_pending && idx_mem_refresh(ix, &err) != SD_OK) {
        return; /* deletes not yet in the tombstones: no flush may claim them; go on */
    }
    pthread_mutex_lock(&ix->state_lock);
    uint64_t failures = ix->merge_failures;
    while (!idx_memcap_has_room(c) && ix->merge_failures == failures &&
           sd_now_ns() - t0 < idx_ms(IDX_ROOM_WAIT_MS)) {
        pthread_mutex_unlock(&ix->state_lock);
        idx_request_flush_applied(ix);
        pthread_mutex_lock(&ix->state_lock);
        /* each commit wakes it (mem_cond); another index's flush does not: hence the poll */
        struct timespec ts;
        idx_deadline(&ts, idx_ms(20));
        pthread_cond_timedwait(&ix->mem_cond, &ix->state_lock, &ts);
    }
    pthread_mutex_unlock(&ix->state_lock);
    if (!idx_memcap_has_room(c) && sd_now_ns() - t0 >= idx_ms(IDX_ROOM_WAIT_MS)) {
        idx_event(ix->db, IDX_LOG_WARN,
                  "event=memory_wait_timeout index=%s used=%llu limit=%llu ms=%u", ix->name,
                  (unsigned long long)idx_memcap_used(c), (unsigned long long)c->limit,
                  IDX_ROOM_WAIT_MS);
    }
}

/* A snapshot (backup.c) asked for a flush of everything logged so far: taken once. Nothing
 * to do when the log holds nothing past the flush already requested. */
static bool idx_flush_wanted(struct idx_index *ix)
{
    pthread_mutex_lock(&ix->queue_lock);
    bool wanted = ix->flush_wanted;
    ix->flush_wanted = false;
    pthread_mutex_unlock(&ix->queue_lock);
    if (!wanted) {
        return false;
    }
    pthread_mutex_lock(&ix->merge_lock);
    bool is_covered = ix->flush_seq >= ix->applied_seq;
    pthread_mutex_unlock(&ix->merge_lock);
    return !is_covered;
}

static void idx_writer_housekeeping(struct idx_index *ix, bool is_final)
{
    uint64_t now = sd_now_ns();
    struct sd_error err;
    /* Only left pending when a refresh failed (out of memory): retry. */
    if (ix->mem.has_pending &&
        (now - ix->mem.last_refresh_ns >= idx_ms(ix->db->cfg.refresh_ms) || is_final)) {
        if (idx_mem_refresh(ix, &err) != SD_OK) {
            idx_event(ix->db, IDX_LOG_ERROR, "event=refresh_failed index=%s msg=\"%s\"", ix->name,
                      err.msg);
        }
    }
    if (idx_flush_wanted(ix) || idx_flush_due(ix, now)) {
        idx_request_flush(ix);
    }
    uint64_t removable = atomic_load(&ix->removable_seq);
    if (removable && wal_remove_upto(ix->wal, removable, &err) > 0) {
        atomic_store(&ix->wal_bytes, wal_bytes(ix->wal));
    }
}

/* Waits for writes (or the next refresh) and takes the whole queue. */
static struct idx_write *idx_take_queue(struct idx_index *ix)
{
    const struct idx_config *cfg = &ix->db->cfg;
    pthread_mutex_lock(&ix->queue_lock);
    while (!ix->queue_head && !ix->is_stopping && !ix->flush_wanted) {
        uint64_t wait = idx_ms(1000);
        if (ix->mem.has_pending) {
            uint64_t due = ix->mem.last_refresh_ns + idx_ms(cfg->refresh_ms);
            uint64_t now = sd_now_ns();
            wait = due > now ? due - now : 0;
        }
        if (wait == 0) {
            break;
        }
        struct timespec ts;
        idx_deadline(&ts, wait);
        if (pthread_cond_timedwait(&ix->queue_cond, &ix->queue_lock, &ts) == ETIMEDOUT) {
            break;
        }
    }
    if (ix->queue_head && cfg->sync == IDX_SYNC_BATCH && !ix->is_stopping) {
        /* Batched sync: let more writes join this fsync, bounded by sync_ms. */
        struct timespec ts;
        idx_deadline(&ts, idx_ms(cfg->sync_ms));
        while (!ix->is_stopping &&
               pthread_cond_timedwait(&ix->queue_cond, &ix->queue_lock, &ts) != ETIMEDOUT) {
            ;
        }
    }
    /* Under a memory limit a batch holds at most a sixteenth of it in records: they stay
     * charged until the batch's acks, after all of it is applied (memcap.c). */
    size_t budget = idx_memcap_share(&ix->db->memcap, SIZE_MAX, 16);
    struct idx_write *batch = ix->queue_head, *last = batch;
    size_t bytes = last ? last->records.len : 0;
    uint32_t count = last ? 1 : 0;
    while (last && last->next && bytes + last->next->records.len <= budget) {
        last = last->next;
        bytes += last->records.len;
        count++;
    }
    if (last) {
        ix->queue_head = last->next;
        last->next = NULL;
        if (!ix->queue_head) {
            ix->queue_tail = NULL;
        }
        ix->queued_writes -= count;
        ix->queued_bytes -= bytes;
    }
    pthread_mutex_unlock(&ix->queue_lock);
    return batch;
}

static void *idx_writer_main(void *arg)
{
    struct idx_index *ix = arg;
    pthread_setname_np(pthread_self(), "sd-writer"); /* for top -H and perf */
    for (;;) {
        struct idx_write *batch = idx_take_queue(ix);
        if (batch) {
            idx_commit_batch(ix, batch);
        }
        pthread_mutex_lock(&ix->queue_lock);
        bool is_done = ix->is_stopping && !ix->queue_head;
        pthread_mutex_unlock(&ix->queue_lock);
        idx_writer_housekeeping(ix, is_done);
        if (is_done) {
            return NULL;
        }
        idx_wait_for_memory(ix);
    }
}

/* Starts the analysis thread (the writer's helper), then the writer. */
int idx_writer_start(struct idx_index *ix, struct sd_error *err)
{
    int rc = idx_ana_start(ix, err);
    if (rc) {
        return rc;
    }
    int e = pthread_create(&ix->writer, NULL, idx_writer_main, ix);
    if (e) {
        idx_ana_stop(ix);
        return sd_errorf(err, SD_EIO, "index %s: writer thread: %s", ix->name, strerror(e));
    }
    return SD_OK;
}

/* The writer drains the queue and stops; then nothing is left to analyse, and
 * the analysis thread stops too. */
void idx_writer_stop(struct idx_index *ix)
{
    pthread_mutex_lock(&ix->queue_lock);
    ix->is_stopping = true;
    pthread_cond_signal(&ix->queue_cond);
    pthread_mutex_unlock(&ix->queue_lock);
    pthread_join(ix->writer, NULL);
    idx_ana_stop(ix);
}

int idx_enqueue(struct idx_index *ix, struct idx_write *w, struct sd_error *err)
{
    pthread_mutex_lock(&ix->queue_lock);
    if (ix->is_stopping) {
        pthread_mutex_unlock(&ix->queue_lock);
        return sd_errorf(err, SD_EBUSY, "index %s is closing", ix->name);
    }
    w->next = NULL;
    if (ix->queue_tail) {
        ix->queue_tail->next = w;
    } else {
        ix->queue_head = w;
    }
    ix->queue_tail = w;
    ix->queued_writes++;
    ix->queued_bytes += w->records.len;
    idx_ana_enqueue(ix, w); /* under queue_lock: both queues in one order */
    pthread_cond_signal(&ix->queue_cond);
    pthread_mutex_unlock(&ix->queue_lock);
    return SD_OK;
}
