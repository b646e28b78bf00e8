/*
 * analyze.c: the analysis thread of an index, the writer's second pair of hands.
 *
 * WHY. Adding a document is analysis (tokenize, fold, stem, encode the stored record) plus
 * inversion into the memtable's builder (seg.h). Analysis needs no builder, so it can run
 * beside the writer thread, which meanwhile appends and fsyncs the log, inverts earlier
 * documents and publishes them: a bulk load keeps two cores busy instead of one.
 *
 * HOW. Every queued write is also on an analysis queue (idx_enqueue puts it on both under
 * queue_lock, so the two orders agree). A cursor (head, next_op) walks the ops of that queue
 * in order; whoever advances it claims the op:
 *   - the analysis thread claims the op at the cursor while it is fewer than
 *     IDX_ANA_AHEAD_OPS ops (and IDX_ANA_AHEAD_BYTES of analyses) ahead of the writer,
 *     analyses it with its own stem_ctx and analyzer, and leaves the result in the op's
 *     idx_prep (DONE);
 *   - the writer takes the ops of its batch in order (idx_ana_take). An op the analysis
 *     thread finished is taken as it is. One nobody claimed yet must be at the cursor (every
 *     op before it was taken), so the writer claims it and analyses it itself. While the
 *     analysis thread is on the op the writer needs, the writer claims and analyses the next
 *     unclaimed op instead of waiting (leaving the result as the analysis thread would), and
 *     waits only when there is none. When the analysis thread falls behind, the two share
 *     the work op by op; when it is ahead, the writer only inverts.
 * The writer still applies ops one by one in queue order, before the batch's acks, so the
 * order of application is the order of acknowledgement and an acknowledged write is visible,
 * exactly as without this thread. A failed analysis (out of memory) leaves no result: the
 * writer analyses that op again itself, and if that fails too the op fails as it always did.
 * Recovery replays the log through the writer's own analysis (no thread runs yet).
 *
 * STORED BLOCKS. The memtable's builder hands each full block of stored records over as a
 * job (seg_builder_set_zjob_sched): this thread compresses jobs before it analyses (the
 * writer needs them at the next refresh), and the writer, when it needs a job nobody has
 * started, compresses it (and any queued after it) itself.
 *
 * MEMORY. At most IDX_ANA_AHEAD_OPS analyses (a bench batch of 1000 docs and some) or
 * about IDX_ANA_AHEAD_BYTES wait for the writer. Analyses are reused through a pool of at
 * most IDX_ANA_POOL_BYTES; one that grew past IDX_ANA_POOL_MAX_BYTES (a huge document) is
 * freed instead, and the whole pool is freed when the thread has been idle for
 * IDX_ANA_IDLE_MS, so an index that had a burst of writes does not keep its memory.
 * Under --memory-limit both byte bounds are at most a sixteenth of the limit, and both
 * counters are charged to it (idx_ana_count; memcap.c): a finished analysis or a pooled one
 * only if it fits the limit's admission ceiling (idx_memcap_try; else it is freed, and the
 * writer analyses that op itself), and the thread analyses nothing ahead while the counter is
 * over that ceiling.
 *
 * LIFETIME. idx_ana_stop runs after the writer thread has stopped, which it does only once
 * every queued write is applied or failed; a write leaves the analysis queue when its last
 * op is claimed or through idx_ana_forget, and is freed only after its ops are no longer
 * being analysed, so this thread never touches a freed write.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "engine_int.h"

#define IDX_ANA_AHEAD_OPS      1024
#define IDX_ANA_AHEAD_BYTES    (32u << 20)
#define IDX_ANA_POOL           (IDX_ANA_AHEAD_OPS + 2)
#define IDX_ANA_POOL_BYTES     (32u << 20)  /* all pooled analyses together */
#define IDX_ANA_POOL_MAX_BYTES (256u << 10) /* one pooled analysis */
#define IDX_ANA_IDLE_MS        1000

static void idx_zjob_submit(void *arg, struct seg_zjob *job);
static void idx_zjob_wait(void *arg, struct seg_zjob *job);

void idx_ana_init(struct idx_ana *a, struct idx_memcap *memcap)
{
    memset(a, 0, sizeof *a);
    a->memcap = memcap;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->work, NULL);
    pthread_cond_init(&a->done, NULL);
    pthread_cond_init(&a->zdone, NULL);
    a->zsched = (struct seg_zjob_sched){idx_zjob_submit, idx_zjob_wait, a};
}

void idx_ana_free(struct idx_ana *a)
{
    if (a->memcap) {
        idx_memcap_charge(a->memcap, -(int64_t)(a->pool_bytes + a->ahead_bytes));
    }
    for (size_t i = 0; i < a->npool; i++) {
        seg_analysis_free(a->pool[i]);
    }
    free(a->pool);
    free(a->zq); /* empty: every builder waited for its jobs before it went */
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->work);
    pthread_cond_destroy(&a->done);
    pthread_cond_destroy(&a->zdone);
    memset(a, 0, sizeof *a);
}

/* ---- stored-block jobs (seg.h): the writer's builder submits, this thread runs ---- */

static void idx_zjob_submit(void *arg, struct seg_zjob *job)
{
    struct idx_ana *a = arg;
    pthread_mutex_lock(&a->lock);
    if (a->zq_len == a->zq_cap) {
        size_t cap = a->zq_cap ? a->zq_cap * 2 : 256;
        struct seg_zjob **q = malloc(cap * sizeof *q);
        if (!q) {
            pthread_mutex_unlock(&a->lock);
            seg_zjob_run(job); /* no room to queue it: compress it here */
            return;
        }
        for (size_t i = 0; i < a->zq_len; i++) {
            q[i] = a->zq[(a->zq_head + i) % a->zq_cap];
        }
        free(a->zq);
        a->zq = q;
        a->zq_cap = cap;
        a->zq_head = 0;
    }
    a->zq[(a->zq_head + a->zq_len++) % a->zq_cap] = job;
    pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->lock);
}

/* Takes the oldest queued job (ana.lock held); NULL when none. */
static struct seg_zjob *idx_zjob_pop(struct idx_ana *a)
{
    if (a->zq_len == 0) {
        return NULL;
    }
    struct seg_zjob *job = a->zq[a->zq_head];
    a->zq_head = (a->zq_head + 1) % a->zq_cap;
    a->zq_len--;
    return job;
}

/* The builder waits for its jobs in submission order, and jobs are taken oldest first, so
 * the ring holds only this job and later ones of the same builder: the writer runs them
 * itself (this one first, when nobody has started it) instead of waiting. */
static void idx_zjob_wait(void *arg, struct seg_zjob *job)
{
    struct idx_ana *a = arg;
    pthread_mutex_lock(&a->lock);
    while (!seg_zjob_is_done(job)) {
        struct seg_zjob *next = idx_zjob_pop(a);
        if (next) {
            pthread_mutex_unlock(&a->lock);
            seg_zjob_run(next);
            pthread_mutex_lock(&a->lock);
        } else {
            pthread_cond_wait(&a->zdone, &a->lock);
        }
    }
    pthread_mutex_unlock(&a->lock);
}

void idx_ana_enqueue(struct idx_index *ix, struct idx_write *w)
{
    struct idx_ana *a = &ix->ana;
    pthread_mutex_lock(&a->lock);
    w->ana_next = NULL;
    if (a->tail) {
        a->tail->ana_next = w;
    } else {
        a->head = w;
        a->next_op = 0;
        a->next_off = 0;
    }
    a->tail = w;
    pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->lock);
}

/* Moves the cursor past the op at it (ana.lock held); returns its record's type and payload.
 * The records were encoded by idx_write: a record that does not parse is claimed all the
 * same with no payload, and the writer, which decodes every record again, reports it. */
static void idx_ana_advance(struct idx_ana *a, uint8_t *type, const uint8_t **p, size_t *len)
{
    struct idx_write *w = a->head;
    struct sd_rd rd;
    uint64_t n = 0;
    sd_rd_init(&rd, w->records.data + a->next_off, w->records.len - a->next_off);
    *type = 0;
    *p = NULL;
    *len = 0;
    if (sd_rd_u8(&rd, type) == SD_OK && sd_rd_varint(&rd, &n) == SD_OK &&
        sd_rd_bytes(&rd, (size_t)n, p) == SD_OK) {
        *len = (size_t)n;
    }
    a->next_off = (size_t)(rd.p - w->records.data);
    if (++a->next_op == w->nops) {
        a->head = w->ana_next;
        if (!a->head) {
            a->tail = NULL;
        }
        a->next_op = 0;
        a->next_off = 0;
    }
}

/* Moves one of the byte counters (ana.lock held) and the engine's memory count with it. */
static void idx_ana_count(struct idx_ana *a, size_t *field, int64_t delta)
{
    *field = (size_t)((int64_t)*field + delta);
    idx_memcap_charge(a->memcap, delta);
}

/* Adds bytes to one of the byte counters if the memory limit admits them (ana.lock held). */
static bool idx_ana_try_count(struct idx_ana *a, size_t *field, size_t bytes)
{
    if (!idx_memcap_try(a->memcap, bytes)) {
        return false;
    }
    *field += bytes;
    return true;
}

/* ---- claiming and analysing the op at the cursor (either thread) ---- */

static bool idx_ana_has_work(const struct idx_ana *a)
{
    return a->head && a->ahead_ops < IDX_ANA_AHEAD_OPS &&
           a->ahead_bytes < idx_memcap_share(a->memcap, IDX_ANA_AHEAD_BYTES, 16) &&
           idx_memcap_has_room(a->memcap);
}

/* Decodes and analyses one upsert record into *an (made if NULL). False on any failure. */
static bool idx_ana_one(struct seg_analyzer *analyzer, uint8_t type, const uint8_t *p, size_t len,
                        struct seg_analysis **an)
{
    struct seg_field fields[SEG_MAX_FIELDS];
    struct idx_op op;
    struct sd_error err;
    if (!p || idx_op_decode(type, p, len, &op, fields, &err) != SD_OK) {
        return false;
    }
    if (!*an && seg_analysis_new(an, &err) != SD_OK) {
        return false;
    }
    return seg_analyze(analyzer, &op.doc, *an, &err) == SD_OK;
}

/* Claims the op at the cursor and analyses it with analyzer (the calling thread's) outside
 * the lock, leaving the result in its idx_prep. ana.lock held on entry and on return. */
static void idx_ana_claim_next(struct idx_ana *a, struct seg_analyzer *analyzer)
{
    struct idx_write *w = a->head;
    struct idx_prep *prep = &w->prep[a->next_op];
    uint8_t type;
    const uint8_t *p;
    size_t len;
    idx_ana_advance(a, &type, &p, &len);
    if (type != IDX_REC_UPSERT) {
        prep->state = IDX_PREP_DONE; /* a delete needs no analysis */
        return;
    }
    prep->state = IDX_PREP_CLAIMED;
    a->ahead_ops++;
    struct seg_analysis *an = NULL;
    if (a->npool) {
        an = a->pool[--a->npool];
        idx_ana_count(a, &a->pool_bytes, -(int64_t)seg_analysis_mem_bytes(an));
    }
    pthread_mutex_unlock(&a->lock);
    bool ok = idx_ana_one(analyzer, type, p, len, &an);
    pthread_mutex_lock(&a->lock);
    ok = ok && idx_ana_try_count(a, &a->ahead_bytes, seg_analysis_mem_bytes(an));
    if (!ok) {
        seg_analysis_free(an); /* out of memory, or over the limit: give it back */
        an = NULL;
        a->ahead_ops--; /* only results count: the writer analyses this op itself */
    }
    prep->an = an;
    prep->state = IDX_PREP_DONE;
    pthread_cond_signal(&a->done);
}

/* ---- the analysis thread ---- */

struct idx_ana_thread {
    struct idx_index *ix;
    struct stem_ctx *stem;
    struct seg_analyzer *analyzer;
};

/* Frees the pooled analyses, a few at a time outside the lock (ana.lock held on entry and
 * on return). */
static void idx_ana_trim(struct idx_ana *a)
{
    while (a->npool > 0) {
        struct seg_analysis *some[64];
        size_t n = 0;
        while (a->npool > 0 && n < 64) {
            some[n++] = a->pool[--a->npool];
            idx_ana_count(a, &a->pool_bytes, -(int64_t)seg_analysis_mem_bytes(some[n - 1]));
        }
        pthread_mutex_unlock(&a->lock);
        for (size_t i = 0; i < n; i++) {
            seg_analysis_free(some[i]);
        }
        pthread_mutex_lock(&a->lock);
    }
}

/* Waits for work; idle for IDX_ANA_IDLE_MS with analyses pooled, frees them (ana.lock
 * held). */
static void idx_ana_wait_work(struct idx_ana *a)
{
    if (a->npool == 0) {
        pthread_cond_wait(&a->work, &a->lock);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += IDX_ANA_IDLE_MS / 1000;
    if (pthread_cond_timedwait(&a->work, &a->lock, &ts) == ETIMEDOUT) {
        idx_ana_trim(a);
    }
}

static void *idx_ana_main(void *arg)
{
    struct idx_ana_thread *t = arg;
    struct idx_ana *a = &t->ix->ana;
    pthread_setname_np(pthread_self(), "sd-analyze");
    pthread_mutex_lock(&a->lock);
    for (;;) {
        while (!a->is_stopping && a->zq_len == 0 && !idx_ana_has_work(a)) {
            idx_ana_wait_work(a);
        }
        if (a->is_stopping) {
            break;
        }
        /* Blocks first: the writer waits for them when it publishes. */
        struct seg_zjob *job = idx_zjob_pop(a);
        if (job) {
            pthread_mutex_unlock(&a->lock);
            seg_zjob_run(job);
            pthread_mutex_lock(&a->lock);
            pthread_cond_broadcast(&a->zdone);
        } else {
            idx_ana_claim_next(a, t->analyzer);
        }
    }
    pthread_mutex_unlock(&a->lock);
    seg_analyzer_free(t->analyzer);
    stem_ctx_free(t->stem);
    free(t);
    return NULL;
}

int idx_ana_start(struct idx_index *ix, struct sd_error *err)
{
    struct idx_ana *a = &ix->ana;
    struct idx_ana_thread *t = calloc(1, sizeof *t);
    a->pool = calloc(IDX_ANA_POOL, sizeof *a->pool);
    if (!t || !a->pool ||
        stem_ctx_new_cached(&t->stem, idx_memcap_stem_words(a->memcap)) != STEM_OK ||
        seg_analyzer_new(t->stem, &t->analyzer, err) != SD_OK) {
        if (t) {
            stem_ctx_free(t->stem);
        }
        free(t);
        return sd_errorf(err, SD_ENOMEM, "index %s: analysis thread: out of memory", ix->name);
    }
    t->ix = ix;
    int e = pthread_create(&a->thread, NULL, idx_ana_main, t);
    a->has_thread = e == 0;
    if (e) {
        seg_analyzer_free(t->analyzer);
        stem_ctx_free(t->stem);
        free(t);
        return sd_errorf(err, SD_EIO, "index %s: analysis thread: %s", ix->name, strerror(e));
    }
    return SD_OK;
}

void idx_ana_stop(struct idx_index *ix)
{
    struct idx_ana *a = &ix->ana;
    if (!a->has_thread) {
        return;
    }
    a->has_thread = false;
    pthread_mutex_lock(&a->lock);
    a->is_stopping = true;
    pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
}

/* ---- the writer's side ---- */

struct seg_analysis *idx_ana_take(struct idx_index *ix, struct idx_write *w, uint32_t op)
{
    struct idx_ana *a = &ix->ana;
    struct idx_prep *prep = &w->prep[op];
    struct seg_analysis *an = NULL;
    pthread_mutex_lock(&a->lock);
    if (prep->state == IDX_PREP_PENDING) {
        /* Every earlier op was taken, so this one is at the cursor: claim it. */
        uint8_t type;
        const uint8_t *p;
        size_t len;
        idx_ana_advance(a, &type, &p, &len);
        prep->state = IDX_PREP_WRITER;
        pthread_mutex_unlock(&a->lock);
        return NULL;
    }
    while (prep->state == IDX_PREP_CLAIMED) {
        /* The analysis thread is on this op: rather than wait, analyse the next unclaimed
         * one (the two then share the work when the analysis thread is behind). */
        if (idx_ana_has_work(a)) {
            idx_ana_claim_next(a, ix->mem.analyzer);
        } else {
            pthread_cond_wait(&a->done, &a->lock);
        }
    }
    if (prep->an) {
        an = prep->an;
        prep->an = NULL;
        a->ahead_ops--;
        idx_ana_count(a, &a->ahead_bytes, -(int64_t)seg_analysis_mem_bytes(an));
        pthread_cond_signal(&a->work); /* it may have been waiting for room */
    }
    pthread_mutex_unlock(&a->lock);
    return an; /* NULL also for a delete, or an upsert the analysis thread failed on */
}

void idx_ana_recycle(struct idx_index *ix, struct seg_analysis *an)
{
    if (!an) {
        return;
    }
    struct idx_ana *a = &ix->ana;
    pthread_mutex_lock(&a->lock);
    size_t bytes = seg_analysis_mem_bytes(an);
    if (a->pool && a->npool < IDX_ANA_POOL && bytes <= IDX_ANA_POOL_MAX_BYTES &&
        a->pool_bytes + bytes <= idx_memcap_share(a->memcap, IDX_ANA_POOL_BYTES, 16) &&
        idx_ana_try_count(a, &a->pool_bytes, bytes)) {
        a->pool[a->npool++] = an;
        an = NULL;
        if (a->npool == 1) {
            /* The thread may sleep with no timeout (idx_ana_wait_work: nothing to free then);
             * wake it to start the idle clock that frees this pool, or it stays charged. */
            pthread_cond_signal(&a->work);
        }
    }
    pthread_mutex_unlock(&a->lock);
    seg_analysis_free(an);
}

void idx_ana_forget(struct idx_index *ix, struct idx_write *w)
{
    struct idx_ana *a = &ix->ana;
    pthread_mutex_lock(&a->lock);
    /* Unlink it if ops of it are still unclaimed; the cursor moves to the next write. */
    for (struct idx_write **pp = &a->head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->ana_next) {
        if (*pp != w) {
            continue;
        }
        if (w == a->head) {
            a->next_op = 0;
            a->next_off = 0;
        }
        *pp = w->ana_next;
        if (a->tail == w) {
            a->tail = prev;
        }
        break;
    }
    for (uint32_t i = 0; i < w->nops; i++) {
        while (w->prep[i].state == IDX_PREP_CLAIMED) {
            pthread_cond_wait(&a->done, &a->lock);
        }
        struct seg_analysis *an = w->prep[i].an;
        if (an) {
            w->prep[i].an = NULL;
            a->ahead_ops--;
            idx_ana_count(a, &a->ahead_bytes, -(int64_t)seg_analysis_mem_bytes(an));
            seg_analysis_free(an);
        }
    }
    pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->lock);
}
